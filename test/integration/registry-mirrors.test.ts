/**
 * Image checks through registry mirrors (VKUBE_REGISTRY_MIRRORS), against real
 * registries: Debian's docker-registry on loopback as the mirrors, a port nobody
 * listens on and a server that never answers as the broken ones.
 *
 * Docker Hub is mirrored here, and no test may ever reach it: every client below
 * fetches through `loopbackOnly`, which refuses (and records) any other host, so a
 * check that tried the upstream would come back "unreachable" and fail its test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freeLoopbackPort } from '../../dev/free-port.js';
import {
  type CountingProxy,
  type SilentServer,
  startCountingProxy,
  startRegistry,
  startSilentServer,
  type TestRegistry,
} from '../../dev/registry/testing.js';
import type { RegistryMirrors } from '../../src/registry/mirrors.js';
import { OciRegistryClient, type OciRegistryClientOptions } from '../../src/registry/oci-client.js';
import type { ImageCheck, RegistryCredentials } from '../../src/registry/types.js';

const USERS = { alice: 'wonder-land-42' };
const ALICE: RegistryCredentials = { username: 'alice', password: USERS.alice };
const MALLORY: RegistryCredentials = { username: 'alice', password: 'not-her-password' };

interface LoopbackFetch {
  fetch: typeof fetch;
  /** Every URL asked, in order, as `host/path?query`. */
  asked: string[];
}

/** The real fetch, refusing anything but 127.0.0.1: tests must never leave loopback. */
function loopbackOnly(): LoopbackFetch {
  const asked: string[] = [];
  const guarded = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    asked.push(`${url.host}${url.pathname}${url.search}`);
    if (url.hostname !== '127.0.0.1') return Promise.reject(new Error(`test traffic must stay on loopback, not ${url.host}`));
    return fetch(input, init);
  };
  return { fetch: guarded as typeof fetch, asked };
}

function mirroredClient(mirrors: RegistryMirrors, options: OciRegistryClientOptions = {}): { client: OciRegistryClient; asked: string[] } {
  const { fetch, asked } = loopbackOnly();
  const client = new OciRegistryClient({ cache: false, timeoutMs: 2_000, retries: 1, backoffBaseMs: 20, mirrors, fetch, ...options });
  return { client, asked };
}

/** A loopback endpoint where nothing listens: connections are refused. */
async function deadEndpoint(): Promise<string> {
  return `http://127.0.0.1:${await freeLoopbackPort()}`;
}

function assertExists(check: ImageCheck, digest: string): void {
  assert.equal(check.status, 'exists', JSON.stringify(check));
  assert.equal(check.status === 'exists' && check.digest, digest, 'the digest of the manifest that was pushed');
}

function detailOf(check: ImageCheck): string {
  return 'detail' in check ? check.detail : '';
}

/** The hosts asked, in order, without repeats of the same host in a row (retries, HEAD then GET). */
function hostsInOrder(asked: string[]): string[] {
  return asked.map((url) => url.slice(0, url.indexOf('/'))).filter((host, i, all) => i === 0 || all[i - 1] !== host);
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('Docker Hub mirrored to loopback registries', () => {
  let first: TestRegistry;
  let second: TestRegistry;
  let firstProxy: CountingProxy;
  let silent: SilentServer;
  const pushed: Record<string, { digest: string }> = {};

  before(async () => {
    [first, second] = await Promise.all([startRegistry(), startRegistry()]);
    pushed.nginx = await first.pushImage('library/nginx', 'latest');
    pushed.nginxStable = await first.pushImage('library/nginx', 'stable', { index: true });
    pushed.userApp = await first.pushImage('user/app', 'v1');
    pushed.onlySecond = await second.pushImage('library/only-second', 'v1');
    pushed.both = await second.pushImage('library/nginx', 'latest');
    firstProxy = await startCountingProxy(first.url);
    silent = await startSilentServer();
  });
  after(async () => {
    await firstProxy?.stop();
    await silent?.stop();
    await Promise.all([first?.stop(), second?.stop()]);
  });

  it('an image present only at the mirror exists, and only the mirror is asked', async () => {
    const { client, asked } = mirroredClient({ 'docker.io': [first.url] });
    assertExists(await client.check('nginx'), pushed.nginx!.digest);
    assertExists(await client.check('nginx:stable'), pushed.nginxStable!.digest);
    assert.deepEqual(hostsInOrder(asked), [first.host]);
  });

  it('short names map to the same repository path at the mirror, with containerd’s ns=docker.io', async () => {
    const { client } = mirroredClient({ 'docker.io': [`http://${firstProxy.host}`] });
    const before = firstProxy.requests.length;
    for (const name of ['nginx', 'library/nginx', 'docker.io/library/nginx:latest', 'index.docker.io/library/nginx']) {
      assertExists(await client.check(name), pushed.nginx!.digest);
    }
    assertExists(await client.check('user/app:v1'), pushed.userApp!.digest);
    assert.deepEqual(firstProxy.requests.slice(before), [
      ...Array<string>(4).fill('HEAD /v2/library/nginx/manifests/latest?ns=docker.io'),
      'HEAD /v2/user/app/manifests/v1?ns=docker.io',
    ]);
  });

  it('any of Docker Hub’s names as the mirrored registry covers docker.io images', async () => {
    for (const name of ['index.docker.io', 'registry-1.docker.io']) {
      const { client, asked } = mirroredClient({ [name]: [first.url] });
      assertExists(await client.check('user/app:v1'), pushed.userApp!.digest);
      assert.deepEqual(hostsInOrder(asked), [first.host], name);
    }
  });

  it('after the first mirror’s 404 the second is asked, and its image exists', async () => {
    const { client, asked } = mirroredClient({ 'docker.io': [first.url, second.url] });
    assertExists(await client.check('only-second:v1'), pushed.onlySecond!.digest);
    assert.deepEqual(hostsInOrder(asked), [first.host, second.host]);
  });

  it('the first mirror that has the image answers; later ones are not asked', async () => {
    const { client, asked } = mirroredClient({ 'docker.io': [second.url, first.url] });
    assertExists(await client.check('nginx'), pushed.both!.digest);
    assert.deepEqual(hostsInOrder(asked), [second.host]);
  });

  it('a first mirror that refuses connections is passed over; the second has the image', async () => {
    const dead = await deadEndpoint();
    const { client, asked } = mirroredClient({ 'docker.io': [dead, first.url] });
    assertExists(await client.check('nginx'), pushed.nginx!.digest);
    assert.deepEqual(hostsInOrder(asked), [new URL(dead).host, first.host]);
  });

  it('a first mirror that never answers is given up after its timeout; the second has the image', async () => {
    const timeoutMs = 300;
    const { client } = mirroredClient({ 'docker.io': [`http://${silent.host}`, first.url] }, { timeoutMs, retries: 0 });
    const started = performance.now();
    assertExists(await client.check('nginx'), pushed.nginx!.digest);
    const elapsed = performance.now() - started;
    assert.ok(silent.connections() >= 1, 'the silent mirror was never asked');
    assert.ok(elapsed >= timeoutMs - 20, `gave up on the silent mirror too early: ${Math.round(elapsed)} ms`);
    assert.ok(elapsed < timeoutMs + 2_000, `took ${Math.round(elapsed)} ms`);
  });

  it('every mirror answering 404: missing', async () => {
    const { client, asked } = mirroredClient({ 'docker.io': [first.url, second.url] });
    assert.equal((await client.check('nginx:no-such-tag')).status, 'missing');
    assert.equal((await client.check('no-such-repo')).status, 'missing');
    assert.deepEqual([...new Set(hostsInOrder(asked))], [first.host, second.host]);
  });

  it('one mirror unreachable, the other without the image: missing (the node’s pull fails the same way)', async () => {
    const { client } = mirroredClient({ 'docker.io': [await deadEndpoint(), first.url] });
    assert.equal((await client.check('nginx:no-such-tag')).status, 'missing');
  });

  it('every mirror unreachable: unreachable, never missing, with each mirror in the detail', async () => {
    const [dead1, dead2] = [await deadEndpoint(), await deadEndpoint()];
    const { client } = mirroredClient({ 'docker.io': [dead1, dead2] });
    const check = await client.check('nginx');
    assert.equal(check.status, 'unreachable', JSON.stringify(check));
    assert.match(detailOf(check), new RegExp(`^mirror ${escape(dead1)} of docker\\.io refused the connection .*; mirror ${escape(dead2)} of docker\\.io refused the connection`));
  });
});

describe('a mirrored registry is asked only when it is listed itself', () => {
  let upstream: TestRegistry;
  let mirror: TestRegistry;
  let upstreamProxy: CountingProxy;
  let onlyUpstream: { digest: string };

  before(async () => {
    [upstream, mirror] = await Promise.all([startRegistry(), startRegistry()]);
    onlyUpstream = await upstream.pushImage('team/app', 'v1');
    upstreamProxy = await startCountingProxy(upstream.url);
  });
  after(async () => {
    await upstreamProxy?.stop();
    await Promise.all([upstream?.stop(), mirror?.stop()]);
  });

  it('not listed: never asked, so an image only it has is missing', async () => {
    const { client } = mirroredClient({ [upstreamProxy.host]: [mirror.url] });
    assert.equal((await client.check(`${upstreamProxy.host}/team/app:v1`)).status, 'missing');
    assert.equal(upstreamProxy.requests.length, 0, `the upstream was asked: ${upstreamProxy.requests.join(', ')}`);
  });

  it('listed after the mirror: asked after the mirror’s 404, as itself (no ns parameter)', async () => {
    const { client, asked } = mirroredClient({ [upstreamProxy.host]: [mirror.url, `http://${upstreamProxy.host}`] });
    assertExists(await client.check(`${upstreamProxy.host}/team/app:v1`), onlyUpstream.digest);
    assert.deepEqual(hostsInOrder(asked), [mirror.host, upstreamProxy.host]);
    const ns = new URLSearchParams({ ns: upstreamProxy.host }).toString();
    assert.ok(asked[0]!.endsWith(`?${ns}`), `the mirror was asked without ${ns}: ${asked[0]}`);
    assert.deepEqual(upstreamProxy.requests, ['HEAD /v2/team/app/manifests/v1']);
  });
});

describe('registries without mirrors are checked as before', () => {
  let registry: TestRegistry;
  let mirror: TestRegistry;
  let app: { digest: string };

  before(async () => {
    [registry, mirror] = await Promise.all([startRegistry(), startRegistry()]);
    app = await registry.pushImage('team/app', 'v1');
    // The mirror of Docker Hub has the same repository: it must not be the one asked.
    await mirror.pushImage('team/app', 'v2');
  });
  after(() => Promise.all([registry?.stop(), mirror?.stop()]));

  it('asked directly, at its own address, and nowhere else', async () => {
    const { client, asked } = mirroredClient({ 'docker.io': [mirror.url] });
    assertExists(await client.check(`${registry.host}/team/app:v1`), app.digest);
    assert.equal((await client.check(`${registry.host}/team/app:v2`)).status, 'missing');
    assert.deepEqual(asked, [`${registry.host}/v2/team/app/manifests/v1`, `${registry.host}/v2/team/app/manifests/v2`]);
  });

  it('unreachable as before: the registry named, not a mirror', async () => {
    const port = await freeLoopbackPort();
    const { client } = mirroredClient({ 'docker.io': [mirror.url] }, { retries: 2, backoffBaseMs: 50 });
    const check = await client.check(`127.0.0.1:${port}/team/app:v1`);
    assert.equal(check.status, 'unreachable');
    assert.match(detailOf(check), new RegExp(`^registry 127\\.0\\.0\\.1:${port} refused the connection \\(gave up after 3 attempts\\)$`));
  });
});

for (const auth of ['basic', 'token'] as const) {
  describe(`a Docker Hub mirror with ${auth === 'basic' ? 'Basic auth' : 'Bearer tokens from a token server'}, and the customer's credentials`, () => {
    let secured: TestRegistry;
    let open: TestRegistry;
    let app: { digest: string };
    let openApp: { digest: string };

    before(async () => {
      [secured, open] = await Promise.all([startRegistry({ auth, users: USERS }), startRegistry()]);
      app = await secured.pushImage('team/app', 'v1');
      openApp = await open.pushImage('team/app', 'v1');
    });
    after(() => Promise.all([secured?.stop(), open?.stop()]));

    // containerd hands the pull's credentials to every host of the list that asks
    // for them (see the client's `lookup`), so the mirror gets the credentials the
    // customer gave for docker.io/team/app.
    it('the credentials given for the Docker Hub image reach the mirror: the image exists', async () => {
      const { client } = mirroredClient({ 'docker.io': [secured.url] });
      assertExists(await client.check('team/app:v1', ALICE), app.digest);
      assert.equal((await client.check('team/app:v9', ALICE)).status, 'missing');
    });

    it('without credentials the protected mirror is, as any protected registry, "missing" and never "exists"', async () => {
      const { client } = mirroredClient({ 'docker.io': [secured.url] });
      assert.equal((await client.check('team/app:v1')).status, 'missing');
    });

    it('refused credentials: the next mirror is asked, and has the image', async () => {
      const { client, asked } = mirroredClient({ 'docker.io': [secured.url, open.url] });
      assertExists(await client.check('team/app:v1', MALLORY), openApp.digest);
      assert.equal(hostsInOrder(asked).at(-1), open.host, 'the open mirror was asked last');
    });

    it('refused by every mirror that could be asked: denied, naming the mirror, not the password', async () => {
      const { client } = mirroredClient({ 'docker.io': [secured.url, await deadEndpoint()] });
      const check = await client.check('team/app:v1', MALLORY);
      assert.equal(check.status, 'denied', JSON.stringify(check));
      assert.match(detailOf(check), new RegExp(`^mirror ${escape(secured.url)} of docker\\.io refused`));
      assert.ok(!detailOf(check).includes(MALLORY.password), 'the detail shows the password');
    });

    it('refused by one mirror, "not found" at the other: missing', async () => {
      const { client } = mirroredClient({ 'docker.io': [secured.url, open.url] });
      assert.equal((await client.check('team/app:v9', MALLORY)).status, 'missing');
    });
  });
}

describe('the answer cache with mirrors', () => {
  let mirror: TestRegistry;
  let proxy: CountingProxy;

  before(async () => {
    mirror = await startRegistry();
    await mirror.pushImage('library/nginx', 'latest');
    proxy = await startCountingProxy(mirror.url);
  });
  after(async () => {
    await proxy?.stop();
    await mirror?.stop();
  });

  it('a mirror’s answer is reused for the same reference, written any way', async () => {
    const { client } = mirroredClient({ 'docker.io': [`http://${proxy.host}`] }, { cache: { positiveTtlMs: 60_000 } });
    assert.equal((await client.check('nginx')).status, 'exists');
    const asked = proxy.requests.length;
    assert.equal((await client.check('docker.io/library/nginx:latest')).status, 'exists');
    assert.equal(proxy.requests.length, asked, 'the cached answer was not used');
  });
});
