/**
 * The address policy of image checks against real listeners: plain TCP servers that
 * count connections on 127.0.0.2 and 127.0.0.3 (loopback addresses no allow list here
 * names), a registry on 127.0.0.1 that redirects there, one whose token realm points
 * there, a mirror on 127.0.0.2. Each test asserts what the check answered and that
 * nothing connected where it must not. Linux answers on all of 127.0.0.0/8, so no
 * packet of these tests leaves the machine.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { freeLoopbackPort } from '../../dev/free-port.js';
import {
  type CountingListener,
  type ScriptedServer,
  startCountingListener,
  startRegistry,
  startScriptedServer,
  type TestRegistry,
} from '../../dev/registry/testing.js';
import { OciRegistryClient, type OciRegistryClientOptions, type RegistryLogEvent } from '../../src/registry/oci-client.js';
import type { ImageCheck } from '../../src/registry/types.js';
import { TEST_REGISTRIES } from '../helpers/offline.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

function client(options: OciRegistryClientOptions = {}): { client: OciRegistryClient; logged: RegistryLogEvent[] } {
  const logged: RegistryLogEvent[] = [];
  return { client: new OciRegistryClient({ cache: false, timeoutMs: 2_000, retries: 1, backoffBaseMs: 20, log: (e) => logged.push(e), ...options }), logged };
}

function logDetailOf(check: ImageCheck): string {
  return check.status === 'blocked' || check.status === 'unreachable' ? (check.logDetail ?? '') : '';
}

function assertBlocked(check: ImageCheck, logDetail: RegExp): void {
  assert.equal(check.status, 'blocked', JSON.stringify(check));
  assert.ok(!('detail' in check), 'a blocked check carries nothing for callers');
  assert.match(logDetailOf(check), logDetail);
}

/** A registry that answers every request with a redirect to `location` (plus the path asked). */
function redirectingTo(location: string): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    res.writeHead(307, { Location: `${location}${req.url}` });
    res.end();
  };
}

/** A registry that has every manifest it is asked for. */
function answeringEverything(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'Docker-Content-Digest': DIGEST, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json', 'Content-Length': '0' });
  res.end();
}

let open2: CountingListener;
let open3: CountingListener;
let local1: CountingListener;
let closed2: string;

before(async () => {
  [open2, open3, local1] = await Promise.all([startCountingListener('127.0.0.2'), startCountingListener('127.0.0.3'), startCountingListener('127.0.0.1')]);
  closed2 = `127.0.0.2:${await freeLoopbackPort('127.0.0.2')}`;
});
after(() => Promise.all([open2?.stop(), open3?.stop(), local1?.stop()]));

function assertNothingConnected(): void {
  assert.equal(open2.connections(), 0, `something connected to ${open2.host}`);
  assert.equal(open3.connections(), 0, `something connected to ${open3.host}`);
}

describe('a registry on a refused address', () => {
  it('an open port and a closed one are refused alike, before any connection: the caller cannot tell them apart', async () => {
    const { client: c, logged } = client({ privateRegistries: [TEST_REGISTRIES] });
    const open = await c.check(`${open2.host}/team/app:v1`);
    const closed = await c.check(`${closed2}/team/app:v1`);
    assertBlocked(open, new RegExp(`^registry ${open2.host.replaceAll('.', '\\.')}: ${open2.host.replaceAll('.', '\\.')} was not contacted: 127\\.0\\.0\\.2 is a loopback address`));
    assertBlocked(closed, /127\.0\.0\.2 is a loopback address/);
    assert.deepEqual(Object.keys(open).sort(), Object.keys(closed).sort());
    assertNothingConnected();
    assert.deepEqual(
      logged.map((e) => e.image),
      [`${open2.host}/team/app:v1`, `${closed2}/team/app:v1`],
      'the log heard both',
    );
  });

  it('other spellings of the same address (decimal, hex, IPv4-mapped IPv6) are the same address', async () => {
    const { client: c } = client({ privateRegistries: [TEST_REGISTRIES] });
    const port = open2.host.split(':')[1];
    for (const host of [`2130706434:${port}`, `0x7f000002:${port}`, `[::ffff:127.0.0.2]:${port}`, `[::ffff:7f00:2]:${port}`]) {
      assertBlocked(await c.check(`${host}/team/app:v1`), /127\.0\.0\.2|7f00:2/);
    }
    assertNothingConnected();
  });

  it('a name is classified by what it resolves to: localhost is refused unless 127.0.0.1 is allowed', async () => {
    const port = local1.host.split(':')[1];
    const before = local1.connections();
    const { client: refusing } = client();
    assertBlocked(await refusing.check(`localhost:${port}/team/app:v1`), /^registry localhost:\d+: localhost:\d+ was not contacted: .* is a loopback address/);
    assert.equal(local1.connections(), before, 'nothing connected to 127.0.0.1 either');

    // Allowed: the connection is made — to the address that was classified.
    const { client: allowing, logged } = client({ privateRegistries: ['127.0.0.1'], retries: 0 });
    const check = await allowing.check(`localhost:${port}/team/app:v1`);
    assert.equal(check.status, 'unreachable', JSON.stringify(check));
    assert.ok(local1.connections() > before, 'the allowed address was contacted');
    assert.equal(check.status === 'unreachable' && check.detail, `registry localhost:${port} could not be reached`);
    assert.match(logDetailOf(check), /closed the connection/);
    assert.equal(logged.length, 1, 'the hidden error went to the log');
  });

  it('allowed by the provider: contacted, but its connection errors stay in the log (the issue: "closed the connection" told that the port is open)', async () => {
    const { client: c } = client({ privateRegistries: ['127.0.0.2'], retries: 0 });
    const open = await c.check(`${open2.host}/team/app:v1`);
    const closed = await c.check(`${closed2}/team/app:v1`);
    assert.equal(open2.connections(), 1, 'the allowed listener was contacted');
    assert.equal(open.status === 'unreachable' && open.detail, `registry ${open2.host} could not be reached`);
    assert.equal(closed.status === 'unreachable' && closed.detail, `registry ${closed2} could not be reached`);
    assert.match(logDetailOf(open), /closed the connection/);
    assert.match(logDetailOf(closed), /refused the connection/);
    // Only now: reset the count the other tests assert on.
    await open2.stop();
    open2 = await startCountingListener('127.0.0.2');
  });
});

describe('redirects and token realms follow the same rule', () => {
  let redirecting: ScriptedServer;
  let challenging: ScriptedServer;

  before(async () => {
    redirecting = await startScriptedServer('127.0.0.1', redirectingTo(`http://${open2.host}`));
    challenging = await startScriptedServer('127.0.0.1', (_req, res) => {
      res.writeHead(401, { 'WWW-Authenticate': `Bearer realm="http://${open3.host}/token",service="registry"` });
      res.end();
    });
  });
  after(() => Promise.all([redirecting?.stop(), challenging?.stop()]));

  it('a registry that is allowed but redirects to a refused address: blocked, and the redirect was not followed', async () => {
    const { client: c } = client({ privateRegistries: [TEST_REGISTRIES] });
    const check = await c.check(`${redirecting.host}/team/app:v1`);
    assertBlocked(check, new RegExp(`^registry ${redirecting.host.replaceAll('.', '\\.')} redirected the request: ${open2.host.replaceAll('.', '\\.')} was not contacted`));
    assert.deepEqual(redirecting.requests, ['HEAD /v2/team/app/manifests/v1'], 'asked once: a refusal is not retried');
    assertNothingConnected();
  });

  it('a token realm on a refused address: blocked, with or without credentials, and no token was asked for', async () => {
    const { client: c } = client({ privateRegistries: [TEST_REGISTRIES] });
    for (const credentials of [undefined, { username: 'alice', password: 'wonder-land-42' }]) {
      assertBlocked(await c.check(`${challenging.host}/team/app:v1`, credentials), new RegExp(`^token service ${open3.host.replaceAll('.', '\\.')} of registry .*: ${open3.host.replaceAll('.', '\\.')} was not contacted`));
    }
    assertNothingConnected();
  });
});

describe('mirrors are provider configuration: their own host:port is allowed, and nothing more', () => {
  let mirror: ScriptedServer;
  let redirectingMirror: ScriptedServer;

  before(async () => {
    mirror = await startScriptedServer('127.0.0.2', answeringEverything);
    redirectingMirror = await startScriptedServer('127.0.0.2', redirectingTo(`http://${open3.host}`));
  });
  after(() => Promise.all([mirror?.stop(), redirectingMirror?.stop()]));

  it('a mirror on 127.0.0.2 is asked (no allow list needed); other ports of 127.0.0.2 stay refused', async () => {
    const { client: c } = client({ mirrors: { 'docker.io': [mirror.url] } });
    const check = await c.check('nginx');
    assert.equal(check.status, 'exists', JSON.stringify(check));
    assert.deepEqual(mirror.requests, ['HEAD /v2/library/nginx/manifests/latest?ns=docker.io']);
    assertBlocked(await c.check(`${open2.host}/team/app:v1`), /127\.0\.0\.2 is a loopback address/);
    assertNothingConnected();
  });

  it("a mirror's redirect to a refused address is refused", async () => {
    const { client: c } = client({ mirrors: { 'docker.io': [redirectingMirror.url] } });
    assertBlocked(await c.check('nginx'), new RegExp(`^mirror ${redirectingMirror.url.replaceAll('.', '\\.')} of docker\\.io redirected the request: ${open3.host.replaceAll('.', '\\.')} was not contacted`));
    assertNothingConnected();
  });

  it('one mirror refused, another without the image: missing; one refused, one unreachable: blocked', async () => {
    const registry: TestRegistry = await startRegistry();
    try {
      const { client: c } = client({ mirrors: { 'docker.io': [redirectingMirror.url, registry.url] } });
      assert.equal((await c.check('nginx:no-such-tag')).status, 'missing');
      const { client: d } = client({ mirrors: { 'docker.io': [redirectingMirror.url, `http://${closed2}`] } });
      assert.equal((await d.check('nginx')).status, 'blocked');
    } finally {
      await registry.stop();
    }
    assertNothingConnected();
  });
});

describe('the test registries on 127.0.0.1 are allowed by TEST_REGISTRIES', () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry();
    await registry.pushImage('team/app', 'v1');
  });
  after(() => registry?.stop());

  it('exists with 127.0.0.1 allowed; blocked without', async () => {
    assert.equal((await client({ privateRegistries: [TEST_REGISTRIES] }).client.check(`${registry.host}/team/app:v1`)).status, 'exists');
    assert.equal((await client().client.check(`${registry.host}/team/app:v1`)).status, 'blocked');
  });
});
