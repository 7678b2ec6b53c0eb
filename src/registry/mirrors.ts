/**
 * Registry mirrors, as a node's containerd knows them from `hosts.toml`: for a
 * registry, the endpoints its images are pulled from, in order. Image checks ask the
 * same endpoints, so that "does nginx exist?" is answered where the node will pull it.
 *
 * Written in the environment as `registry=endpoint|endpoint,registry=endpoint`
 * (`docker.io=http://127.0.0.1:5000|https://registry-1.docker.io`), in a config file
 * also as an object of registry → list of endpoints. Each endpoint is
 * `http://` or `https://` host[:port]: nothing else, so that no path, query or
 * credentials hide in a setting that is logged and shown in errors.
 */
import { isRegistryHost, registryName } from './reference.js';

/** Registry name (as `registryName` gives it) → endpoint base URLs (`https://mirror.example:5000`), in the order they are asked. */
export type RegistryMirrors = Readonly<Record<string, readonly string[]>>;

const ENTRY_SEPARATOR = ',';
const ENDPOINT_SEPARATOR = '|';
const SCHEME = /^(https?):\/\//i;
/** A host without dot or port (`mirror`): no reference can name it, but an endpoint may be one. */
const PLAIN_HOST = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/**
 * Reads the setting: the environment's string form or a config file's object form.
 * Throws an Error whose message names the bad part, for the caller to prefix with
 * the setting's name.
 */
export function parseRegistryMirrors(value: unknown): Record<string, string[]> {
  if (typeof value === 'string') return mirrorsFromEntries(textEntries(value));
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return mirrorsFromEntries(Object.entries(value).map(([registry, endpoints]) => [registry, endpointList(registry, endpoints)]));
  }
  throw new Error('must be "registry=endpoint|endpoint,…" or an object of registry → list of endpoints');
}

/** The endpoints that stand in for `registry`, or undefined when it is not mirrored. */
export function mirrorsOf(mirrors: RegistryMirrors, registry: string): readonly string[] | undefined {
  const name = registryName(registry);
  return Object.hasOwn(mirrors, name) ? mirrors[name] : undefined;
}

/** `docker.io=http://a|http://b, ghcr.io=https://c` → [registry, endpoints as written] pairs. */
function textEntries(text: string): Array<[string, string[]]> {
  const entries: Array<[string, string[]]> = [];
  for (const entry of text.split(ENTRY_SEPARATOR).map((e) => e.trim())) {
    if (entry === '') continue;
    const equals = entry.indexOf('=');
    if (equals === -1) throw new Error(`"${entry}" is not registry=endpoint|endpoint`);
    entries.push([entry.slice(0, equals).trim(), splitEndpoints(entry.slice(equals + 1))]);
  }
  return entries;
}

/** A config file's value for one registry: a list of endpoints, or one string in the environment's `a|b` form. */
function endpointList(registry: string, endpoints: unknown): string[] {
  if (typeof endpoints === 'string') return splitEndpoints(endpoints);
  if (Array.isArray(endpoints) && endpoints.every((e): e is string => typeof e === 'string')) return endpoints.map((e) => e.trim());
  throw new Error(`the endpoints of "${registry}" must be a list of http(s):// URLs`);
}

/** `a|b` → ['a', 'b']; nothing at all → no endpoints (refused later with the registry named). */
function splitEndpoints(text: string): string[] {
  return text.trim() === '' ? [] : text.split(ENDPOINT_SEPARATOR).map((e) => e.trim());
}

function mirrorsFromEntries(entries: Array<[string, string[]]>): Record<string, string[]> {
  const mirrors: Record<string, string[]> = {};
  for (const [written, endpoints] of entries) {
    if (!isRegistryHost(written)) {
      throw new Error(`"${written}" is not a registry host an image reference can name (e.g. docker.io, ghcr.io, 127.0.0.1:5000)`);
    }
    const registry = registryName(written);
    if (Object.hasOwn(mirrors, registry)) throw new Error(`"${written}" is listed twice (as ${registry})`);
    if (endpoints.length === 0) throw new Error(`"${written}" has no endpoints`);
    const bases = endpoints.map((endpoint) => endpointBase(written, endpoint));
    const repeated = bases.find((base, i) => bases.indexOf(base) !== i);
    if (repeated !== undefined) throw new Error(`"${written}" lists ${repeated} twice`);
    mirrors[registry] = bases;
  }
  return mirrors;
}

/** `HTTP://Mirror.Example:5000/` → `http://mirror.example:5000`; anything beyond scheme, host and port is refused. */
function endpointBase(registry: string, endpoint: string): string {
  const bad = (why: string): never => {
    throw new Error(`endpoint "${endpoint}" of "${registry}" ${why}`);
  };
  if (endpoint === '') bad('is empty');
  if (!SCHEME.test(endpoint)) bad('must start with http:// or https://');
  const authority = endpoint.replace(SCHEME, '');
  // Checked on the text: URL would accept these and move them out of the host.
  if (authority.includes('@')) bad('must not carry credentials (the customer’s credentials are used)');
  if (/[?#]/.test(authority)) bad('must not have a query or fragment');
  const host = authority.replace(/\/$/, '').toLowerCase();
  if (host.includes('/')) bad('must not have a path (give http(s)://host[:port])');
  // Judged as written, because URL accepts far more than a host (spaces, `%`, unicode).
  if (!isRegistryHost(host) && !PLAIN_HOST.test(host)) bad('does not name a valid host[:port]');
  try {
    return new URL(endpoint).origin;
  } catch {
    return bad('does not name a valid host[:port]');
  }
}

