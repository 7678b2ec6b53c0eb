/**
 * An order's isolation is in the cluster from the moment it is sold, and a customer can
 * wait for its pod without polling: on the real API server, with the real reconciler.
 *
 * - sold: its namespace, ResourceQuota, LimitRange and a deny-by-default NetworkPolicy
 *   exist before any deploy, and a renewal keeps them (same namespace); the policy opens
 *   published ports by the names the pod gives them, so a deploy leaves it as it is;
 * - a provider who cleaned them up does not get a pod without them: the deploy makes them again;
 * - `GET /k8s/pod/status?wait=Running` answers with the pod Running, from the pod watch;
 *   a wait whose pod never comes answers 404 saying how long it waited; bad values are
 *   400 naming the field; a stopped service 409.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testKubeClient } from '../../dev/cluster/testing.js';
import type { ClusterWriter } from '../../src/cluster/gateway.js';
import { KubeError, KubeHttp } from '../../src/cluster/kube-http.js';
import { DEPLOYMENT_NAME, namespaceOf } from '../../src/domain/manifests.js';
import { type TestApp, seedDeployBody, startTestApp } from '../helpers/app.js';
import { eventually } from '../helpers/eventually.js';

let t: TestApp;
let kube: KubeHttp;

before(async () => {
  kube = await KubeHttp.fromKubeConfig(testKubeClient());
  t = await startTestApp();
});
after(async () => {
  await t.close();
  kube.close();
});

interface Meta {
  metadata: { uid: string; name: string; labels?: Record<string, string> };
}
interface NetworkPolicyJson extends Meta {
  spec: { ingress?: Array<{ ports?: Array<{ port: number | string; protocol?: string }> }> };
}
interface DeploymentJson extends Meta {
  spec: { template: { spec: { containers: Array<{ ports?: Array<{ name?: string; containerPort: number; protocol?: string }> }> } } };
}

/** The name the order's pod template gives its container port `containerPort`. */
async function portName(ns: string, containerPort: number): Promise<string | undefined> {
  const deployment = await kube.get<DeploymentJson>(`/apis/apps/v1/namespaces/${ns}/deployments/${DEPLOYMENT_NAME}`);
  return deployment.spec.template.spec.containers.flatMap((c) => c.ports ?? []).find((p) => p.containerPort === containerPort)?.name;
}

/** Whether the policy opens `port` (a number or a port's name) to every address. */
function opens(policy: NetworkPolicyJson, port: number | string): boolean {
  return (policy.spec.ingress ?? []).some((rule) => rule.ports?.some((p) => p.port === port));
}

const isolation = (ns: string) => ({
  quota: `/api/v1/namespaces/${ns}/resourcequotas/order-quota`,
  limits: `/api/v1/namespaces/${ns}/limitranges/order-limits`,
  policy: `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies/order-isolation`,
});

async function absent(path: string): Promise<boolean> {
  try {
    await kube.get(path);
    return false;
  } catch (err) {
    if (err instanceof KubeError && err.status === 404) return true;
    throw err;
  }
}

interface StatusJson {
  name: string;
  podStatus: { phase?: string };
  wait?: { for: string; met: boolean; timedOut: boolean; waitedMs: number; message: string };
  error?: { code: number; message: string };
}

describe('sale-time provisioning', () => {
  it('a sold order has its namespace, quota, limits and a deny-by-default network policy before any deploy, and a renewal keeps them', { timeout: 60_000 }, async () => {
    const order = await t.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'ausrine' } });
    const ns = namespaceOf(order.id);
    const paths = isolation(ns);
    const namespace = await eventually(() => kube.get<Meta>(`/api/v1/namespaces/${ns}`));
    assert.equal(namespace.metadata.labels?.['vkube.dev/order'], order.id);
    await eventually(async () => {
      for (const p of Object.values(paths)) await kube.get(p);
    });
    const policy = await kube.get<NetworkPolicyJson>(paths.policy);
    // No port number is open to the outside: only the names a pod of the order gives its
    // published ports (none exists before a deploy), one of each protocol for 1 unit.
    assert.deepEqual(
      (policy.spec.ingress ?? []).flatMap((rule) => rule.ports ?? []),
      [
        { port: 'pub-tcp-0', protocol: 'TCP' },
        { port: 'pub-udp-0', protocol: 'UDP' },
      ],
      `before a deploy only published names are open (${JSON.stringify(policy.spec.ingress)})`,
    );
    assert.equal((await t.tenant(order.secret).get('/api/v1/k8s/userService')).json<{ status: string }>().status, 'ServicePending', 'still pending: nothing deployed');

    const renewed = await t.admin('POST', `/api/v1/admin/orders/${order.id}/renew`, { duration: 24 });
    assert.equal(renewed.statusCode, 200, renewed.body);
    await t.services.reconciler.reconcileAll();
    assert.equal((await kube.get<Meta>(`/api/v1/namespaces/${ns}`)).metadata.uid, namespace.metadata.uid, 'the same namespace after the renewal');
    for (const p of Object.values(paths)) await kube.get(p);
  });

  it('a deploy after the provider deleted the isolation objects makes them again, and the policy opens the published port', { timeout: 60_000 }, async () => {
    const order = await t.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'ausrine' } });
    const ns = namespaceOf(order.id);
    const paths = isolation(ns);
    await eventually(async () => {
      for (const p of Object.values(paths)) await kube.get(p);
    });
    for (const p of Object.values(paths)) await kube.delete(p);
    await eventually(async () => {
      for (const p of Object.values(paths)) assert.ok(await absent(p), `${p} deleted`);
    });

    const res = await t.tenant(order.secret).post('/api/v1/k8s/deploy', seedDeployBody(23611));
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json<{ applied: boolean }>().applied, true);
    for (const p of Object.values(paths)) assert.ok(!(await absent(p)), `${p} is back once the deploy is applied`);
    const policy = await kube.get<NetworkPolicyJson>(paths.policy);
    const name = await portName(ns, 80);
    assert.equal(name, 'pub-tcp-0', 'the published container port carries the first TCP name');
    assert.ok(opens(policy, name), 'the policy opens that name to the outside');
  });
});

describe('the first deploy after the sale', () => {
  it('applies the Deployment alone, nothing the watches show in place unchanged (the policy made at sale opens its ports); a resync re-applies the whole set in order', { timeout: 60_000 }, async () => {
    const order = await t.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'ausrine' } });
    const ns = namespaceOf(order.id);
    const gateway = t.services.cluster;
    await eventually(() => {
      for (const [kind, name] of [['ResourceQuota', 'order-quota'], ['LimitRange', 'order-limits'], ['NetworkPolicy', 'order-isolation']] as const) {
        assert.ok(gateway.holdsIsolation(kind, ns, name), `the watch shows ${kind} ${name}`);
      }
    });
    // Every apply of the order's objects, in the order they start and end (the API server is real).
    const steps: string[] = [];
    // The reconciler's fenced writer calls the gateway the app reads from (one cluster).
    const writer = gateway as unknown as ClusterWriter;
    const apply = writer.apply.bind(writer);
    writer.apply = async (objects, opts) => {
      const what = objects.map((o) => o.kind).join(',');
      if (objects.some((o) => o.metadata.namespace === ns || o.metadata.name === ns)) steps.push(`start ${what}`);
      const versions = await apply(objects, opts);
      if (objects.some((o) => o.metadata.namespace === ns || o.metadata.name === ns)) steps.push(`end ${what}`);
      return versions;
    };
    try {
      const res = await t.tenant(order.secret).post('/api/v1/k8s/deploy', seedDeployBody(23614));
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json<{ applied: boolean }>().applied, true);
      // One write, one round trip before the pod: the namespace, quota, limits and policy made at sale stay as they are.
      assert.deepEqual(steps, ['start Deployment', 'end Deployment'], `the Deployment alone: ${steps.join(' · ')}`);
      const policy = await kube.get<NetworkPolicyJson>(isolation(ns).policy);
      assert.ok(opens(policy, (await portName(ns, 80))!), 'the published port is open, by the name the pod gives it');

      // Once the watches show what the deploy applied, a resync of an order nobody touched applies nothing they follow.
      const resync = async () => {
        steps.length = 0;
        await t.services.store.markObserved(order.id, (await t.services.store.findOrder(order.id))!.generation, 0);
        await t.services.reconciler.reconcile(order.id);
      };
      const names = { ResourceQuota: 'order-quota', LimitRange: 'order-limits', NetworkPolicy: 'order-isolation', Deployment: DEPLOYMENT_NAME };
      const kinds = Object.keys(names) as Array<keyof typeof names>;
      const deployment = `/apis/apps/v1/namespaces/${ns}/deployments/${DEPLOYMENT_NAME}`;
      const seen = () => Object.fromEntries(kinds.map((kind) => [kind, gateway.watchedVersion(kind, ns, names[kind])]));
      const applied = seen();
      await eventually(async () => {
        await resync();
        assert.deepEqual(steps, [], 'nothing applied again');
      });

      // Someone changes the quota and the Deployment by hand: the resync puts both back, in order (the isolation before the Deployment).
      await kube.mergePatch(isolation(ns).quota, { spec: { hard: { pods: '20' } } });
      await kube.mergePatch(deployment, { spec: { template: { spec: { terminationGracePeriodSeconds: 3 } } } });
      await eventually(async () => {
        const now = seen();
        assert.notEqual(now.ResourceQuota, applied.ResourceQuota, 'the watch shows the quota edited');
        assert.notEqual(now.Deployment, applied.Deployment, 'the watch shows the Deployment edited');
      });
      await resync();
      const started = (kind: string) => steps.indexOf(`start ${kind}`);
      const ended = (kind: string) => steps.indexOf(`end ${kind}`);
      assert.ok(ended('ResourceQuota') >= 0 && ended('ResourceQuota') < started('Deployment'), `the quota before the Deployment: ${steps.join(' · ')}`);
      assert.ok(!steps.some((s) => /LimitRange|NetworkPolicy/.test(s)), `what nobody touched is not applied: ${steps.join(' · ')}`);
      assert.equal((await kube.get<{ spec: { hard: Record<string, string> } }>(isolation(ns).quota)).spec.hard.pods, '2', 'the quota is put back');
      const restored = await kube.get<{ spec: { template: { spec: { terminationGracePeriodSeconds?: number } } } }>(deployment);
      assert.notEqual(restored.spec.template.spec.terminationGracePeriodSeconds, 3, 'the Deployment is put back');
    } finally {
      writer.apply = apply;
    }
  });
});

describe('GET /k8s/pod/status?wait=', () => {
  it('answers once the pod of the deploy is Running, told by the pod watch', { timeout: 60_000 }, async () => {
    const order = await t.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'ausrine' } });
    const tenant = t.tenant(order.secret);
    assert.equal((await tenant.post('/api/v1/k8s/deploy', seedDeployBody(23612))).statusCode, 200);
    const res = await tenant.get('/api/v1/k8s/pod/status?wait=Running&timeout=30');
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<StatusJson>();
    assert.equal(body.podStatus.phase, 'Running');
    assert.equal(body.wait?.met, true, JSON.stringify(body.wait));
    assert.equal(body.wait?.timedOut, false);
    assert.equal(body.wait?.for, 'Running');
    assert.ok(Array.isArray((body as { domains?: unknown[] }).domains), 'the usual status fields come with it');

    // Ready too; already so: answered at once with the same pod.
    const ready = (await tenant.get('/api/v1/k8s/pod/status?wait=Ready')).json<StatusJson>();
    assert.equal(ready.wait?.met, true, JSON.stringify(ready.wait));
    assert.equal(ready.name, body.name);

    // A restart asks for a new pod: the wait answers with that one, not the pod it replaces.
    assert.equal((await tenant.post('/api/v1/k8s/pod/restart', {})).statusCode, 200);
    const after = (await tenant.get('/api/v1/k8s/pod/status?wait=Running&timeout=30')).json<StatusJson>();
    assert.equal(after.wait?.met, true, JSON.stringify(after.wait));
    assert.notEqual(after.name, body.name, 'the new pod');
  });

  it('a wait whose pod never comes answers 404 saying how long it waited; a stopped service 409', { timeout: 60_000 }, async () => {
    const order = await t.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'ausrine' } });
    const tenant = t.tenant(order.secret);
    assert.equal((await tenant.post('/api/v1/k8s/deploy', seedDeployBody(23613))).statusCode, 200);
    // A change recorded while no leader applies it: no pod of that restart generation will come.
    await t.services.reconciler.stop();
    try {
      await t.services.store.bumpRestart(order.id, t.services.clock.now());
      const started = Date.now();
      const res = await tenant.get('/api/v1/k8s/pod/status?wait=Running&timeout=1');
      assert.ok(Date.now() - started >= 900, 'it waited');
      assert.equal(res.statusCode, 404, res.body);
      assert.match(res.json<StatusJson>().error!.message, /no pod of the latest deploy appeared within 1(\.\d)? s/);
    } finally {
      t.services.reconciler.start({ periodicPasses: false });
    }
    await eventually(async () => assert.equal((await tenant.get('/api/v1/k8s/pod/status?wait=Running&timeout=5')).json<StatusJson>().wait?.met, true));

    assert.equal((await tenant.post('/api/v1/k8s/pod/stop', {})).statusCode, 200);
    const stopped = await tenant.get('/api/v1/k8s/pod/status?wait=Running&timeout=5');
    assert.equal(stopped.statusCode, 409, stopped.body);
    assert.match(stopped.json<StatusJson>().error!.message, /ServiceStop/);
  });

  it('bad wait values are 400 naming the field; nothing deployed is 404', async () => {
    const order = await t.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'ausrine' } });
    const tenant = t.tenant(order.secret);
    for (const [query, field] of [
      ['wait=Runnin', 'wait'],
      ['wait=running', 'wait'],
      ['wait=Running&timeout=0', 'timeout'],
      ['wait=Running&timeout=121', 'timeout'],
      ['wait=Running&timeout=1.5', 'timeout'],
      ['wait=Running&timeout=abc', 'timeout'],
      ['timeout=5', 'timeout'],
    ] as const) {
      const res = await tenant.get(`/api/v1/k8s/pod/status?${query}`);
      assert.equal(res.statusCode, 400, `${query}: ${res.body}`);
      const error = res.json<StatusJson>().error!;
      assert.equal(error.code, 400);
      assert.ok(error.message.startsWith(`${field}: `), `${query} names ${field}: ${error.message}`);
    }
    const none = await tenant.get('/api/v1/k8s/pod/status?wait=Running&timeout=5');
    assert.equal(none.statusCode, 404, none.body);
  });
});
