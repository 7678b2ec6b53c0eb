/**
 * Every call to the Kubernetes API has a deadline, body included: an API server that
 * never answers, or answers a byte at a time for ever, fails the call instead of
 * holding it. A real HTTP server on loopback plays the API server.
 */
import assert from 'node:assert/strict';
import { type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { KubeError, KubeHttp } from '../../src/cluster/kube-http.js';

let server: Server;
let http: KubeHttp;
const drips = new Set<NodeJS.Timeout>();

/** Writes one byte every 20 ms for as long as the client stays. */
function drip(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  const timer = setInterval(() => res.write(' '), 20);
  drips.add(timer);
  res.on('close', () => {
    clearInterval(timer);
    drips.delete(timer);
  });
}

before(async () => {
  server = createServer((req, res) => {
    if (req.url!.startsWith('/silent')) return; // never answers
    if (req.url!.startsWith('/drip')) return drip(res);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  http = new KubeHttp({ server: new URL(`http://127.0.0.1:${port}`), clusterName: 'loopback', tls: {}, authHeaders: async () => ({}) });
});

after(async () => {
  for (const t of drips) clearInterval(t);
  http.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function failsWithin<T>(ms: number, call: () => Promise<T>): Promise<KubeError> {
  const started = Date.now();
  const err = await call().then(
    () => assert.fail('the call should have failed'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof KubeError, `a KubeError, got ${String(err)}`);
  assert.equal(err.status, 0, 'no HTTP answer: status 0 (unreachable)');
  assert.ok(err.unreachable, 'treated as unreachable (503 upstream of it)');
  assert.ok(Date.now() - started < ms, `failed within ${ms} ms (took ${Date.now() - started} ms)`);
  return err;
}

describe('KubeHttp deadlines', { timeout: 10_000 }, () => {
  it('a JSON call to a server that never answers fails at its deadline', async () => {
    const err = await failsWithin(3000, () => http.get('/silent', { timeoutMs: 300 }));
    assert.match(err.message, /within 300 ms/);
  });

  it('a JSON call whose body trickles in for ever fails at its deadline (not only when the socket idles)', async () => {
    const err = await failsWithin(3000, () => http.get('/drip', { timeoutMs: 300 }));
    assert.match(err.message, /not finished within 300 ms/);
  });

  it('a stream whose head never comes fails at its deadline', async () => {
    const err = await failsWithin(3000, () => http.stream('/silent', { timeoutMs: 300 }));
    assert.match(err.message, /no answer within 300 ms/);
  });

  it('a stream with a deadline of its own is ended when it outlives it', async () => {
    const res = await http.stream('/drip', { timeoutMs: 1000, streamDeadlineMs: 400 });
    const started = Date.now();
    const err = await (async () => {
      try {
        for await (const _ of res) {
          // reading until the deadline ends it
        }
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    assert.ok(err, 'the stream ended with an error');
    assert.match(err.message, /not finished within 400 ms/);
    assert.ok(Date.now() - started < 3000, 'ended near its deadline');
  });

  it('credentials that never come (a hung exec plugin) fail the call at the deadline; credentials that cannot be read fail it at once', async () => {
    const { port } = server.address() as AddressInfo;
    const hung = new KubeHttp({ server: new URL(`http://127.0.0.1:${port}`), clusterName: 'loopback', tls: {}, authHeaders: () => new Promise(() => {}) }, { authTimeoutMs: 200 });
    const err = await failsWithin(3000, () => hung.get('/drip'));
    assert.match(err.message, /credentials did not come within 200 ms/);
    const gone = new KubeHttp({ server: new URL(`http://127.0.0.1:${port}`), clusterName: 'loopback', tls: {}, authHeaders: async () => Promise.reject(new Error('ENOENT: token file')) });
    const err2 = await failsWithin(3000, () => gone.get('/drip'));
    assert.match(err2.message, /no credentials: ENOENT: token file/);
  });

  it('a stream without a deadline of its own lasts as long as the server sends', async () => {
    const res = await http.stream('/drip', { timeoutMs: 300 });
    let bytes = 0;
    const ended = new Promise((resolve) => res.on('close', resolve));
    res.on('data', (c: Buffer) => (bytes += c.length));
    await new Promise((r) => setTimeout(r, 800));
    assert.ok(!res.destroyed, 'still open after the head deadline passed');
    assert.ok(bytes > 5, `kept reading (${bytes} bytes)`);
    res.destroy();
    await ended;
  });
});
