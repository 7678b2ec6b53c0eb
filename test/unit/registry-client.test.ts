/**
 * The OCI client's decisions, driven through an injected fetch double: which URL and
 * headers it sends, how it follows auth challenges, how it maps statuses, when it
 * retries, and what the answer cache keeps. The real registries are exercised in
 * test/integration/registry.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { parseWwwAuthenticate } from '../../src/registry/challenge.js';
import { CheckCache, credentialsFingerprint } from '../../src/registry/check-cache.js';
import { MANIFEST_ACCEPT, OciRegistryClient, type OciRegistryClientOptions } from '../../src/registry/oci-client.js';
import { backoffDelay, parseRetryAfter } from '../../src/registry/registry-http.js';
import { type ImageCheck, InvalidImageReference, type RegistryCredentials } from '../../src/registry/types.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const ALICE: RegistryCredentials = { username: 'alice', password: 's3cret-pa55' };
const BEARER_CHALLENGE = 'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:o/app:pull"';

interface SeenRequest {
  url: URL;
  method: string;
  headers: Headers;
  signal: AbortSignal | undefined;
}

type Handler = (request: SeenRequest) => Response | Promise<Response>;

/** A fetch double that records what it was asked and answers with `handler`. */
function fakeFetch(handler: Handler): { fetch: typeof fetch; calls: SeenRequest[] } {
  const calls: SeenRequest[] = [];
  const fetchDouble = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request: SeenRequest = {
      url: new URL(input instanceof Request ? input.url : input.toString()),
      method: init?.method ?? 'GET',
      headers: new Headers(init?.headers),
      signal: init?.signal ?? undefined,
    };
    calls.push(request);
    return handler(request);
  };
  return { fetch: fetchDouble as typeof fetch, calls };
}

function answer(status: number, headers: Record<string, string> = {}, body: string | null = null): Response {
  return new Response(body, { status, headers });
}

function json(body: unknown, status = 200): Response {
  return answer(status, { 'content-type': 'application/json' }, JSON.stringify(body));
}

function networkError(code: string): TypeError {
  return Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(`connect ${code}`), { code }) });
}

function makeClient(fetchDouble: typeof fetch, options: OciRegistryClientOptions = {}): { client: OciRegistryClient; sleeps: number[] } {
  const sleeps: number[] = [];
  const client = new OciRegistryClient({
    fetch: fetchDouble,
    cache: false,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...options,
  });
  return { client, sleeps };
}

function detailOf(check: ImageCheck): string {
  return 'detail' in check ? check.detail : '';
}

describe('OciRegistryClient: the request it sends', () => {
  it('HEADs the manifest with every manifest media type in Accept, OCI index first and schema 1 last', async () => {
    const { fetch, calls } = fakeFetch(() => answer(200, { 'docker-content-digest': DIGEST }));
    const { client } = makeClient(fetch);
    const check = await client.check('ghcr.io/o/app:1.0');
    assert.deepEqual(check, { status: 'exists', reference: check.reference, digest: DIGEST });
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.method, 'HEAD');
    assert.equal(calls[0]!.url.href, 'https://ghcr.io/v2/o/app/manifests/1.0');
    const accept = calls[0]!.headers.get('accept')!.split(',').map((t) => t.trim().split(';')[0]);
    assert.deepEqual(accept, [
      'application/vnd.oci.image.index.v1+json',
      'application/vnd.oci.image.manifest.v1+json',
      'application/vnd.docker.distribution.manifest.list.v2+json',
      'application/vnd.docker.distribution.manifest.v2+json',
      'application/vnd.docker.distribution.manifest.v1+prettyjws',
    ]);
    assert.equal(calls[0]!.headers.get('accept'), MANIFEST_ACCEPT);
    assert.equal(calls[0]!.headers.get('authorization'), null);
  });

  it('reaches Docker Hub at registry-1.docker.io', async () => {
    const { fetch, calls } = fakeFetch(() => answer(200, { 'docker-content-digest': DIGEST }));
    const { client } = makeClient(fetch);
    await client.check('nginx');
    assert.equal(calls[0]!.url.href, 'https://registry-1.docker.io/v2/library/nginx/manifests/latest');
  });

  it('asks by digest when the reference pins one, even with a tag', async () => {
    const { fetch, calls } = fakeFetch(() => answer(200));
    const { client } = makeClient(fetch);
    const check = await client.check(`ghcr.io/o/app:1.0@${DIGEST}`);
    assert.equal(calls[0]!.url.pathname, `/v2/o/app/manifests/${DIGEST}`);
    // The digest is known from the reference: no GET needed when the header is missing.
    assert.equal(calls.length, 1);
    assert.deepEqual(check, { status: 'exists', reference: check.reference, digest: DIGEST });
  });

  it('uses plain HTTP for loopback hosts and configured insecure registries only', () => {
    const client = new OciRegistryClient({ insecureRegistries: ['registry.lan:5000', 'build-cache', 'HTTP://Mixed.Case:8080/'] });
    assert.equal(client.endpointFor('localhost:5000'), 'http://localhost:5000');
    assert.equal(client.endpointFor('localhost'), 'http://localhost');
    assert.equal(client.endpointFor('127.0.0.1:5000'), 'http://127.0.0.1:5000');
    assert.equal(client.endpointFor('127.10.0.3'), 'http://127.10.0.3');
    assert.equal(client.endpointFor('[::1]:5000'), 'http://[::1]:5000');
    assert.equal(client.endpointFor('registry.lan:5000'), 'http://registry.lan:5000');
    assert.equal(client.endpointFor('registry.lan:5001'), 'https://registry.lan:5001');
    assert.equal(client.endpointFor('build-cache:7000'), 'http://build-cache:7000');
    assert.equal(client.endpointFor('mixed.case:8080'), 'http://mixed.case:8080');
    assert.equal(client.endpointFor('ghcr.io'), 'https://ghcr.io');
    assert.equal(client.endpointFor('128.0.0.1:5000'), 'https://128.0.0.1:5000');
    assert.equal(client.endpointFor('docker.io'), 'https://registry-1.docker.io');
  });

  it('throws InvalidImageReference for a malformed reference, before any request', async () => {
    const { fetch, calls } = fakeFetch(() => answer(200));
    const { client } = makeClient(fetch);
    await assert.rejects(client.check('Nginx:'), InvalidImageReference);
    assert.equal(calls.length, 0);
  });
});

describe('OciRegistryClient: status mapping', () => {
  const cases: Array<{ name: string; status: number; credentials?: RegistryCredentials; headers?: Record<string, string>; expect: ImageCheck['status'] }> = [
    { name: '404 → missing', status: 404, expect: 'missing' },
    { name: '404 with credentials → missing', status: 404, credentials: ALICE, expect: 'missing' },
    { name: '401 without credentials → missing (Docker Hub says 401 for unknown repositories)', status: 401, expect: 'missing' },
    { name: '403 without credentials → missing', status: 403, expect: 'missing' },
    { name: '401 with credentials → denied', status: 401, credentials: ALICE, expect: 'denied' },
    { name: '403 with credentials → denied', status: 403, credentials: ALICE, expect: 'denied' },
    { name: '400 → unreachable, never missing', status: 400, expect: 'unreachable' },
    { name: '500 after retries → unreachable', status: 500, expect: 'unreachable' },
    { name: '502 after retries → unreachable', status: 502, expect: 'unreachable' },
    { name: '429 after retries → unreachable', status: 429, expect: 'unreachable' },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { fetch } = fakeFetch(() => answer(c.status, c.headers));
      const { client } = makeClient(fetch);
      const check = await client.check('registry.example.com/o/app:1', c.credentials);
      assert.equal(check.status, c.expect);
      assert.equal(check.reference.canonical, 'registry.example.com/o/app:1');
      if (check.status === 'denied' || check.status === 'unreachable') assert.match(check.detail, /registry registry\.example\.com/);
    });
  }

  it('a denied detail names the registry and the repository, and never the credentials', async () => {
    const { fetch } = fakeFetch(() => answer(403));
    const { client } = makeClient(fetch);
    const check = await client.check('registry.example.com/o/app:1', ALICE);
    assert.equal(check.status, 'denied');
    assert.match(detailOf(check), /registry registry\.example\.com refused pull access to o\/app/);
    assert.ok(!detailOf(check).includes(ALICE.password));
    assert.ok(!detailOf(check).includes(Buffer.from(`${ALICE.username}:${ALICE.password}`).toString('base64')));
  });

  it('falls back to GET when HEAD is not allowed (405)', async () => {
    const { fetch, calls } = fakeFetch((req) => (req.method === 'HEAD' ? answer(405) : answer(200, { 'docker-content-digest': DIGEST }, '{}')));
    const { client } = makeClient(fetch);
    const check = await client.check('registry.example.com/o/app:1');
    assert.deepEqual(
      calls.map((c) => c.method),
      ['HEAD', 'GET'],
    );
    assert.equal(calls[1]!.headers.get('accept'), MANIFEST_ACCEPT);
    assert.deepEqual(check, { status: 'exists', reference: check.reference, digest: DIGEST });
  });

  it('falls back to GET when HEAD gives no digest, and hashes the manifest when GET gives none either', async () => {
    const manifest = '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}';
    const { fetch, calls } = fakeFetch((req) => (req.method === 'HEAD' ? answer(200) : answer(200, {}, manifest)));
    const { client } = makeClient(fetch);
    const check = await client.check('registry.example.com/o/app:1');
    assert.equal(calls.length, 2);
    assert.deepEqual(check, { status: 'exists', reference: check.reference, digest: `sha256:${createHash('sha256').update(manifest).digest('hex')}` });
  });

  it('maps the GET fallback the same way (404 → missing)', async () => {
    const { fetch } = fakeFetch((req) => (req.method === 'HEAD' ? answer(405) : answer(404, {}, '{"errors":[]}')));
    const { client } = makeClient(fetch);
    assert.equal((await client.check('registry.example.com/o/app:1')).status, 'missing');
  });

  it('ignores a malformed Docker-Content-Digest', async () => {
    const { fetch, calls } = fakeFetch((req) => (req.method === 'HEAD' ? answer(200, { 'docker-content-digest': 'not a digest' }) : answer(200, { 'docker-content-digest': DIGEST }, '{}')));
    const { client } = makeClient(fetch);
    const check = await client.check('registry.example.com/o/app:1');
    assert.equal(calls.length, 2);
    assert.deepEqual(check, { status: 'exists', reference: check.reference, digest: DIGEST });
  });
});

describe('OciRegistryClient: Bearer token challenges', () => {
  function tokenRegistry(options: { tokenAnswer?: (req: SeenRequest) => Response; validToken?: string } = {}) {
    const validToken = options.validToken ?? 'tok-1';
    return fakeFetch((req) => {
      if (req.url.host === 'auth.example.com') return options.tokenAnswer ? options.tokenAnswer(req) : json({ token: validToken, expires_in: 300 });
      if (req.headers.get('authorization') === `Bearer ${validToken}`) return answer(200, { 'docker-content-digest': DIGEST });
      return answer(401, { 'www-authenticate': BEARER_CHALLENGE });
    });
  }

  it('fetches an anonymous token with the challenge service and a pull scope, then retries with it', async () => {
    const { fetch, calls } = tokenRegistry();
    const { client } = makeClient(fetch);
    const check = await client.check('registry.example.com/o/app:1');
    assert.equal(check.status, 'exists');
    assert.equal(calls.length, 3);
    const token = calls[1]!;
    assert.equal(token.url.origin + token.url.pathname, 'https://auth.example.com/token');
    assert.equal(token.url.searchParams.get('service'), 'registry.example.com');
    assert.equal(token.url.searchParams.get('scope'), 'repository:o/app:pull');
    assert.equal(token.headers.get('authorization'), null);
    assert.equal(calls[2]!.headers.get('authorization'), 'Bearer tok-1');
  });

  it('sends Basic credentials to the token service', async () => {
    const { fetch, calls } = tokenRegistry();
    const { client } = makeClient(fetch);
    await client.check('registry.example.com/o/app:1', ALICE);
    assert.equal(calls[1]!.headers.get('authorization'), `Basic ${Buffer.from('alice:s3cret-pa55').toString('base64')}`);
  });

  it('accepts access_token when token is absent', async () => {
    const { fetch } = tokenRegistry({ tokenAnswer: () => json({ access_token: 'tok-1' }) });
    const { client } = makeClient(fetch);
    assert.equal((await client.check('registry.example.com/o/app:1')).status, 'exists');
  });

  it('keeps the scope the client needs, whatever the challenge scope says', async () => {
    const { fetch, calls } = fakeFetch((req) => {
      if (req.url.host === 'auth.example.com') return json({ token: 'tok-1' });
      if (req.headers.get('authorization')) return answer(200, { 'docker-content-digest': DIGEST });
      return answer(401, { 'www-authenticate': 'Bearer realm="https://auth.example.com/token?account=x",service="svc",scope="repository:other/repo:push"' });
    });
    const { client } = makeClient(fetch);
    await client.check('registry.example.com/o/app:1');
    assert.equal(calls[1]!.url.searchParams.get('scope'), 'repository:o/app:pull');
    assert.equal(calls[1]!.url.searchParams.get('account'), 'x');
  });

  it('reuses a token until shortly before it expires, then fetches a new one', async () => {
    let now = 1_000_000;
    let issued = 0;
    const { fetch, calls } = fakeFetch((req) => {
      if (req.url.host === 'auth.example.com') return json({ token: `tok-${++issued}`, expires_in: 120 });
      if (req.headers.get('authorization')?.startsWith('Bearer tok-')) return answer(200, { 'docker-content-digest': DIGEST });
      return answer(401, { 'www-authenticate': BEARER_CHALLENGE });
    });
    const { client } = makeClient(fetch, { now: () => now });
    await client.check('registry.example.com/o/app:1');
    assert.equal(calls.length, 3);
    // Later checks of the same repository send the cached token up front: one request each.
    await client.check('registry.example.com/o/app:2');
    assert.equal(calls.length, 4);
    assert.equal(calls[3]!.headers.get('authorization'), 'Bearer tok-1');
    // 120 s lifetime, refreshed 30 s early.
    now += 89_000;
    await client.check('registry.example.com/o/app:3');
    assert.equal(calls.length, 5);
    now += 2_000;
    await client.check('registry.example.com/o/app:4');
    assert.equal(calls.length, 7);
    assert.equal(calls[5]!.url.host, 'auth.example.com');
    assert.equal(calls[6]!.headers.get('authorization'), 'Bearer tok-2');
  });

  it('does not share tokens between credentials or repositories', async () => {
    let issued = 0;
    const { fetch, calls } = fakeFetch((req) => {
      if (req.url.host === 'auth.example.com') return json({ token: `tok-${++issued}` });
      if (req.headers.get('authorization')?.startsWith('Bearer ')) return answer(200, { 'docker-content-digest': DIGEST });
      return answer(401, { 'www-authenticate': BEARER_CHALLENGE });
    });
    const { client } = makeClient(fetch);
    await client.check('registry.example.com/o/app:1', ALICE);
    await client.check('registry.example.com/o/app:1', { username: 'bob', password: 'other' });
    await client.check('registry.example.com/o/app:1');
    await client.check('registry.example.com/o/other:1', ALICE);
    assert.equal(calls.filter((c) => c.url.host === 'auth.example.com').length, 4);
  });

  it('fetches a fresh token once when a cached one is refused', async () => {
    let valid = 'tok-1';
    let issued = 0;
    const { fetch, calls } = fakeFetch((req) => {
      if (req.url.host === 'auth.example.com') return json({ token: `tok-${++issued}` });
      if (req.headers.get('authorization') === `Bearer ${valid}`) return answer(200, { 'docker-content-digest': DIGEST });
      return answer(401, { 'www-authenticate': BEARER_CHALLENGE });
    });
    const { client } = makeClient(fetch);
    await client.check('registry.example.com/o/app:1');
    valid = 'tok-2'; // the registry rotated its keys
    calls.length = 0;
    const check = await client.check('registry.example.com/o/app:1');
    assert.equal(check.status, 'exists');
    assert.deepEqual(
      calls.map((c) => `${c.method} ${c.url.host} ${c.headers.get('authorization') ?? '-'}`),
      ['HEAD registry.example.com Bearer tok-1', 'GET auth.example.com -', 'HEAD registry.example.com Bearer tok-2'],
    );
  });

  it('a token refused for the repository (insufficient scope) is final: missing without credentials, denied with', async () => {
    const { fetch, calls } = fakeFetch((req) => {
      if (req.url.host === 'auth.example.com') return json({ token: 'no-access' });
      return answer(401, { 'www-authenticate': `${BEARER_CHALLENGE},error="insufficient_scope"` });
    });
    const { client } = makeClient(fetch);
    assert.equal((await client.check('registry.example.com/o/app:1')).status, 'missing');
    assert.equal(calls.length, 3, 'no loop: one challenge round only');
    const denied = await client.check('registry.example.com/o/app:1', ALICE);
    assert.equal(denied.status, 'denied');
    assert.match(detailOf(denied), /registry\.example\.com/);
  });

  it('token service 401: denied with credentials (naming the registry), missing without', async () => {
    const { fetch } = tokenRegistry({ tokenAnswer: () => json({ errors: [{ code: 'UNAUTHORIZED' }] }, 401) });
    const { client } = makeClient(fetch);
    const denied = await client.check('registry.example.com/o/app:1', ALICE);
    assert.equal(denied.status, 'denied');
    assert.match(detailOf(denied), /registry registry\.example\.com refused the given credentials/);
    assert.ok(!detailOf(denied).includes(ALICE.password));
    assert.equal((await client.check('registry.example.com/o/app:1')).status, 'missing');
  });

  it('token service 5xx: retried, then unreachable', async () => {
    const { fetch, calls } = tokenRegistry({ tokenAnswer: () => answer(503) });
    const { client } = makeClient(fetch, { retries: 2 });
    const check = await client.check('registry.example.com/o/app:1', ALICE);
    assert.equal(check.status, 'unreachable');
    assert.match(detailOf(check), /token service auth\.example\.com .* answered HTTP 503/);
    assert.equal(calls.filter((c) => c.url.host === 'auth.example.com').length, 3);
  });

  it('a token answer without a token is unreachable, not missing', async () => {
    const { fetch } = tokenRegistry({ tokenAnswer: () => json({ expires_in: 60 }) });
    const { client } = makeClient(fetch);
    const check = await client.check('registry.example.com/o/app:1');
    assert.equal(check.status, 'unreachable');
    assert.match(detailOf(check), /without a usable token/);
  });

  it('never sends credentials to a plain-HTTP token service of a TLS registry', async () => {
    const { fetch, calls } = fakeFetch(() => answer(401, { 'www-authenticate': 'Bearer realm="http://auth.example.com/token",service="svc"' }));
    const { client } = makeClient(fetch);
    const check = await client.check('registry.example.com/o/app:1', ALICE);
    assert.equal(check.status, 'unreachable');
    assert.match(detailOf(check), /plain HTTP/);
    assert.ok(calls.every((c) => c.url.host !== 'auth.example.com'));
  });

  it('a Bearer challenge without a realm is unreachable', async () => {
    const { fetch } = fakeFetch(() => answer(401, { 'www-authenticate': 'Bearer service="svc"' }));
    const { client } = makeClient(fetch);
    assert.equal((await client.check('registry.example.com/o/app:1')).status, 'unreachable');
  });
});

describe('OciRegistryClient: Basic challenges', () => {
  const basicRegistry = () =>
    fakeFetch((req) => {
      const expected = `Basic ${Buffer.from(`${ALICE.username}:${ALICE.password}`).toString('base64')}`;
      if (req.headers.get('authorization') === expected) return answer(200, { 'docker-content-digest': DIGEST });
      return answer(401, { 'www-authenticate': 'Basic realm="Registry Realm"' });
    });

  it('retries with the credentials, then sends them up front to the same registry', async () => {
    const { fetch, calls } = basicRegistry();
    const { client } = makeClient(fetch);
    assert.equal((await client.check('registry.example.com/o/app:1', ALICE)).status, 'exists');
    assert.equal(calls.length, 2);
    assert.equal(calls[0]!.headers.get('authorization'), null);
    assert.equal((await client.check('registry.example.com/o/app:2', ALICE)).status, 'exists');
    assert.equal(calls.length, 3);
  });

  it('without credentials: missing after one request', async () => {
    const { fetch, calls } = basicRegistry();
    const { client } = makeClient(fetch);
    assert.equal((await client.check('registry.example.com/o/app:1')).status, 'missing');
    assert.equal(calls.length, 1);
  });

  it('wrong credentials: denied, without a second round', async () => {
    const { fetch, calls } = basicRegistry();
    const { client } = makeClient(fetch);
    const check = await client.check('registry.example.com/o/app:1', { username: 'alice', password: 'wrong' });
    assert.equal(check.status, 'denied');
    assert.equal(calls.length, 2);
  });
});

describe('OciRegistryClient: retries, backoff and timeouts', () => {
  it('retries 5xx with exponential backoff and jitter, then succeeds', async () => {
    let n = 0;
    const { fetch, calls } = fakeFetch(() => (++n <= 2 ? answer(503) : answer(200, { 'docker-content-digest': DIGEST })));
    const { client, sleeps } = makeClient(fetch, { retries: 2, backoffBaseMs: 100, backoffMaxMs: 10_000, random: () => 0.5 });
    const check = await client.check('registry.example.com/o/app:1');
    assert.equal(check.status, 'exists');
    assert.equal(calls.length, 3);
    assert.deepEqual(sleeps, [75, 150]);
  });

  it('keeps every delay within [step/2, step] and below the cap', () => {
    const policy = { backoffBaseMs: 100, backoffMaxMs: 1_000 };
    for (const attempt of [0, 1, 2, 3, 4, 10]) {
      const step = Math.min(1_000, 100 * 2 ** attempt);
      assert.equal(backoffDelay(attempt, policy, () => 0), step / 2);
      assert.equal(backoffDelay(attempt, policy, () => 0.999_999), Math.round(step / 2 + (step / 2) * 0.999_999));
    }
  });

  it('gives up after retries + 1 attempts: unreachable naming the status, never missing', async () => {
    const { fetch, calls } = fakeFetch(() => answer(503));
    const { client } = makeClient(fetch, { retries: 3 });
    const check = await client.check('registry.example.com/o/app:1');
    assert.equal(check.status, 'unreachable');
    assert.match(detailOf(check), /registry registry\.example\.com answered HTTP 503 \(gave up after 4 attempts\)/);
    assert.equal(calls.length, 4);
  });

  it('retries: 0 means one attempt', async () => {
    const { fetch, calls } = fakeFetch(() => answer(500));
    const { client } = makeClient(fetch, { retries: 0 });
    assert.equal((await client.check('registry.example.com/o/app:1')).status, 'unreachable');
    assert.equal(calls.length, 1);
  });

  it('honours Retry-After on 429, up to the cap', async () => {
    const { fetch } = fakeFetch(() => answer(429, { 'retry-after': '3' }));
    const { client, sleeps } = makeClient(fetch, { retries: 1, backoffBaseMs: 10, retryAfterCapMs: 5_000, timeoutMs: 10_000 });
    await client.check('registry.example.com/o/app:1');
    assert.deepEqual(sleeps, [3_000]);

    const capped = fakeFetch(() => answer(429, { 'retry-after': '3600' }));
    const second = makeClient(capped.fetch, { retries: 1, backoffBaseMs: 10, retryAfterCapMs: 2_000, timeoutMs: 10_000 });
    await second.client.check('registry.example.com/o/app:1');
    assert.deepEqual(second.sleeps, [2_000]);
  });

  it('does not wait when the wait would outlive the whole-check deadline', async () => {
    const { fetch, calls } = fakeFetch(() => answer(503, { 'retry-after': '4' }));
    // Deadline: 1,000 ms × 3 attempts = 3,000 ms; a 4 s wait cannot fit.
    const { client, sleeps } = makeClient(fetch, { retries: 2, timeoutMs: 1_000, retryAfterCapMs: 10_000 });
    const check = await client.check('registry.example.com/o/app:1');
    assert.equal(check.status, 'unreachable');
    assert.equal(calls.length, 1);
    assert.deepEqual(sleeps, []);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('7', now), 7_000);
    assert.equal(parseRetryAfter(' 0 ', now), 0);
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now), 10_000);
    assert.equal(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });

  it('retries refused connections, then says the registry refused them', async () => {
    const { fetch, calls } = fakeFetch(() => {
      throw networkError('ECONNREFUSED');
    });
    const { client } = makeClient(fetch, { retries: 2 });
    const check = await client.check('registry.example.com/o/app:1');
    assert.equal(check.status, 'unreachable');
    assert.match(detailOf(check), /registry registry\.example\.com refused the connection \(gave up after 3 attempts\)/);
    assert.equal(calls.length, 3);
  });

  it('does not retry a DNS name that does not exist', async () => {
    const { fetch, calls } = fakeFetch(() => {
      throw networkError('ENOTFOUND');
    });
    const { client } = makeClient(fetch, { retries: 2 });
    const check = await client.check('no-such-registry.example/o/app:1');
    assert.equal(check.status, 'unreachable');
    assert.match(detailOf(check), /host name not found/);
    assert.equal(calls.length, 1);
  });

  it('does not retry a TLS failure', async () => {
    const { fetch, calls } = fakeFetch(() => {
      throw networkError('DEPTH_ZERO_SELF_SIGNED_CERT');
    });
    const { client } = makeClient(fetch, { retries: 2 });
    const check = await client.check('registry.example.com/o/app:1');
    assert.equal(check.status, 'unreachable');
    assert.match(detailOf(check), /TLS failed/);
    assert.equal(calls.length, 1);
  });

  it('times out each request and bounds the whole check by timeout × attempts', async () => {
    const { fetch, calls } = fakeFetch(
      (req) =>
        new Promise<Response>((_, reject) => {
          req.signal?.addEventListener('abort', () => reject(req.signal?.reason));
        }),
    );
    const client = new OciRegistryClient({ fetch, cache: false, timeoutMs: 100, retries: 2, backoffBaseMs: 20 });
    // AbortSignal.timeout does not keep the event loop alive, and this double holds no socket that would.
    const keepAlive = setInterval(() => {}, 1_000);
    const started = performance.now();
    const check = await client.check('registry.example.com/o/app:1').finally(() => clearInterval(keepAlive));
    const elapsed = performance.now() - started;
    assert.equal(check.status, 'unreachable');
    assert.match(detailOf(check), /did not answer within \d+ ms/);
    // Two or three attempts normally; one when a busy machine let the first use up the whole budget.
    assert.ok(calls.length >= 1 && calls.length <= 3, `${calls.length} attempts`);
    assert.ok(elapsed >= 150 && elapsed < 1_000, `took ${Math.round(elapsed)} ms`);
  });

  it('turns an unexpected failure into unreachable rather than throwing', async () => {
    const { fetch } = fakeFetch(() => {
      throw new Error('boom');
    });
    const { client } = makeClient(fetch, { retries: 0 });
    const check = await client.check('registry.example.com/o/app:1');
    assert.equal(check.status, 'unreachable');
    assert.match(detailOf(check), /boom/);
  });

  it('rejects nonsense options', () => {
    assert.throws(() => new OciRegistryClient({ timeoutMs: 0 }), RangeError);
    assert.throws(() => new OciRegistryClient({ retries: -1 }), RangeError);
    assert.throws(() => new OciRegistryClient({ retries: 1.5 }), RangeError);
  });
});

describe('parseWwwAuthenticate', () => {
  it('reads a Docker Hub Bearer challenge', () => {
    assert.deepEqual(
      parseWwwAuthenticate(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull",error="insufficient_scope"',
      ),
      [
        {
          scheme: 'bearer',
          params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull', error: 'insufficient_scope' },
        },
      ],
    );
  });

  it('reads a Basic challenge', () => {
    assert.deepEqual(parseWwwAuthenticate('Basic realm="Registry Realm"'), [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
  });

  it('splits several challenges, as fetch joins repeated headers', () => {
    assert.deepEqual(parseWwwAuthenticate('Basic realm="a, b", Bearer realm="https://t/token", service=svc'), [
      { scheme: 'basic', params: { realm: 'a, b' } },
      { scheme: 'bearer', params: { realm: 'https://t/token', service: 'svc' } },
    ]);
  });

  it('lowercases schemes and names, unescapes quoted strings, tolerates spaces around =', () => {
    assert.deepEqual(parseWwwAuthenticate('BEARER Realm = "say \\"hi\\"" ,  Service=x'), [
      { scheme: 'bearer', params: { realm: 'say "hi"', service: 'x' } },
    ]);
  });

  it('ignores __proto__ and survives garbage', () => {
    const [challenge] = parseWwwAuthenticate('Bearer __proto__="x",realm="r"');
    assert.deepEqual(challenge, { scheme: 'bearer', params: { realm: 'r' } });
    assert.equal(Object.getPrototypeOf(challenge!.params), Object.prototype);
    for (const junk of ['', ',,,', '=', '"', 'Bearer realm="unterminated', 'Negotiate abc==', '()<>@']) {
      assert.doesNotThrow(() => parseWwwAuthenticate(junk));
    }
    assert.deepEqual(parseWwwAuthenticate(''), []);
  });
});

describe('CheckCache', () => {
  const ref = { registry: 'ghcr.io', repository: 'o/app', tag: '1', canonical: 'ghcr.io/o/app:1' };
  const exists: ImageCheck = { status: 'exists', reference: ref, digest: DIGEST };
  const missing: ImageCheck = { status: 'missing', reference: ref };

  it('keys by canonical reference, where it is asked, and an HMAC of the credentials, never the credentials', () => {
    const upstream = ['https://ghcr.io'];
    const anonymous = CheckCache.key(ref.canonical, upstream, undefined);
    const alice = CheckCache.key(ref.canonical, upstream, ALICE);
    const bob = CheckCache.key(ref.canonical, upstream, { username: 'bob', password: ALICE.password });
    assert.notEqual(anonymous, alice);
    assert.notEqual(alice, bob);
    assert.equal(alice, CheckCache.key(ref.canonical, [...upstream], { ...ALICE }));
    assert.ok(alice.startsWith(`${ref.canonical}\n`), alice);
    assert.ok(!alice.includes(ALICE.password) && !alice.includes(ALICE.username), 'the key holds the credentials');
    assert.match(credentialsFingerprint(ALICE), /^[a-f0-9]{64}$/);
    // Moving the separator between username and password must change the key.
    assert.notEqual(credentialsFingerprint({ username: 'a:b', password: 'c' }), credentialsFingerprint({ username: 'a', password: 'b:c' }));
    // A mirror's answer is never the registry's, nor another order of mirrors'.
    const mirrored = CheckCache.key(ref.canonical, ['http://127.0.0.1:5000'], ALICE);
    assert.notEqual(mirrored, alice);
    assert.notEqual(
      CheckCache.key(ref.canonical, ['http://127.0.0.1:5000', 'https://ghcr.io'], ALICE),
      CheckCache.key(ref.canonical, ['https://ghcr.io', 'http://127.0.0.1:5000'], ALICE),
    );
  });

  it('keeps exists and missing for their own TTLs, and never unreachable or denied', () => {
    let now = 0;
    const cache = new CheckCache({ positiveTtlMs: 1_000, negativeTtlMs: 100, now: () => now });
    cache.set('e', exists);
    cache.set('m', missing);
    cache.set('u', { status: 'unreachable', reference: ref, detail: 'x' });
    cache.set('d', { status: 'denied', reference: ref, detail: 'x' });
    assert.equal(cache.get('u'), undefined);
    assert.equal(cache.get('d'), undefined);
    now = 99;
    assert.deepEqual([cache.get('e'), cache.get('m')], [exists, missing]);
    now = 100;
    assert.equal(cache.get('m'), undefined);
    assert.equal(cache.get('e'), exists);
    now = 1_000;
    assert.equal(cache.get('e'), undefined);
  });

  it('forgets the least recently used entry beyond its bound', () => {
    const cache = new CheckCache({ maxEntries: 2 });
    cache.set('a', exists);
    cache.set('b', exists);
    cache.get('a');
    cache.set('c', exists);
    assert.equal(cache.size, 2);
    assert.equal(cache.get('b'), undefined);
    assert.ok(cache.get('a') && cache.get('c'));
  });

  it('shares one load between concurrent callers of the same key', async () => {
    const cache = new CheckCache();
    let loads = 0;
    let release!: (check: ImageCheck) => void;
    const load = () => {
      loads++;
      return new Promise<ImageCheck>((resolve) => (release = resolve));
    };
    const first = cache.getOrLoad('k', load);
    const second = cache.getOrLoad('k', load);
    await new Promise((resolve) => setImmediate(resolve));
    release(exists);
    assert.deepEqual(await Promise.all([first, second]), [exists, exists]);
    assert.equal(loads, 1);
    assert.equal(await cache.getOrLoad('k', load), exists);
    assert.equal(loads, 1);
  });

  it('a failed load is not kept, and the next caller loads again', async () => {
    const cache = new CheckCache();
    let loads = 0;
    const failing = () => {
      loads++;
      throw new Error('bug');
    };
    await assert.rejects(Promise.all([cache.getOrLoad('k', failing), cache.getOrLoad('k', failing)]), /bug/);
    assert.equal(loads, 1);
    assert.equal(await cache.getOrLoad('k', async () => missing), missing);
  });
});

describe('OciRegistryClient with its cache', () => {
  it('answers a repeated check from the cache, per credentials, and shares a running check', async () => {
    const { fetch, calls } = fakeFetch(() => answer(200, { 'docker-content-digest': DIGEST }));
    const client = new OciRegistryClient({ fetch });
    await Promise.all([client.check('ghcr.io/o/app:1'), client.check('ghcr.io/o/app:1'), client.check('ghcr.io/o/app:1')]);
    assert.equal(calls.length, 1);
    await client.check('ghcr.io/o/app:1');
    assert.equal(calls.length, 1);
    await client.check('ghcr.io/o/app:1', ALICE);
    assert.equal(calls.length, 2);
    await client.check('ghcr.io/o/app:1', { username: 'alice', password: 'other' });
    assert.equal(calls.length, 3);
  });

  it('does not cache unreachable answers', async () => {
    const { fetch, calls } = fakeFetch(() => answer(503));
    const { client } = makeClient(fetch, { cache: {}, retries: 0 });
    await client.check('ghcr.io/o/app:1');
    await client.check('ghcr.io/o/app:1');
    assert.equal(calls.length, 2);
  });

  it('reuses a missing answer only for the negative TTL', async () => {
    let now = 0;
    const { fetch, calls } = fakeFetch(() => answer(404));
    const { client } = makeClient(fetch, { cache: { negativeTtlMs: 1_000 }, now: () => now });
    await client.check('ghcr.io/o/app:1');
    now = 999;
    await client.check('ghcr.io/o/app:1');
    assert.equal(calls.length, 1);
    now = 1_000;
    await client.check('ghcr.io/o/app:1');
    assert.equal(calls.length, 2);
  });
});
