/** `npm run cluster:status`: what of the local cluster runs, and how healthy it is. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expectedProcesses, kubeconfigPath, loadClusterConfig, type Ports, realNodeRegion, stateDir } from './config.js';
import { kubeClient, probe, readyNodes } from './kube.js';
import { pkiPaths } from './pki.js';
import { isAlive, readRecords } from './processes.js';
import { registryHost } from './local-registry.js';
import { enforcesNetworkPolicies, networkPolicySummary } from './real-node/network-policy.js';
import { realNodeOf } from './real-node/node.js';

export async function status(): Promise<boolean> {
  const state = stateDir();
  if (!existsSync(state)) {
    console.log('no local cluster here; start one with `npm run cluster:up`');
    return false;
  }
  const records = await readRecords(state);
  let ok = true;
  const config = loadClusterConfig();
  const enforces = await enforcesNetworkPolicies(state);
  for (const name of expectedProcesses(config, enforces)) {
    const rec = records.find((r) => r.name === name);
    const alive = rec ? isAlive(rec) : false;
    ok &&= alive;
    console.log(`${name.padEnd(24)} ${alive ? `running (pid ${rec!.pid})` : 'not running'}`);
  }
  // A missing or damaged cluster.json: the API is not probed; the processes listed above still say what runs.
  const ports = await readFile(join(state, 'cluster.json'), 'utf8')
    .then((t) => (JSON.parse(t) as { ports: Ports }).ports)
    .catch(() => undefined);
  if (ports) {
    const ready = await probe(`https://127.0.0.1:${ports.apiserver}/readyz`, pkiPaths(join(state, 'pki')));
    ok &&= ready.status === 200;
    console.log(`${'API'.padEnd(24)} https://127.0.0.1:${ports.apiserver} ${ready.status === 200 ? 'ready' : 'not ready'}`);
    if (ready.status === 200) {
      const nodes = await readyNodes(kubeClient(kubeconfigPath()));
      console.log(`${'nodes'.padEnd(24)} ${nodes.ready.length}/${nodes.total} Ready${nodes.notReady.length ? ` (not ready: ${nodes.notReady.join(', ')})` : ''}`);
      ok &&= nodes.notReady.length === 0;
    }
    const real = realNodeRegion(config);
    const node = real ? await realNodeOf(state) : undefined;
    if (node) {
      console.log(`${'real node'.padEnd(24)} ${node.name} in region ${node.region}: ${node.ip} on bridge ${node.bridge}, pods from ${node.subnet}`);
      console.log(`${'local registry'.padEnd(24)} ${registryHost(ports.registry)} (plain HTTP; docker.io images are pulled from it)`);
      console.log(`${'network policies'.padEnd(24)} ${await networkPolicySummary(state)}`);
    }
  }
  console.log(`${'kubeconfig'.padEnd(24)} ${kubeconfigPath()}`);
  return ok;
}
