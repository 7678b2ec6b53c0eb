/**
 * Quiet is not broken, and busy is not silent. Against the real API server (through a
 * loopback proxy that only counts connections here):
 * - a watch of something nothing changes hears no bookmark for minutes (the API server
 *   sends one only once its own cache of that kind has moved past the watch's version):
 *   the cache re-opens it after `stallMs` and stays live the whole time, so the reads it
 *   serves (status, checkports) never answer "the cluster cannot be read now";
 * - an answer that arrived while this process was too busy to read it (a long synchronous
 *   task) is taken, not counted as the API server's silence.
 * The black-holed API server (quiet-api.test.ts) still makes the same caches say so.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KubeHttp } from '../../src/cluster/kube-http.js';
import { type KubeObject, WatchCache } from '../../src/cluster/watch-cache.js';
import { eventually, uniqueSuffix } from '../helpers/eventually.js';
import { type ProxiedApi, proxiedApi } from '../helpers/proxied-api.js';
import type { TcpProxy } from '../helpers/tcp-proxy.js';

const ns = `quiet-or-busy-test-${uniqueSuffix()}`;
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

/** Blocks this process's event loop, as a long synchronous task does. */
function busyFor(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // spin
  }
}

describe('a quiet watch', () => {
  it('is re-opened after stallMs and stays live throughout; what changes later still arrives', { timeout: 60_000 }, async () => {
    const cache = new WatchCache<KubeObject>({ http: viaProxy, path: configMaps, stallMs: 1_000 });
    cache.start();
    try {
      assert.equal(await cache.waitForSync(30_000), true);
      const connectionsBefore = proxy.accepted;
      // Nothing in the namespace changes: no event, and no bookmark for a minute or more.
      const notLive: string[] = [];
      const until = Date.now() + 5_000;
      while (Date.now() < until) {
        if (!cache.live) notLive.push(cache.status.lastError ?? 'no reason');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.ok(proxy.accepted - connectionsBefore >= 2, `the quiet watch was re-opened (${proxy.accepted - connectionsBefore} new connections)`);
      assert.deepEqual(notLive, [], 'the cache stayed live while its watch was merely quiet');
      await direct.post(configMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after-the-quiet' } });
      await eventually(() => assert.ok(cache.get(ns, 'after-the-quiet')));
      assert.equal(cache.live, true);
    } finally {
      await cache.stop();
    }
  });
});

describe('a process too busy to read its sockets', () => {
  it('takes an answer that arrived meanwhile instead of failing its deadline', { timeout: 60_000 }, async () => {
    // The API server ends this watch after 1 s, well within its 2 s deadline; this process is
    // busy from just after the answer began until past that deadline, so the rest waits unread.
    const res = await direct.stream(`${configMaps}?watch=true&timeoutSeconds=1`, { budget: 'watch', timeoutMs: 10_000, streamDeadlineMs: 2_000 });
    // From the check phase (not a timer's callback, whose phase would go on with the clock it
    // started with): the next turn of the loop runs its due timers before it reads any socket.
    await new Promise((resolve) => setImmediate(resolve));
    busyFor(3_000);
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    assert.equal(res.complete, true, 'the answer that waited in the socket is taken whole');
  });

  it('keeps its caches live when busy past stallMs, and they follow what changes after', { timeout: 60_000 }, async () => {
    // Directly, not through the proxy: the proxy runs in this process, and would be as busy.
    const cache = new WatchCache<KubeObject>({ http: direct, path: configMaps, stallMs: 3_000 });
    cache.start();
    try {
      assert.equal(await cache.waitForSync(30_000), true);
      await new Promise((resolve) => setImmediate(resolve));
      busyFor(3_500);
      // Let the loop turn once: its due timers (the stall check among them) run first, then the sockets are read.
      await new Promise((resolve) => setTimeout(resolve, 0));
      assert.equal(cache.live, true, `busy past stallMs is not a broken watch: ${JSON.stringify(cache.status)}`);
      await direct.post(configMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after-the-busy-spell' } });
      await eventually(() => assert.ok(cache.get(ns, 'after-the-busy-spell')));
      assert.equal(cache.live, true);
    } finally {
      await cache.stop();
    }
  });

  it('keeps its caches live when stopped past the stale time, even when asked before the loop turns', { timeout: 60_000 }, async () => {
    // stallMs 1 s: stale after 3 s of silence (stall + check + re-open). Stopped 4 s, with the
    // watch already quiet before: a read served on waking, before any timer or socket, would
    // take the process's own stop for the API server's silence.
    const cache = new WatchCache<KubeObject>({ http: direct, path: configMaps, stallMs: 1_000 });
    cache.start();
    try {
      assert.equal(await cache.waitForSync(30_000), true);
      await new Promise((resolve) => setTimeout(resolve, 900));
      await new Promise((resolve) => setImmediate(resolve));
      busyFor(4_000);
      assert.equal(cache.live, true, `stopped is not silent: ${JSON.stringify(cache.status)}`);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      assert.equal(cache.live, true, `and it stays live once running: ${JSON.stringify(cache.status)}`);
      await direct.post(configMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after-the-stop' } });
      await eventually(() => assert.ok(cache.get(ns, 'after-the-stop')));
    } finally {
      await cache.stop();
    }
  });
});
