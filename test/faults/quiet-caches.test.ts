/**
 * Status reads through quiet and busy spells. A real V-Kube process whose watches are
 * re-opened after 5 s of silence (VKUBE_WATCH_STALL_SECONDS), on a cluster where most of
 * what V-Kube watches does not change: its volume claims (there are none) hear no event
 * and no bookmark for minutes. The benchmark saw hundreds of status reads answer 503
 * "the cluster cannot be read now" each time such a watch crossed its stall time; here
 * the same reads go on for several stall periods, and through a spell in which the
 * process does not run at all (SIGSTOP, as a scheduler or a long synchronous task does),
 * and every one is answered from the caches.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { testKubeClient } from '../../dev/cluster/testing.js';
import { type KubeError, KubeHttp } from '../../src/cluster/kube-http.js';
import { namespaceOf } from '../../src/domain/manifests.js';
import { seedDeployBody } from '../helpers/app.js';
import { eventually } from '../helpers/eventually.js';
import { type ServerProcess, startServerProcess } from '../helpers/server.js';

const REGION = 'giltine';
const cleanups: Array<() => Promise<unknown> | unknown> = [];
let kube: KubeHttp;
before(async () => {
  kube = await KubeHttp.fromKubeConfig(testKubeClient());
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  kube.close();
});

/**
 * A connection of its own per read: a keep-alive connection idle past the server's keep-alive
 * timeout while the process was stopped is closed by it on waking, which is not what this tests.
 */
function statusOf(r: ServerProcess, secret: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${r.url}/api/v1/k8s/pod/status`, { headers: { secret }, agent: false, timeout: 45_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 45 s')));
    req.on('error', reject);
    req.end();
  });
}

describe('status reads while the watches are quiet or the process is busy', () => {
  it('are all answered from the caches: none is a 503', { timeout: 180_000 }, async () => {
    const r = await startServerProcess({ env: { VKUBE_WATCH_STALL_SECONDS: '5', VKUBE_RECONCILE_INTERVAL_MS: '1000', VKUBE_QUEUE_POLL_MS: '100' } });
    cleanups.push(() => r.stop());
    const order = await r.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: REGION } });
    // Aborted, and its namespace gone before V-Kube stops: no other test's V-Kube finds a pod of an order it never sold.
    cleanups.push(async () => {
      await fetch(`${r.url}/api/v1/admin/orders/${order.id}/abort`, { method: 'POST', headers: { authorization: `Bearer ${r.adminToken}` } }).catch(() => undefined);
      await eventually(async () => assert.equal(await kube.get(`/api/v1/namespaces/${namespaceOf(order.id)}`).then(() => 'there', (e: unknown) => (e as KubeError).status), 404), { timeoutMs: 120_000 }).catch(() => undefined);
    });
    const port = 24_100 + (process.pid % 500);
    const deploy = await fetch(`${r.url}/api/v1/k8s/deploy`, {
      method: 'POST',
      headers: { secret: order.secret, 'content-type': 'application/json' },
      body: JSON.stringify(seedDeployBody(port, '64Mi', REGION)),
    });
    assert.equal(deploy.status, 200, await deploy.text());
    await eventually(async () => assert.equal((await statusOf(r, order.secret)).status, 200), { timeoutMs: 60_000 });

    const codes = new Map<number, number>();
    const failures: string[] = [];
    let reading = true;
    const reader = async () => {
      while (reading) {
        const res = await statusOf(r, order.secret);
        codes.set(res.status, (codes.get(res.status) ?? 0) + 1);
        if (res.status !== 200 && failures.length < 5) failures.push(`${res.status} ${res.text}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const readers = [reader(), reader(), reader(), reader()];
    // Three stall periods of quiet, then 7 s in which the process does not run (past the
    // stall time and the heartbeat's 4 s deadline), then three more stall periods.
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    process.kill(r.pid, 'SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, 7_000));
    process.kill(r.pid, 'SIGCONT');
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    reading = false;
    await Promise.all(readers);

    const tally = Object.fromEntries(codes);
    console.log(`status reads through quiet watches (stall time 5 s) and a 7 s stop: ${JSON.stringify(tally)}`);
    assert.ok((codes.get(200) ?? 0) > 100, `reads were made: ${JSON.stringify(tally)}`);
    assert.deepEqual([...codes.keys()], [200], `every read answered 200: ${JSON.stringify(tally)}; ${failures.join(' | ')}`);
  });
});
