/**
 * The real node's network: a Linux bridge per node carrying the node's address, pods
 * on it through CNI's bridge plugin (addresses from host-local, host ports from
 * portmap's iptables DNAT rules, limited to the node's address), and the clean-up that
 * leaves no interface or iptables rule behind.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { attempt, run } from './host.js';
import { MAX_SLOT, type RealNodeLayout, slotFile } from './layout.js';
import { ClusterError } from '../util.js';

/**
 * The slot this cluster's node uses: the one it had, or the lowest free one, claimed by
 * creating its bridge (creating a link is atomic, so two clusters never share a slot).
 * The claim is written down with the node's name at once, so `cluster:down` can take the
 * node down even when `cluster:up` failed half-way.
 */
export async function claimSlot(state: string, node: { name: string; region: string }): Promise<number> {
  const file = slotFile(state);
  if (existsSync(file)) return (JSON.parse(await readFile(file, 'utf8')) as SlotClaim).slot;
  for (let slot = 0; slot <= MAX_SLOT; slot++) {
    try {
      await run('ip', ['link', 'add', `vkube${slot}`, 'type', 'bridge']);
    } catch (err) {
      if (/File exists/.test((err as Error).message)) continue;
      throw err;
    }
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify({ slot, ...node } satisfies SlotClaim));
    return slot;
  }
  throw new ClusterError(`no free real-node slot: bridges vkube0-vkube${MAX_SLOT} all exist`, 'stop other local clusters (npm run cluster:down), or delete stale bridges: ip link del vkube<N>');
}

/** What `<state>/node/slot` holds. */
export interface SlotClaim {
  slot: number;
  name: string;
  region: string;
}

/**
 * The bridge, up, with the node's address: pods' gateway and the address host ports
 * bind to. Pods' traffic may not be routed off the bridge: what runs on the local node
 * talks to this machine only (the kernel forwards once CNI turns forwarding on).
 *
 * That rule sits in the mangle table, which packets cross before the filter table: the
 * network-policy controller (network-policy.ts) ACCEPTs in filter's FORWARD what a
 * policy allows (egress to 0.0.0.0/0 minus private ranges), which would otherwise
 * skip a DROP further down, and it rewrites the whole filter table on every sync.
 */
export async function ensureBridge(node: RealNodeLayout): Promise<void> {
  if (!(await linkExists(node.bridge))) await run('ip', ['link', 'add', node.bridge, 'type', 'bridge']);
  await run('ip', ['addr', 'replace', `${node.ip}/24`, 'dev', node.bridge]);
  await run('ip', ['link', 'set', node.bridge, 'up']);
  const stayLocal = ['FORWARD', '-s', node.subnet, '!', '-o', node.bridge, '-m', 'comment', '--comment', `${node.bridge}: pods stay on this machine`, '-j', 'DROP'];
  const present = await run('iptables', ['-t', 'mangle', '-C', ...stayLocal]).then(() => true, () => false);
  if (!present) await run('iptables', ['-t', 'mangle', '-I', ...stayLocal]);
}

async function linkExists(name: string): Promise<boolean> {
  return existsSync(`/sys/class/net/${name}`);
}

/** The CNI network name, which also marks every iptables rule portmap makes for this node. */
export function cniNetworkName(node: RealNodeLayout): string {
  return node.bridge;
}

/** The conflist containerd hands to CNI for every pod sandbox. */
export async function writeCniConfig(node: RealNodeLayout): Promise<void> {
  const conflist = {
    cniVersion: '1.0.0',
    name: cniNetworkName(node),
    plugins: [
      {
        type: 'bridge',
        bridge: node.bridge,
        isGateway: true,
        // Pods reach nothing beyond this machine: there is nowhere to masquerade to.
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: node.subnet, gateway: node.ip }]],
          routes: [{ dst: '0.0.0.0/0' }],
          dataDir: node.cniDataDir,
        },
      },
      {
        type: 'portmap',
        capabilities: { portMappings: true },
        backend: 'iptables',
        // A host port binds on the node's address only, as on a provider's node: not on
        // 127.0.0.1 or any other address of this machine, where it would capture the
        // traffic of the machine's own services (the API server, the registry…).
        conditionsV4: ['-d', node.ip],
      },
    ],
  };
  await mkdir(node.cniConfDir, { recursive: true });
  await mkdir(node.cniDataDir, { recursive: true });
  await writeFile(join(node.cniConfDir, '10-vkube.conflist'), JSON.stringify(conflist, null, 2));
}

/**
 * Removes the bridge (and any pod interface still attached to it) and every iptables
 * rule and chain left for this node; portmap's shared chains go too once no host port
 * of any node remains in them. Problems are collected, not thrown: clean-up goes on.
 */
export async function removeNetwork(node: RealNodeLayout, problems: string[]): Promise<void> {
  if (await linkExists(node.bridge)) {
    const links = (await attempt('ip', ['-o', 'link', 'show', 'master', node.bridge], problems)) ?? '';
    for (const m of links.matchAll(/^\d+:\s+([^@:\s]+)/gm)) await attempt('ip', ['link', 'del', m[1]!], problems);
    await attempt('ip', ['link', 'del', node.bridge], problems);
  }
  await removeIptablesRules((rule) => rule.includes(`name: "${cniNetworkName(node)}"`) || rule.includes(` ${node.ip}/`) || rule.includes(`${node.subnet}`), problems);
  await removeSharedPortmapChains(problems);
  if (!otherKubeletRunning()) await removeKubeletChains(problems);
}

/** Chains every kubelet makes (in mangle, nat and filter): KUBE-FIREWALL guards 127.0.0.0/8 from other sources. */
const KUBELET_CHAINS = ['KUBE-FIREWALL', 'KUBE-KUBELET-CANARY', 'KUBE-IPTABLES-HINT'];

function otherKubeletRunning(): boolean {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .some((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]!.endsWith('/kubelet');
      } catch {
        return false;
      }
    });
}

/** The kubelet's chains and the jumps into them: gone once no kubelet runs on the machine. */
async function removeKubeletChains(problems: string[]): Promise<void> {
  for (const table of ['mangle', 'nat', 'filter']) await removeChains(table, (chain) => KUBELET_CHAINS.includes(chain), problems);
}

/** Deletes the chains of `table` that `doomed` picks: first every jump into them from other chains, then their rules, then the chains. */
export async function removeChains(table: string, doomed: (chain: string) => boolean, problems: string[]): Promise<void> {
  const saved = (await attempt('iptables-save', ['-t', table], problems)) ?? '';
  const lines = saved.split('\n');
  const chains = lines.filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]!).filter(doomed);
  if (chains.length === 0) return;
  for (const line of lines) {
    if (!line.startsWith('-A ') || chains.includes(line.split(' ')[1]!)) continue;
    if (chains.some((c) => line.endsWith(`-j ${c}`) || line.includes(`-j ${c} `))) await deleteRule(table, line, problems);
  }
  for (const chain of chains) await attempt('iptables', ['-t', table, '-F', chain], problems);
  for (const chain of chains) await attempt('iptables', ['-t', table, '-X', chain], problems);
}

const PORTMAP_CHAINS = ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-SETMARK', 'CNI-HOSTPORT-MASQ'];

/** Deletes the rules `matches` selects (in the nat, filter and mangle tables), then the CNI-DN-* chains they emptied. */
async function removeIptablesRules(matches: (rule: string) => boolean, problems: string[]): Promise<void> {
  for (const table of ['nat', 'filter', 'mangle']) {
    const saved = (await attempt('iptables-save', ['-t', table], problems)) ?? '';
    const doomedChains = new Set<string>();
    for (const line of saved.split('\n')) {
      if (!line.startsWith('-A ') || !matches(line)) continue;
      const chain = line.split(' ')[1]!;
      if (/^CNI-DN-/.test(chain)) doomedChains.add(chain);
      await deleteRule(table, line, problems);
    }
    // Jumps into the emptied per-container chains, then the chains themselves.
    const again = (await attempt('iptables-save', ['-t', table], problems)) ?? '';
    for (const line of again.split('\n')) {
      if (line.startsWith('-A ') && [...doomedChains].some((c) => line.includes(`-j ${c}`))) await deleteRule(table, line, problems);
    }
    for (const chain of doomedChains) {
      await attempt('iptables', ['-t', table, '-F', chain], problems);
      await attempt('iptables', ['-t', table, '-X', chain], problems);
    }
  }
}

/** portmap's top-level chains, shared by every node on the machine: removed once no host port is left in them. */
async function removeSharedPortmapChains(problems: string[]): Promise<void> {
  const nat = (await attempt('iptables-save', ['-t', 'nat'], problems)) ?? '';
  if (!nat.includes(':CNI-HOSTPORT-DNAT')) return;
  if (nat.split('\n').some((l) => l.startsWith('-A CNI-HOSTPORT-DNAT '))) return; // another node still maps host ports
  for (const line of nat.split('\n')) {
    if (line.startsWith('-A ') && PORTMAP_CHAINS.some((c) => line.includes(`-j ${c}`))) await deleteRule('nat', line, problems);
  }
  for (const chain of PORTMAP_CHAINS) {
    await attempt('iptables', ['-t', 'nat', '-F', chain], problems);
    await attempt('iptables', ['-t', 'nat', '-X', chain], problems);
  }
}

/** `-A CHAIN rest…` from iptables-save, deleted as `-D CHAIN rest…`. */
async function deleteRule(table: string, saveLine: string, problems: string[]): Promise<void> {
  const args = splitSaveLine(saveLine.replace(/^-A /, '-D '));
  await attempt('iptables', ['-t', table, ...args], problems);
}

/** Splits an iptables-save line into arguments, keeping "quoted comments" whole. */
export function splitSaveLine(line: string): string[] {
  const args: string[] = [];
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) args.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return args;
}
