/**
 * A customer's VKubefile.yaml (the original `vkube` CLI's file) deployed with our
 * `vkube deploy -f` to the real node, with a Docker Hub image name: V-Kube checks the
 * image at the docker.io mirror (VKUBE_REGISTRY_MIRRORS, the local registry) and the
 * node pulls it from the same place (its containerd maps docker.io there), so what was
 * checked is what runs. The container answers on its host port with the file's env,
 * its configuration file and its persistent volume.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../../dev/cluster/config.js';
import { pushAppImage, realNodeOrSkip, served, testHostPort } from '../helpers/real-node.js';
import { type ServerProcess, startServerProcess } from '../helpers/server.js';

const { node, skip } = await realNodeOrSkip();
let server: ServerProcess;
let work: string;
/** Orders to abort at the end, passed or failed: their pods must not outlive the test. */
const orders: string[] = [];

before(async () => {
  if (!node) return;
  server = await startServerProcess({ VKUBE_REGISTRY_MIRRORS: `docker.io=http://${node.registry}`, VKUBE_UNIT_MEMORY: '64Mi', VKUBE_UNIT_CPU: '250m' });
  work = await mkdtemp(join(tmpdir(), 'vkube-vkubefile-'));
});
after(async () => {
  for (const id of orders) await fetch(`${server.url}/api/v1/admin/orders/${id}/abort`, { method: 'POST', headers: { authorization: `Bearer ${server.adminToken}` } });
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

function vkube(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, VKUBE_CONFIG_DIR: join(work, 'config') };
    for (const k of ['VKUBE_SERVER', 'VKUBE_SECRET', 'VKUBE_ADMIN_TOKEN']) delete env[k];
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'vkube.js'), ...args], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('a VKubefile on the real node', { skip }, () => {
  it('deploys a Docker Hub name checked and pulled at the mirror; env, config file and volume reach the container', { timeout: 180_000 }, async () => {
    const n = node!;
    const app = await pushAppImage(n, `vkube-test/vkubefile-${Date.now().toString(36)}`);
    const order = await server.createOrder({ serviceOptions: { resourceUnit: '2-Unit-Resource', region: n.region, persistStorage: 'Yes' } });
    orders.push(order.id);
    const hostPort = testHostPort();
    await writeFile(join(work, 'app.conf'), 'served-by = vkubefile\n');
    await writeFile(
      join(work, 'VKubefile.yaml'),
      `vkubeToken: ${order.token}
imageRegistry: docker
containers:
  - imageName: ${app.repository}
    tag: ${app.tag}
    deploy:
      containerName: web
      resourceUnit: 1
      ports:
        - containerPort: 80
          hostPort: ${hostPort}
      env:
        - name: APP_TOKEN
          value: vkubefile-${hostPort}
        - name: DATA_DIR
          value: /data
        - name: SHOW_FILES
          value: /etc/app/app.conf
      configurations:
        app.conf: /etc/app/app.conf
      persistStorage: /data
`,
    );
    const r = await vkube(['deploy', '-f', 'VKubefile.yaml', '--timeout', '120']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^Running: pod \S+ on laima/m);
    assert.doesNotMatch(r.out, /could not be checked|unreachable/i, 'the image was checked at the mirror, not skipped');
    const body = await served(n, hostPort, /^starts=1$/m);
    assert.match(body, new RegExp(`^token=vkubefile-${hostPort}$`, 'm'));
    assert.match(body, /^file \/etc\/app\/app\.conf: served-by = vkubefile\|$/m);

    // A Docker Hub name the mirror does not have is refused before anything is deployed.
    await writeFile(join(work, 'missing.yaml'), `vkubeToken: ${order.token}\nimageRegistry: docker\ncontainers:\n  - imageName: vkube-test/not-pushed\n    tag: v1\n    deploy:\n      containerName: web\n      resourceUnit: 1\n`);
    const missing = await vkube(['deploy', '-f', 'missing.yaml']);
    assert.notEqual(missing.code, 0, missing.out);
    assert.match(missing.out, /vkube-test\/not-pushed:v1/);
  });
});
