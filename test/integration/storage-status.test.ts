/**
 * An order with persistent storage whose volume claim cannot bind, against the real
 * local cluster: `GET /k8s/pod/status` keeps the seed's shape and says why in
 * `storage`, and `GET /k8s/events` lists the claim's events.
 *
 * Two ways a claim waits for ever: V-Kube's VKUBE_STORAGE_CLASS names a class the
 * cluster does not have, and (setting unset) the cluster has no default class. The
 * second holds only while the cluster has no default StorageClass; it is skipped, saying
 * so, when one exists.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testKubeClient } from '../../dev/cluster/testing.js';
import { KubeHttp } from '../../src/cluster/kube-http.js';
import { objectPath } from '../../src/cluster/resource-paths.js';
import { DATA_CLAIM, namespaceOf } from '../../src/domain/manifests.js';
import { type TestApp, startTestApp } from '../helpers/app.js';
import { eventually, uniqueSuffix } from '../helpers/eventually.js';

const MISSING_CLASS = `vkube-missing-${uniqueSuffix()}`;

interface StatusBody {
  name: string;
  podStatus: { phase?: string };
  podSpec: { volumes?: unknown[] };
  annotations: Record<string, string>;
  storage?: { claim: string; phase: string; message: string; reason?: string; detail?: string };
}

interface EventsBody {
  events: Array<{ object: string; reason: string; message: string; type: string }>;
}

let kube: KubeHttp;

before(async () => {
  kube = await KubeHttp.fromKubeConfig(testKubeClient());
});
after(() => kube.close());

/** The original clients' body with a volume mounted at /data. */
const withVolume = { containers: [{ name: 'db', imageName: 'nginx:latest', resourceUnit: 1, ports: [{ containerPort: 80, protocol: 'TCP' }], mountPath: '/data' }] };

/** Creates a persistStorage order on `t`, deploys `withVolume` through the clients' call, and returns its secret and id. */
async function deployWithVolume(t: TestApp): Promise<{ secret: string; id: string }> {
  const order = await t.createOrder({ serviceOptions: { resourceUnit: '2-Unit-Resource', persistStorage: 'Yes' } });
  const before = await t.tenant(order.secret).get('/api/v1/k8s/pod/status');
  assert.equal(before.statusCode, 404, `nothing deployed yet: still 404, claim or not: ${before.body}`);
  assert.ok('error' in before.json<object>(), 'the 404 is in the error envelope');
  const res = await t.tenant(order.secret).post('/api/v1/k8s/deployment', withVolume);
  assert.equal(res.statusCode, 200, res.body);
  return order;
}

/** Polls the pod status until its storage part says something other than "not requested yet". */
async function storageOf(t: TestApp, secret: string, matches: RegExp): Promise<StatusBody> {
  return eventually(
    async () => {
      const res = await t.tenant(secret).get('/api/v1/k8s/pod/status');
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json<StatusBody>();
      assert.ok(body.storage, `the status carries storage: ${res.body.slice(0, 300)}`);
      assert.match(body.storage.message, matches);
      return body;
    },
    { timeoutMs: 45_000, intervalMs: 500 },
  );
}

/** Polls the events route until it lists an event about the claim matching `reason`. */
async function claimEvent(t: TestApp, secret: string, reason: string): Promise<EventsBody['events'][number]> {
  return eventually(
    async () => {
      await t.services.eventRecorder.flush();
      const res = await t.tenant(secret).get('/api/v1/k8s/events');
      assert.equal(res.statusCode, 200, res.body);
      const found = res.json<EventsBody>().events.find((e) => e.object === `PersistentVolumeClaim/${DATA_CLAIM}` && e.reason === reason);
      assert.ok(found, `an event ${reason} about the claim is listed: ${res.body.slice(0, 500)}`);
      return found;
    },
    { timeoutMs: 45_000, intervalMs: 500 },
  );
}

function assertSeedShape(body: StatusBody): void {
  assert.deepEqual(Object.keys(body), ['name', 'podStatus', 'podSpec', 'annotations', 'storage', 'domains', 'endpoints'], "the seed fields, in order, then storage, the clients' domains and where the app is reached");
  assert.equal(body.podStatus.phase, 'Pending', 'the pod waits for its volume');
  assert.ok(
    body.podSpec.volumes?.some((v) => (v as { persistentVolumeClaim?: { claimName?: string } }).persistentVolumeClaim?.claimName === DATA_CLAIM),
    'podSpec is the Pod as Kubernetes returns it, volume included',
  );
}

describe('VKUBE_STORAGE_CLASS names a class the cluster does not have', { timeout: 120_000 }, () => {
  let t: TestApp;
  let order: { secret: string; id: string };
  before(async () => {
    t = await startTestApp({ env: { VKUBE_STORAGE_CLASS: MISSING_CLASS } });
    order = await deployWithVolume(t);
  });
  after(() => t.close());

  it('the claim is made with that class', async () => {
    const claim = await kube.get<{ spec: { storageClassName?: string } }>(objectPath('PersistentVolumeClaim', DATA_CLAIM, namespaceOf(order.id)));
    assert.equal(claim.spec.storageClassName, MISSING_CLASS);
  });

  it('pod/status keeps the seed shape and says the class does not exist', async () => {
    const body = await storageOf(t, order.secret, new RegExp(`no storage class named "${MISSING_CLASS}"`));
    assertSeedShape(body);
    assert.equal(body.storage?.claim, DATA_CLAIM);
    assert.equal(body.storage?.phase, 'Pending');
    assert.equal(body.storage?.reason, 'ProvisioningFailed');
    assert.match(body.storage?.detail ?? '', new RegExp(`"${MISSING_CLASS}" not found`), "Kubernetes' own words ride along");
  });

  it('the events route lists the claim’s event', async () => {
    const e = await claimEvent(t, order.secret, 'ProvisioningFailed');
    assert.equal(e.type, 'Warning');
    assert.match(e.message, new RegExp(MISSING_CLASS));
  });

  it('an update after the setting changed keeps the class the claim has (Kubernetes refuses to change it)', async () => {
    // As after a restart with another VKUBE_STORAGE_CLASS: the reconciler reads this same config object.
    t.config.storageClass = `${MISSING_CLASS}-renamed`;
    try {
      const res = await t.tenant(order.secret).post('/api/v1/k8s/deployment/update', { containers: [{ ...withVolume.containers[0], envs: [{ name: 'K', value: 'V' }] }] });
      assert.equal(res.statusCode, 200, res.body);
    } finally {
      t.config.storageClass = MISSING_CLASS;
    }
    const claim = await kube.get<{ spec: { storageClassName?: string } }>(objectPath('PersistentVolumeClaim', DATA_CLAIM, namespaceOf(order.id)));
    assert.equal(claim.spec.storageClassName, MISSING_CLASS);
  });
});

describe('no class set, and no default class in the cluster', { timeout: 120_000 }, () => {
  let t: TestApp | undefined;
  let order: { secret: string; id: string } | undefined;
  let defaultClass: string | undefined;
  before(async () => {
    const classes = await kube.get<{ items: Array<{ metadata: { name: string; annotations?: Record<string, string> } }> }>('/apis/storage.k8s.io/v1/storageclasses');
    defaultClass = classes.items.find((c) => c.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true')?.metadata.name;
    if (defaultClass) return;
    t = await startTestApp();
    assert.equal(t.config.storageClass, undefined, 'VKUBE_STORAGE_CLASS is unset');
    order = await deployWithVolume(t);
  });
  after(() => t?.close());

  it('pod/status says the cluster has no default storage class, and the events route lists why', async (ctx) => {
    if (defaultClass) {
      ctx.skip(`the cluster has a default StorageClass ("${defaultClass}"), so a claim without a class does not wait for lack of one`);
      return;
    }
    const claim = await kube.get<{ spec: { storageClassName?: string | null } }>(objectPath('PersistentVolumeClaim', DATA_CLAIM, namespaceOf(order!.id)));
    assert.equal(claim.spec.storageClassName ?? undefined, undefined, 'the claim names no class');
    const body = await storageOf(t!, order!.secret, /no default storage class/);
    assertSeedShape(body);
    assert.equal(body.storage?.phase, 'Pending');
    assert.equal(body.storage?.reason, 'FailedBinding');
    const e = await claimEvent(t!, order!.secret, 'FailedBinding');
    assert.match(e.message, /no storage class is set/);
  });
});
