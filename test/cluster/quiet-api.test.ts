/**
 * An API server that accepts connections and never answers (a TCP proxy that holds every
 * byte): a watch cache stops calling itself live once its watch has been silent past
 * `stallMs`, the gateway's heartbeat says the API server is gone within seconds, and both
 * come back by themselves once the path is open again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KubeHttp } from '../../src/cluster/kube-http.js';
import { KubernetesGateway } from '../../src/cluster/kubernetes-gateway.js';
import { type KubeObject, WatchCache } from '../../src/cluster/watch-cache.js';
import { eventually, uniqueSuffix } from '../helpers/eventually.js';
import { type ProxiedApi, proxiedApi } from '../helpers/proxied-api.js';
import type { TcpProxy } from '../helpers/tcp-proxy.js';

const ns = `quiet-api-test-${uniqueSuffix()}`;
const configMaps = `/api/v1/namespaces/${ns}/configmaps`;
let api: ProxiedApi;
let direct: KubeHttp;
let proxy: TcpProxy;
let viaProxy: KubeHttp;

before(async () => {
  api = await proxiedApi(ns);
  ({ direct, proxy, viaProxy } = api);
});

after(async () => {
  await api?.close();
});

describe('an API server that stops answering', () => {
  it('a silent watch counts as stalled after stallMs and resumes where it was once answers flow', { timeout: 120_000 }, async () => {
    const cache = new WatchCache<KubeObject>({ http: viaProxy, path: configMaps, stallMs: 2_000 });
    cache.start();
    try {
      assert.equal(await cache.waitForSync(30_000), true);
      assert.equal(cache.live, true);
      proxy.blackHole();
      const holeAt = Date.now();
      await eventually(() => assert.equal(cache.live, false), { timeoutMs: 20_000, intervalMs: 100 });
      const noticedMs = Date.now() - holeAt;
      // Whichever notices first says why: the silence itself, or the watch's request left unanswered.
      assert.match(cache.status.lastError ?? '', /stalled: no event or bookmark|no answer within 2000 ms/);
      await direct.post(configMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'during-the-hole' } });
      proxy.restore();
      await eventually(() => assert.ok(cache.get(ns, 'during-the-hole'), 'what changed meanwhile arrives'), { timeoutMs: 30_000 });
      assert.equal(cache.live, true);
      console.log(`a silent watch (stallMs 2 s) stopped counting as live ${noticedMs} ms after the hole opened`);
    } finally {
      proxy.restore();
      await cache.stop();
    }
  });

  it("the gateway's heartbeat marks the API server down within seconds and every source back after", { timeout: 120_000 }, async () => {
    const gateway = new KubernetesGateway({ http: viaProxy, regionLabel: 'region', heartbeatMs: 500 });
    gateway.start();
    try {
      assert.equal(await gateway.waitForSync(30_000), true);
      await eventually(() => assert.equal(gateway.health().reachable, true));
      assert.equal(gateway.canRead(), true, 'the cheap check every read asks agrees with health()');
      proxy.blackHole();
      const holeAt = Date.now();
      await eventually(() => assert.equal(gateway.health().reachable, false), { timeoutMs: 20_000, intervalMs: 100 });
      const downMs = Date.now() - holeAt;
      const h = gateway.health();
      assert.equal(gateway.canRead(), false, 'reads stop with health()');
      assert.equal(h.sources?.apiserver?.live, false, 'the heartbeat names the API server');
      assert.match(h.detail ?? '', /apiserver: the API server did not answer \/livez/);
      // Every cache stops calling itself live at once: none keeps answering from a dead socket.
      for (const name of ['nodes', 'pods', 'namespaces', 'deployments', 'claims', 'events', 'quotas', 'limits', 'networkPolicies']) assert.equal(h.sources?.[name]?.live, false, `${name} is not live`);
      proxy.restore();
      const restoredAt = Date.now();
      await eventually(() => assert.equal(gateway.health().reachable, true), { timeoutMs: 60_000, intervalMs: 100 });
      await eventually(() => assert.equal(gateway.canRead(), true));
      console.log(`heartbeat 500 ms: the API server counted as down ${downMs} ms after the hole opened, and up again ${Date.now() - restoredAt} ms after it closed`);
    } finally {
      proxy.restore();
      await gateway.stop();
    }
  });
});
