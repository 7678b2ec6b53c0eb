/**
 * The real `bin/vkube.js` against a real V-Kube process on the local cluster (fake
 * nodes): `status` and `deploy` print where the app is reached, `history`, `rollback N`
 * (and its exit codes), `top`. Host ports used here: 6021-6029.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../../dev/cluster/config.js';
import { type ServerProcess, startServerProcess } from '../helpers/server.js';

const BIN = join(repoRoot, 'bin', 'vkube.js');
let server: ServerProcess;
let work: string;
const orders: string[] = [];

before(async () => {
  server = await startServerProcess({ VKUBE_REGISTRY_TIMEOUT_MS: '1500', VKUBE_PUBLIC_HOSTS: 'ausrine=ausrine.example.com' });
  work = await mkdtemp(join(tmpdir(), 'vkube-cli-view-'));
});
after(async () => {
  for (const id of orders) await fetch(`${server.url}/api/v1/admin/orders/${id}/abort`, { method: 'POST', headers: { authorization: `Bearer ${server.adminToken}` } }).catch(() => undefined);
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

function vkube(args: string[], secret: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: Record<string, string | undefined> = { ...process.env, VKUBE_CONFIG_DIR: join(work, 'cfg'), VKUBE_SERVER: server.url, VKUBE_SECRET: secret };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const body = (image: string, hostPort: number) => `nodeSelector:\n  region: ausrine\ncontainers:\n  - name: web\n    imageName: ${image}\n    ports:\n      - containerPort: 80\n        hostPort: ${hostPort}\n    resource:\n      memory: 64Mi\n`;

describe('vkube status, deploy, history, rollback, top', () => {
  it('prints where the app is reached, lists the history and rolls back', async () => {
    const order = await server.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'ausrine' } });
    orders.push(order.id);
    const first = join(work, 'first.yaml');
    await writeFile(first, body('nginx', 6021));
    const d1 = await vkube(['deploy', '-f', first, '--no-image-check'], order.secret);
    assert.equal(d1.code, 0, d1.stdout + d1.stderr);
    assert.match(d1.stdout, /Reach it at:\n {2}http:\/\/ausrine\.example\.com:6021\/ {2}→ web 80\/TCP/);
    const second = join(work, 'second.yaml');
    await writeFile(second, body('busybox', 6021));
    const d2 = await vkube(['deploy', '-f', second, '--no-image-check', '--json'], order.secret);
    assert.equal(d2.code, 0, d2.stdout + d2.stderr);
    const g2 = (JSON.parse(d2.stdout) as { deploy: { generation: number } }).deploy.generation;

    const status = await vkube(['status'], order.secret);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /Reach it at:\n {2}http:\/\/ausrine\.example\.com:6021\/ {2}→ web 80\/TCP/);

    const history = await vkube(['history'], order.secret);
    assert.equal(history.code, 0, history.stderr);
    assert.match(history.stdout, new RegExp(`^GENERATION +DEPLOYED +CONTAINERS\\n${g2} \\(current\\) +.+ +web: busybox, 80→6021/TCP\\n\\d+ +.+ +web: nginx, 80→6021/TCP\\n`));
    const h = JSON.parse((await vkube(['history', '--json'], order.secret)).stdout) as { entries: Array<{ generation: number }> };
    const g1 = h.entries[1]!.generation;

    const back = await vkube(['rollback', String(g1)], order.secret);
    assert.equal(back.code, 0, back.stdout + back.stderr);
    assert.match(back.stderr, new RegExp(`Rolled back to generation ${g1}: recorded as generation \\d+\\.`));
    assert.match(back.stdout, /web +nginx +80\/TCP → host 6021/);
    assert.match(back.stdout, /Reach it at:/);

    const missing = await vkube(['rollback', '999', '--json'], order.secret);
    assert.equal(missing.code, 4, 'not found');
    assert.match((JSON.parse(missing.stdout) as { error: { message: string } }).error.message, /no deploy of generation 999/);
    assert.equal((await vkube(['rollback', 'two'], order.secret)).code, 2, 'usage');

    const top = await vkube(['top', '--json'], order.secret);
    assert.equal(top.code, 0, top.stdout + top.stderr);
    const doc = JSON.parse(top.stdout) as { containers: Array<{ name: string; memoryLimitBytes: number; cpuLimitCores: number | null }> };
    assert.equal(doc.containers[0]!.name, 'web');
    assert.equal(doc.containers[0]!.memoryLimitBytes, 64 * 2 ** 20);
    const human = await vkube(['top'], order.secret);
    assert.match(human.stdout, /^CONTAINER +CPU +MEMORY\nweb +\d+m of \d+m \(\d+%\) +[\d.]+ (MiB|B|KiB) of 64\.0 MiB \(\d+%\)\n/);
  });
});
