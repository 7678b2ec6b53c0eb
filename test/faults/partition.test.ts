/**
 * Two replicas; the leader is cut off from the API server (a TCP proxy between them
 * drops every connection) while customers keep changing an order through both. The
 * other replica takes the Lease over and applies the changes; when the cut heals, the
 * old leader writes nothing more. The API server's own audit log (every write of
 * V-Kube's identity, with the replica's user agent and the time the request arrived)
 * shows there was no moment with two writers.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { auditLogPath, testKubeClient, vkubeKubeconfig } from '../../dev/cluster/testing.js';
import { testPostgres } from '../../dev/postgres/testing.js';
import { KubeHttp } from '../../src/cluster/kube-http.js';
import { DEPLOYMENT_NAME, namespaceOf } from '../../src/domain/manifests.js';
import { eventually, uniqueSuffix } from '../helpers/eventually.js';
import { leaderGauge, type ServerProcess, startServerProcess } from '../helpers/server.js';
import { type TcpProxy, startTcpProxy } from '../helpers/tcp-proxy.js';

const LEASE_SECONDS = 4;
const suffix = uniqueSuffix();
const names = { a: `partition-a-${suffix}`, b: `partition-b-${suffix}` };
let a: ServerProcess;
let b: ServerProcess;
let proxy: TcpProxy;
let kube: KubeHttp;
let dir: string;
const orders: Array<{ id: string; secret: string }> = [];

interface AuditEvent {
  stage: string;
  verb: string;
  userAgent?: string;
  requestReceivedTimestamp: string;
  objectRef?: { resource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
}

before(async () => {
  kube = await KubeHttp.fromKubeConfig(testKubeClient());
  dir = await mkdtemp(join(tmpdir(), 'vkube-partition-'));
  const direct = await readFile(await vkubeKubeconfig(), 'utf8');
  const server = /server: https:\/\/127\.0\.0\.1:(\d+)/.exec(direct);
  assert.ok(server, 'the kubeconfig names a loopback API server');
  proxy = await startTcpProxy('127.0.0.1', Number(server[1]));
  const viaProxy = join(dir, 'kubeconfig');
  await writeFile(viaProxy, direct.replace(server[0], `server: https://127.0.0.1:${proxy.port}`), { mode: 0o600 });
  const url = await (await testPostgres()).createDatabase();
  const env = { DATABASE_URL: url, VKUBE_LEADER_LEASE_SECONDS: String(LEASE_SECONDS), VKUBE_RECONCILE_INTERVAL_MS: '500', VKUBE_QUEUE_POLL_MS: '100' };
  // A first, alone: it takes the Lease.
  a = await startServerProcess({ env: { ...env, KUBECONFIG: viaProxy, POD_NAME: names.a } });
  await eventually(async () => assert.equal(await leaderGauge(a), 1), { timeoutMs: 30_000 });
  b = await startServerProcess({ env: { ...env, POD_NAME: names.b } });
});
after(async () => {
  proxy?.restore();
  for (const o of orders) {
    for (const r of [b, a]) {
      const res = await fetch(`${r.url}/api/v1/admin/orders/${o.id}/abort`, { method: 'POST', headers: { authorization: `Bearer ${r.adminToken}` } }).catch(() => undefined);
      if (res?.status === 200 || res?.status === 409) break;
    }
  }
  await b?.stop().catch(() => {});
  await a?.stop().catch(() => {});
  await proxy?.close();
  kube.close();
  await rm(dir, { recursive: true, force: true });
});

async function update(r: ServerProcess, secret: string, key: string): Promise<number> {
  const res = await fetch(`${r.url}/api/v1/k8s/pod/update`, {
    method: 'PUT',
    headers: { secret, 'content-type': 'application/json' },
    body: JSON.stringify({ environment: { app: { [key]: 'x' } } }),
    signal: AbortSignal.timeout(20_000),
  });
  return res.status;
}

/** The writes of either replica as the API server recorded them, in the order they arrived. */
async function writes(): Promise<Array<AuditEvent & { replica: 'a' | 'b' }>> {
  const lines = (await readFile(auditLogPath(), 'utf8')).split('\n').filter(Boolean);
  const out: Array<AuditEvent & { replica: 'a' | 'b' }> = [];
  for (const line of lines) {
    const e = JSON.parse(line) as AuditEvent;
    if (e.stage !== 'ResponseComplete') continue;
    const replica = e.userAgent === `vkube/${names.a}` ? 'a' : e.userAgent === `vkube/${names.b}` ? 'b' : undefined;
    if (replica) out.push({ ...e, replica });
  }
  return out.sort((x, y) => x.requestReceivedTimestamp.localeCompare(y.requestReceivedTimestamp));
}

describe('the leader cut off from the API server', () => {
  it('another replica takes over and applies every change; there is no moment with two writers', { timeout: 5 * 60_000 }, async () => {
    const order = await b.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'giltine' } });
    orders.push(order);
    const ns = namespaceOf(order.id);
    const deployed = await fetch(`${b.url}/api/v1/k8s/deployment`, {
      method: 'POST',
      headers: { secret: order.secret, 'content-type': 'application/json' },
      body: JSON.stringify({ nodeSelector: { region: 'giltine' }, containers: [{ name: 'app', imageName: 'nginx:1.27', resourceUnit: 1, configMountPath: '/etc/app.conf', config: 'x' }] }),
    });
    const text = await deployed.text();
    assert.equal(deployed.status, 200, text);
    assert.equal((JSON.parse(text) as { applied: boolean }).applied, true, `the leader (a) applied what b recorded: ${text}`);

    proxy.cut();
    const cutAt = Date.now();
    // Changes through both replicas while the leader cannot reach the API: a's own worker cannot apply them, b will once it leads.
    const during = ['DURING_A1', 'DURING_B1', 'DURING_A2'];
    for (const [i, key] of during.entries()) assert.equal(await update(i % 2 === 0 ? a : b, order.secret, key), 200, `${key} is recorded`);
    await eventually(async () => assert.equal(await leaderGauge(b), 1, 'b leads'), { timeoutMs: 30_000, intervalMs: 200 });
    await eventually(async () => assert.equal(await leaderGauge(a), 0, 'a stepped down'), { timeoutMs: 30_000, intervalMs: 200 });
    console.log(`partition: b led ${((Date.now() - cutAt) / 1000).toFixed(1)} s after a was cut off (lease ${LEASE_SECONDS} s)`);

    proxy.restore();
    // a reaches the API again, as a follower: its changes are recorded and b applies them.
    const later = ['AFTER_A1', 'AFTER_B1'];
    for (const [i, key] of later.entries()) assert.equal(await update(i % 2 === 0 ? a : b, order.secret, key), 200, `${key} is recorded`);
    await eventually(
      async () => {
        const d = await kube.get<{ spec: { template: { spec: { containers: Array<{ env?: Array<{ name: string }> }> } } } }>(`/apis/apps/v1/namespaces/${ns}/deployments/${DEPLOYMENT_NAME}`);
        const env = (d.spec.template.spec.containers[0]!.env ?? []).map((e) => e.name);
        for (const key of [...during, ...later]) assert.ok(env.includes(key), `${key} reached the cluster (${env.join(',')})`);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    // Give a stale writer every chance to show itself: a few more lease periods with a reachable API.
    await new Promise((r) => setTimeout(r, LEASE_SECONDS * 2 * 1000));

    const all = await writes();
    const leaseWrites = all.filter((e) => e.objectRef?.resource === 'leases' && e.responseStatus?.code === 200);
    const orderWrites = all.filter((e) => e.objectRef?.namespace === ns || (e.objectRef?.resource === 'namespaces' && e.objectRef.name === ns));
    const takeover = leaseWrites.find((e) => e.replica === 'b');
    assert.ok(takeover, 'b wrote the Lease when it took over');
    const lastRenewalByA = leaseWrites.filter((e) => e.replica === 'a' && e.requestReceivedTimestamp < takeover.requestReceivedTimestamp).at(-1);
    assert.ok(lastRenewalByA, 'a held the Lease before');
    const byA = orderWrites.filter((e) => e.replica === 'a');
    const byB = orderWrites.filter((e) => e.replica === 'b');
    assert.ok(byA.length > 0 && byB.length > 0, `both wrote the order's objects in turn (a: ${byA.length}, b: ${byB.length})`);
    const summary = orderWrites.map((e) => `${e.requestReceivedTimestamp} ${e.replica} ${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name ?? ''}`).join('\n');
    console.log(`partition: a's last renewal ${lastRenewalByA.requestReceivedTimestamp}, b took over ${takeover.requestReceivedTimestamp}; writes to ${ns}:\n${summary}`);
    for (const e of byA) assert.ok(e.requestReceivedTimestamp < takeover.requestReceivedTimestamp, `a wrote only before b took the Lease: ${e.requestReceivedTimestamp} ${e.verb} ${e.objectRef?.resource}`);
    for (const e of byB) assert.ok(e.requestReceivedTimestamp > takeover.requestReceivedTimestamp, `b wrote only after it took the Lease: ${e.requestReceivedTimestamp} ${e.verb} ${e.objectRef?.resource}`);
    // One hand-over, never back: the writers in arrival order are a…a then b…b.
    const turns = orderWrites.map((e) => e.replica).filter((r, i, list) => i === 0 || list[i - 1] !== r);
    assert.deepEqual(turns, ['a', 'b']);
    // The object itself agrees: one field manager, last written after the hand-over.
    const d = await kube.get<{ metadata: { managedFields: Array<{ manager: string; operation: string; time: string }> } }>(`/apis/apps/v1/namespaces/${ns}/deployments/${DEPLOYMENT_NAME}`);
    const applied = d.metadata.managedFields.filter((f) => f.operation === 'Apply');
    assert.deepEqual(applied.map((f) => f.manager), ['vkube'], 'one field manager applies it');
    assert.ok(Date.parse(applied[0]!.time) >= Math.floor(Date.parse(takeover.requestReceivedTimestamp) / 1000) * 1000, 'and it last did so after the hand-over');
  });
});
