/**
 * `npm run dev`: the local cluster (started if needed), V-Kube on it, and a demo order
 * whose secret is printed with a curl line for every seed endpoint. Ctrl-C stops
 * V-Kube; the cluster keeps running (`npm run cluster:down` stops it).
 */
import { spawn } from 'node:child_process';
import { ensureCluster, realNode } from '../dev/cluster/testing.js';
import { repoRoot } from '../dev/cluster/config.js';
import { ensureSystemDeps } from '../dev/system-deps.js';

const port = Number(process.env.PORT ?? 8080);
const adminToken = process.env.VKUBE_ADMIN_TOKEN ?? 'vkube-dev-admin-token';
const base = `http://localhost:${port}`;

async function waitReady(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`V-Kube did not become ready on ${base} within ${timeoutMs / 1000}s`);
}

async function main(): Promise<void> {
  await ensureSystemDeps((line) => console.log(`  ${line}`));
  console.log('local Kubernetes control plane…');
  const cluster = await ensureCluster((line) => console.log(`  ${line}`));
  const node = await realNode();
  // Docker Hub names are checked where the real node pulls them: the local registry,
  // which image checks may also be pointed at by name (127.0.0.1:<port>/busybox).
  const registries = node
    ? {
        VKUBE_REGISTRY_MIRRORS: process.env.VKUBE_REGISTRY_MIRRORS ?? `docker.io=http://${node.registry}`,
        VKUBE_PRIVATE_REGISTRIES: [process.env.VKUBE_PRIVATE_REGISTRIES, node.registry].filter(Boolean).join(','),
      }
    : {};
  const server = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: repoRoot,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, ...registries, PORT: String(port), VKUBE_ADMIN_TOKEN: adminToken, KUBECONFIG: cluster.kubeconfig, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
  });
  const stop = () => server.kill('SIGTERM');
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  server.on('exit', (code) => process.exit(code ?? 0));

  await waitReady(60_000);
  // The demo runs a real container when the cluster has a real node.
  const region = node?.region ?? 'ausrine';
  const res = await fetch(`${base}/api/v1/admin/orders`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ duration: 24, serviceOptions: { resourceUnit: '2-Unit-Resource', region }, email: 'demo@example.com' }),
  });
  if (!res.ok) throw new Error(`creating the demo order failed: ${res.status} ${await res.text()}`);
  const { secret, order } = (await res.json()) as { secret: string; order: { id: string } };
  const S = `-H 'secret: ${secret}'`;
  const J = `-H 'content-type: application/json'`;
  console.log(`
V-Kube is up on ${base}   (admin token: ${adminToken})

Console:  ${base}/   — sign in with the secret below

A demo order ${order.id} (2 units, region ${region}, 24 hours). Its secret:

  ${secret}

Try the seed API:

  curl ${base}/api/v1/k8s/regions
  curl '${base}/api/v1/k8s/images?image=nginx&tag=stable'
  curl -X POST ${base}/api/v1/k8s/checkports ${J} -d '{"region":"${region}","ports":[22,3306,1234,1111]}'
  curl ${base}/api/v1/k8s/order ${S}
  curl -X POST ${base}/api/v1/k8s/deploy ${S} ${J} -d '${JSON.stringify(demoDeploy(region))}'
  curl ${base}/api/v1/k8s/pod/status ${S}
  curl ${base}/api/v1/k8s/pod/log ${S}
${node ? `  curl http://${node.ip}:2999/          # the container itself, on its host port of node ${node.name}
` : ''}
Provider side:  curl ${base}/api/v1/admin/orders -H 'authorization: Bearer ${adminToken}'
                npx vkube admin order list --server ${base} --admin-token ${adminToken}
Command line:   npx vkube login --server ${base} --secret ${secret}
API reference:  ${base}/docs  (OpenAPI: ${base}/openapi.json)
Ctrl-C stops V-Kube; \`npm run cluster:down\` stops the cluster.
`);
}

/**
 * The demo's deploy body. On the real node: busybox (in the local registry, which serves
 * docker.io here) answering HTTP on host port 2999. On kwok's fake nodes nothing runs,
 * so any image name will do.
 */
function demoDeploy(region: string): unknown {
  const web = 'echo hello from V-Kube > /tmp/index.html; exec httpd -f -v -p 80 -h /tmp';
  return {
    nodeSelector: { region },
    containers: [
      {
        name: 'web',
        imageName: region === 'ausrine' ? 'nginx' : 'busybox',
        ports: [{ containerPort: 80, hostPort: 2999 }],
        resource: { memory: '100Mi' },
        ...(region === 'ausrine' ? {} : { command: ['/bin/sh', '-c', web] }),
      },
    ],
  };
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
