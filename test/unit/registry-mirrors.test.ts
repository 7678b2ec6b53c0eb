/**
 * Reading the registry mirrors setting (VKUBE_REGISTRY_MIRRORS): the environment's
 * `registry=endpoint|endpoint,…` form and a config file's object form, registry names
 * normalised as references normalise them, and every bad part refused by name.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mirrorsOf, parseRegistryMirrors } from '../../src/registry/mirrors.js';
import { OciRegistryClient } from '../../src/registry/oci-client.js';
import { isRegistryHost, registryName } from '../../src/registry/reference.js';

describe('registry names', () => {
  it("Docker Hub's three names are one registry; other hosts are only lowercased", () => {
    assert.equal(registryName('docker.io'), 'docker.io');
    assert.equal(registryName('index.docker.io'), 'docker.io');
    assert.equal(registryName('registry-1.docker.io'), 'docker.io');
    assert.equal(registryName('Registry-1.Docker.IO'), 'docker.io');
    assert.equal(registryName('GHCR.io'), 'ghcr.io');
    assert.equal(registryName('127.0.0.1:5000'), '127.0.0.1:5000');
  });

  it('a registry host is what a reference can name before its repository', () => {
    for (const host of ['docker.io', 'ghcr.io', '127.0.0.1:5000', 'localhost', 'localhost:5000', '[::1]:5000', 'registry.lan:443']) {
      assert.ok(isRegistryHost(host), `${host} should be a registry host`);
    }
    for (const host of ['dockerio', 'mirror', '', 'a b.io', 'ghcr.io:0', 'ghcr.io:70000', 'http://ghcr.io', 'ghcr.io/o']) {
      assert.ok(!isRegistryHost(host), `${JSON.stringify(host)} should not be a registry host`);
    }
  });
});

describe('parseRegistryMirrors', () => {
  it('reads the environment form: registries separated by commas, endpoints by |, in order', () => {
    assert.deepEqual(parseRegistryMirrors('docker.io=http://127.0.0.1:5000|https://registry-1.docker.io,ghcr.io=https://ghcr-mirror.example'), {
      'docker.io': ['http://127.0.0.1:5000', 'https://registry-1.docker.io'],
      'ghcr.io': ['https://ghcr-mirror.example'],
    });
  });

  it('tolerates spaces, empty entries, a trailing slash and case; drops default ports', () => {
    assert.deepEqual(parseRegistryMirrors(' docker.io = HTTP://Mirror.Example:5000/ | https://b.example:443 ,, '), {
      'docker.io': ['http://mirror.example:5000', 'https://b.example'],
    });
    assert.deepEqual(parseRegistryMirrors(''), {});
  });

  it('keys every Docker Hub name as docker.io, so images written any of those ways find the mirror', () => {
    for (const name of ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'Docker.IO']) {
      const mirrors = parseRegistryMirrors(`${name}=http://127.0.0.1:5000`);
      assert.deepEqual(mirrors, { 'docker.io': ['http://127.0.0.1:5000'] }, name);
      assert.deepEqual(mirrorsOf(mirrors, 'docker.io'), ['http://127.0.0.1:5000'], name);
      assert.deepEqual(mirrorsOf(mirrors, 'index.docker.io'), ['http://127.0.0.1:5000'], name);
    }
  });

  it('accepts IPv6 and dotless mirror hosts, and registries with ports', () => {
    assert.deepEqual(parseRegistryMirrors('127.0.0.1:5000=http://[::1]:5001|http://mirror:80|https://mirror'), {
      '127.0.0.1:5000': ['http://[::1]:5001', 'http://mirror', 'https://mirror'],
    });
  });

  it('reads the config file form: an object of registry → list (or a|b string) of endpoints', () => {
    assert.deepEqual(parseRegistryMirrors({ 'docker.io': ['http://127.0.0.1:5000', 'https://registry-1.docker.io'], 'GHCR.io': 'https://a.example|https://b.example' }), {
      'docker.io': ['http://127.0.0.1:5000', 'https://registry-1.docker.io'],
      'ghcr.io': ['https://a.example', 'https://b.example'],
    });
    assert.deepEqual(parseRegistryMirrors({}), {});
  });

  it('answers only for mirrored registries, and never from the object prototype', () => {
    const mirrors = parseRegistryMirrors('docker.io=http://127.0.0.1:5000');
    assert.equal(mirrorsOf(mirrors, 'ghcr.io'), undefined);
    assert.equal(mirrorsOf(mirrors, 'constructor'), undefined);
    assert.equal(mirrorsOf(mirrors, '__proto__'), undefined);
  });

  for (const [value, message] of [
    ['docker.io', /^"docker\.io" is not registry=endpoint\|endpoint$/],
    ['docker.io=', /^"docker\.io" has no endpoints$/],
    ['docker.io=http://a|', /^endpoint "" of "docker\.io" is empty$/],
    ['dockerio=http://a', /^"dockerio" is not a registry host/],
    ['=http://a', /^"" is not a registry host/],
    ['docker.io=http://a,index.docker.io=http://b', /^"index\.docker\.io" is listed twice \(as docker\.io\)$/],
    ['docker.io=http://a|http://A/', /^"docker\.io" lists http:\/\/a twice$/],
    ['docker.io=127.0.0.1:5000', /^endpoint "127\.0\.0\.1:5000" of "docker\.io" must start with http:\/\/ or https:\/\/$/],
    ['docker.io=ftp://mirror.example', /^endpoint "ftp:\/\/mirror\.example" of "docker\.io" must start with http/],
    ['docker.io=http://user:pass@mirror.example', /^endpoint "http:\/\/user:pass@mirror\.example" of "docker\.io" must not carry credentials/],
    ['docker.io=http://mirror.example/v2', /^endpoint "http:\/\/mirror\.example\/v2" of "docker\.io" must not have a path/],
    ['docker.io=http://mirror.example/?x=1', /^endpoint "http:\/\/mirror\.example\/\?x=1" of "docker\.io" must not have a query/],
    ['docker.io=http://mirror.example#top', /must not have a query or fragment$/],
    ['docker.io=http://mirror.example:0', /^endpoint "http:\/\/mirror\.example:0" of "docker\.io" does not name a valid host\[:port\]$/],
    ['docker.io=http://mirror.example:65536', /does not name a valid host\[:port\]$/],
    ['docker.io=http://mir ror.example', /does not name a valid host\[:port\]$/],
    ['docker.io=http://999.1.1.1', /does not name a valid host\[:port\]$/],
    ['docker.io=http://', /does not name a valid host\[:port\]$/],
  ] as const) {
    it(`refuses ${JSON.stringify(value)}, naming the bad part`, () => {
      assert.throws(() => parseRegistryMirrors(value), (err: unknown) => err instanceof Error && message.test(err.message));
    });
  }

  it('refuses file values of the wrong shape', () => {
    assert.throws(() => parseRegistryMirrors(['docker.io=http://a']), /must be "registry=endpoint\|endpoint,…" or an object/);
    assert.throws(() => parseRegistryMirrors(5000), /must be "registry=endpoint\|endpoint,…" or an object/);
    assert.throws(() => parseRegistryMirrors({ 'docker.io': [5000] }), /the endpoints of "docker\.io" must be a list of http\(s\):\/\/ URLs$/);
    assert.throws(() => parseRegistryMirrors({ 'docker.io': [] }), /"docker\.io" has no endpoints/);
    assert.throws(() => parseRegistryMirrors({ 'docker.io': { url: 'http://a' } }), /the endpoints of "docker\.io" must be a list/);
  });
});

describe('OciRegistryClient mirrors option', () => {
  it('is held to the same rules as the setting', () => {
    assert.throws(
      () => new OciRegistryClient({ mirrors: { 'docker.io': ['ftp://mirror.example'] } }),
      (err: unknown) => err instanceof RangeError && /^mirrors: endpoint "ftp:\/\/mirror\.example" of "docker\.io" must start with http/.test(err.message),
    );
    assert.doesNotThrow(() => new OciRegistryClient({ mirrors: { 'Index.Docker.IO': ['HTTP://127.0.0.1:5000/'] } }));
  });
});
