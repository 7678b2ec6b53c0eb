/**
 * Notifications end to end, through the real app on the real cluster: codes and notices
 * arrive at a real SMTP server on loopback (smtp-server), webhooks at a real HTTP
 * receiver on loopback, requests signed as the original market CLI signs them.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { testKubeClient } from '../../dev/cluster/testing.js';
import { KubeHttp } from '../../src/cluster/kube-http.js';
import { namespaceOf } from '../../src/domain/manifests.js';
import { type TestApp, startTestApp } from '../helpers/app.js';
import { TestClock } from '../helpers/clock.js';
import { eventually } from '../helpers/eventually.js';
import { type MarketWallet, marketWallet } from '../helpers/market-wallet.js';

interface Mail {
  to: string[];
  raw: string;
}
interface Hit {
  headers: IncomingHttpHeaders;
  body: string;
  path: string;
}

const clock = new TestClock(Math.floor(Date.now() / 1000));
const mails: Mail[] = [];
const hits: Hit[] = [];
/** Answers 500 to this many webhook deliveries before it takes them. */
let failNext = 0;
let smtp: SMTPServer;
let receiver: Server;
let receiverUrl: string;
let t: TestApp;
let wallet: MarketWallet;

before(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, done) {
      let raw = '';
      stream.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw });
        done();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const smtpPort = (smtp.server.address() as AddressInfo).port;

  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      hits.push({ headers: req.headers, body, path: req.url ?? '' });
      if (failNext > 0) {
        failNext--;
        res.writeHead(500).end('not now');
      } else res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  t = await startTestApp({
    clock,
    env: {
      VKUBE_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      VKUBE_MAIL_FROM: 'V-Kube Test <vkube@test.invalid>',
      VKUBE_WEBHOOK_PRIVATE_TARGETS: '127.0.0.1',
      VKUBE_NOTIFY_POLL_MS: '100',
      VKUBE_NOTIFY_RETRY_BASE_MS: '100',
      VKUBE_NOTIFY_MAX_ATTEMPTS: '3',
      VKUBE_NOTICE_AHEAD_SECONDS: '600',
    },
  });
  t.services.podNotices.start();
  t.services.notifier.start();
  wallet = await marketWallet();
});

after(async () => {
  await t.services.notifier.stop();
  await t.services.podNotices.stop();
  await t.close();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
});

const codeFor = (to: string, since: number) =>
  eventually(() => {
    const mail = mails.slice(since).find((m) => m.to.includes(to));
    assert.ok(mail, `a mail to ${to}`);
    const code = /code to receive V-Kube notices at this address is (\d{6})/.exec(mail.raw)?.[1];
    assert.ok(code, 'the code is in the mail');
    return code;
  });

const errorOf = (res: { json<T>(): T }) => res.json<{ error: { code: number; message: string } }>().error;

/** A request signed by the wallet, sent with exactly the bytes it signed. */
function signed(method: 'GET' | 'POST', url: string, body?: Record<string, unknown>, opts: { time?: number; tamper?: (p: string) => string; headers?: Record<string, string> } = {}) {
  const { headers, payload } = wallet.sign(method, url, body, opts.time !== undefined ? { time: opts.time } : {});
  return {
    headers: { ...headers, ...opts.headers },
    send: () => t.app.inject({ method, url, headers: { ...headers, ...opts.headers }, ...(payload !== undefined ? { payload: opts.tamper ? opts.tamper(payload) : payload } : {}) }),
  };
}

describe('contact API bound to a service (secret)', () => {
  it('mails a code, refuses wrong codes and bad fields naming them, binds with the right code', async () => {
    const order = await t.createOrder();
    const tenant = t.tenant(order.secret);
    const base = '/api/v1/contact/userServiceContact';

    const noSecret = await t.app.inject({ method: 'POST', url: `${base}/bind/sendCode`, payload: { type: 'email', contact: 'a@example.com' } });
    assert.equal(noSecret.statusCode, 401);
    assert.equal(errorOf(noSecret).code, 401);
    const badType = await tenant.post(`${base}/bind/sendCode`, { type: 'sms', contact: '+100' });
    assert.equal(badType.statusCode, 400);
    assert.match(errorOf(badType).message, /^type: /);
    const badContact = await tenant.post(`${base}/bind/sendCode`, { type: 'email', contact: 'not an address\r\nBcc: x@y.z' });
    assert.equal(badContact.statusCode, 400);
    assert.match(errorOf(badContact).message, /^contact: /);

    const since = mails.length;
    const sent = await tenant.post(`${base}/bind/sendCode`, { type: 'email', contact: 'Owner@Example.com' });
    assert.equal(sent.statusCode, 200, sent.body);
    assert.equal(sent.json<{ contact: string }>().contact, 'owner@example.com');
    const code = await codeFor('owner@example.com', since);
    const again = await tenant.post(`${base}/bind/sendCode`, { type: 'email', contact: 'owner@example.com' });
    assert.equal(again.statusCode, 429, 'one code a minute');

    const wrong = await tenant.post(`${base}/bind/verifyCode`, { type: 'email', contact: 'owner@example.com', code: code === '000000' ? '111111' : '000000' });
    assert.equal(wrong.statusCode, 400);
    assert.match(errorOf(wrong).message, /^code: wrong code .*4 attempts left/);
    const otherAddress = await tenant.post(`${base}/bind/verifyCode`, { type: 'email', contact: 'thief@example.com', code });
    assert.equal(otherAddress.statusCode, 400, 'a code binds only the address it was mailed to');
    const malformed = await tenant.post(`${base}/bind/verifyCode`, { type: 'email', contact: 'owner@example.com', code: '12ab' });
    assert.match(errorOf(malformed).message, /^code: /);

    const ok = await tenant.post(`${base}/bind/verifyCode`, { type: 'email', contact: 'owner@example.com', code });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(ok.json(), { status: 'OK', type: 'email', contact: 'owner@example.com' });
    const reuse = await tenant.post(`${base}/bind/verifyCode`, { type: 'email', contact: 'owner@example.com', code });
    assert.equal(reuse.statusCode, 400, 'a code works once');

    assert.equal((await tenant.get('/api/v1/k8s/userService')).json<{ email: string }>().email, 'owner@example.com', "the clients' service view shows it");
    const row = await t.services.notifications.pendingCode({ kind: 'service', id: order.id });
    assert.equal(row, undefined);
    const bound = await t.services.notifications.contactOf({ kind: 'service', id: order.id });
    assert.equal(bound?.contact, 'owner@example.com');

    const del = await tenant.post(`${base}/delete/email`, {});
    assert.deepEqual(del.json(), { status: 'OK', deleted: true });
  });

  it('stores only a keyed hash of the code, and five wrong guesses end it', async () => {
    const order = await t.createOrder();
    const tenant = t.tenant(order.secret);
    const since = mails.length;
    assert.equal((await tenant.post('/api/v1/contact/userServiceContact/bind/sendCode', { type: 'email', contact: 'guess@example.com' })).statusCode, 200);
    const code = await codeFor('guess@example.com', since);
    const pending = await t.services.notifications.pendingCode({ kind: 'service', id: order.id });
    assert.ok(pending && !pending.codeHash.includes(code) && pending.codeHash.length === 64);
    const wrongCode = code === '999999' ? '888888' : '999999';
    for (let i = 0; i < 5; i++) await tenant.post('/api/v1/contact/userServiceContact/bind/verifyCode', { type: 'email', contact: 'guess@example.com', code: wrongCode });
    const late = await tenant.post('/api/v1/contact/userServiceContact/bind/verifyCode', { type: 'email', contact: 'guess@example.com', code });
    assert.equal(late.statusCode, 400, 'the right code after five wrong ones is refused');
  });
});

describe('contact API bound to a wallet (signed as the market CLI signs)', () => {
  const base = '/api/v1/contact/addressContact';

  it('binds an address with a mailed code; get shows it; delete removes it', async () => {
    const empty = await signed('GET', `${base}/get`).send();
    assert.equal(empty.statusCode, 200, empty.body);
    assert.deepEqual(empty.json(), { address: wallet.address, type: 'email', contact: '', email: '' });

    const since = mails.length;
    const sent = await signed('POST', `${base}/bind/sendCode`, { type: 'email', contact: 'wallet@example.com' }).send();
    assert.equal(sent.statusCode, 200, sent.body);
    const code = await codeFor('wallet@example.com', since);
    const bound = await signed('POST', `${base}/bind/verifyCode`, { type: 'email', contact: 'wallet@example.com', code }).send();
    assert.equal(bound.statusCode, 200, bound.body);
    const after = await signed('GET', `${base}/get`).send();
    assert.equal(after.json<{ email: string }>().email, 'wallet@example.com', after.body);
  });

  it('refuses a replay, a changed body, a key that is not the address, an old time, and a missing signature', async () => {
    const once = signed('POST', `${base}/delete/email`, {});
    assert.equal((await once.send()).statusCode, 200);
    const replay = await once.send();
    assert.equal(replay.statusCode, 401);
    assert.match(errorOf(replay).message, /^signature: was used already/);

    const tampered = await signed('POST', `${base}/bind/sendCode`, { type: 'email', contact: 'a@example.com' }, { tamper: (p) => p.replace('a@example.com', 'b@example.com') }).send();
    assert.equal(tampered.statusCode, 401);
    assert.match(errorOf(tampered).message, /^signature: does not verify/);

    const other = await marketWallet();
    const wrongAddress = await signed('GET', `${base}/get`, undefined, { headers: { address: other.address } }).send();
    assert.equal(wrongAddress.statusCode, 401);
    assert.match(errorOf(wrongAddress).message, /^address: is not the V Systems address of public-key/);

    const old = await signed('GET', `${base}/get`, undefined, { time: clock.now() - 3600 }).send();
    assert.equal(old.statusCode, 401);
    assert.match(errorOf(old).message, /^x-sdk-time: /);

    const unsigned = await t.app.inject({ method: 'GET', url: `${base}/get`, headers: { address: wallet.address } });
    assert.equal(unsigned.statusCode, 401);
    assert.match(errorOf(unsigned).message, /^public-key: required/);
  });
});

describe('webhooks', () => {
  let hookId: string;
  const secret = 'webhook-secret-0123456789';

  it('refuses URLs that are not http(s), not allowed private addresses, and bad fields, naming them', async () => {
    for (const [body, field] of [
      [{ url: 'file:///etc/passwd', secret }, 'url'],
      [{ url: 'gopher://127.0.0.1:70/', secret }, 'url'],
      [{ url: 'http://127.0.0.2:8080/hook', secret }, 'url'],
      [{ url: 'http://169.254.169.254/latest/meta-data', secret }, 'url'],
      [{ url: 'http://user:pw@127.0.0.1/hook', secret }, 'url'],
      [{ url: `${receiverUrl}/hook`, secret: 'short' }, 'secret'],
      [{ url: `${receiverUrl}/hook`, secret, events: ['order.eaten'] }, 'events[0]'],
    ] as const) {
      const res = await t.admin('POST', '/api/v1/admin/webhooks', body);
      assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
      assert.ok(errorOf(res).message.startsWith(`${field}: `), errorOf(res).message);
    }
    const noAdmin = await t.app.inject({ method: 'GET', url: '/api/v1/admin/webhooks' });
    assert.equal(noAdmin.statusCode, 401);
  });

  it('delivers order.created signed with the secret, retrying while the receiver fails', { timeout: 60_000 }, async () => {
    const created = await t.admin('POST', '/api/v1/admin/webhooks', { url: `${receiverUrl}/hook`, secret });
    assert.equal(created.statusCode, 201, created.body);
    hookId = created.json<{ id: string }>().id;
    assert.ok(!created.body.includes(secret), 'the secret is never shown back');
    assert.equal((await t.admin('GET', '/api/v1/admin/webhooks')).json<{ items: Array<{ id: string }> }>().items.some((h) => h.id === hookId), true);

    failNext = 2;
    const before = hits.length;
    const order = await t.createOrder();
    const hit = await eventually(
      () => {
        const delivered = hits.slice(before).filter((h) => h.headers['x-vkube-event'] === 'order.created' && h.body.includes(order.id));
        assert.equal(delivered.length, 3, 'two failures, then taken');
        return delivered[2]!;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    const expected = createHmac('sha256', secret).update(hit.body).digest('hex');
    assert.equal(hit.headers['x-vkube-signature'], `sha256=${expected}`);
    const body = JSON.parse(hit.body) as { id: string; type: string; createdAt: string; order: { id: string }; data: object };
    assert.deepEqual(Object.keys(body).sort(), ['createdAt', 'data', 'id', 'order', 'type']);
    assert.equal(body.type, 'order.created');
    assert.equal(body.order.id, order.id);
    assert.match(String(hit.headers['x-vkube-delivery']), /^dlv_/);

    const list = await t.admin('GET', `/api/v1/admin/webhooks/${hookId}/deliveries`);
    const mine = list.json<{ items: Array<{ id: string; type: string; status: string; attempts: number; lastStatus: number | null }> }>().items.find((d) => d.id === hit.headers['x-vkube-delivery']);
    assert.deepEqual({ type: mine?.type, status: mine?.status, attempts: mine?.attempts, lastStatus: mine?.lastStatus }, { type: 'order.created', status: 'delivered', attempts: 3, lastStatus: 204 });
  });

  it('dead-letters a delivery after the last attempt and shows it to the admin', { timeout: 60_000 }, async () => {
    // A loopback port that refuses connections: nothing listens there.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const dead = await t.admin('POST', '/api/v1/admin/webhooks', { url: `http://127.0.0.1:${port}/gone`, secret, events: ['order.created'] });
    assert.equal(dead.statusCode, 201);
    const deadId = dead.json<{ id: string }>().id;
    await t.createOrder();
    const item = await eventually(
      async () => {
        const res = await t.admin('GET', `/api/v1/admin/webhooks/${deadId}/deliveries?status=dead`);
        const items = res.json<{ items: Array<{ attempts: number; lastError: string }> }>().items;
        assert.equal(items.length, 1);
        return items[0]!;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    assert.equal(item.attempts, 3);
    assert.ok(item.lastError.length > 0);
    assert.equal((await t.admin('DELETE', `/api/v1/admin/webhooks/${deadId}`)).statusCode, 200);
    assert.equal((await t.admin('DELETE', `/api/v1/admin/webhooks/${deadId}`)).statusCode, 404);
  });

  it('tells of deploy, a running pod, expiry soon and expiry — webhooks each, mail once to the bound addresses', { timeout: 120_000 }, async () => {
    const order = await t.createOrder({ duration: 1, address: wallet.address, serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'giltine' } });
    // The service's own address (bound through the API) and the wallet's (bound directly: independent of the tests above).
    const since = mails.length;
    assert.equal((await t.tenant(order.secret).post('/api/v1/contact/userServiceContact/bind/sendCode', { type: 'email', contact: 'svc@example.com' })).statusCode, 200);
    const code = await codeFor('svc@example.com', since);
    assert.equal((await t.tenant(order.secret).post('/api/v1/contact/userServiceContact/bind/verifyCode', { type: 'email', contact: 'svc@example.com', code })).statusCode, 200);
    await t.services.notifications.bindContact({ owner: { kind: 'address', id: wallet.address }, type: 'email', contact: 'wallet@example.com', createdAt: clock.now() });

    const body = { nodeSelector: { region: 'giltine' }, containers: [{ name: 'c1', imageName: 'nginx', ports: [{ containerPort: 80 }], resource: { memory: '64Mi' } }] };
    const deployed = await t.tenant(order.secret).post('/api/v1/k8s/deploy', body);
    assert.equal(deployed.statusCode, 200, deployed.body);
    const eventsOf = (type: string) => hits.filter((h) => h.headers['x-vkube-event'] === type && (JSON.parse(h.body) as { order: { id: string } }).order.id === order.id);
    await eventually(() => assert.equal(eventsOf('deploy.accepted').length, 1), { timeoutMs: 20_000 });
    await eventually(() => assert.equal(eventsOf('pod.running').length, 1), { timeoutMs: 60_000 });

    const endAt = (await t.admin('GET', `/api/v1/admin/orders/${order.id}`)).json<{ endAt: number }>().endAt;
    clock.t = endAt - 300;
    await t.services.reconciler.reconcile(order.id);
    await t.services.reconciler.reconcile(order.id);
    await eventually(() => assert.equal(eventsOf('order.expiring').length, 1), { timeoutMs: 20_000 });
    clock.t = endAt + 1;
    await t.services.reconciler.reconcile(order.id);
    await eventually(() => assert.equal(eventsOf('order.expired').length, 1), { timeoutMs: 20_000 });

    const mailed = (to: string, subject: RegExp) => mails.filter((m) => m.to.includes(to) && subject.test(m.raw));
    await eventually(() => {
      for (const to of ['svc@example.com', 'wallet@example.com']) {
        assert.equal(mailed(to, /expires soon/).length, 1, `${to}: expiring`);
        assert.equal(mailed(to, /has expired/).length, 1, `${to}: expired`);
      }
    }, { timeoutMs: 20_000 });
    // Another pass and more time: nothing is told twice.
    await t.services.reconciler.reconcile(order.id);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(eventsOf('order.expiring').length, 1);
    assert.equal(eventsOf('pod.running').length, 1);
    assert.equal(mailed('svc@example.com', /expires soon/).length, 1);
  });

  it('tells of a crash-looping pod through the pod watch: a webhook and one mail', { timeout: 120_000 }, async () => {
    const kube = await KubeHttp.fromKubeConfig(testKubeClient());
    try {
      const order = await t.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'giltine' } });
      await t.services.notifications.bindContact({ owner: { kind: 'service', id: order.id }, type: 'email', contact: 'crash@example.com', createdAt: clock.now() });
      const body = { nodeSelector: { region: 'giltine' }, containers: [{ name: 'c1', imageName: 'nginx', resource: { memory: '64Mi' } }] };
      assert.equal((await t.tenant(order.secret).post('/api/v1/k8s/deploy', body)).statusCode, 200);
      const ns = namespaceOf(order.id);
      const pod = await eventually(
        async () => {
          const items = (await kube.get<{ items: Array<{ metadata: { name: string }; status?: { phase?: string } }> }>(`/api/v1/namespaces/${ns}/pods`)).items;
          assert.equal(items[0]?.status?.phase, 'Running');
          return items[0]!.metadata.name;
        },
        { timeoutMs: 60_000 },
      );
      // kwok's simulated crash loop (dev/cluster/stages/pod.yaml): restarts rise, the container waits in CrashLoopBackOff.
      await kube.mergePatch(`/api/v1/namespaces/${ns}/pods/${pod}`, { metadata: { labels: { 'vkube.dev/simulate': 'crash-loop' } } });
      const hit = await eventually(
        () => {
          const found = hits.find((h) => h.headers['x-vkube-event'] === 'pod.crashloop' && h.body.includes(order.id));
          assert.ok(found, 'pod.crashloop delivered');
          return JSON.parse(found.body) as { data: { container: string; pod: string } };
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      assert.deepEqual([hit.data.container, hit.data.pod], ['c1', pod]);
      await eventually(() => assert.equal(mails.filter((m) => m.to.includes('crash@example.com') && /crash-looping/.test(m.raw)).length, 1), { timeoutMs: 20_000 });
      // More restarts of the same container tell nothing new.
      await new Promise((r) => setTimeout(r, 3000));
      assert.equal(hits.filter((h) => h.headers['x-vkube-event'] === 'pod.crashloop' && h.body.includes(order.id)).length, 1);
    } finally {
      kube.close();
    }
  });

  it('an abort is mailed to the address bound to the service', { timeout: 60_000 }, async () => {
    const order = await t.createOrder();
    await t.services.notifications.bindContact({ owner: { kind: 'service', id: order.id }, type: 'email', contact: 'gone@example.com', createdAt: clock.now() });
    const res = await t.admin('POST', `/api/v1/admin/orders/${order.id}/abort`);
    assert.equal(res.statusCode, 200);
    await eventually(() => assert.ok(mails.some((m) => m.to.includes('gone@example.com') && /was aborted/.test(m.raw))), { timeoutMs: 20_000 });
  });
});
