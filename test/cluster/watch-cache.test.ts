/**
 * WatchCache against the real API server: it lists, follows creates, updates and
 * deletes with its indexes in step, and stop() ends whatever is in flight — the first
 * LIST included — instead of leaving a watch open until the server closes it (minutes).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testKubeconfig } from '../../dev/cluster/testing.js';
import { KubeHttp } from '../../src/cluster/kube-http.js';
import { type KubeObject, WatchCache, type WatchEventType } from '../../src/cluster/watch-cache.js';
import { eventually, uniqueSuffix } from '../helpers/eventually.js';

type ConfigMap = KubeObject & { data?: Record<string, string> };

const ns = `watch-cache-test-${uniqueSuffix()}`;
let kube: KubeHttp;
const configMaps = `/api/v1/namespaces/${ns}/configmaps`;

before(async () => {
  kube = await KubeHttp.connect(testKubeconfig());
  await kube.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await kube.post(configMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'before-start', labels: { colour: 'red' } } });
});

after(async () => {
  // Cleanup: a namespace a failed setup never created is a 404.
  await kube.delete(`/api/v1/namespaces/${ns}`).catch(() => {});
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
});
