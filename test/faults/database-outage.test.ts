/**
 * The database goes away, or turns read-only, or runs out of disk. V-Kube answers 503
 * (never 500, never a hang), /readyz says why, the reconcile loop deletes nothing, and
 * everything recovers by itself once the database is back.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { testKubeClient } from '../../dev/cluster/testing.js';
import { testPostgres, type TestPostgres } from '../../dev/postgres/testing.js';
import { KubeHttp } from '../../src/cluster/kube-http.js';
import { namespaceOf } from '../../src/domain/manifests.js';
import { type TestApp, seedDeployBody, startTestApp } from '../helpers/app.js';
import { eventually } from '../helpers/eventually.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function kube(): Promise<KubeHttp> {
  const k = await KubeHttp.fromKubeConfig(testKubeClient());
  cleanups.push(() => k.close());
  return k;
}

async function podUid(k: KubeHttp, orderId: string): Promise<string | undefined> {
  return (await k.get<{ items: Array<{ metadata: { uid: string } }> }>(`/api/v1/namespaces/${namespaceOf(orderId)}/pods`)).items[0]?.metadata.uid;
}

/** Deploys one order and returns it with its pod's uid. */
async function deployed(t: TestApp, k: KubeHttp, port: number): Promise<{ secret: string; id: string; uid: string }> {
  const o = await t.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'giltine' } });
  const res = await t.tenant(o.secret).post('/api/v1/k8s/deploy', seedDeployBody(port, '64Mi', 'giltine'));
  assert.equal(res.statusCode, 200, res.body);
  const uid = await eventually(async () => {
    const u = await podUid(k, o.id);
    assert.ok(u);
    return u;
  });
  return { ...o, uid };
}

describe('database outages', () => {
  it('PostgreSQL unreachable for 15 s: 503s, /readyz says so, nothing deleted, recovers by itself', { timeout: 3 * 60_000 }, async () => {
    const postgres: TestPostgres = await testPostgres();
    cleanups.push(() => postgres.stop());
    const direct = new URL(await postgres.createDatabase());
    const proxy = await startTcpProxy('127.0.0.1', Number(direct.port));
    cleanups.push(() => proxy.close());
    const viaProxy = new URL(direct);
    viaProxy.port = String(proxy.port);
    const t = await startTestApp({ reconcileLoop: true, env: { DATABASE_URL: viaProxy.toString(), VKUBE_RECONCILE_INTERVAL_MS: '500' } });
    cleanups.push(() => t.close());
    // Whatever happens below, the app closes (and aborts its orders) with its database back.
    cleanups.push(() => proxy.restore());
    const k = await kube();
    const order = await deployed(t, k, 7801);

    proxy.cut();
    const seen = new Set<number>();
    let slowest = 0;
    const until = Date.now() + 15_000;
    while (Date.now() < until) {
      for (const call of [
        () => t.tenant(order.secret).get('/api/v1/k8s/order'),
        () => t.tenant(order.secret).post('/api/v1/k8s/deploy', seedDeployBody(7801, '80Mi', 'giltine')),
        () => t.admin('POST', '/api/v1/admin/orders', { duration: 1 }),
        () => t.app.inject({ method: 'POST', url: '/api/v1/k8s/checkports', payload: { region: 'giltine', ports: [7801] } }),
      ]) {
        const started = Date.now();
        const res = await call();
        slowest = Math.max(slowest, Date.now() - started);
        seen.add(res.statusCode);
        assert.ok(res.statusCode !== 500, `no 500: ${res.body}`);
        assert.doesNotThrow(() => res.json());
      }
      const ready = await t.app.inject('/readyz');
      assert.equal(ready.statusCode, 503);
      assert.match(ready.json<{ error: { message: string } }>().error.message, /database unreachable/);
    }
    assert.ok(seen.has(503), `503s seen: ${[...seen]}`);
    assert.ok(slowest < 12_000, `no call hung (slowest ${slowest} ms)`);
    assert.equal(await podUid(k, order.id), order.uid, 'the workload was not touched');

    proxy.restore();
    await eventually(async () => assert.equal((await t.app.inject('/readyz')).statusCode, 200), { timeoutMs: 30_000 });
    const again = await t.tenant(order.secret).post('/api/v1/k8s/deploy', seedDeployBody(7801, '80Mi', 'giltine'));
    assert.equal(again.statusCode, 200, again.body);
  });

  it('PostgreSQL turned read-only: writes answer 503 naming it, reads keep working, writes resume after', { timeout: 3 * 60_000 }, async () => {
    const postgres = await testPostgres();
    cleanups.push(() => postgres.stop());
    const url = await postgres.createDatabase();
    const t = await startTestApp({ env: { DATABASE_URL: url } });
    cleanups.push(() => t.close());
    const k = await kube();
    const order = await deployed(t, k, 7802);
    const dbName = new URL(url).pathname.slice(1);
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    cleanups.push(() => admin.end());
    const setReadOnly = async (on: boolean) => {
      await admin.query(`ALTER DATABASE "${dbName}" SET default_transaction_read_only = ${on ? 'on' : 'off'}`);
      // Sessions read the setting when they start: end V-Kube's so its pool reconnects.
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [dbName]);
    };

    await setReadOnly(true);
    await eventually(async () => {
      const res = await t.tenant(order.secret).post('/api/v1/k8s/deploy', seedDeployBody(7802, '80Mi', 'giltine'));
      assert.equal(res.statusCode, 503, res.body);
      assert.match(res.json<{ error: { message: string } }>().error.message, /the database is read-only/);
    });
    const create = await t.admin('POST', '/api/v1/admin/orders', { duration: 1 });
    assert.equal(create.statusCode, 503);
    assert.equal((await t.tenant(order.secret).get('/api/v1/k8s/order')).statusCode, 200, 'reads work');
    assert.equal((await t.tenant(order.secret).get('/api/v1/k8s/pod/status')).statusCode, 200);
    assert.equal(await podUid(k, order.id), order.uid);

    await setReadOnly(false);
    await eventually(async () => assert.equal((await t.tenant(order.secret).post('/api/v1/k8s/deploy', seedDeployBody(7802, '80Mi', 'giltine'))).statusCode, 200));
  });

  it('SQLite on a full disk: writes answer 503 naming it, and resume once there is room', { timeout: 3 * 60_000 }, async (ctx) => {
    const dir = mkdtempSync(join(tmpdir(), 'vkube-full-disk-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir], { stdio: 'ignore' });
    } catch {
      rmSync(dir, { recursive: true, force: true });
      ctx.skip('cannot mount a small tmpfs here (needs root and mount permission)');
      return;
    }
    cleanups.push(() => {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    });
    const t = await startTestApp({ env: { DATABASE_URL: `sqlite:${join(dir, 'vkube.db')}` } });
    cleanups.push(() => t.close());
    const k = await kube();
    const order = await deployed(t, k, 7803);

    const filler = join(dir, 'filler');
    try {
      writeFileSync(filler, Buffer.alloc(8 * 1024 * 1024));
    } catch {
      // ENOSPC: the disk is full now, which is the point
    }
    // A write may still fit in room SQLite already holds (a write-ahead log the checkpointer
    // reset for reuse is not shrunk): the first that needs a new block must answer 503.
    const write = () => t.admin('POST', '/api/v1/admin/orders', { duration: 1, serviceOptions: { resourceUnit: '1-Unit-Resource' }, address: 'x'.repeat(200) });
    let res = await write();
    for (let i = 0; res.statusCode === 201 && i < 500; i++) res = await write();
    assert.equal(res.statusCode, 503, res.body);
    assert.match(res.json<{ error: { message: string } }>().error.message, /disk is full|cannot be reached|read-only/);
    assert.equal((await t.tenant(order.secret).get('/api/v1/k8s/order')).statusCode, 200, 'reads work');
    assert.equal(await podUid(k, order.id), order.uid);

    rmSync(filler, { force: true });
    await eventually(async () => assert.equal((await t.admin('POST', '/api/v1/admin/orders', { duration: 1 })).statusCode, 201));
  });
});
