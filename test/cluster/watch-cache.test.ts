/**
 * WatchCache against the real API server: it lists, follows creates, updates and
 * deletes with its indexes in step, and stop() ends whatever is in flight — the first
 * LIST included — instead of leaving a watch open until the server closes it (minutes).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testKubeconfig } from '../../dev/cluster/testing.js';
import { KubeHttp } from '../../src/cluster/kube-http.js';
import { isForeignEventLine } from '../../src/cluster/kubernetes-gateway.js';
import { type KubeObject, WatchCache, type WatchEventType } from '../../src/cluster/watch-cache.js';
import { eventually, uniqueSuffix } from '../helpers/eventually.js';

type ConfigMap = KubeObject & { data?: Record<string, string> };

const suffix = uniqueSuffix();
const ns = `watch-cache-test-${suffix}`;
/** Named as V-Kube names an order's namespace (not labelled as one: no V-Kube of another test takes it for its own). */
const vkubeNs = `vkube-watch-cache-test-${suffix}`;
let kube: KubeHttp;
const configMaps = `/api/v1/namespaces/${ns}/configmaps`;

before(async () => {
  kube = await KubeHttp.connect(testKubeconfig());
  await kube.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await kube.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: vkubeNs } });
  await kube.post(configMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'before-start', labels: { colour: 'red' } } });
});

after(async () => {
  // Cleanup: a namespace a failed setup never created is a 404.
  await kube.delete(`/api/v1/namespaces/${ns}`).catch(() => {});
  await kube.delete(`/api/v1/namespaces/${vkubeNs}`).catch(() => {});
  kube.close();
});

function cacheOf(onChange?: (type: WatchEventType, obj: ConfigMap) => void): WatchCache<ConfigMap> {
  return new WatchCache<ConfigMap>({
    http: kube,
    path: configMaps,
    labelSelector: 'colour',
    indexes: { colour: (c) => [c.metadata.labels?.colour ?? ''] },
    ...(onChange ? { onChange } : {}),
  });
}

describe('WatchCache', () => {
  it('lists, then follows creates, updates and deletes, indexes included', async () => {
    const seen: string[] = [];
    const cache = cacheOf((type, c) => seen.push(`${type} ${c.metadata.name}`));
    cache.start();
    try {
      assert.equal(await cache.waitForSync(30_000), true);
      assert.equal(cache.get(ns, 'before-start')?.metadata.labels?.colour, 'red');
      assert.equal(cache.get(ns, 'before-start')?.metadata.managedFields, undefined, 'managedFields are dropped');

      const listed = cache.version;
      await kube.post(configMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'later', labels: { colour: 'blue' } }, data: { a: '1' } });
      await eventually(() => assert.deepEqual(cache.byIndex('colour', 'blue').map((c) => c.metadata.name), ['later']));
      assert.ok(cache.version > listed, 'the version moves with a change (what is derived from the cache is worked out again)');

      await kube.put(`${configMaps}/later`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'later', labels: { colour: 'red' } }, data: { a: '2' } });
      await eventually(() => assert.equal(cache.get(ns, 'later')?.data?.a, '2'));
      assert.deepEqual(cache.byIndex('colour', 'blue'), [], 'moved out of its old index entry');
      assert.deepEqual(cache.byIndex('colour', 'red').map((c) => c.metadata.name).sort(), ['before-start', 'later']);

      await kube.delete(`${configMaps}/later`);
      await eventually(() => assert.equal(cache.get(ns, 'later'), undefined));
      assert.deepEqual(cache.byIndex('colour', 'red').map((c) => c.metadata.name), ['before-start']);
      assert.deepEqual(seen, ['ADDED later', 'MODIFIED later', 'DELETED later'], 'listed objects are not reported as changes');
    } finally {
      await cache.stop();
    }
  });

  it('stop() during the first LIST ends at once and no watch is left behind', async () => {
    const seen: string[] = [];
    const cache = cacheOf((type, c) => seen.push(`${type} ${c.metadata.name}`));
    cache.start();
    // The LIST is in flight now: stop must not let the loop go on to open a watch.
    const stopped = await Promise.race([cache.stop().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 10_000).unref())]);
    assert.equal(stopped, true, 'stop() resolved (a watch left open would hold it for minutes)');
    await kube.post(configMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after-stop', labels: { colour: 'green' } } });
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(seen, [], 'nothing is watched after stop()');
    assert.equal(cache.get(ns, 'after-stop'), undefined);
  });

  it('passes over the lines skipsLine names without decoding them, and resumes after them', async () => {
    const seen: string[] = [];
    const cache = new WatchCache<ConfigMap>({
      http: kube,
      path: configMaps,
      labelSelector: 'colour',
      skipsLine: (line) => line.includes('"name":"skipped-'),
      onChange: (type, c) => seen.push(`${type} ${c.metadata.name}`),
    });
    cache.start();
    try {
      assert.equal(await cache.waitForSync(30_000), true);
      const skipped = await kube.post<ConfigMap>(configMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'skipped-1', labels: { colour: 'grey' } } });
      await eventually(() => assert.equal(cache.resumeVersion, skipped.metadata.resourceVersion, 'the watch resumes after the skipped line'));
      assert.equal(cache.get(ns, 'skipped-1'), undefined);
      const kept = await kube.post<ConfigMap>(configMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kept-1', labels: { colour: 'grey' } } });
      await eventually(() => assert.equal(cache.get(ns, 'kept-1')?.metadata.resourceVersion, kept.metadata.resourceVersion));
      assert.equal(cache.resumeVersion, kept.metadata.resourceVersion);
      assert.deepEqual(seen, ['ADDED kept-1'], 'a skipped line reaches no listener');
    } finally {
      await cache.stop();
    }
  });

  it("tells an Event of another namespace from one of V-Kube's on the API server's own watch lines", async () => {
    const decoded: string[] = [];
    const judged: Array<{ name: string; foreign: boolean }> = [];
    const cache = new WatchCache<KubeObject>({
      http: kube,
      path: '/api/v1/events',
      fieldSelector: 'reason=WatchCacheLineTest',
      retain: () => false,
      skipsLine: (line) => {
        const foreign = isForeignEventLine(line);
        judged.push({ name: /"name":"([^"]*)"/.exec(line)![1]!, foreign });
        return foreign;
      },
      onChange: (_type, e) => decoded.push(`${e.metadata.namespace}/${e.metadata.name}`),
    });
    cache.start();
    try {
      assert.equal(await cache.waitForSync(30_000), true);
      // An Event in each namespace, each about a ConfigMap of its own namespace (the API server allows no other).
      const event = (namespace: string, name: string) => ({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: { kind: 'ConfigMap', name: 'before-start', namespace, apiVersion: 'v1' },
        reason: 'WatchCacheLineTest',
        message: 'the namespace "vkube-x" is named in the message too',
        type: 'Normal',
        source: { component: 'watch-cache-test' },
      });
      await kube.post(`/api/v1/namespaces/${ns}/events`, event(ns, `foreign-${suffix}`));
      const ours = await kube.post<KubeObject>(`/api/v1/namespaces/${vkubeNs}/events`, event(vkubeNs, `ours-${suffix}`));
      await eventually(() => assert.deepEqual(decoded, [`${vkubeNs}/ours-${suffix}`], "only V-Kube's namespace's Event is decoded"));
      assert.deepEqual(judged, [
        { name: `foreign-${suffix}`, foreign: true },
        { name: `ours-${suffix}`, foreign: false },
      ]);
      assert.equal(cache.resumeVersion, ours.metadata.resourceVersion);
    } finally {
      await cache.stop();
    }
  });
});
