/**
 * How long kube-apiserver takes to make a Deployment by a create (POST) and by a
 * server-side apply (PATCH, `application/apply-patch+yaml`), and what the create costs
 * once V-Kube's take-over of its fields (cluster/field-ownership.ts) follows it: the
 * figures behind V-Kube creating a Deployment the watch does not show
 * (KubernetesGateway.writeDeployment). The three alternate in batches, in a namespace of
 * their own, against the local control plane:
 *
 *   npm run cluster:up && npx tsx bench/create-vs-apply.ts [--per-batch 100] [--batches 6]
 *
 * Latency is the request's round trip, one at a time; CPU is what kube-apiserver and etcd
 * used per Deployment, from /proc, over each batch and a pause after it (the controllers'
 * reaction included, alike for all three: replicas 0).
 */
import { readRecords } from '../dev/cluster/processes.js';
import { kubeconfigPath, stateDir } from '../dev/cluster/config.js';
import { ownershipUpgradePatch } from '../src/cluster/field-ownership.js';
import { KubeHttp } from '../src/cluster/kube-http.js';
import { cpuSecondsOf } from './proc.js';
import { median, round } from './stats.js';

type Way = 'create' | 'apply' | 'create + take-over';
const WAYS: Way[] = ['create', 'apply', 'create + take-over'];

const flag = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const perBatch = flag('--per-batch', 100);
const batches = flag('--batches', 6);

const ns = `create-vs-apply-${Date.now().toString(36)}`;
const kube = await KubeHttp.connect(kubeconfigPath());
const pids = Object.fromEntries((await readRecords(stateDir())).filter((r) => r.name === 'kube-apiserver' || r.name === 'etcd').map((r) => [r.name, r.pid]));

/** A Deployment shaped as V-Kube's: one container, a named host port, limits, a hardened security context. */
function deployment(name: string) {
  const labels = { 'app.kubernetes.io/managed-by': 'bench', 'vkube.dev/order': name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels, annotations: { 'vkube.dev/spec-generation': '1' } },
    spec: {
      replicas: 0,
      strategy: { type: 'Recreate' },
      revisionHistoryLimit: 2,
      selector: { matchLabels: { 'vkube.dev/order': name } },
      template: {
        metadata: { labels, annotations: { 'vkube.dev/restart': '1' } },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'web',
              image: 'busybox:1.36',
              command: ['sh', '-c'],
              args: ['httpd -f -p 80'],
              env: [{ name: 'A', value: '1' }],
              ports: [{ name: 'pub-tcp-0', containerPort: 80, hostPort: 30080, protocol: 'TCP' }],
              resources: { limits: { cpu: '250m', memory: '256Mi' }, requests: { cpu: '250m', memory: '256Mi' } },
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      },
    },
  };
}

const collection = `/apis/apps/v1/namespaces/${ns}/deployments`;
type Made = { metadata: { managedFields?: Array<{ manager?: string; operation?: string }> } };

async function make(way: Way, name: string): Promise<number> {
  const started = performance.now();
  if (way === 'apply') {
    await kube.apply(`${collection}/${name}`, deployment(name), 'bench');
  } else {
    const made = await kube.post<Made>(collection, deployment(name), { query: { fieldManager: 'bench' } });
    if (way === 'create + take-over') await kube.jsonPatch(`${collection}/${name}`, ownershipUpgradePatch(made.metadata.managedFields, 'bench')!);
  }
  return performance.now() - started;
}

const cpuNow = () => Object.fromEntries(Object.entries(pids).map(([n, pid]) => [n, cpuSecondsOf(pid) ?? 0]));
const latencies = new Map<Way, number[]>(WAYS.map((w) => [w, []]));
const cpuMs = new Map<Way, Record<string, number>>(WAYS.map((w) => [w, {}]));
await kube.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
try {
  let n = 0;
  for (let b = 0; b < batches; b++) {
    // Each batch in another order, so a slow stretch of the machine is shared.
    for (const way of b % 2 ? [...WAYS].reverse() : WAYS) {
      const before = cpuNow();
      for (let i = 0; i < perBatch; i++) latencies.get(way)!.push(await make(way, `d${n++}`));
      await new Promise((r) => setTimeout(r, 1500));
      const after = cpuNow();
      const used = cpuMs.get(way)!;
      for (const name of Object.keys(pids)) used[name] = (used[name] ?? 0) + (after[name]! - before[name]!) * 1000;
    }
  }
  const made = perBatch * batches;
  console.log(`${made} Deployments each way, ${batches} batches of ${perBatch}, one request at a time`);
  console.log('| way | median latency | p90 latency | kube-apiserver CPU per Deployment | etcd CPU per Deployment |');
  console.log('|---|---|---|---|---|');
  for (const way of WAYS) {
    const sorted = [...latencies.get(way)!].sort((a, b) => a - b);
    const cpu = cpuMs.get(way)!;
    console.log(`| ${way} | ${round(median(sorted))} ms | ${round(sorted[Math.floor(sorted.length * 0.9)]!)} ms | ${round((cpu['kube-apiserver'] ?? 0) / made)} ms | ${round((cpu.etcd ?? 0) / made)} ms |`);
  }
} finally {
  await kube.delete(`/api/v1/namespaces/${ns}`).catch(() => {});
  kube.close();
}
