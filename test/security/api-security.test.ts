/**
 * Tenant isolation and the API's own defences: one customer's credentials open nothing
 * of another's; the database holds no secret in clear; bad-secret bursts lock out only
 * their sender; access tokens work and stop working at once; logs hold no credential;
 * security headers, CORS and size limits; the audit log.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../../src/app.js';
import { createLogger } from '../../src/logging.js';
import { ADMIN_TOKEN, type TestApp, seedDeployBody, startTestApp } from '../helpers/app.js';
import { eventually } from '../helpers/eventually.js';

let t: TestApp;
let a: { secret: string; id: string; token: string };
let b: { secret: string; id: string; token: string };
let bAccess: string;
let bTokenId: string;

before(async () => {
  t = await startTestApp({ env: { VKUBE_CORS_ORIGINS: 'https://console.example.com' } });
  a = await t.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'giltine' } });
  b = await t.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'giltine' } });
  for (const [o, port] of [[a, 8101], [b, 8102]] as const) {
    assert.equal((await t.tenant(o.secret).post('/api/v1/k8s/deploy', seedDeployBody(port, '64Mi', 'giltine'))).statusCode, 200);
  }
  const created = (await t.tenant(b.secret).post('/api/v1/k8s/tokens', { name: 'ci' })).json<{ token: string; accessToken: { id: string } }>();
  bAccess = created.token;
  bTokenId = created.accessToken.id;
  await eventually(async () => assert.equal((await t.tenant(b.secret).get('/api/v1/k8s/pod/status')).statusCode, 200));
});
after(() => t.close());

describe("one customer's credentials open nothing of another's", () => {
  const reads = ['/api/v1/k8s/order', '/api/v1/k8s/userService', '/api/v1/k8s/pod/status', '/api/v1/k8s/pod/log', '/api/v1/k8s/deployment/info', '/api/v1/k8s/events', '/api/v1/k8s/pod/configmap'];

  it("every tenant read with A's secret or token answers A's own data, whatever id or header names B", async () => {
    const aAccess = (await t.tenant(a.secret).post('/api/v1/k8s/tokens', {})).json<{ token: string }>().token;
    const bPod = (await t.tenant(b.secret).get('/api/v1/k8s/pod/status')).json<{ name: string }>().name;
    for (const credential of [a.secret, a.token, aAccess]) {
      for (const path of reads) {
        for (const tamper of ['', `?id=${b.id}`, `?orderId=${b.id}&serviceID=${b.id}&userServiceID=${b.id}`]) {
          const res = await t.app.inject({ url: path + tamper, headers: { secret: credential, 'x-order-id': b.id, 'x-user-service-id': b.id } });
          assert.ok(res.statusCode < 500, `${path}${tamper}: ${res.statusCode}`);
          assert.ok(!res.body.includes(b.id), `${path}${tamper} shows nothing of B (its id)`);
          assert.ok(!res.body.includes(bPod), `${path}${tamper} shows nothing of B (its pod)`);
        }
      }
    }
  });

  it("mutations with A's credentials touch only A", async () => {
    const bStatus = async () => (await t.tenant(b.secret).get('/api/v1/k8s/userService')).json<{ status: string }>().status;
    for (const [method, url, payload] of [
      ['POST', `/api/v1/k8s/pod/stop?id=${b.id}`, {}],
      ['POST', '/api/v1/k8s/deployment/metadata/label', { customizedLabel: 'from-a' }],
    ] as const) {
      const res = await t.app.inject({ method, url, headers: { secret: a.secret, 'x-order-id': b.id }, payload });
      assert.equal(res.statusCode, 200, res.body);
    }
    assert.equal(await bStatus(), 'ServiceRunning', 'B still runs');
    assert.equal((await t.tenant(a.secret).get('/api/v1/k8s/userService')).json<{ status: string }>().status, 'ServiceStop', 'A stopped itself');
    assert.equal((await t.tenant(a.secret).post('/api/v1/k8s/pod/start', {})).statusCode, 200);
  });

  it("B's access tokens cannot be seen, deactivated or deleted with A's secret", async () => {
    const listed = (await t.tenant(a.secret).get('/api/v1/k8s/tokens')).json<{ items: Array<{ id: string }> }>().items;
    assert.ok(!listed.some((x) => x.id === bTokenId));
    assert.equal((await t.tenant(a.secret).post(`/api/v1/k8s/tokens/${bTokenId}/deactivate`, {})).statusCode, 404);
    assert.equal((await t.tenant(a.secret).request('DELETE', `/api/v1/k8s/tokens/${bTokenId}`)).statusCode, 404);
    assert.equal((await t.tenant(bAccess).get('/api/v1/k8s/order')).json<{ id: string }>().id, b.id, "B's token still works");
  });

  it("checkports with B's id and A's secret does not hide B's ports", async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/k8s/checkports', headers: { secret: a.secret }, payload: { region: 'giltine', ports: [8102], userServiceID: b.id } });
    assert.deepEqual(res.json(), { occupied: [8102], status: 'PortsOccupied' });
  });

  it('no tenant credential opens an admin route', async () => {
    for (const credential of [a.secret, a.token, bAccess]) {
      for (const headers of [{ authorization: `Bearer ${credential}` }, { secret: credential }]) {
        assert.equal((await t.app.inject({ url: `/api/v1/admin/orders/${b.id}`, headers })).statusCode, 401);
        assert.equal((await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${b.id}/abort`, headers })).statusCode, 401);
      }
    }
  });
});

describe('access tokens', () => {
  it('work like the secret, cannot manage tokens, and stop working at once when deactivated, deleted or expired', async () => {
    const o = await t.createOrder();
    const made = await t.tenant(o.secret).post('/api/v1/k8s/tokens', { name: 'deploy bot', expiresInHours: 1 });
    assert.equal(made.statusCode, 201, made.body);
    const { token, accessToken } = made.json<{ token: string; accessToken: { id: string; expiresAt: number; active: boolean; name: string } }>();
    assert.match(token, /^vkt_[1-9A-HJ-NP-Za-km-z]{40,50}$/);
    assert.equal(accessToken.name, 'deploy bot');
    assert.equal((await t.tenant(token).get('/api/v1/k8s/order')).json<{ id: string }>().id, o.id);
    assert.equal((await t.tenant(token).post('/api/v1/k8s/tokens', {})).statusCode, 403, 'a token cannot mint tokens');
    const listed = (await t.tenant(o.secret).get('/api/v1/k8s/tokens')).json<{ items: Array<{ id: string; lastUsedAt: number | null }> }>().items;
    assert.equal(listed.length, 1);
    assert.ok(listed[0]!.lastUsedAt, 'last use is recorded');
    assert.ok(!JSON.stringify(listed).includes(token), 'the token is never shown again');

    assert.equal((await t.tenant(o.secret).post(`/api/v1/k8s/tokens/${accessToken.id}/deactivate`, {})).statusCode, 200);
    const refused = await t.tenant(token).get('/api/v1/k8s/order');
    assert.equal(refused.statusCode, 401);
    assert.match(refused.json<{ error: { message: string } }>().error.message, /deactivated/);

    const second = (await t.tenant(o.secret).post('/api/v1/k8s/tokens', {})).json<{ token: string; accessToken: { id: string } }>();
    assert.equal((await t.tenant(second.token).get('/api/v1/k8s/order')).statusCode, 200);
    assert.equal((await t.tenant(o.secret).request('DELETE', `/api/v1/k8s/tokens/${second.accessToken.id}`)).statusCode, 200);
    assert.equal((await t.tenant(second.token).get('/api/v1/k8s/order')).statusCode, 401);

    const bad = await t.tenant(o.secret).post('/api/v1/k8s/tokens', { expiresInHours: 0 });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json<{ error: { message: string } }>().error.message, /^expiresInHours:/);
  });

  it('an expired token is refused', async () => {
    const clock = { t: Math.floor(Date.now() / 1000), now() { return this.t; } };
    const local = await startTestApp({ clock });
    try {
      const o = await local.createOrder();
      const { token } = (await local.tenant(o.secret).post('/api/v1/k8s/tokens', { expiresInHours: 1 })).json<{ token: string }>();
      assert.equal((await local.tenant(token).get('/api/v1/k8s/order')).statusCode, 200);
      clock.t += 3601;
      const res = await local.tenant(token).get('/api/v1/k8s/order');
      assert.equal(res.statusCode, 401);
      assert.match(res.json<{ error: { message: string } }>().error.message, /expired/);
      assert.equal((await local.tenant(o.secret).get('/api/v1/k8s/order')).statusCode, 200, 'the secret itself does not expire');
    } finally {
      await local.close();
    }
  });
});

describe('the database holds no secret in clear', () => {
  it('secrets, tokens, access tokens and registry passwords appear nowhere in the SQLite files', async () => {
    const o = await t.createOrder();
    const { token: access } = (await t.tenant(o.secret).post('/api/v1/k8s/tokens', {})).json<{ token: string }>();
    const password = `pw-${Math.random().toString(36).slice(2)}-registry`;
    const res = await t.tenant(o.secret).post('/api/v1/k8s/deployment', { containers: [{ name: 'app', imageName: 'nginx' }], pvtLogin: [{ username: 'alice', password }] });
    assert.equal(res.statusCode, 200, res.body);
    const rotated = (await t.admin('POST', `/api/v1/admin/orders/${o.id}/secret`)).json<{ secret: string }>().secret;
    const file = t.config.databaseUrl.slice('sqlite:'.length);
    const bytes = readdirSync(dirname(file))
      .filter((f) => f.startsWith('vkube.db'))
      .map((f) => readFileSync(join(dirname(file), f)).toString('latin1'))
      .join('');
    assert.ok(bytes.length > 10_000);
    for (const [what, value] of [['secret', o.secret], ['rotated secret', rotated], ["clients' token", o.token], ['access token', access], ['registry password', password], ['admin token', ADMIN_TOKEN], ["A's secret", a.secret]]) {
      assert.ok(!bytes.includes(value!), `the ${what} is not in the database files`);
    }
    assert.ok(bytes.includes(o.id), 'sanity: the search does find what is there');
  });
});

describe('bad-secret bursts', () => {
  it('lock out the sender with 429 and Retry-After, while other clients are unaffected', async () => {
    const local = await startTestApp({ env: { VKUBE_LOCKOUT_FAILURES: '10', VKUBE_LOCKOUT_SECONDS: '2' } });
    try {
      const o = await local.createOrder();
      const from = (remoteAddress: string, secret: string) => local.app.inject({ url: '/api/v1/k8s/order', headers: { secret }, remoteAddress });
      const codes: number[] = [];
      for (let i = 0; i < 30; i++) codes.push((await from('203.0.113.7', `guess-${i}`)).statusCode);
      assert.deepEqual(codes.slice(0, 10), Array(10).fill(401));
      assert.ok(codes.slice(10).every((c) => c === 429), `then 429: ${codes.join(',')}`);
      const locked = await from('203.0.113.7', o.secret);
      assert.equal(locked.statusCode, 429, 'even the right secret waits out the lock-out');
      assert.ok(Number(locked.headers['retry-after']) >= 1);
      assert.equal(locked.json<{ error: { code: number } }>().error.code, 429);
      assert.equal((await from('198.51.100.9', o.secret)).statusCode, 200, 'another client is unaffected');
      await new Promise((r) => setTimeout(r, 2100));
      assert.equal((await from('203.0.113.7', o.secret)).statusCode, 200, 'the lock-out ends');
    } finally {
      await local.close();
    }
  });

  it('a request flood from one client gets 429 while others go through', async () => {
    const local = await startTestApp({ env: { VKUBE_RATE_LIMIT_RPS: '5', VKUBE_RATE_LIMIT_BURST: '10' } });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 30; i++) codes.push((await local.app.inject({ url: '/api/v1/k8s/regions', remoteAddress: '203.0.113.8' })).statusCode);
      assert.ok(codes.filter((c) => c === 429).length >= 15, codes.join(','));
      assert.equal((await local.app.inject({ url: '/api/v1/k8s/regions', remoteAddress: '198.51.100.10' })).statusCode, 200);
      assert.equal((await local.app.inject({ url: '/healthz', remoteAddress: '203.0.113.8' })).statusCode, 200, 'health checks are never limited');
    } finally {
      await local.close();
    }
  });
});

describe('logs', () => {
  it('never contain a secret, token or credential', async () => {
    let text = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        text += chunk.toString();
        done();
      },
    });
    const app = await buildApp(t.services, { logger: createLogger('trace', sink) });
    try {
      const o = await t.createOrder();
      const b64 = (s: string) => Buffer.from(s).toString('base64');
      await app.inject({ url: '/api/v1/k8s/order', headers: { secret: o.secret } });
      await app.inject({ url: '/api/v1/k8s/order', headers: { secret: 'wrong-secret-value-123' } });
      await app.inject({ url: '/api/v1/admin/orders', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      await app.inject({ url: '/api/v1/k8s/images?image=127.0.0.1:9/x&tag=v1', headers: { username: b64('alice'), password: b64('s3cret-pw') } });
      await app.inject({ method: 'POST', url: '/api/v1/k8s/deployment', headers: { token: o.token }, payload: { containers: [{ name: 'x', imageName: 'nginx' }], pvtLogin: [{ username: 'u', password: 'deploy-pw-777' }] } });
      // Should anything ever log request headers, the credentials in them are redacted.
      app.log.info({ headers: { secret: o.secret, authorization: `Bearer ${ADMIN_TOKEN}`, password: b64('s3cret-pw') } }, 'a log line that carries headers');
      assert.ok(text.length > 500, 'requests were logged');
      for (const value of [o.secret, o.token, ADMIN_TOKEN, 'wrong-secret-value-123', b64('s3cret-pw'), 's3cret-pw', 'deploy-pw-777']) {
        assert.ok(!text.includes(value), `the log does not contain ${value.slice(0, 6)}…`);
      }
      assert.match(text, /\[redacted\]/);
    } finally {
      await app.close();
    }
  });
});

describe('HTTP edge', () => {
  it('sends security headers, no caching of API answers, and CORS only to configured origins', async () => {
    const api = await t.tenant(a.secret).get('/api/v1/k8s/order', { origin: 'https://evil.example.org' });
    assert.equal(api.headers['x-content-type-options'], 'nosniff');
    assert.equal(api.headers['x-frame-options'], 'DENY');
    assert.equal(api.headers['referrer-policy'], 'no-referrer');
    assert.equal(api.headers['cache-control'], 'no-store');
    assert.equal(api.headers['access-control-allow-origin'], undefined, 'no CORS for unknown origins');
    const allowed = await t.app.inject({ method: 'OPTIONS', url: '/api/v1/k8s/order', headers: { origin: 'https://console.example.com', 'access-control-request-method': 'GET' } });
    assert.equal(allowed.statusCode, 204);
    assert.equal(allowed.headers['access-control-allow-origin'], 'https://console.example.com');
    assert.match(String(allowed.headers['access-control-allow-headers']), /secret/);
  });

  it('refuses oversized headers (431) and bodies (413)', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/api/v1/k8s/regions', headers: { 'x-junk': 'x'.repeat(64 * 1024) } }, (res) => resolve(res.statusCode ?? 0));
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 431);
    const big = await t.app.inject({ method: 'POST', url: '/api/v1/k8s/checkports', payload: { region: 'x', ports: [1], pad: 'x'.repeat(2 * 1024 * 1024) } });
    assert.equal(big.statusCode, 413);
  });
});

describe('audit log', () => {
  it('records who changed what, when and how it ended — never a credential', async () => {
    const o = await t.createOrder();
    await t.tenant(o.secret).post('/api/v1/k8s/deploy', { nodeSelector: { region: 'atlantis' }, containers: [] });
    const { token } = (await t.tenant(o.secret).post('/api/v1/k8s/tokens', {})).json<{ token: string }>();
    await t.tenant(token).post('/api/v1/k8s/pod/restart', {});
    await t.app.inject({ method: 'POST', url: '/api/v1/k8s/deploy', headers: { secret: 'nobody' }, payload: {} });
    const res = await t.admin('GET', `/api/v1/admin/audit?orderId=${o.id}`);
    assert.equal(res.statusCode, 200);
    const items = res.json<{ items: Array<{ actor: string; action: string; outcome: number; orderId: string }> }>().items;
    const actions = items.map((i) => `${i.actor.split(':')[0]} ${i.action} ${i.outcome}`);
    assert.ok(actions.includes('admin POST /api/v1/admin/orders/:id/secret 200') || actions.some((x) => x.startsWith('order POST /api/v1/k8s/deploy 400')), actions.join('\n'));
    assert.ok(actions.includes('order POST /api/v1/k8s/deploy 400'), actions.join('\n'));
    assert.ok(actions.includes('order POST /api/v1/k8s/tokens 201'));
    assert.ok(actions.includes('token POST /api/v1/k8s/pod/restart 409'), actions.join('\n'));
    const all = (await t.admin('GET', '/api/v1/admin/audit?limit=1000')).json<{ items: Array<{ actor: string; outcome: number }> }>().items;
    assert.ok(all.some((i) => i.actor === 'anonymous' && i.outcome === 401), 'refused attempts are recorded too');
    assert.ok(all.some((i) => i.actor === 'admin'));
    const raw = JSON.stringify(all);
    for (const secret of [o.secret, token, ADMIN_TOKEN]) assert.ok(!raw.includes(secret));
  });
});
