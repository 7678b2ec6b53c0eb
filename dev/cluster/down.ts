/**
 * `npm run cluster:down`: stops every process `cluster:up` started (by its recorded
 * pid), takes the real node down without leftovers (containers, mounts, interfaces,
 * iptables rules, cgroups, kernel settings), checks that the ports are free again, and
 * removes the state directory unless `--keep` is given.
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PROCESS_ORDER, type Ports, REAL_NODE_PROCESSES, stateDir } from './config.js';
import { portIsFree, readRecords, stopProcess } from './processes.js';
import { NETWORK_POLICY_PROCESS } from './real-node/network-policy.js';
import { realNodeOf, stopRealNode } from './real-node/node.js';
import { ClusterError, sleep } from './util.js';

interface SavedCluster {
  ports: Ports;
}

export async function down(opts: { keep?: boolean; log?: (line: string) => void } = {}): Promise<void> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const state = stateDir();
  if (!existsSync(state)) {
    log('no local cluster here (nothing to stop)');
    return;
  }
  // A missing or damaged cluster.json: stop what the process records name, as below, without it.
  const saved = await readFile(join(state, 'cluster.json'), 'utf8')
    .then((t) => JSON.parse(t) as SavedCluster)
    .catch(() => undefined);
  const records = await readRecords(state);
  const rank = (name: string) => PROCESS_ORDER.indexOf(name as (typeof PROCESS_ORDER)[number]);
  // Stop in reverse start order: kwok and the controllers before the apiserver, etcd last.
  records.sort((a, b) => rank(b.name) - rank(a.name));
  const problems: string[] = [];
  let realNodeDown = false;
  for (const rec of records) {
    // The real node's daemons go down together, with what they left on the machine.
    if (rec.name === 'kubelet' || rec.name === 'containerd' || rec.name === NETWORK_POLICY_PROCESS) {
      if (realNodeDown) continue;
      realNodeDown = true;
      problems.push(...(await takeDownRealNode(state, records, log)));
      continue;
    }
    await stopProcess(state, rec);
    log(`stopped ${rec.name} (pid ${rec.pid})`);
  }
  // A node whose processes were already gone (killed, crashed) still has its network, cgroups and mounts.
  if (!realNodeDown) problems.push(...(await takeDownRealNode(state, [], log)));
  if (problems.length) log(`the real node left things behind:\n  ${problems.join('\n  ')}`);

  if (saved) {
    const busy: number[] = [];
    for (const port of Object.values(saved.ports)) {
      let free = await portIsFree(port);
      for (let i = 0; !free && i < 50; i++) {
        await sleep(100);
        free = await portIsFree(port);
      }
      if (!free) busy.push(port);
    }
    if (busy.length) throw new ClusterError(`ports still in use after stopping the cluster: ${busy.join(', ')}`, `find the owner with ss -ltnp and stop it`);
  }
  if (!opts.keep) {
    await rm(state, { recursive: true, force: true });
    log(`removed ${state}`);
  }
}

async function takeDownRealNode(state: string, records: Awaited<ReturnType<typeof readRecords>>, log: (line: string) => void): Promise<string[]> {
  const node = await realNodeOf(state);
  if (!node) {
    // Processes without a node layout (a start that failed early): just stop them.
    for (const rec of records.filter((r) => (REAL_NODE_PROCESSES as readonly string[]).includes(r.name) && r.name !== 'registry')) await stopProcess(state, rec);
    return [];
  }
  const problems = await stopRealNode(state, node, records);
  log(`took down the real node ${node.name} (kubelet, pods, containerd, bridge ${node.bridge}, cgroup ${node.cgroupRoot})`);
  return problems;
}
