/**
 * The OCI client against real registries: Debian's docker-registry (docker
 * distribution 2.8) started on loopback by dev/registry/testing.ts, without auth,
 * with Basic auth, and with Bearer tokens from a real token server; plus a port
 * nobody listens on and a server that never answers.
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
import { OciRegistryClient } from '../../src/registry/oci-client.js';
import type { ImageCheck, RegistryCredentials } from '../../src/registry/types.js';
import { TEST_REGISTRIES } from '../helpers/offline.js';

const USERS = { alice: 'wonder-land-42', bob: 'the-builder-7' };
const ALICE: RegistryCredentials = { username: 'alice', password: USERS.alice };
const BOB: RegistryCredentials = { username: 'bob', password: USERS.bob };
const MALLORY: RegistryCredentials = { username: 'alice', password: 'not-her-password' };
const UNKNOWN_DIGEST = `sha256:${'0'.repeat(64)}`;

/** The test registries listen on 127.0.0.1, which image checks contact only when allowed. */
const TEST_ALLOWED = { privateRegistries: [TEST_REGISTRIES] };

function uncachedClient(): OciRegistryClient {
  return new OciRegistryClient({ ...TEST_ALLOWED, cache: false, timeoutMs: 5_000 });
}

function assertExists(check: ImageCheck, digest?: string): void {
  assert.equal(check.status, 'exists', JSON.stringify(check));
  if (digest) assert.equal(check.status === 'exists' && check.digest, digest);
}

function detailOf(check: ImageCheck): string {
  return 'detail' in check ? check.detail : '';
}

function logDetailOf(check: ImageCheck): string {
  return 'logDetail' in check ? (check.logDetail ?? '') : '';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a registry without auth', () => {
  let registry: TestRegistry;
  let app: { digest: string };
  let multi: { digest: string };
  const client = uncachedClient();

  before(async () => {
    registry = await startRegistry();
    app = await registry.pushImage('team/app', 'v1');
    multi = await registry.pushImage('team/multi', 'v2', { index: true });
  });
  after(() => registry?.stop());

  it('an existing tag exists, with the digest the registry stored', async () => {
    assertExists(await client.check(`${registry.host}/team/app:v1`), app.digest);
  });

  it('a missing tag is missing', async () => {
    assert.equal((await client.check(`${registry.host}/team/app:no-such-tag`)).status, 'missing');
  });

  it('a missing repository is missing', async () => {
    assert.equal((await client.check(`${registry.host}/team/no-such-repo:v1`)).status, 'missing');
  });

  it('a digest reference exists; an unknown digest is missing', async () => {
    assertExists(await client.check(`${registry.host}/team/app@${app.digest}`), app.digest);
    assertExists(await client.check(`${registry.host}/team/app:v1@${app.digest}`), app.digest);
    assert.equal((await client.check(`${registry.host}/team/app@${UNKNOWN_DIGEST}`)).status, 'missing');
  });

  it('a multi-arch OCI index exists, answered with the index digest', async () => {
    assertExists(await client.check(`${registry.host}/team/multi:v2`), multi.digest);
    // The helper really pushed an index of two platform manifests, each checkable by digest.
    const response = await fetch(`${registry.url}/v2/team/multi/manifests/v2`, { headers: { Accept: 'application/vnd.oci.image.index.v1+json' } });
    assert.equal(response.headers.get('content-type'), 'application/vnd.oci.image.index.v1+json');
    const index = (await response.json()) as { manifests: Array<{ digest: string; platform: { architecture: string } }> };
    assert.deepEqual(
      index.manifests.map((m) => m.platform.architecture),
      ['amd64', 'arm64'],
    );
    for (const manifest of index.manifests) assertExists(await client.check(`${registry.host}/team/multi@${manifest.digest}`), manifest.digest);
  });

  it('credentials a registry never asks for do not matter', async () => {
    assertExists(await client.check(`${registry.host}/team/app:v1`, MALLORY), app.digest);
  });
});

for (const auth of ['basic', 'token'] as const) {
  describe(`a registry with ${auth === 'basic' ? 'Basic auth' : 'Bearer tokens from a token server'}`, () => {
    let registry: TestRegistry;
    let app: { digest: string };
    let multi: { digest: string };
    const client = uncachedClient();

    before(async () => {
      registry = await startRegistry({ auth, users: USERS });
      app = await registry.pushImage('team/app', 'v1');
      multi = await registry.pushImage('team/multi', 'v1', { index: true });
    });
    after(() => registry?.stop());

    it('good credentials: an existing tag exists', async () => {
      assertExists(await client.check(`${registry.host}/team/app:v1`, ALICE), app.digest);
      assertExists(await client.check(`${registry.host}/team/app:v1`, BOB), app.digest);
    });

    it('good credentials: a missing tag, a missing repository and an unknown digest are missing', async () => {
      assert.equal((await client.check(`${registry.host}/team/app:v9`, ALICE)).status, 'missing');
      assert.equal((await client.check(`${registry.host}/team/nothing:v1`, ALICE)).status, 'missing');
      assert.equal((await client.check(`${registry.host}/team/app@${UNKNOWN_DIGEST}`, ALICE)).status, 'missing');
    });

    it('good credentials: digest references and the multi-arch index exist', async () => {
      assertExists(await client.check(`${registry.host}/team/app@${app.digest}`, ALICE), app.digest);
      assertExists(await client.check(`${registry.host}/team/multi:v1`, ALICE), multi.digest);
    });

    it('bad credentials: denied, with a detail naming the registry and not the password', async () => {
      const check = await client.check(`${registry.host}/team/app:v1`, MALLORY);
      assert.equal(check.status, 'denied');
      assert.match(detailOf(check), new RegExp(`registry ${registry.host.replaceAll('.', '\\.')} refused`));
      assert.ok(!detailOf(check).includes(MALLORY.password));
    });

    it('no credentials: never "exists" for a protected image', async () => {
      const check = await client.check(`${registry.host}/team/app:v1`);
      assert.notEqual(check.status, 'exists');
      assert.equal(check.status, 'missing');
    });

    if (auth === 'token') {
      it('reuses a token for the same repository and credentials', async () => {
        const fresh = uncachedClient();
        const before = registry.tokenRequests();
        assertExists(await fresh.check(`${registry.host}/team/app:v1`, ALICE));
        assert.equal(registry.tokenRequests(), before + 1);
        assert.equal((await fresh.check(`${registry.host}/team/app:v2`, ALICE)).status, 'missing');
        assertExists(await fresh.check(`${registry.host}/team/app@${app.digest}`, ALICE));
        assert.equal(registry.tokenRequests(), before + 1);
        // Other credentials or another repository: another token.
        assertExists(await fresh.check(`${registry.host}/team/app:v1`, BOB));
        assertExists(await fresh.check(`${registry.host}/team/multi:v1`, ALICE));
        assert.equal(registry.tokenRequests(), before + 3);
      });
    }
  });
}

describe('a registry that cannot be asked', () => {
  let silent: SilentServer;
  before(async () => {
    silent = await startSilentServer();
  });
  after(() => silent?.stop());

  it('nothing listening on the port: unreachable, quickly', async () => {
    const port = await freeLoopbackPort();
    const client = new OciRegistryClient({ ...TEST_ALLOWED, cache: false, timeoutMs: 2_000, retries: 2, backoffBaseMs: 50 });
    const started = performance.now();
    const check = await client.check(`127.0.0.1:${port}/team/app:v1`);
    const elapsed = performance.now() - started;
    assert.equal(check.status, 'unreachable');
    // 127.0.0.1 is private: callers learn that it could not be reached, the log how.
    assert.equal(detailOf(check), `registry 127.0.0.1:${port} could not be reached`);
    assert.match(logDetailOf(check), new RegExp(`registry 127\\.0\\.0\\.1:${port} refused the connection \\(gave up after 3 attempts\\)`));
    assert.ok(elapsed < 2_000, `took ${Math.round(elapsed)} ms`);
  });

  it('a server that never answers: unreachable within timeout × attempts', async () => {
    const timeoutMs = 300;
    const client = new OciRegistryClient({ ...TEST_ALLOWED, cache: false, timeoutMs, retries: 1, backoffBaseMs: 50 });
    const started = performance.now();
    const check = await client.check(`${silent.host}/team/app:v1`);
    const elapsed = performance.now() - started;
    assert.equal(check.status, 'unreachable');
    assert.equal(detailOf(check), `registry ${silent.host} could not be reached`, 'a silent port and a closed one look the same to callers');
    assert.match(logDetailOf(check), /did not answer within \d+ ms/);
    assert.ok(silent.connections() >= 1);
    assert.ok(elapsed >= timeoutMs - 20, `gave up too early: ${Math.round(elapsed)} ms`);
    // Bounded by timeout × attempts (600 ms); generous slack for a loaded machine.
    assert.ok(elapsed < timeoutMs * 2 + 1_000, `took ${Math.round(elapsed)} ms`);
  });

  it('a registry that stopped: unreachable, not missing', async () => {
    const registry = await startRegistry();
    await registry.pushImage('team/app', 'v1');
    const client = new OciRegistryClient({ ...TEST_ALLOWED, cache: { negativeTtlMs: 60_000 }, timeoutMs: 1_000, retries: 1, backoffBaseMs: 20 });
    assertExists(await client.check(`${registry.host}/team/app:v1`));
    await registry.stop();
    const check = await client.check(`${registry.host}/team/app:v2`);
    assert.equal(check.status, 'unreachable');
  });
});

describe('the answer cache, counted through a proxy in front of a real registry', () => {
  let registry: TestRegistry;
  let proxy: CountingProxy;
  const negativeTtlMs = 1_500;
  let client: OciRegistryClient;

  before(async () => {
    registry = await startRegistry({ auth: 'basic', users: USERS });
    await registry.pushImage('team/app', 'v1');
    proxy = await startCountingProxy(registry.url);
    client = new OciRegistryClient({ ...TEST_ALLOWED, cache: { positiveTtlMs: 60_000, negativeTtlMs }, timeoutMs: 5_000 });
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  it('a second check of the same reference does not reach the registry', async () => {
    const reference = `${proxy.host}/team/app:v1`;
    const first = await client.check(reference, ALICE);
    assertExists(first);
    const afterFirst = proxy.requests.length;
    assert.ok(afterFirst >= 1);
    const second = await client.check(reference, ALICE);
    assert.deepEqual(second, first);
    // Written differently, same canonical reference: same entry.
    await client.check(`${proxy.host}/team/app:v1`, { ...ALICE });
    assert.equal(proxy.requests.length, afterFirst);
  });

  it('a missing answer is reused for its TTL, then asked again', async () => {
    const reference = `${proxy.host}/team/later:v1`;
    assert.equal((await client.check(reference, ALICE)).status, 'missing');
    // The TTL counts from the answer (the cache stores it as it returns), not from the ask:
    // a slow first answer under load must not end the wait early.
    const askedAt = performance.now();
    const afterFirst = proxy.requests.length;

    // The image appears, but the cached answer stands until the TTL runs out.
    await registry.pushImage('team/later', 'v1');
    assert.ok(performance.now() - askedAt < negativeTtlMs, 'the push took longer than the TTL; the test cannot tell');
    assert.equal((await client.check(reference, ALICE)).status, 'missing');
    assert.equal(proxy.requests.length, afterFirst);

    await sleep(negativeTtlMs - (performance.now() - askedAt) + 50);
    assertExists(await client.check(reference, ALICE));
    assert.ok(proxy.requests.length > afterFirst);
  });

  it('different credentials never share an entry', async () => {
    const reference = `${proxy.host}/team/app:v1`;
    assertExists(await client.check(reference, ALICE));
    let count = proxy.requests.length;

    assertExists(await client.check(reference, BOB));
    assert.ok(proxy.requests.length > count, 'Bob was answered from Alice’s entry');
    count = proxy.requests.length;

    assert.equal((await client.check(reference, MALLORY)).status, 'denied');
    assert.ok(proxy.requests.length > count, 'a wrong password was answered from a cached entry');
    count = proxy.requests.length;

    assert.equal((await client.check(reference)).status, 'missing');
    assert.ok(proxy.requests.length > count, 'an anonymous check was answered from a cached entry');
    count = proxy.requests.length;

    // Denied is never cached: a wrong password is asked about again.
    assert.equal((await client.check(reference, MALLORY)).status, 'denied');
    assert.ok(proxy.requests.length > count);
  });

  it('concurrent checks of one reference share one request', async () => {
    await registry.pushImage('team/burst', 'v1');
    const before = proxy.requests.length;
    const checks = await Promise.all(Array.from({ length: 8 }, () => client.check(`${proxy.host}/team/burst:v1`, ALICE)));
    for (const check of checks) assertExists(check);
    // The registry's Basic challenge is known by now, so one check is one HEAD.
    assert.deepEqual(proxy.requests.slice(before), ['HEAD /v2/team/burst/manifests/v1']);
  });
});
