/**
 * NetworkPolicy on the real node: kube-router's network-policy controller (iptables
 * mode; its routing and service proxy stay off) enforces every NetworkPolicy for the
 * pods of this node — V-Kube's deny-by-default between orders and its egress block.
 * kube-router v2.1.0 has reported security flaws: it runs in this local test cluster
 * only, never in a real installation.
 *
 * Its iptables chains (KUBE-ROUTER-*, KUBE-POD-FW-*, KUBE-NWPLCY-*) and ipsets
 * (KUBE-SRC-*, KUBE-DST-*) are machine-wide, and every sync deletes the ones it did not
 * make itself, so one controller per machine: the first real node to start claims
 * enforcement in CLAIM_FILE; the real node of another local cluster then runs without
 * policies and says so. The claim passes on when `cluster:down` releases it, or when a
 * later node finds its holder dead; a cluster that is already up does not take it over.
 *
 * What kube-router does to the machine: it puts a jump to its chains first in filter's
 * INPUT, FORWARD and OUTPUT (only its own pods' addresses match in them), and rewrites
 * the whole filter table with iptables-save/iptables-restore on every sync, so a filter
 * rule another program adds in that same instant can be lost. The real node keeps its
 * own rules out of the filter table for that reason (network.ts).
 */
import { existsSync } from 'node:fs';
import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isAlive, type ProcessRecord, startProcess, stopProcess } from '../processes.js';
import { ClusterError } from '../util.js';
import { binaryPath } from '../versions.js';
import { attempt, HOST_PATH, run } from './host.js';
import type { RealNodeLayout } from './layout.js';
import { removeChains } from './network.js';
import type { RealNodeStart } from './node.js';

export const NETWORK_POLICY_PROCESS = 'kube-router';

/** Who enforces network policies on this machine (one claim for every local cluster). */
export const CLAIM_FILE = '/run/vkube/network-policy.json';

interface Claim {
  /** State directory of the cluster whose node enforces. */
  state: string;
  bridge: string;
  /** The claimant while it starts kube-router, then kube-router itself. */
  pid: number;
  binary: string;
}

/** kube-router's chains in the filter table. */
const CHAIN = /^(KUBE-ROUTER-(INPUT|FORWARD|OUTPUT)|KUBE-POD-FW-[A-Z0-9]+|KUBE-NWPLCY-[A-Z0-9]+)$/;
/** Its ipsets: a policy's sources and destinations, and the temporary sets it swaps them through. */
const IPSET = /^(KUBE-SRC-[A-Z0-9]+|KUBE-DST-[A-Z0-9]+|TMP-[A-Z2-7]{16})$/;

async function readClaim(): Promise<Claim | undefined> {
  try {
    return JSON.parse(await readFile(CLAIM_FILE, 'utf8')) as Claim;
  } catch {
    return undefined;
  }
}

/** Writes the claim whole before it becomes visible (link fails when one exists; rename replaces ours). */
async function writeClaim(claim: Claim, how: 'create' | 'replace'): Promise<void> {
  const tmp = `${CLAIM_FILE}.${process.pid}.${Date.now()}`;
  await writeFile(tmp, JSON.stringify(claim, null, 2));
  try {
    if (how === 'create') await link(tmp, CLAIM_FILE);
    else await rename(tmp, CLAIM_FILE);
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * Claims enforcement for this cluster's node; returns why not when another live
 * cluster holds it. A holder that is gone (its pid no longer the program it was) no
 * longer counts: its leftover chains are swept by the next kube-router's first sync.
 * (Two clusters starting in the same instant over a dead holder's claim could both
 * take it over; the slot claim keeps their bridges apart, not their kube-routers.)
 */
async function claim(state: string, node: RealNodeLayout): Promise<string | undefined> {
  await mkdir(dirname(CLAIM_FILE), { recursive: true });
  const mine: Claim = { state, bridge: node.bridge, pid: process.pid, binary: process.execPath };
  for (let i = 0; i < 5; i++) {
    try {
      await writeClaim(mine, 'create');
      return undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const held = await readClaim();
    if (held && held.state !== state && isAlive(held)) {
      return `the real node of the cluster in ${held.state} (bridge ${held.bridge}) enforces them on this machine, and kube-router's chains are machine-wide`;
    }
    // Ours from an earlier start, unreadable, or its holder is gone: free it and try again.
    await rm(CLAIM_FILE, { force: true });
  }
  throw new ClusterError(`cannot claim network-policy enforcement in ${CLAIM_FILE}`, `another cluster keeps claiming it; remove ${CLAIM_FILE} once no local cluster runs`);
}

/** True when this cluster's node is the one enforcing network policies on the machine. */
export async function enforcesNetworkPolicies(state: string): Promise<boolean> {
  return (await readClaim())?.state === state;
}

/** One line for `cluster:status`: whether this cluster's node enforces, and if not, why. */
export async function networkPolicySummary(state: string): Promise<string> {
  const held = await readClaim();
  if (held?.state === state) return `enforced by kube-router (pid ${held.pid})`;
  const why = missingPrerequisite() ?? (held && isAlive(held) ? `the cluster in ${held.state} enforces them on this machine` : 'no node enforces them on this machine now (a real node claims that as it starts: cluster:down, then cluster:up)');
  return `NOT enforced on this node: ${why}`;
}

/** Why kube-router cannot enforce on this machine, or undefined when it can. */
function missingPrerequisite(): string | undefined {
  // Pods on one bridge reach each other without crossing iptables unless bridge netfilter is there.
  if (!existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables')) {
    return 'the kernel has no bridge netfilter (br_netfilter), so traffic between pods on the bridge would bypass iptables; load it (modprobe br_netfilter) and start the cluster again';
  }
  for (const tool of ['ipset', 'iptables-restore']) {
    if (!HOST_PATH.split(':').some((d) => existsSync(`${d}/${tool}`))) return `${tool} is not installed (kube-router needs it): run scripts/install-system-deps.sh`;
  }
  return undefined;
}

/** What the real node's start hands on (kube-router watches every namespace with the admin kubeconfig). */
export type NetworkPolicyStart = Pick<RealNodeStart, 'state' | 'kubeconfig' | 'serviceCidr' | 'log' | 'step' | 'waitFor'> & { node: RealNodeLayout };

/** Starts kube-router for the node when this machine can and no other cluster's node enforces already. */
export async function startNetworkPolicy(s: NetworkPolicyStart): Promise<void> {
  const why = missingPrerequisite() ?? (await claim(s.state, s.node));
  if (why) {
    s.log(`  network policies are NOT enforced on ${s.node.name}: ${why}`);
    return;
  }
  // Per bridge, so the machine-wide bridge-nf-call-iptables setting stays as it is.
  await run('ip', ['link', 'set', s.node.bridge, 'type', 'bridge', 'nf_call_iptables', '1']);
  const proc = await startProcess(s.state, NETWORK_POLICY_PROCESS, binaryPath('kube-router'), kubeRouterArgs(s), { PATH: HOST_PATH });
  await writeClaim({ state: s.state, bridge: s.node.bridge, pid: proc.pid, binary: proc.binary }, 'replace');
  await s.step(`network policies enforced on ${s.node.name} by kube-router`, () =>
    s.waitFor(proc, synced, 60_000, "kube-router's first sync of the network policies"),
  );
}

function kubeRouterArgs(s: NetworkPolicyStart): string[] {
  return [
    `--kubeconfig=${s.kubeconfig}`,
    `--hostname-override=${s.node.name}`,
    '--run-firewall=true',
    '--run-router=false',
    '--run-service-proxy=false',
    '--run-loadbalancer=false',
    '--enable-ipv4=true',
    '--enable-ipv6=false',
    `--service-cluster-ip-range=${s.serviceCidr}`,
    // kube-router lets pods reach the node's own addresses on the node-port range with no
    // policy check. V-Kube refuses NodePort Services and nothing here serves node ports,
    // so the exemption is pointed at two ports nothing listens on (tcpmux, compressnet).
    '--service-node-port-range=1-2',
    // No listening ports: a second cluster's node must not collide with this one.
    '--health-port=0',
    '--metrics-port=0',
  ];
}

/** kube-router's first full sync is done once its chains end in the ACCEPT of what the policies allow. */
async function synced(): Promise<boolean> {
  const filter = await run('iptables-save', ['-t', 'filter']);
  return /^-A KUBE-ROUTER-FORWARD .*rule to explicitly ACCEPT traffic that comply to network policies/m.test(filter);
}

/**
 * Stops kube-router and, when this cluster holds the claim, removes every chain, rule
 * and ipset it made and releases the claim. A node that did not enforce leaves the
 * holder's rules alone.
 */
export async function stopNetworkPolicy(state: string, records: ProcessRecord[], problems: string[]): Promise<void> {
  const proc = records.find((r) => r.name === NETWORK_POLICY_PROCESS);
  if (proc) await stopProcess(state, proc);
  if (!(await enforcesNetworkPolicies(state))) return;
  await removeChains('filter', (chain) => CHAIN.test(chain), problems);
  // Only once no rule refers to them: the kernel refuses to destroy a set in use.
  const sets = ((await attempt('ipset', ['list', '-n'], problems)) ?? '').split('\n').filter((name) => IPSET.test(name));
  for (const set of sets) await attempt('ipset', ['destroy', set], problems);
  await rm(CLAIM_FILE, { force: true });
}

/**
 * The pods kube-router currently guards ("namespace/name"): its rules name each pod
 * whose traffic it sends through the pod's firewall chain.
 */
export async function guardedPods(): Promise<Set<string>> {
  const filter = await run('iptables-save', ['-t', 'filter']);
  const pods = new Set<string>();
  for (const m of filter.matchAll(/rule to jump traffic destined to POD name:(\S+) namespace: (\S+) to chain/g)) pods.add(`${m[2]!}/${m[1]!}`);
  return pods;
}
