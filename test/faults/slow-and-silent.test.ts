/**
 * The quiet failures: servers that accept connections and never answer, answer late, or
 * are busy with other work. A real V-Kube process, with the Kubernetes API and
 * PostgreSQL each behind a loopback TCP proxy the test breaks, under steady load:
 * - the API server black-holed 60 s: 503s within seconds (never a hang), no workload
 *   deleted, no acknowledged change lost, back by itself;
 * - PostgreSQL black-holed 60 s: the same;
 * - the API server answering every call 2 s late: reads stay fast (caches), the leader
 *   keeps its Lease, changes still land;
 * - 80 customers following their logs at once: the Lease is renewed on time, watches
 *   stay live, a deploy applies as fast as without them (each kind of call has its own
 *   sockets, src/cluster/kube-http.ts).
 * Each prints its figures.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testKubeClient, vkubeKubeconfig } from '../../dev/cluster/testing.js';
import { testPostgres } from '../../dev/postgres/testing.js';
import { KubeHttp } from '../../src/cluster/kube-http.js';
import { DEPLOYMENT_NAME, namespaceOf } from '../../src/domain/manifests.js';
import { seedDeployBody } from '../helpers/app.js';
import { eventually } from '../helpers/eventually.js';
import { leaderGauge, type ServerProcess, startServerProcess } from '../helpers/server.js';
import { type TcpProxy, startTcpProxy } from '../helpers/tcp-proxy.js';

const OUTAGE_MS = Number(process.env.OUTAGE_MS ?? 60_000);
/** A call that takes longer than this hangs: every deadline V-Kube keeps is well below it. */
const HANG_MS = 45_000;
const REGION = 'giltine';

let kube: KubeHttp;
let dir: string;
const cleanups: Array<() => Promise<unknown> | unknown> = [];

before(async () => {
  kube = await KubeHttp.fromKubeConfig(testKubeClient());
  dir = await mkdtemp(join(tmpdir(), 'vkube-quiet-'));
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  kube.close();
  await rm(dir, { recursive: true, force: true });
});

/** V-Kube's kubeconfig, pointed at a proxy in front of the API server. */
async function apiServerBehindProxy(): Promise<{ proxy: TcpProxy; kubeconfig: string }> {
  const direct = await readFile(await vkubeKubeconfig(), 'utf8');
  const server = /server: https:\/\/127\.0\.0\.1:(\d+)/.exec(direct);
  assert.ok(server, 'the kubeconfig names a loopback API server');
  const proxy = await startTcpProxy('127.0.0.1', Number(server[1]));
  cleanups.push(() => proxy.close());
  const kubeconfig = join(dir, `kubeconfig-${proxy.port}`);
  await writeFile(kubeconfig, direct.replace(server[0], `server: https://127.0.0.1:${proxy.port}`), { mode: 0o600 });
  return { proxy, kubeconfig };
}

let replicas = 0;
const identities = new Map<ServerProcess, string>();

async function startVkube(env: Record<string, string>): Promise<ServerProcess> {
  const identity = `quiet-${process.pid}-${++replicas}`;
  const r = await startServerProcess({ env: { VKUBE_RECONCILE_INTERVAL_MS: '1000', VKUBE_QUEUE_POLL_MS: '100', POD_NAME: identity, ...env } });
  identities.set(r, identity);
  cleanups.push(async () => {
    for (const o of ordersOf.get(r) ?? []) await call(r, 'POST', `/api/v1/admin/orders/${o.id}/abort`, undefined, { authorization: `Bearer ${r.adminToken}` }).catch(() => undefined);
    await r.stop().catch(() => {});
  });
  await eventually(async () => assert.equal(await leaderGauge(r), 1), { timeoutMs: 30_000 });
  return r;
}

interface Order {
  id: string;
  secret: string;
  port: number;
}
const ordersOf = new Map<ServerProcess, Order[]>();

async function call(r: ServerProcess, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; ms: number; text: string }> {
  const started = Date.now();
  const res = await fetch(`${r.url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(HANG_MS),
  });
  const text = await res.text();
  return { status: res.status, ms: Date.now() - started, text };
}

async function deployedOrder(r: ServerProcess, port: number): Promise<Order> {
  const o = await r.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: REGION } });
  const order = { ...o, port };
  ordersOf.set(r, [...(ordersOf.get(r) ?? []), order]);
  const res = await call(r, 'POST', '/api/v1/k8s/deploy', seedDeployBody(port, '64Mi', REGION), { secret: o.secret });
  assert.equal(res.status, 200, res.text);
  await eventually(async () => assert.equal((await podUids(o.id)).length, 1), { timeoutMs: 60_000 });
  return order;
}

async function podUids(orderId: string): Promise<string[]> {
  const pods = await kube.get<{ items: Array<{ metadata: { uid: string } }> }>(`/api/v1/namespaces/${namespaceOf(orderId)}/pods`);
  return pods.items.map((p) => p.metadata.uid).sort();
}

async function envNames(orderId: string): Promise<string[]> {
  const d = await kube.get<{ spec: { template: { spec: { containers: Array<{ env?: Array<{ name: string }> }> } } } }>(`/apis/apps/v1/namespaces/${namespaceOf(orderId)}/deployments/${DEPLOYMENT_NAME}`);
  return (d.spec.template.spec.containers[0]!.env ?? []).map((e) => e.name);
}

/** Status codes and the slowest answer of each kind of call made under load. */
class Tally {
  readonly codes = new Map<string, Map<number, number>>();
  slowest = { ms: 0, what: '' };
  add(what: string, status: number, ms: number): void {
    const m = this.codes.get(what) ?? new Map<number, number>();
    m.set(status, (m.get(status) ?? 0) + 1);
    this.codes.set(what, m);
    if (ms > this.slowest.ms) this.slowest = { ms, what };
  }
  saw(what: string, status: number): boolean {
    return (this.codes.get(what)?.get(status) ?? 0) > 0;
  }
  toString(): string {
    return [...this.codes].map(([what, m]) => `${what} ${[...m].map(([s, n]) => `${s}×${n}`).join(' ')}`).join('; ');
  }
}

/**
 * Customers at work for `ms`: status, log, order, checkports and readyz on every order,
 * an environment change of `changed` each round (its key recorded when acknowledged
 * with 200), and a first deploy of `waiting`. Every answer must be JSON and not a 500.
 */
async function load(r: ServerProcess, orders: Order[], changed: Order, waiting: Order, ms: number, acknowledged: string[], tally: Tally): Promise<void> {
  const until = Date.now() + ms;
  let round = 0;
  while (Date.now() < until) {
    const o = orders[round % orders.length]!;
    const key = `ROUND_${round}`;
    const calls: Array<[string, () => Promise<{ status: number; ms: number; text: string }>]> = [
      ['status', () => call(r, 'GET', '/api/v1/k8s/pod/status', undefined, { secret: o.secret })],
      ['log', () => call(r, 'GET', '/api/v1/k8s/pod/log', undefined, { secret: o.secret })],
      ['order', () => call(r, 'GET', '/api/v1/k8s/order', undefined, { secret: o.secret })],
      ['checkports', () => call(r, 'POST', '/api/v1/k8s/checkports', { region: REGION, ports: [o.port] })],
      ['readyz', () => call(r, 'GET', '/readyz')],
      ['deploy', () => call(r, 'POST', '/api/v1/k8s/deploy', seedDeployBody(waiting.port, '64Mi', REGION), { secret: waiting.secret })],
      [
        'update',
        async () => {
          const res = await call(r, 'PUT', '/api/v1/k8s/pod/update', { environment: { container1: { [key]: 'x' } } }, { secret: changed.secret });
          if (res.status === 200) acknowledged.push(key);
          return res;
        },
      ],
    ];
    await Promise.all(
      calls.map(async ([what, fn]) => {
        const res = await fn();
        tally.add(what, res.status, res.ms);
        assert.notEqual(res.status, 500, `${what}: ${res.text}`);
        assert.doesNotThrow(() => JSON.parse(res.text), `${what} answers JSON: ${res.text.slice(0, 200)}`);
      }),
    );
    round++;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Resolves with how long /readyz took to answer `want` (polled every 250 ms). */
async function readyzBecomes(r: ServerProcess, want: 200 | 503, timeoutMs: number): Promise<number> {
  const started = Date.now();
  await eventually(async () => assert.equal((await call(r, 'GET', '/readyz')).status, want), { timeoutMs, intervalMs: 250 });
  return Date.now() - started;
}

/**
 * Black-holes `proxy` for OUTAGE_MS while customers work (see `load`), then opens it
 * again; resolves once every change in `mustLand` and every one acknowledged meanwhile
 * is in the cluster. Returns the acknowledged keys and the figures.
 */
async function blackHoleUnderLoad(
  r: ServerProcess,
  proxy: TcpProxy,
  orders: Order[],
  changed: Order,
  waiting: Order,
  mustLand: string[] = [],
): Promise<{ acknowledged: string[]; tally: Tally; detectionMs: number; readyMs: number; appliedMs: number }> {
  const acknowledged: string[] = [];
  const tally = new Tally();
  proxy.blackHole();
  const detected = readyzBecomes(r, 503, 60_000);
  await load(r, orders, changed, waiting, OUTAGE_MS, acknowledged, tally);
  const detectionMs = await detected;
  proxy.restore();
  const restoredAt = Date.now();
  const readyMs = await readyzBecomes(r, 200, 90_000);
  await eventually(async () => {
    const env = await envNames(changed.id);
    for (const key of [...mustLand, ...acknowledged]) assert.ok(env.includes(key), `acknowledged ${key} is in the cluster`);
  }, { timeoutMs: 90_000, intervalMs: 500 });
  return { acknowledged, tally, detectionMs, readyMs, appliedMs: Date.now() - restoredAt };
}

describe('quiet failures of the Kubernetes API', () => {
  let r: ServerProcess;
  let proxy: TcpProxy;
  let orders: Order[];

  before(async () => {
    const api = await apiServerBehindProxy();
    proxy = api.proxy;
    r = await startVkube({ KUBECONFIG: api.kubeconfig });
    orders = [];
    for (const port of [7901, 7902, 7903]) orders.push(await deployedOrder(r, port));
  });

  it(`the API server black-holed for ${OUTAGE_MS / 1000} s under load: 503s, nothing deleted, no acknowledged change lost`, { timeout: 6 * 60_000 }, async () => {
    const [changed, ...untouched] = orders;
    const before = await Promise.all(untouched.map((o) => podUids(o.id)));
    const waiting = { ...(await r.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: REGION } })), port: 7904 };
    ordersOf.get(r)!.push(waiting);
    const { acknowledged, tally, detectionMs, readyMs, appliedMs } = await blackHoleUnderLoad(r, proxy, orders, changed!, waiting);

    console.log(
      `black-holed API server ${OUTAGE_MS / 1000} s: unready after ${(detectionMs / 1000).toFixed(1)} s; ready again ${(readyMs / 1000).toFixed(1)} s and every acknowledged change applied ${(appliedMs / 1000).toFixed(1)} s after the hole closed; ` +
        `${acknowledged.length} changes acknowledged; slowest answer ${tally.slowest.ms} ms (${tally.slowest.what}); ${tally}; proxy accepted ${proxy.accepted} connections`,
    );
    assert.ok(detectionMs < 20_000, `the outage showed in /readyz within 20 s (${detectionMs} ms)`);
    for (const what of ['status', 'log', 'deploy']) assert.ok(tally.saw(what, 503), `${what} answered 503 during the outage (${tally})`);
    assert.ok(!tally.codes.get('order')?.has(503), 'what needs only the database kept working');
    assert.deepEqual(await Promise.all(untouched.map((o) => podUids(o.id))), before, 'no workload was deleted or replaced');
    if (tally.saw('deploy', 200)) {
      await eventually(async () => assert.equal((await podUids(waiting.id)).length, 1, 'the deploy acknowledged during the outage runs'), { timeoutMs: 60_000 });
    }
  });

  it('the API server answering every call 2 s late: reads stay fast, the Lease holds, changes land', { timeout: 4 * 60_000 }, async () => {
    const [changed] = orders;
    await readyzBecomes(r, 200, 60_000);
    proxy.delay(2_000);
    const lagAt = Date.now();
    const statusMs: number[] = [];
    let notReady = 0;
    let notLeading = 0;
    const key = `LATE_${Date.now()}`;
    const updated = await call(r, 'PUT', '/api/v1/k8s/pod/update', { environment: { container1: { [key]: 'x' } } }, { secret: changed!.secret });
    assert.equal(updated.status, 200, updated.text);
    const fresh = await r.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: REGION } });
    ordersOf.get(r)!.push({ ...fresh, port: 7905 });
    const deployed = await call(r, 'POST', '/api/v1/k8s/deploy', seedDeployBody(7905, '64Mi', REGION), { secret: fresh.secret });
    assert.equal(deployed.status, 200, deployed.text);
    let landedMs: number | undefined;
    let runningMs: number | undefined;
    // At least 30 s of lag, and until both changes landed (at most 60 s).
    while (Date.now() - lagAt < 30_000 || (Date.now() - lagAt < 60_000 && (landedMs === undefined || runningMs === undefined))) {
      const s = await call(r, 'GET', '/api/v1/k8s/pod/status', undefined, { secret: orders[1]!.secret });
      assert.equal(s.status, 200, s.text);
      statusMs.push(s.ms);
      if ((await call(r, 'GET', '/readyz')).status !== 200) notReady++;
      if ((await leaderGauge(r)) !== 1) notLeading++;
      if (landedMs === undefined && (await envNames(changed!.id)).includes(key)) landedMs = Date.now() - lagAt;
      if (runningMs === undefined && (await podUids(fresh.id)).length === 1) runningMs = Date.now() - lagAt;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const lagMs = Date.now() - lagAt;
    proxy.restore();
    statusMs.sort((a, b) => a - b);
    const p50 = statusMs[Math.floor(statusMs.length / 2)]!;
    console.log(
      `API server 2 s late for ${(lagMs / 1000).toFixed(0)} s: status p50 ${p50} ms, max ${statusMs.at(-1)} ms over ${statusMs.length} reads; /readyz not ready ${notReady} times, not leading ${notLeading} times; ` +
        `the change landed after ${landedMs === undefined ? 'never' : `${(landedMs / 1000).toFixed(1)} s`}, the new order's pod after ${runningMs === undefined ? 'never' : `${(runningMs / 1000).toFixed(1)} s`}`,
    );
    assert.ok(p50 < 500, `status is read from the caches, not the slow API (p50 ${p50} ms)`);
    assert.equal(notReady, 0, 'a slow API server is not an unreachable one');
    assert.equal(notLeading, 0, 'the leader renewed its Lease on time');
    assert.ok(landedMs !== undefined, 'the change reached the cluster while it was slow');
    assert.ok(runningMs !== undefined, 'the new order was deployed while the API was slow');
  });

  it('80 followed log streams: the Lease is renewed on time, watches stay live, deploys apply as before', { timeout: 5 * 60_000 }, async () => {
    proxy.restore();
    await readyzBecomes(r, 200, 60_000);
    const more: Order[] = [];
    for (let i = 0; i < 13; i++) more.push(await deployedOrder(r, 7910 + i));
    const all = [...orders, ...more];
    const streams: AbortController[] = [];
    const ended: string[] = [];
    cleanups.push(() => streams.forEach((s) => s.abort()));
    // Five followers per order: 80 upstream requests held open to the API server.
    const opened = await Promise.all(
      all.flatMap((o) =>
        [0, 1, 2, 3, 4].map(async () => {
          const ac = new AbortController();
          streams.push(ac);
          const res = await fetch(`${r.url}/api/v1/k8s/pod/logs`, { headers: { secret: o.secret }, signal: ac.signal });
          // Read as it comes, as a browser does, noting how a stream ended if it does.
          const decoder = new TextDecoder();
          void res.body
            ?.pipeTo(
              new WritableStream({
                write(chunk: Uint8Array) {
                  const text = decoder.decode(chunk, { stream: true });
                  for (const m of text.matchAll(/^event: (\w+)\ndata: (.*)$/gm)) ended.push(`${m[1]}: ${m[2]}`);
                },
              }),
            )
            .catch(() => {});
          return res.status;
        }),
      ),
    );
    assert.deepEqual([...new Set(opened)], [200], 'every stream opened');
    await eventually(async () => {
      const metrics = await (await fetch(`${r.url}/metrics`)).text();
      const open = Number(/vkube_kube_sockets\{budget="stream",state="open"[^}]*\} (\d+)/.exec(metrics)?.[1]);
      const held = Number(/^vkube_log_streams (\d+)/m.exec(metrics)?.[1]);
      assert.ok(held >= 64, `at least 64 log streams are being served (${held}; ended: ${ended.join(' | ')})`);
      assert.ok(open >= 64, `each holds a socket of the stream budget (${open})`);
    }, { timeoutMs: 20_000 });

    const renewals = new Set<string>();
    let notReady = 0;
    let notLeading = 0;
    const started = Date.now();
    const fresh = await r.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: REGION } });
    ordersOf.get(r)!.push({ ...fresh, port: 7930 });
    const deployed = await call(r, 'POST', '/api/v1/k8s/deploy', seedDeployBody(7930, '64Mi', REGION), { secret: fresh.secret });
    assert.equal(deployed.status, 200, deployed.text);
    const applied = (JSON.parse(deployed.text) as { applied?: boolean }).applied;
    while (Date.now() - started < 30_000) {
      const leases = await kube.get<{ items: Array<{ metadata: { name: string }; spec: { holderIdentity?: string; renewTime?: string } }> }>('/apis/coordination.k8s.io/v1/namespaces/vkube-system/leases');
      for (const l of leases.items) if (l.spec.holderIdentity === identities.get(r) && l.spec.renewTime) renewals.add(l.spec.renewTime);
      if ((await call(r, 'GET', '/readyz')).status !== 200) notReady++;
      if ((await leaderGauge(r)) !== 1) notLeading++;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    console.log(`80 followed logs for 30 s: ${renewals.size} Lease renewals seen, /readyz not ready ${notReady} times, not leading ${notLeading} times; a deploy meanwhile answered in ${deployed.ms} ms (applied: ${applied})`);
    assert.equal(applied, true, 'the deploy was applied within the apply wait, streams or not');
    assert.equal(notLeading, 0, 'the leader kept its Lease');
    assert.equal(notReady, 0, 'every watch stayed live');
    // Renewed every retry period (3 s with the default 15 s lease): a 30 s window sees many.
    assert.ok(renewals.size >= 5, `the Lease was renewed on time (${renewals.size} renewals in 30 s)`);
    for (const s of streams) s.abort();
  });
});

describe('quiet failures of PostgreSQL', () => {
  it(`PostgreSQL black-holed for ${OUTAGE_MS / 1000} s under load: 503s, nothing deleted, no acknowledged change lost`, { timeout: 6 * 60_000 }, async () => {
    const postgres = await testPostgres();
    const direct = new URL(await postgres.createDatabase());
    const proxy = await startTcpProxy('127.0.0.1', Number(direct.port));
    cleanups.push(() => proxy.close());
    const viaProxy = new URL(direct);
    viaProxy.port = String(proxy.port);
    const r = await startVkube({ DATABASE_URL: viaProxy.toString(), VKUBE_DB_STATEMENT_TIMEOUT_MS: '5000' });
    cleanups.push(() => proxy.restore());
    const orders: Order[] = [];
    for (const port of [7941, 7942, 7943]) orders.push(await deployedOrder(r, port));
    const [changed, ...untouched] = orders;
    const acknowledgedBefore: string[] = [];
    for (const key of ['BEFORE_1', 'BEFORE_2']) {
      const res = await call(r, 'PUT', '/api/v1/k8s/pod/update', { environment: { container1: { [key]: 'x' } } }, { secret: changed!.secret });
      assert.equal(res.status, 200, res.text);
      acknowledgedBefore.push(key);
    }
    const before = await Promise.all(untouched.map((o) => podUids(o.id)));
    const waiting = { ...(await r.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: REGION } })), port: 7944 };
    ordersOf.get(r)!.push(waiting);
    const { acknowledged, tally, detectionMs, readyMs, appliedMs } = await blackHoleUnderLoad(r, proxy, orders, changed!, waiting, acknowledgedBefore);
    const after = await call(r, 'PUT', '/api/v1/k8s/pod/update', { environment: { container1: { AFTER: 'x' } } }, { secret: changed!.secret });
    assert.equal(after.status, 200, after.text);

    console.log(
      `black-holed PostgreSQL ${OUTAGE_MS / 1000} s: unready after ${(detectionMs / 1000).toFixed(1)} s; ready again ${(readyMs / 1000).toFixed(1)} s and every acknowledged change in the cluster ${(appliedMs / 1000).toFixed(1)} s after the hole closed; ` +
        `${acknowledged.length} changes acknowledged during it; slowest answer ${tally.slowest.ms} ms (${tally.slowest.what}); ${tally}`,
    );
    assert.ok(tally.saw('order', 503) && tally.saw('update', 503), `what needs the database answered 503 (${tally})`);
    assert.ok(tally.slowest.ms < 30_000, `no call hung (slowest ${tally.slowest.ms} ms, ${tally.slowest.what})`);
    assert.deepEqual(await Promise.all(untouched.map((o) => podUids(o.id))), before, 'no workload was deleted or replaced');
  });
});
