/**
 * The address policy of image checks: which addresses are not public (and so refused
 * unless allowed), what VKUBE_PRIVATE_REGISTRIES may say and how it allows, the
 * cluster's own addresses, and the transport that applies it between DNS and the
 * connection. Nothing here opens a connection: the transport is given a fixed
 * resolver and a dialer that only records; the one client check at the end is refused
 * before it could connect. Real listeners are in test/integration/registry-address-policy.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { AddressPolicy, AddressRefused, parseIp, parsePrivateRegistries, specialPurpose } from '../../src/registry/address-policy.js';
import { guardedTransport, type ResolvedAddress } from '../../src/registry/guarded-transport.js';
import { OciRegistryClient, type RegistryLogEvent } from '../../src/registry/oci-client.js';

/** Why `address` is not public, or undefined when it is. */
function whyNotPublic(address: string): string | undefined {
  const bytes = parseIp(address);
  assert.ok(bytes, `${address} parses as an IP address`);
  return specialPurpose(bytes);
}

const target = (address: string, port = 5000, host = address) => ({ host, port, address });

describe('which addresses are not public', () => {
  const refused: Array<[string, RegExp]> = [
    ['0.0.0.0', /"this network"/],
    ['0.1.2.3', /"this network"/],
    ['10.0.0.1', /private address \(10\.0\.0\.0\/8\)/],
    ['10.255.255.255', /private/],
    ['100.64.0.0', /carrier-grade NAT/],
    ['100.127.255.255', /carrier-grade NAT/],
    ['127.0.0.1', /loopback address \(127\.0\.0\.0\/8\)/],
    ['127.0.0.2', /loopback/],
    ['127.255.255.254', /loopback/],
    ['169.254.169.254', /link-local address \(where cloud metadata services answer\)/],
    ['172.16.0.0', /private address \(172\.16\.0\.0\/12\)/],
    ['172.31.255.255', /private/],
    ['192.168.1.1', /private address \(192\.168\.0\.0\/16\)/],
    ['192.0.0.170', /IETF/],
    ['198.18.0.1', /benchmarking/],
    ['224.0.0.1', /multicast/],
    ['239.255.255.250', /multicast/],
    ['240.0.0.1', /reserved/],
    ['255.255.255.255', /broadcast/],
    ['::', /unspecified/],
    ['::1', /loopback address \(::1\/128\)/],
    ['fe80::1', /link-local address \(fe80::\/10\)/],
    ['fe80::1%eth0', /link-local/],
    ['febf:ffff::1', /link-local/],
    ['fc00::1', /unique local/],
    ['fd12:3456::1', /unique local/],
    ['ff02::1', /multicast/],
    ['::7f00:1', /IPv4-compatible/],
  ];
  for (const [address, why] of refused) {
    it(`${address} is not public`, () => {
      assert.match(whyNotPublic(address) ?? 'public', why);
    });
  }

  it('IPv4-mapped IPv6 addresses are the IPv4 addresses they map, in every spelling', () => {
    for (const [mapped, why] of [
      ['::ffff:127.0.0.1', /loopback/],
      ['::ffff:7f00:2', /loopback/],
      ['0:0:0:0:0:ffff:10.1.2.3', /private/],
      ['::FFFF:169.254.169.254', /link-local/],
      ['::ffff:c0a8:101', /private/],
      ['::ffff:0.0.0.0', /"this network"/],
      ['::ffff:255.255.255.255', /broadcast/],
      ['::ffff:e000:1', /multicast/],
    ] as const) {
      assert.match(whyNotPublic(mapped) ?? 'public', why, mapped);
    }
    assert.equal(whyNotPublic('::ffff:8.8.8.8'), undefined, 'a mapped public address is public');
  });

  it('NAT64 and 6to4 addresses are judged by the IPv4 address they carry', () => {
    assert.match(whyNotPublic('64:ff9b::10.0.0.1') ?? 'public', /NAT64 form of 10\.0\.0\.1, a private address/);
    assert.match(whyNotPublic('64:ff9b::7f00:1') ?? 'public', /NAT64 form of 127\.0\.0\.1/);
    assert.match(whyNotPublic('2002:a9fe:a9fe::1') ?? 'public', /6to4 form of 169\.254\.169\.254/);
    assert.equal(whyNotPublic('64:ff9b::808:808'), undefined);
    assert.equal(whyNotPublic('2002:808:808::1'), undefined);
  });

  it('public addresses, right next to the ranges, are public', () => {
    for (const address of ['1.1.1.1', '8.8.8.8', '9.255.255.255', '11.0.0.0', '100.63.255.255', '100.128.0.0', '126.255.255.255', '128.0.0.0', '169.253.255.255', '169.255.0.0', '172.15.255.255', '172.32.0.0', '192.167.255.255', '192.169.0.0', '223.255.255.255', '2606:4700:4700::1111', '2a00:1450:4001::1', 'fbff::1', '2001:4860::1']) {
      assert.equal(whyNotPublic(address), undefined, `${address} is public`);
    }
  });
});

describe('AddressPolicy', () => {
  it('refuses every non-public address by default, naming the address and the range', () => {
    const policy = new AddressPolicy();
    assert.equal(policy.refusal(target('127.0.0.2')), '127.0.0.2 is a loopback address (127.0.0.0/8)');
    assert.equal(policy.refusal(target('::ffff:10.0.0.5', 80, 'registry.example')), '::ffff:10.0.0.5 is a private address (10.0.0.0/8)');
    assert.equal(policy.refusal(target('8.8.8.8', 443, 'registry.example')), undefined);
  });

  it('an IP entry allows that address on every port, or on its one port, and no neighbour', () => {
    const policy = new AddressPolicy({ allow: ['127.0.0.1', '10.0.0.7:5000', '[::1]:5000'] });
    assert.equal(policy.refusal(target('127.0.0.1', 1)), undefined);
    assert.equal(policy.refusal(target('127.0.0.1', 65535, 'localhost')), undefined, 'a name that resolves to it');
    assert.equal(policy.refusal(target('::ffff:127.0.0.1', 5000)), undefined, 'its IPv4-mapped form');
    assert.match(policy.refusal(target('127.0.0.2')) ?? 'allowed', /loopback/);
    assert.equal(policy.refusal(target('10.0.0.7', 5000)), undefined);
    assert.match(policy.refusal(target('10.0.0.7', 5001)) ?? 'allowed', /private/);
    assert.equal(policy.refusal(target('::1', 5000)), undefined);
    assert.match(policy.refusal(target('::1', 5001)) ?? 'allowed', /loopback/);
  });

  it('a CIDR allows every address in it, on every port', () => {
    const policy = new AddressPolicy({ allow: ['10.1.0.0/16', 'fd00:1::/32', '::ffff:192.168.7.0/120'] });
    assert.equal(policy.refusal(target('10.1.255.254', 443)), undefined);
    assert.match(policy.refusal(target('10.2.0.1')) ?? 'allowed', /private/);
    assert.equal(policy.refusal(target('fd00:1:2::3')), undefined);
    assert.match(policy.refusal(target('fd00:2::3')) ?? 'allowed', /unique local/);
    assert.equal(policy.refusal(target('192.168.7.9')), undefined, 'an IPv4-mapped CIDR is the IPv4 range');
    assert.match(policy.refusal(target('192.168.8.9')) ?? 'allowed', /private/);
  });

  it('a host entry allows that name (any case, trailing dot) whatever it resolves to, and only that name', () => {
    const policy = new AddressPolicy({ allow: ['Registry.Internal', 'cache.internal:5000'] });
    assert.equal(policy.refusal(target('10.9.8.7', 443, 'registry.internal')), undefined);
    assert.equal(policy.refusal(target('10.9.8.7', 443, 'REGISTRY.internal.')), undefined);
    assert.match(policy.refusal(target('10.9.8.7', 443, 'other.internal')) ?? 'allowed', /private/, 'the same address under another name');
    assert.match(policy.refusal(target('10.9.8.7')) ?? 'allowed', /private/, 'the same address written as an IP');
    assert.equal(policy.refusal(target('10.9.8.6', 5000, 'cache.internal')), undefined);
    assert.match(policy.refusal(target('10.9.8.6', 5001, 'cache.internal')) ?? 'allowed', /private/);
  });

  it("refuses the cluster's own addresses even when public, asking for them at each decision; the allow list still wins", () => {
    let nodes = ['93.184.216.34'];
    const policy = new AddressPolicy({ clusterAddresses: () => nodes });
    assert.match(policy.refusal(target('93.184.216.34', 10250)) ?? 'allowed', /an address of the cluster itself/);
    assert.ok(policy.isPrivate('93.184.216.34'), 'its errors are not shown either');
    nodes = [];
    assert.equal(policy.refusal(target('93.184.216.34', 10250)), undefined, 'a node that left is an address like any other');
    const allowed = new AddressPolicy({ allow: ['93.184.216.34:5000'], clusterAddresses: () => ['93.184.216.34'] });
    assert.equal(allowed.refusal(target('93.184.216.34', 5000)), undefined);
    assert.match(allowed.refusal(target('93.184.216.34', 10250)) ?? 'allowed', /cluster/);
  });

  it('isPrivate: allowed or not, a non-public address is private; a public one is not', () => {
    const policy = new AddressPolicy({ allow: ['127.0.0.1'] });
    assert.ok(policy.isPrivate('127.0.0.1'), 'allowed, and still private');
    assert.ok(policy.isPrivate('::ffff:10.0.0.1'), 'mapped');
    assert.ok(!policy.isPrivate('8.8.8.8'), 'public');
  });

  it('a bad entry is a RangeError naming it', () => {
    assert.throws(() => new AddressPolicy({ allow: ['http://registry:5000'] }), (err: Error) => err instanceof RangeError && err.message.includes('"http://registry:5000"'));
  });
});

describe('VKUBE_PRIVATE_REGISTRIES', () => {
  it('reads hosts, host:port pairs, IPs with or without a port, bracketed IPv6 and CIDRs; trims and lowercases', () => {
    assert.deepEqual(parsePrivateRegistries(' 127.0.0.1:5000, Registry.Internal ,registry.internal:5000,10.1.0.0/16,[::1]:5000,::1,[fd00::1],localhost,, '), [
      '127.0.0.1:5000',
      'registry.internal',
      'registry.internal:5000',
      '10.1.0.0/16',
      '[::1]:5000',
      '::1',
      '[fd00::1]',
      'localhost',
    ]);
    assert.deepEqual(parsePrivateRegistries(['127.0.0.1', 'fd00::/8']), ['127.0.0.1', 'fd00::/8']);
    assert.deepEqual(parsePrivateRegistries(''), []);
  });

  it('refuses anything else, naming the entry', () => {
    for (const [bad, why] of [
      ['http://registry.internal:5000', /"http:\/\/registry\.internal:5000" is not a host, host:port or CIDR/],
      ['registry.internal/v2', /"registry\.internal\/v2" is not a host, host:port or CIDR/],
      ['10.0.0.0/33', /"10\.0\.0\.0\/33" is not a CIDR/],
      ['fd00::/129', /is not a CIDR/],
      ['::ffff:10.0.0.0/64', /is not a CIDR/],
      ['10.1.0.0/16:5000', /is not a CIDR/],
      ['127.0.0.1:0', /"127\.0\.0\.1:0" has a port outside 1-65535/],
      ['registry.internal:70000', /has a port outside/],
      ['[registry]:5000', /no IPv6 address in its brackets/],
      ['[::1', /is not a host/],
      ['*.internal', /is not a host/],
      ['a b.internal', /is not a host/],
      ['300.1.1.1', /"300\.1\.1\.1" is neither an IP address nor a host name/],
      ['-bad-.internal', /is not a host/],
    ] as const) {
      assert.throws(() => parsePrivateRegistries(`127.0.0.1,${bad}`), (err: Error) => why.test(err.message) && err.message.includes('e.g. 127.0.0.1:5000'), bad);
    }
    assert.throws(() => parsePrivateRegistries([5000]), /must be a comma-separated list, or a list/);
    assert.throws(() => parsePrivateRegistries({ host: 'x' }), /must be a comma-separated list, or a list/);
  });

  it('config: none by default; the environment or the file (privateRegistries); a bad entry stops the start naming the setting', async () => {
    const cwd = tmpdir();
    assert.deepEqual(loadConfig({}, cwd).registry.privateRegistries, []);
    assert.deepEqual(loadConfig({ VKUBE_PRIVATE_REGISTRIES: '127.0.0.1:5000,10.1.0.0/16' }, cwd).registry.privateRegistries, ['127.0.0.1:5000', '10.1.0.0/16']);
    const dir = await mkdtemp(join(tmpdir(), 'vkube-config-'));
    await writeFile(join(dir, 'vkube.yaml'), 'privateRegistries:\n  - registry.internal\n  - "[::1]:5000"\n');
    assert.deepEqual(loadConfig({ VKUBE_CONFIG: 'vkube.yaml' }, dir).registry.privateRegistries, ['registry.internal', '[::1]:5000']);
    assert.throws(
      () => loadConfig({ VKUBE_PRIVATE_REGISTRIES: '127.0.0.1,registry.internal/x' }, cwd),
      (err: Error) => err instanceof ConfigError && err.message.startsWith('VKUBE_PRIVATE_REGISTRIES: "registry.internal/x" is not a host, host:port or CIDR'),
    );
    await writeFile(join(dir, 'bad.yaml'), 'privateRegistries: [ "10.0.0.0/40" ]\n');
    assert.throws(
      () => loadConfig({ VKUBE_CONFIG: 'bad.yaml' }, dir),
      (err: Error) => err instanceof ConfigError && err.message.startsWith('VKUBE_PRIVATE_REGISTRIES (privateRegistries in VKUBE_CONFIG): "10.0.0.0/40"'),
    );
  });
});

describe('the guarded transport', () => {
  /** A transport whose DNS answers from `dns` and whose dialler records instead of connecting. */
  function offline(policy: AddressPolicy, dns: Record<string, string[]>) {
    const resolved: string[] = [];
    const dialled: Array<{ hostname: string; addresses: string[] }> = [];
    const transport = guardedTransport(policy, {
      resolve: async (hostname) => {
        resolved.push(hostname);
        const answer = dns[hostname];
        if (!answer) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
        return answer.map((address): ResolvedAddress => ({ address, family: address.includes(':') ? 6 : 4 }));
      },
      dial: (options, addresses, callback) => {
        dialled.push({ hostname: options.hostname, addresses: addresses.map((a) => a.address) });
        callback(Object.assign(new Error('connect ECONNREFUSED (the test dialler connects nowhere)'), { code: 'ECONNREFUSED' }), null);
      },
    });
    return { transport, resolved, dialled };
  }

  async function failure(promise: Promise<Response>): Promise<unknown> {
    const err = await promise.then(
      () => assert.fail('the fetch succeeded'),
      (e: unknown) => e,
    );
    return (err as { cause?: unknown }).cause;
  }

  it('a name that resolves to a refused address is not dialled: the fetch fails with AddressRefused', async () => {
    const { transport, dialled, resolved } = offline(new AddressPolicy(), { 'metadata.internal': ['169.254.169.254'] });
    const session = transport();
    const cause = await failure(session.fetch(new URL('http://metadata.internal/latest/meta-data'), { method: 'GET' }));
    session.close();
    assert.ok(cause instanceof AddressRefused, `the cause is AddressRefused: ${String(cause)}`);
    assert.match(cause.message, /^metadata\.internal:80 was not contacted: 169\.254\.169\.254 is a link-local address/);
    assert.deepEqual(resolved, ['metadata.internal'], 'resolved once');
    assert.deepEqual(dialled, [], 'nothing dialled');
  });

  it('only the addresses that passed are dialled (a name that also answers a loopback address: DNS rebinding)', async () => {
    const { transport, dialled } = offline(new AddressPolicy(), { 'rebind.example': ['93.184.216.34', '127.0.0.1', '::1', '2606:2800:220:1::1'] });
    const session = transport();
    await failure(session.fetch(new URL('https://rebind.example/v2/'), { method: 'HEAD' }));
    session.close();
    assert.deepEqual(dialled[0], { hostname: 'rebind.example', addresses: ['93.184.216.34', '2606:2800:220:1::1'] }, 'the host name is kept (Host, SNI), the addresses pinned');
    assert.equal(session.reachedPrivate, false);
  });

  it('an IP written in the URL is classified as it is; an allowed private one marks the session', async () => {
    const { transport, dialled } = offline(new AddressPolicy({ allow: ['127.0.0.1:5000'] }), { '127.0.0.1': ['127.0.0.1'], '127.0.0.2': ['127.0.0.2'], '::1': ['::1'] });
    const session = transport();
    assert.ok(!session.reachedPrivate, 'nothing reached yet');
    await failure(session.fetch(new URL('http://127.0.0.1:5000/v2/'), { method: 'GET' }));
    assert.ok(session.reachedPrivate, 'an allowed private address was dialled: its errors are not for callers');
    assert.ok((await failure(session.fetch(new URL('http://127.0.0.2:5000/v2/'), { method: 'GET' }))) instanceof AddressRefused, '127.0.0.2');
    assert.ok((await failure(session.fetch(new URL('http://[::1]:5000/v2/'), { method: 'GET' }))) instanceof AddressRefused, '[::1] is not 127.0.0.1');
    session.close();
    assert.deepEqual(
      dialled.map((d) => d.addresses),
      [['127.0.0.1']],
    );
  });

  it('a name that does not resolve fails as DNS does, with nothing dialled', async () => {
    const { transport, dialled } = offline(new AddressPolicy(), {});
    const session = transport();
    const cause = await failure(session.fetch(new URL('https://nowhere.invalid/v2/'), { method: 'GET' }));
    session.close();
    assert.equal((cause as { code?: string }).code, 'ENOTFOUND');
    assert.deepEqual(dialled, []);
  });
});

describe('OciRegistryClient with the address policy', () => {
  it('a registry on a refused address is "blocked": nothing is sent, the log hears why, callers get no detail', async () => {
    const events: RegistryLogEvent[] = [];
    const client = new OciRegistryClient({ cache: false, retries: 2, log: (event) => events.push(event) });
    // Port 5000 of 127.0.0.2: whether anything listens there, it is not contacted.
    const check = await client.check('127.0.0.2:5000/team/app:v1');
    assert.equal(check.status, 'blocked', JSON.stringify(check));
    assert.ok(!('detail' in check), 'a blocked check has no detail for callers');
    assert.equal(check.status === 'blocked' && check.logDetail, 'registry 127.0.0.2:5000: 127.0.0.2:5000 was not contacted: 127.0.0.2 is a loopback address (127.0.0.0/8); VKUBE_PRIVATE_REGISTRIES does not allow it');
    assert.deepEqual(events, [
      { message: 'image check refused: the registry is on an address V-Kube does not contact', image: '127.0.0.2:5000/team/app:v1', detail: check.status === 'blocked' ? check.logDetail : '' },
    ]);
  });
});
