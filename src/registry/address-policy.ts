/**
 * Which addresses image checks may connect to.
 *
 * An image check connects wherever a reference points — and a registry's redirects
 * and token realm point further — and the anonymous `GET /k8s/images` lets anyone
 * choose the reference. Without a rule V-Kube would probe the provider's own network
 * for whoever asks: loopback ports, private ranges, a cloud's metadata service, a
 * kubelet. So every address that is not on the public Internet (loopback, private,
 * link-local, carrier-grade NAT, multicast, reserved… and the IPv4-mapped, NAT64 and
 * 6to4 forms of those), and the cluster's own addresses, are refused unless the
 * provider allows them: `VKUBE_PRIVATE_REGISTRIES` lists hosts, host:port pairs and
 * CIDRs, and each registry mirror's own host:port is allowed with it.
 *
 * Pure: addresses in, decisions out. `guarded-transport.ts` asks it about every
 * address a connection would go to, after DNS resolution and before connecting.
 */
import { isIP } from 'node:net';

export interface ConnectTarget {
  /** The host as the URL names it (a name, or an IP without brackets), lowercase. */
  host: string;
  port: number;
  /** The IP address the connection would go to: the host itself, or what it resolved to. */
  address: string;
}

export interface AddressPolicyOptions {
  /** Entries as `VKUBE_PRIVATE_REGISTRIES` takes them: `host`, `host:port`, `ip`, `ip:port`, `[ipv6]:port`, `cidr`. */
  allow?: readonly string[];
  /** The cluster's own addresses (its nodes', its API server's), asked at each connection since nodes come and go. */
  clusterAddresses?: () => Iterable<string>;
}

/** A connection the policy refused: nothing was sent to `host`. The message is for the provider's log. */
export class AddressRefused extends Error {
  readonly code = 'VKUBE_ADDRESS_REFUSED';
  constructor(
    readonly host: string,
    readonly port: number,
    reasons: readonly string[],
  ) {
    super(`${hostPort(host, port)} was not contacted: ${reasons.join('; ')}; VKUBE_PRIVATE_REGISTRIES does not allow it`);
    this.name = 'AddressRefused';
  }
}

/** `[::1]:5000`, `ghcr.io:443`. */
export function hostPort(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/** The host:port a URL connects to, its scheme's default port filled in. */
export function hostPortOf(url: URL): string {
  return hostPort(url.hostname.replace(/^\[|\]$/g, ''), portOf(url.port, url.protocol));
}

/** A URL's port (`''` when it is the scheme's default) as a number. */
export function portOf(port: string, protocol: string): number {
  return Number(port) || (protocol === 'https:' ? 443 : 80);
}

/** 4 bytes for IPv4, 16 for IPv6. */
type Bytes = Uint8Array;

interface Range {
  network: Bytes;
  prefix: number;
  /** `a loopback address (127.0.0.0/8)`: completes "127.0.0.2 is …". */
  description: string;
}

/** Not on the public Internet (IANA's special-purpose registries); the first match names the reason. */
const SPECIAL_RANGES: Range[] = (
  [
    ['0.0.0.0/8', 'a "this network" address'],
    ['10.0.0.0/8', 'a private address'],
    ['100.64.0.0/10', 'a carrier-grade NAT address'],
    ['127.0.0.0/8', 'a loopback address'],
    ['169.254.0.0/16', 'a link-local address (where cloud metadata services answer)'],
    ['172.16.0.0/12', 'a private address'],
    ['192.0.0.0/24', 'an IETF protocol assignment'],
    ['192.0.2.0/24', 'a documentation address'],
    ['192.168.0.0/16', 'a private address'],
    ['198.18.0.0/15', 'a benchmarking address'],
    ['198.51.100.0/24', 'a documentation address'],
    ['203.0.113.0/24', 'a documentation address'],
    ['224.0.0.0/4', 'a multicast address'],
    ['240.0.0.0/4', 'a reserved address (with the broadcast address 255.255.255.255)'],
    ['::/128', 'the unspecified address'],
    ['::1/128', 'the loopback address'],
    ['::/96', 'an IPv4-compatible address (deprecated)'],
    ['64:ff9b:1::/48', 'a local-use NAT64 address'],
    ['100::/64', 'a discard-only address'],
    ['2001:db8::/32', 'a documentation address'],
    ['fc00::/7', 'a unique local (private) address'],
    ['fe80::/10', 'a link-local address'],
    ['fec0::/10', 'a site-local address (deprecated)'],
    ['ff00::/8', 'a multicast address'],
  ] as const
).map(([cidr, what]) => ({ ...parseCidr(cidr)!, description: `${what} (${cidr})` }));

/**
 * IPv6 prefixes whose addresses carry an IPv4 address that a gateway forwards to: such
 * an address is as public as the IPv4 address inside it. (IPv4-mapped addresses,
 * ::ffff:0:0/96, are IPv4 addresses outright: see `parseIp`.)
 */
const EMBEDDING_RANGES: Array<{ network: Bytes; prefix: number; offset: number; name: string }> = [
  { ...parseCidr('64:ff9b::/96')!, offset: 12, name: 'NAT64' },
  { ...parseCidr('2002::/16')!, offset: 2, name: '6to4' },
];

type AllowEntry = { kind: 'name'; host: string; port?: number } | { kind: 'address'; network: Bytes; prefix: number; port?: number };

export class AddressPolicy {
  private readonly allowed: AllowEntry[];
  private readonly clusterAddresses: () => Iterable<string>;

  constructor(options: AddressPolicyOptions = {}) {
    this.allowed = (options.allow ?? []).map((entry) => {
      const parsed = parseAllowEntry(entry);
      if (typeof parsed === 'string') throw new RangeError(`allow: ${parsed}`);
      return parsed;
    });
    this.clusterAddresses = options.clusterAddresses ?? (() => []);
  }

  /** Why a connection to `target` must not be made, for the log; undefined when it may. */
  refusal(target: ConnectTarget): string | undefined {
    const address = parseIp(target.address);
    if (!address) return `${target.address} is not an IP address`;
    const why = this.whyNotPublic(address);
    if (why === undefined || this.allows(target, address)) return undefined;
    return `${target.address} is ${why}`;
  }

  /**
   * Whether `address` is one whose connection errors would tell about a network that
   * is not the public Internet (allowed or not): those errors are kept from callers.
   */
  isPrivate(address: string): boolean {
    const parsed = parseIp(address);
    return !parsed || this.whyNotPublic(parsed) !== undefined;
  }

  private whyNotPublic(address: Bytes): string | undefined {
    const special = specialPurpose(address);
    if (special) return special;
    for (const written of this.clusterAddresses()) {
      const own = parseIp(written);
      if (own && equalBytes(own, address)) return 'an address of the cluster itself (a node or its API server)';
    }
    return undefined;
  }

  private allows(target: ConnectTarget, address: Bytes): boolean {
    const host = normaliseHost(target.host);
    return this.allowed.some(
      (entry) =>
        (entry.port === undefined || entry.port === target.port) &&
        (entry.kind === 'name' ? entry.host === host : inRange(address, entry.network, entry.prefix)),
    );
  }
}

/** The description of a non-public address (`a loopback address (127.0.0.0/8)`), or undefined for a public one. */
export function specialPurpose(address: Bytes): string | undefined {
  for (const range of SPECIAL_RANGES) if (inRange(address, range.network, range.prefix)) return range.description;
  for (const range of EMBEDDING_RANGES) {
    if (!inRange(address, range.network, range.prefix)) continue;
    const inner = address.slice(range.offset, range.offset + 4);
    const why = specialPurpose(inner);
    return why && `a ${range.name} form of ${inner.join('.')}, ${why}`;
  }
  return undefined;
}

/**
 * Reads `VKUBE_PRIVATE_REGISTRIES`: a comma-separated string (the environment) or a
 * list (a config file). Returns the entries normalised (lowercase, trimmed); throws an
 * Error naming the first bad one, for the caller to prefix with the setting's name.
 */
export function parsePrivateRegistries(value: unknown): string[] {
  const entries =
    typeof value === 'string'
      ? value.split(',')
      : Array.isArray(value) && value.every((e): e is string => typeof e === 'string')
        ? value
        : undefined;
  if (!entries) throw new Error('must be a comma-separated list, or a list, of hosts, host:port pairs and CIDRs');
  const normalised = entries.map((e) => e.trim().toLowerCase()).filter((e) => e !== '');
  for (const entry of normalised) {
    const parsed = parseAllowEntry(entry);
    if (typeof parsed === 'string') throw new Error(parsed);
  }
  return normalised;
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const EXAMPLES = '(e.g. 127.0.0.1:5000, registry.internal, registry.internal:5000, 10.1.0.0/16, [::1]:5000)';

/** One allow entry, or the reason it is not one. */
function parseAllowEntry(written: string): AllowEntry | string {
  const text = written.trim().toLowerCase();
  const bad = (why: string) => `"${written}" ${why} ${EXAMPLES}`;
  if (text.includes('/')) {
    if (!parseIp(text.slice(0, text.indexOf('/')))) return bad('is not a host, host:port or CIDR');
    const range = parseCidr(text);
    return range ? { kind: 'address', ...range } : bad('is not a CIDR such as 10.1.0.0/16');
  }
  // An IPv6 address alone, or in brackets with or without a port.
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const [host, portText] = bracketed ? [bracketed[1]!, bracketed[2]] : isIP(text) ? [text, undefined] : splitPort(text);
  let port: number | undefined;
  if (portText !== undefined) {
    port = Number(portText);
    if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) return bad('has a port outside 1-65535');
  }
  const address = parseIp(host);
  if (address) return { kind: 'address', network: address, prefix: address.length * 8, ...(port !== undefined ? { port } : {}) };
  if (bracketed) return bad('has no IPv6 address in its brackets');
  const name = normaliseHost(host);
  const labels = name.split('.');
  if (name.length > 253 || !labels.every((label) => LABEL.test(label))) return bad('is not a host, host:port or CIDR');
  // URLs read a numeric last label as an IPv4 address (`1.2.3` is 1.2.0.3): a name may not end in one.
  if (/^\d+$/.test(labels.at(-1)!)) return bad('is neither an IP address nor a host name');
  return { kind: 'name', host: name, ...(port !== undefined ? { port } : {}) };
}

function splitPort(text: string): [string, string | undefined] {
  const match = /^(.*):(\d+)$/.exec(text);
  return match ? [match[1]!, match[2]] : [text, undefined];
}

/** Host names compare lowercase and without the root's trailing dot. */
function normaliseHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

function parseCidr(text: string): { network: Bytes; prefix: number } | undefined {
  const slash = text.indexOf('/');
  const network = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!network || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  const written = isIP(text.slice(0, slash)) === 6 ? 128 : 32;
  // An IPv4-mapped range (::ffff:10.0.0.0/104) is the IPv4 range it maps; a wider one is not one range.
  const bits = prefix - (written - network.length * 8);
  if (prefix > written || bits < 0) return undefined;
  return { network, prefix: bits };
}

/**
 * The bytes of an IP address: 4 for IPv4, 16 for IPv6, and 4 for an IPv4-mapped IPv6
 * address (::ffff:127.0.0.1), because that is where a dual-stack socket connects. A
 * zone (`fe80::1%eth0`) is dropped. Undefined for anything else.
 */
export function parseIp(text: string): Bytes | undefined {
  const address = text.replace(/%.*$/, '');
  switch (isIP(address)) {
    case 4:
      return Uint8Array.from(address.split('.').map(Number));
    case 6: {
      const bytes = ipv6Bytes(address);
      const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
      return mapped ? bytes.slice(12) : bytes;
    }
    default:
      return undefined;
  }
}

/** Parses an address `isIP` has already accepted as IPv6. */
function ipv6Bytes(address: string): Bytes {
  const groups = (part: string): number[] => {
    if (part === '') return [];
    return part.split(':').flatMap((group) => {
      if (!group.includes('.')) return [parseInt(group, 16)];
      const [a, b, c, d] = group.split('.').map(Number);
      return [(a! << 8) | b!, (c! << 8) | d!];
    });
  };
  const gap = address.indexOf('::');
  const head = groups(gap === -1 ? address : address.slice(0, gap));
  const tail = gap === -1 ? [] : groups(address.slice(gap + 2));
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  return Uint8Array.from(all.flatMap((group) => [group >> 8, group & 0xff]));
}

function inRange(address: Bytes, network: Bytes, prefix: number): boolean {
  if (address.length !== network.length) return false;
  for (let bit = 0; bit < prefix; bit += 8) {
    const mask = prefix - bit >= 8 ? 0xff : (0xff << (8 - (prefix - bit))) & 0xff;
    if ((address[bit / 8]! & mask) !== (network[bit / 8]! & mask)) return false;
  }
  return true;
}

function equalBytes(a: Bytes, b: Bytes): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
