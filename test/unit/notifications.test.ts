/**
 * The pure parts of notifications: wallet signatures and V Systems addresses, the events
 * a pod's state tells of, and the back-off and dead-lettering of deliveries.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import bs58 from 'bs58';
import type { ClusterChange, ClusterReader, PodJson } from '../../src/cluster/gateway.js';
import { CredentialBox } from '../../src/domain/credential-box.js';
import { OutboxDispatcher, noticeMail } from '../../src/domain/notify/dispatcher.js';
import { PodNotices } from '../../src/domain/notify/pod-notices.js';
import { canonicalRequestHash, isAddressOf, isVsysAddress, verifyWalletRequest } from '../../src/domain/notify/wallet-signature.js';
import type { Delivery, NotificationStore, OutboxEvent } from '../../src/domain/notify/store-port.js';
import { marketWallet } from '../helpers/market-wallet.js';

const now = () => Math.floor(Date.now() / 1000);

describe('wallet signatures', () => {
  const verify = (method: string, url: string, signed: { headers: Record<string, string>; payload: string | undefined }, at = now()) =>
    verifyWalletRequest(
      {
        method,
        url,
        rawBody: signed.payload,
        address: signed.headers.address,
        publicKey: signed.headers['public-key'],
        signature: signed.headers.signature,
        time: signed.headers['x-sdk-time'],
        userAgent: signed.headers['user-agent'],
      },
      at,
      300,
    );

  it('verifies what the CLI signs: GET without body, POST with its json.dumps bytes, a query string', async () => {
    for (const chain of ['M', 'T'] as const) {
      const w = await marketWallet(chain);
      assert.equal(verify('GET', '/api/v1/contact/addressContact/get', w.sign('GET', '/api/v1/contact/addressContact/get')).address, w.address);
      const post = w.sign('POST', '/api/v1/contact/addressContact/bind/sendCode', { type: 'email', contact: 'ü@example.com' });
      assert.match(post.payload!, /^\{"type": "email", "contact": "\\u00fc@example.com"\}$/, "Python's json.dumps bytes");
      verify('POST', '/api/v1/contact/addressContact/bind/sendCode', post);
      verify('GET', '/api/v1/x?a=1&b=2', w.sign('GET', '/api/v1/x?a=1&b=2'));
    }
  });

  it('names the header at fault', async () => {
    const w = await marketWallet();
    const ok = w.sign('GET', '/api/v1/contact/addressContact/get');
    assert.throws(() => verify('GET', '/api/v1/contact/addressContact/get?x=1', ok), /^SignatureRefused: signature: does not verify/);
    assert.throws(() => verify('GET', '/api/v1/contact/addressContact/get', ok, now() + 301), /x-sdk-time: more than 300 s/);
    assert.throws(() => verify('GET', '/api/v1/contact/addressContact/get', { ...ok, headers: { ...ok.headers, 'public-key': 'abc' } }), /public-key: must be/);
    assert.throws(() => verify('GET', '/api/v1/contact/addressContact/get', { ...ok, headers: { ...ok.headers, signature: 'AAAA' } }), /signature: must be a base64 signature of 64 bytes/);
    const other = await marketWallet();
    assert.throws(() => verify('GET', '/api/v1/contact/addressContact/get', { ...ok, headers: { ...ok.headers, address: other.address } }), /address: is not the V Systems address/);
  });

  it('builds the canonical request line by line as server_api_wrapper.py does', () => {
    const expected = (text: string) => require_sha256(text);
    assert.equal(canonicalRequestHash({ method: 'GET', url: '/api/v1/a/b', rawBody: undefined }, 'ua', 'addr'), expected('GET\n/api/v1/a/b\n\nUser-Agent:ua\naddress:addr\n'));
    assert.equal(
      canonicalRequestHash({ method: 'POST', url: '/prefix/api/v1/a?x=1&y=2', rawBody: '{}' }, 'ua', 'addr'),
      expected(`POST\n/api/v1/a\nx=1\ny=2\nUser-Agent:ua\naddress:addr\n${require_sha256('{}')}`),
    );
    // A POST whose client sent no body at all is hashed as the CLI's default body, {}.
    assert.equal(canonicalRequestHash({ method: 'POST', url: '/api/v1/a', rawBody: undefined }, 'ua', 'addr'), canonicalRequestHash({ method: 'POST', url: '/api/v1/a', rawBody: '{}' }, 'ua', 'addr'));
  });

  it('checks V Systems addresses: version 5, chain M or T, checksum', async () => {
    const w = await marketWallet('M');
    assert.ok(w.address.startsWith('AR'), w.address);
    assert.ok(isVsysAddress(w.address));
    const bytes = bs58.decode(w.address);
    bytes[25] = bytes[25]! ^ 1;
    assert.equal(isVsysAddress(bs58.encode(bytes)), false);
    assert.equal(isAddressOf(w.address, bs58.decode((await marketWallet()).publicKey)), false);
  });
});

function require_sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
describe('pod notices', () => {
  const pod = (status: PodJson['status'], labels: Record<string, string> = { 'vkube.dev/order': 'o1' }): PodJson => ({
    metadata: { name: 'workload-abc', namespace: 'vkube-o1', uid: 'uid-1', labels },
    spec: { containers: [{ name: 'c1' }] },
    status,
  });

  it('tells of a Running and Ready pod, a crash loop and an OOM kill, once per pod and container', () => {
    const events = PodNotices.eventsOf(
      pod({
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True' }],
        containerStatuses: [{ name: 'c1', restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } } }],
      }),
      1,
    );
    assert.deepEqual(
      events.map((e) => [e.type, e.dedupeKey]),
      [
        ['pod.running', 'pod.running/uid-1'],
        ['pod.crashloop', 'pod.crashloop/uid-1/c1'],
        ['pod.oomkilled', 'pod.oomkilled/uid-1/c1'],
      ],
    );
    assert.deepEqual(events[2]!.data, { pod: 'workload-abc', container: 'c1', restartCount: 3, exitCode: 137 });
  });

  it('says nothing of a pod not Ready, or of a pod that is not an order\'s', () => {
    assert.deepEqual(PodNotices.eventsOf(pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] }), 1), []);
    assert.deepEqual(PodNotices.eventsOf(pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] }, {}), 1), []);
  });

  it('records a pod notice from the next turn, once: a request waiting for the same change is answered first', async () => {
    let listener: ((c: ClusterChange) => void) | undefined;
    const cluster = { onChange: (l: (c: ClusterChange) => void) => ((listener = l), () => undefined), managedNamespaces: () => [], podsInNamespace: () => [] };
    const written: string[] = [];
    const store = { appendEvent: async (e: { dedupeKey?: string }) => void written.push(e.dedupeKey ?? '') };
    const notices = new PodNotices(cluster as unknown as ClusterReader, store as unknown as NotificationStore, { warn() {} });
    notices.start();
    const running = pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] });
    listener!({ kind: 'pod', type: 'MODIFIED', pod: running });
    listener!({ kind: 'pod', type: 'MODIFIED', pod: running });
    await Promise.resolve();
    await Promise.resolve();
    assert.deepEqual(written, [], 'nothing written while the change is still being handled');
    await notices.flush();
    assert.deepEqual(written, ['pod.running/uid-1'], 'written once');
  });
});

describe('outbox dispatcher', () => {
  const event: OutboxEvent = {
    id: 'evt_1',
    type: 'order.expiring',
    orderId: 'o1',
    order: { id: 'o1', serviceID: 'svc-1', address: 'AR…', region: 'r', units: 1, serviceStatus: 'ServiceRunning', endAt: 1_700_000_000, generation: 1 },
    data: {},
    createdAt: 1_700_000_000_000,
  };

  it('retries with doubling back-off and dead-letters after the last attempt', async () => {
    let delivery: Delivery = { id: 'dlv_1', eventId: 'evt_1', channel: 'email', target: 'a@example.com', status: 'pending', attempts: 0, nextAt: 0, lastError: '', lastStatus: null, createdAt: 0, deliveredAt: null };
    const store = {
      undispatchedEvents: async () => [],
      listWebhooks: async () => [],
      dueDeliveries: async (at: number) => (delivery.status === 'pending' && delivery.nextAt <= at ? [delivery] : []),
      findEvent: async () => event,
      updateDelivery: async (_id: string, change: Partial<Delivery>) => {
        delivery = { ...delivery, ...change };
      },
    } as unknown as NotificationStore;
    let clock = 1000;
    const sent: string[] = [];
    const dispatcher = new OutboxDispatcher({
      store,
      sender: { post: async () => 200, refusal: async () => undefined },
      mailer: {
        send: async (m) => {
          sent.push(m.subject);
          throw new Error('relay says 451');
        },
      },
      credentials: new CredentialBox(Buffer.alloc(32, 1)),
      timeoutMs: 1000,
      retryBaseMs: 100,
      maxAttempts: 3,
      pollMs: 1000,
      log: { warn() {}, info() {} },
      now: () => clock,
    });
    await dispatcher.pass();
    assert.deepEqual([delivery.status, delivery.attempts, delivery.nextAt], ['pending', 1, 1100]);
    await dispatcher.pass();
    assert.equal(delivery.attempts, 1, 'not due yet');
    clock = 1100;
    await dispatcher.pass();
    assert.deepEqual([delivery.status, delivery.attempts, delivery.nextAt], ['pending', 2, 1300]);
    clock = 1300;
    await dispatcher.pass();
    assert.deepEqual([delivery.status, delivery.attempts, delivery.lastError], ['dead', 3, 'relay says 451']);
    assert.equal(sent.length, 3);
    assert.match(sent[0]!, /svc-1 expires soon/);
  });

  it('writes the customer a plain mail naming the service and the end', () => {
    const mail = noticeMail('a@example.com', event);
    assert.equal(mail.to, 'a@example.com');
    assert.match(mail.text, /svc-1 expires at 2023-11-14T22:13:20Z/);
  });
});

describe('notification settings', () => {
  it('reads the SMTP relay, the sender, the webhook allow list and the delivery bounds; refuses bad ones by name', async () => {
    const { loadConfig } = await import('../../src/config.js');
    const base = { DATABASE_URL: 'sqlite::memory:', KUBECONFIG: '' };
    const defaults = loadConfig(base).notify;
    assert.deepEqual(
      { smtpUrl: defaults.smtpUrl, retryBaseMs: defaults.retryBaseMs, maxAttempts: defaults.maxAttempts, window: defaults.signatureWindowSeconds },
      { smtpUrl: undefined, retryBaseMs: 5000, maxAttempts: 12, window: 300 },
    );
    const set = loadConfig({ ...base, VKUBE_SMTP_URL: 'smtps://u:p@mail.example.com:465', VKUBE_WEBHOOK_PRIVATE_TARGETS: '10.0.0.0/8, hooks.internal:8443' }).notify;
    assert.equal(set.smtpUrl, 'smtps://u:p@mail.example.com:465');
    assert.deepEqual(set.webhookPrivateTargets, ['10.0.0.0/8', 'hooks.internal:8443']);
    assert.throws(() => loadConfig({ ...base, VKUBE_SMTP_URL: 'http://u:secret@mail' }), (e: Error) => /^VKUBE_SMTP_URL=http:\/\/u:\*\*\*@mail: must be smtp/.test(e.message) && !e.message.includes('secret'));
    assert.throws(() => loadConfig({ ...base, VKUBE_WEBHOOK_PRIVATE_TARGETS: 'not a host' }), /^.*VKUBE_WEBHOOK_PRIVATE_TARGETS/);
    assert.throws(() => loadConfig({ ...base, VKUBE_NOTIFY_MAX_ATTEMPTS: '0' }), /VKUBE_NOTIFY_MAX_ATTEMPTS=0/);
  });
});

describe('codes when the relay fails', () => {
  it('answers 503 for sendCode, keeps no code, and lets the customer ask again at once', async () => {
    const { openDatabase, migrateToLatest } = await import('../../src/store/database.js');
    const { SqlNotificationStore } = await import('../../src/store/sql-notifications.js');
    const { ContactService } = await import('../../src/domain/notify/contacts.js');
    const { SecretHasher } = await import('../../src/domain/secrets.js');
    const { UnavailableError } = await import('../../src/kernel/errors.js');
    const { db } = openDatabase('sqlite::memory:');
    try {
      await migrateToLatest(db);
      const store = new SqlNotificationStore(db);
      let fail = true;
      const sent: string[] = [];
      const contacts = new ContactService(store, new SecretHasher(Buffer.alloc(32, 7)), { now: () => 1_000 }, {
        send: async (m) => {
          if (fail) throw new Error('connect ECONNREFUSED');
          sent.push(m.text);
        },
      });
      const owner = { kind: 'service' as const, id: 'o1' };
      await assert.rejects(contacts.sendCode(owner, { type: 'email', contact: 'a@example.com' }), (e: Error) => e instanceof UnavailableError && /could not be sent/.test(e.message));
      assert.equal(await store.pendingCode(owner), undefined);
      fail = false;
      await contacts.sendCode(owner, { type: 'email', contact: 'a@example.com' });
      assert.equal(sent.length, 1, 'asked again at once, without waiting out the minute');
    } finally {
      await db.destroy();
    }
  });
});
