/**
 * cluster:up / status / down as a developer runs them: a second cluster beside the
 * shared one (own state directory, own ports, its own real node running a container,
 * network policies enforced by whichever node came first), idempotent start, a clean
 * stop that leaves no process, port, container, mount, interface, iptables rule, ipset
 * or cgroup behind, and clear messages for the usual mistakes.
 */
import * as k8s from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cacheProblem } from '../../dev/cluster/build.js';
import { repoRoot, stateDir } from '../../dev/cluster/config.js';
import { portIsFree, type ProcessRecord } from '../../dev/cluster/processes.js';
import { CLAIM_FILE, enforcesNetworkPolicies } from '../../dev/cluster/real-node/network-policy.js';
import { realNodeOf } from '../../dev/cluster/real-node/node.js';
import { realNode } from '../../dev/cluster/testing.js';
import { eventually } from '../helpers/eventually.js';
import { httpGet } from '../helpers/real-node.js';

interface Run {
  code: number;
  out: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'dev/cluster/cli.ts'), ...args],
      { cwd: repoRoot, env: { ...process.env, ...env }, timeout: timeoutMs },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

function sbinTool(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile(cmd, args, { env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } }, (err, out) => (err ? reject(err) : resolve(out))));
}

const iptablesSave = () => sbinTool('iptables-save', []);
const ipsetNames = async () => (await sbinTool('ipset', ['list', '-n'])).split('\n').filter(Boolean);

/** Pids of the processes whose argv `test` picks. */
function processesMatching(test: (argv: string[]) => boolean): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        return test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'));
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('cluster:up, status and down', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('runs a second cluster, real node included, on other ports; says so when already up; stops without leftovers', { timeout: 300_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vkube-second-cluster-'));
    // Below Linux's ephemeral range (32768-60999), so no client socket of a busy test run can hold one of these ports.
    const env = { VKUBE_CLUSTER_DIR: dir, VKUBE_CLUSTER_PORT_BASE: '27543' };
    cleanups.push(() => cli(['down'], env));
    const claimedBefore = existsSync(CLAIM_FILE);

    const first = await cli(['up'], env);
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /the local cluster is up in/);
    assert.ok(first.out.includes(join(dir, 'kubeconfig')), 'prints the kubeconfig path');
    assert.match(readFileSync(join(dir, 'kubeconfig'), 'utf8'), /server: https:\/\/127\.0\.0\.1:27543/);

    const again = await cli(['up'], env);
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /already up and healthy/);

    const status = await cli(['status'], env);
    assert.equal(status.code, 0, status.out);
    assert.match(status.out, /nodes\s+4\/4 Ready/);
    assert.match(status.out, /real node\s+laima-1 in region laima: (10\.88\.\d+\.1) on bridge (vkube\d+)/);
    assert.match(status.out, /local registry\s+127\.0\.0\.1:27552/, 'the registry moves with the port block');

    // One node per machine enforces network policies (kube-router's chains are machine-wide):
    // this cluster's, unless the shared cluster's node got there first.
    const sharedEnforces = await enforcesNetworkPolicies(stateDir());
    const enforces = /network policies\s+enforced by kube-router/.test(status.out);
    if (!claimedBefore) assert.ok(enforces, `the first real node on the machine enforces network policies:\n${status.out}`);
    if (sharedEnforces) {
      assert.equal(enforces, false, 'a second node never enforces beside the first');
      assert.match(first.out, /network policies are NOT enforced on laima-1: the real node of the cluster in .* enforces them on this machine/);
    }

    const saved = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as { ports: Record<string, number> };
    const names = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'registry', 'containerd', 'kubelet', ...(enforces ? ['kube-router'] : []), 'local-path-provisioner', 'kwok', 'metrics-server'];
    const records = names.map((name) => JSON.parse(readFileSync(join(dir, 'pids', `${name}.json`), 'utf8')) as ProcessRecord);
    assert.ok(records.every((r) => alive(r.pid)), 'every process runs');

    // A real container with a host port on this cluster's node, beside the shared cluster's.
    const node = await realNodeOf(dir);
    assert.ok(node, 'the second cluster has its own real node');
    const ours = await realNode();
    if (ours) assert.notEqual(node.bridge, ours.layout.bridge, 'each cluster has its own bridge');
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(join(dir, 'kubeconfig'));
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'web' },
        spec: {
          nodeSelector: { region: 'laima' },
          automountServiceAccountToken: false,
          containers: [
            {
              name: 'web',
              image: 'busybox',
              command: ['sh', '-c', 'mkdir -p /www && echo second-cluster > /www/index.html && exec httpd -f -p 80 -h /www'],
              ports: [{ containerPort: 80, hostPort: 27600 }],
            },
          ],
        },
      },
    });
    const page = await eventually(async () => (await httpGet(`http://${node.ip}:27600/`)).body, { timeoutMs: 60_000 });
    assert.equal(page, 'second-cluster\n');

    const stopped = await cli(['down'], env);
    assert.equal(stopped.code, 0, stopped.out);
    assert.doesNotMatch(stopped.out, /left things behind/);
    for (const r of records) assert.equal(alive(r.pid), false, `${r.name} (pid ${r.pid}) is gone`);
    for (const port of Object.values(saved.ports)) assert.equal(await portIsFree(port), true, `port ${port} is free`);
    assert.equal(existsSync(dir), false, 'state removed');
    // Nothing of the real node is left on the machine.
    assert.equal(existsSync(`/sys/class/net/${node.bridge}`), false, `bridge ${node.bridge} removed`);
    assert.equal(existsSync(node.runDir), false, `${node.runDir} removed`);
    for (const h of ['memory', 'pids', 'cpu', 'systemd']) assert.equal(existsSync(`/sys/fs/cgroup/${h}${node.cgroupRoot}`), false, `cgroup ${h}${node.cgroupRoot} removed`);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
    assert.ok(!mounts.includes(dir) && !mounts.includes(node.runDir), 'no mount left under its directories');
    const rules = await iptablesSave();
    assert.ok(!rules.includes(node.bridge) && !rules.includes(node.subnet) && !rules.includes(`${node.ip}/32`), `no iptables rule of ${node.bridge} left:\n${rules}`);
    const shims = processesMatching((argv) => argv.includes(node.containerdSocket));
    assert.deepEqual(shims, [], 'no containerd shim of its node left');
    if (enforces) {
      assert.ok(!/KUBE-ROUTER|KUBE-POD-FW|KUBE-NWPLCY/.test(rules), `no kube-router chain left:\n${rules}`);
      const sets = await ipsetNames();
      assert.ok(!sets.some((set) => /^(KUBE-SRC|KUBE-DST)-/.test(set)), `no kube-router ipset left: ${sets.join(', ')}`);
      assert.equal(existsSync(CLAIM_FILE), false, 'its claim on network-policy enforcement released');
    } else if (sharedEnforces) {
      assert.ok(rules.includes(':KUBE-ROUTER-FORWARD'), "the shared cluster's kube-router chains are untouched");
    }
    // (No request to its address now: with the bridge gone it is no longer this machine's.)
  });

  it('names the port and how to move it when a port is taken', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vkube-busy-port-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(27643, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => blocker.close(r)));
    const run = await cli(['up'], { VKUBE_CLUSTER_DIR: dir, VKUBE_CLUSTER_PORT_BASE: '27643' });
    assert.equal(run.code, 1);
    assert.match(run.out, /port 27643 \(apiserver\) is already in use/);
    assert.match(run.out, /VKUBE_CLUSTER_PORT_BASE/);
  });

  it('says the Go toolchain is missing, and how to get it, when there is something to build', async () => {
    const cache = await mkdtemp(join(tmpdir(), 'vkube-empty-cache-'));
    cleanups.push(() => rm(cache, { recursive: true, force: true }));
    const run = await cli(['build'], { VKUBE_CACHE_DIR: cache, GO: '/nonexistent/go' }, 30_000);
    assert.equal(run.code, 1);
    assert.match(run.out, /the Go toolchain was not found/);
    assert.match(run.out, /fix: install Go 1\.26/);
  });

  it('detects a damaged cache instead of starting a broken binary', async () => {
    const root = await mkdtemp(join(tmpdir(), 'vkube-broken-cache-'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const dir = join(root, 'etcd-v3.6.16');
    const component = { name: 'etcd', version: 'v3.6.16', dir, binaries: ['etcd'] };
    assert.equal(await cacheProblem(component), undefined, 'a missing directory is simply not built yet');
    await mkdir(dir);
    await writeFile(join(dir, 'etcd'), 'truncated', { mode: 0o755 });
    assert.match((await cacheProblem(component))!, /did not finish/);
    await writeFile(join(dir, '.complete'), JSON.stringify({ version: 'v3.6.16', sizes: { etcd: 123456 } }));
    assert.match((await cacheProblem(component))!, /etcd is damaged/);
    await writeFile(join(dir, '.complete'), JSON.stringify({ version: 'v3.5.0', sizes: { etcd: 9 } }));
    assert.match((await cacheProblem(component))!, /built for v3\.5\.0/);
    await writeFile(join(dir, '.complete'), JSON.stringify({ version: 'v3.6.16', sizes: { etcd: 9 } }));
    assert.equal(await cacheProblem(component), undefined);
  });
});
