/**
 * Image checks against any OCI distribution registry (Docker Hub, GHCR, Harbor,
 * docker-registry, …): `HEAD /v2/<repository>/manifests/<tag or digest>`, with the
 * registry's own authentication dance (anonymous or Basic credentials, Bearer tokens
 * from the registry's token service).
 *
 * The answer keeps apart what the customer must hear ("that image does not exist")
 * from what is our problem or the registry's ("could not ask"): a registry that is
 * down, slow, or answering 5xx is `unreachable`, never `missing`.
 *
 * Every connection obeys the address policy (address-policy.ts): a registry, redirect
 * or token service on a loopback, private, link-local or cluster address is `blocked`
 * unless the provider allows it, and nothing is sent there.
 */
import { createHash } from 'node:crypto';
import { LruMap } from '../kernel/lru-map.js';
import { AddressPolicy, hostPortOf } from './address-policy.js';
import { type AuthChallenge, parseWwwAuthenticate } from './challenge.js';
import { CheckCache, type CheckCacheOptions, credentialsFingerprint } from './check-cache.js';
import { mirrorsOf, parseRegistryMirrors, type RegistryMirrors } from './mirrors.js';
import { DOCKER_HUB, DOCKER_HUB_API_HOST, parseReference } from './reference.js';
import {
  discardBody,
  type HttpDeps,
  readBodyLimited,
  RegistryRefused,
  RegistryUnreachable,
  type RetryPolicy,
  sendWithRetries,
} from './registry-http.js';
import { guardedTransport, type Transport, unguardedTransport } from './guarded-transport.js';
import type { ImageCheck, ImageReference, ImageRegistry, RegistryCredentials } from './types.js';

export interface OciRegistryClientOptions {
  /** Longest wait for one answer, in ms (default 5,000). A check is bounded by this × (retries + 1) per endpoint it asks (the registry, or each of its mirrors). */
  timeoutMs?: number;
  /** Extra attempts on 5xx, 429, dropped connections and timeouts (default 2). */
  retries?: number;
  /** First backoff delay in ms, doubled per retry, with jitter (default 200). */
  backoffBaseMs?: number;
  /** Longest backoff delay in ms (default 2,000). */
  backoffMaxMs?: number;
  /** Longest `Retry-After` honoured, in ms (default 5,000). */
  retryAfterCapMs?: number;
  /**
   * Registries reached over plain HTTP, as `host` (any port) or `host:port`.
   * Loopback hosts (localhost, 127.x, [::1]) always are, as Docker does.
   */
  insecureRegistries?: string[];
  /**
   * Registry → endpoints (`http(s)://host[:port]`) its images are checked at, in
   * order, instead of the registry itself: the node's containerd `hosts.toml`.
   */
  mirrors?: RegistryMirrors;
  /**
   * What image checks may contact although it is not on the public Internet, as
   * `VKUBE_PRIVATE_REGISTRIES` lists it: `127.0.0.1:5000`, `registry.internal`,
   * `10.1.0.0/16`, `[::1]:5000`… (default none). Each mirror endpoint's own host:port
   * is allowed too: it is the provider's choice of host.
   */
  privateRegistries?: readonly string[];
  /** The cluster's own addresses (nodes, API server), refused like private ones; asked at each connection. */
  clusterAddresses?: () => Iterable<string>;
  /** Hears what callers are not told: why a check was refused, how a private registry failed. */
  log?: (event: RegistryLogEvent) => void;
  /** Answer cache settings, or `false` to ask the registry every time. */
  cache?: CheckCacheOptions | false;
  /**
   * The fetch to use instead of the guarded one; tests of the protocol inject a double.
   * It is used as it is: the address policy applies only to the client's own transport.
   */
  fetch?: typeof fetch;
  /** Waiting between retries; tests make it instant. */
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source, uniform in [0, 1). */
  random?: () => number;
  /** Clock in epoch ms, for token lifetimes and the check deadline; tests move it. */
  now?: () => number;
}

export interface RegistryLogEvent {
  message: string;
  /** The canonical reference that was checked. */
  image: string;
  detail: string;
}

/** Most manifest types first; the signed v1 schema only when nothing else exists. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws;q=0.5',
].join(', ');

const USER_AGENT = 'vkube-registry-client/1';
/** The largest manifest docker distribution accepts; a bigger body is not a manifest we need to hash. */
const MANIFEST_BODY_LIMIT = 4 * 1024 * 1024;
const TOKEN_BODY_LIMIT = 1024 * 1024;
/** What the token spec says to assume when the token service does not say. */
const DEFAULT_TOKEN_LIFETIME_MS = 60_000;
const TOKEN_REFRESH_MARGIN_MS = 30_000;
const DIGEST_HEADER = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** One place a check asks: the registry's own API, or one of its mirrors. */
interface Endpoint {
  /** `https://ghcr.io`, `http://127.0.0.1:5000`, … */
  base: string;
  /** What messages call it: `registry ghcr.io`, `mirror http://127.0.0.1:5000 of docker.io`. */
  peer: string;
  /**
   * containerd's `ns` query parameter: the registry a mirror is asked on behalf of,
   * which lets one mirror serve several registries. Unset when asking the registry itself.
   */
  namespace?: string;
}

/** Everything one check of one endpoint needs to know, fixed when it starts. */
interface CheckContext {
  reference: ImageReference;
  credentials: RegistryCredentials | undefined;
  fingerprint: string;
  /** `https://ghcr.io`, `http://127.0.0.1:5000`, … */
  endpoint: string;
  namespace: string | undefined;
  scope: string;
  /** Epoch ms: no request of this check starts or continues after it. */
  deadline: number;
  peer: string;
  /** The retry policy's helpers with this check's own fetch (its transport session). */
  http: HttpDeps;
}

/** An Authorization header and whether a 401 to it could just mean it went stale. */
interface Authorization {
  header: string;
  /** Set when the header came from the token cache; a 401 then deserves a fresh token. */
  cachedTokenKey?: string;
}

/** Either a response to interpret, or an answer already settled while authenticating. */
type ManifestOutcome = { response: Response } | { answer: ImageCheck };
type AuthOutcome = { authorization: Authorization | undefined } | { answer: ImageCheck };

interface CachedToken {
  header: string;
  expiresAt: number;
}

export class OciRegistryClient implements ImageRegistry {
  private readonly policy: RetryPolicy;
  private readonly deps: Omit<HttpDeps, 'fetch'>;
  private readonly transport: Transport;
  private readonly log: ((event: RegistryLogEvent) => void) | undefined;
  private readonly insecureRegistries: Set<string>;
  private readonly mirrors: RegistryMirrors;
  private readonly cache: CheckCache | undefined;
  private readonly tokens = new LruMap<string, CachedToken>(1_000);
  /** The challenge each endpoint sent last, so later checks can authenticate up front. */
  private readonly challenges = new LruMap<string, AuthChallenge>(1_000);

  constructor(options: OciRegistryClientOptions = {}) {
    this.policy = {
      timeoutMs: positive(options.timeoutMs ?? 5_000, 'timeoutMs'),
      retries: wholeNumber(options.retries ?? 2, 'retries'),
      backoffBaseMs: wholeNumber(options.backoffBaseMs ?? 200, 'backoffBaseMs'),
      backoffMaxMs: wholeNumber(options.backoffMaxMs ?? 2_000, 'backoffMaxMs'),
      retryAfterCapMs: wholeNumber(options.retryAfterCapMs ?? 5_000, 'retryAfterCapMs'),
    };
    this.deps = {
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
    };
    this.insecureRegistries = new Set((options.insecureRegistries ?? []).map(normaliseRegistryHost).filter(Boolean));
    this.mirrors = validMirrors(options.mirrors ?? {});
    this.transport = options.fetch
      ? unguardedTransport(options.fetch)
      : guardedTransport(
          new AddressPolicy({
            allow: [...(options.privateRegistries ?? []), ...mirrorHosts(this.mirrors)],
            ...(options.clusterAddresses ? { clusterAddresses: options.clusterAddresses } : {}),
          }),
        );
    this.log = options.log;
    this.cache = options.cache === false ? undefined : new CheckCache({ now: this.deps.now, ...options.cache });
  }

  async check(reference: string, credentials?: RegistryCredentials): Promise<ImageCheck> {
    const parsed = parseReference(reference);
    const endpoints = this.endpointsFor(parsed);
    const lookup = () => this.lookup(parsed, credentials, endpoints);
    if (!this.cache) return lookup();
    // Keyed on where it is asked too, so a mirror's answer never stands in for the registry's.
    const askedAt = endpoints.map((endpoint) => endpoint.base);
    return this.cache.getOrLoad(CheckCache.key(parsed.canonical, askedAt, credentials), lookup);
  }

  /** The base URL a registry's API is reached at. */
  endpointFor(registry: string): string {
    if (registry === DOCKER_HUB) return `https://${DOCKER_HUB_API_HOST}`;
    const host = normaliseRegistryHost(registry);
    const plain = isLoopback(hostname(host)) || this.insecureRegistries.has(host) || this.insecureRegistries.has(hostname(host));
    return `${plain ? 'http' : 'https'}://${registry}`;
  }

  /**
   * Where a reference is asked: its registry's mirrors, in their order and only
   * those (as containerd does with `server = "<mirror>"` in hosts.toml: the upstream
   * is asked only when it is listed), else the registry itself.
   */
  private endpointsFor(reference: ImageReference): Endpoint[] {
    const { registry } = reference;
    const mirrors = mirrorsOf(this.mirrors, registry);
    if (!mirrors) return [{ base: this.endpointFor(registry), peer: describeRegistry(registry) }];
    return mirrors.map((base) =>
      isProxyFor(base, registry) ? { base, peer: `mirror ${base} of ${registry}`, namespace: registry } : { base, peer: describeRegistry(registry) },
    );
  }

  /**
   * Asks each endpoint in turn until one has the manifest. Whatever an endpoint
   * answers otherwise (not found, refused, unreachable), the next one is asked, as
   * containerd's resolver does (core/remotes/docker/resolver.go); the answers are
   * then weighed by `settleAcrossEndpoints`.
   *
   * The customer's credentials go to every endpoint that asks for them. That is what
   * the node does, per containerd v2.4.2 internal/cri/server/images/image_pull.go:
   * `registryHosts` hands the pull's credentials function to every host of the list
   * (config.ConfigureHosts → docker.NewDockerAuthorizer), the authorizer calls it
   * with the host that sent the 401 challenge, and `ParseAuth` returns the
   * credentials for any host unless the CRI AuthConfig's ServerAddress names another
   * one; the kubelet, which builds that AuthConfig from the pod's pull Secrets, leaves
   * ServerAddress empty (kubernetes pkg/credentialprovider/keyring.go). An endpoint
   * that asks for no authentication never sees them.
   */
  private async lookup(reference: ImageReference, credentials: RegistryCredentials | undefined, endpoints: Endpoint[]): Promise<ImageCheck> {
    const answers: ImageCheck[] = [];
    for (const endpoint of endpoints) {
      const answer = await this.lookupAt(endpoint, reference, credentials);
      if (answer.status === 'exists') return answer;
      answers.push(answer);
    }
    return settleAcrossEndpoints(reference, answers);
  }

  private async lookupAt(endpoint: Endpoint, reference: ImageReference, credentials: RegistryCredentials | undefined): Promise<ImageCheck> {
    const session = this.transport();
    const context: CheckContext = {
      reference,
      credentials,
      fingerprint: credentialsFingerprint(credentials),
      endpoint: endpoint.base,
      namespace: endpoint.namespace,
      scope: `repository:${reference.repository}:pull`,
      // Each endpoint has the whole budget: a hung first mirror must not starve the next.
      deadline: this.deps.now() + this.policy.timeoutMs * (this.policy.retries + 1),
      peer: endpoint.peer,
      http: { ...this.deps, fetch: session.fetch },
    };
    try {
      return await this.lookupManifest(context);
    } catch (err) {
      if (err instanceof RegistryRefused) {
        this.log?.({ message: 'image check refused: the registry is on an address V-Kube does not contact', image: reference.canonical, detail: err.message });
        return { status: 'blocked', reference, logDetail: err.message };
      }
      // Whatever went wrong, the registry was not asked to the end: never "missing".
      const detail =
        err instanceof RegistryUnreachable
          ? err.message
          : `${context.peer}: the check failed (${err instanceof Error ? err.message : String(err)})`;
      if (!session.reachedPrivate) return { status: 'unreachable', reference, detail };
      this.log?.({ message: 'image check: a registry on a private address could not be reached', image: reference.canonical, detail });
      return { status: 'unreachable', reference, detail: `${context.peer} could not be reached`, logDetail: detail };
    } finally {
      session.close();
    }
  }

  private async lookupManifest(context: CheckContext): Promise<ImageCheck> {
    const head = await this.requestManifest(context, 'HEAD');
    if ('answer' in head) return head.answer;
    const { status } = head.response;
    if (status === 200) {
      const digest = context.reference.digest ?? contentDigest(head.response);
      if (digest) return exists(context, digest);
    } else if (status !== 405) {
      return this.answerFor(context, head.response);
    }
    // Some registries do not implement HEAD (405) or leave out the digest on it.
    const get = await this.requestManifest(context, 'GET');
    if ('answer' in get) return get.answer;
    if (get.response.status !== 200) return this.answerFor(context, get.response);
    const headerDigest = contentDigest(get.response);
    if (headerDigest) {
      await discardBody(get.response);
      return exists(context, headerDigest);
    }
    const body = await readBodyLimited(get.response, MANIFEST_BODY_LIMIT);
    return exists(context, body ? `sha256:${createHash('sha256').update(body).digest('hex')}` : undefined);
  }

  /**
   * One manifest request, authenticated the way the registry asks: up front when we
   * know its challenge from earlier checks, else after its 401. At most one retry
   * with fresh authorization, so a registry cannot keep us in a loop.
   */
  private async requestManifest(context: CheckContext, method: 'HEAD' | 'GET'): Promise<ManifestOutcome> {
    const { reference } = context;
    const url = new URL(`${context.endpoint}/v2/${reference.repository}/manifests/${reference.digest ?? reference.tag ?? 'latest'}`);
    if (context.namespace !== undefined) url.searchParams.set('ns', context.namespace);
    const known = this.challenges.get(context.endpoint);
    const upFront = known ? await this.authorize(context, known, true) : { authorization: undefined };
    if ('answer' in upFront) return upFront;

    const first = await this.sendManifest(context, url, method, upFront.authorization);
    const sentFreshCredentials = upFront.authorization !== undefined && upFront.authorization.cachedTokenKey === undefined;
    if (first.status !== 401 || sentFreshCredentials) return { response: first };

    const challenge = preferredChallenge(first.headers.get('www-authenticate'));
    if (!challenge) return { response: first };
    if (upFront.authorization?.cachedTokenKey) this.tokens.delete(upFront.authorization.cachedTokenKey);
    this.challenges.set(context.endpoint, challenge);
    const fresh = await this.authorize(context, challenge, false);
    if ('answer' in fresh) {
      await discardBody(first);
      return fresh;
    }
    if (!fresh.authorization) return { response: first };
    await discardBody(first);
    return { response: await this.sendManifest(context, url, method, fresh.authorization) };
  }

  private sendManifest(context: CheckContext, url: URL, method: 'HEAD' | 'GET', authorization: Authorization | undefined): Promise<Response> {
    const headers: Record<string, string> = { Accept: MANIFEST_ACCEPT, 'User-Agent': USER_AGENT };
    if (authorization) headers.Authorization = authorization.header;
    return sendWithRetries({ url, method, headers, peer: context.peer, deadline: context.deadline }, this.policy, context.http);
  }

  /** What to send for a challenge; `undefined` when we have nothing that could satisfy it. */
  private async authorize(context: CheckContext, challenge: AuthChallenge, mayUseCache: boolean): Promise<AuthOutcome> {
    if (challenge.scheme === 'basic') {
      return { authorization: context.credentials ? { header: basicHeader(context.credentials) } : undefined };
    }
    if (challenge.scheme !== 'bearer') return { authorization: undefined };

    const realm = challenge.params.realm;
    if (!realm) throw new RegistryUnreachable(`${context.peer} asked for a Bearer token without saying where to get one`);
    const service = challenge.params.service;
    const key = [realm, service ?? '', context.scope, context.fingerprint].join('\n');
    const cached = mayUseCache ? this.tokens.get(key) : undefined;
    if (cached && cached.expiresAt > this.deps.now()) return { authorization: { header: cached.header, cachedTokenKey: key } };

    const issued = await this.fetchToken(context, realm, service);
    if ('answer' in issued) return issued;
    const header = `Bearer ${issued.token}`;
    const lifetime = issued.expiresInMs - Math.min(TOKEN_REFRESH_MARGIN_MS, issued.expiresInMs / 4);
    if (lifetime > 0) this.tokens.set(key, { header, expiresAt: this.deps.now() + lifetime });
    return { authorization: { header } };
  }

  /** The Docker token flow: GET <realm>?service=…&scope=repository:<repo>:pull, Basic credentials if any. */
  private async fetchToken(
    context: CheckContext,
    realm: string,
    service: string | undefined,
  ): Promise<{ token: string; expiresInMs: number } | { answer: ImageCheck }> {
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryUnreachable(`${context.peer} named a token service that is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new RegistryUnreachable(`${context.peer} named a token service that is not HTTP(S)`);
    }
    if (context.credentials && url.protocol === 'http:' && context.endpoint.startsWith('https:') && !isLoopback(url.hostname)) {
      // A registry we reach over TLS must not be able to pull credentials onto plain HTTP.
      throw new RegistryUnreachable(`${context.peer} named a token service on plain HTTP (${url.host}); credentials are only sent over TLS`);
    }
    if (service !== undefined) url.searchParams.set('service', service);
    url.searchParams.set('scope', context.scope);

    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': USER_AGENT };
    if (context.credentials) headers.Authorization = basicHeader(context.credentials);
    const peer = `token service ${url.host} of ${context.peer}`;
    const response = await sendWithRetries({ url, method: 'GET', headers, peer, deadline: context.deadline }, this.policy, context.http);

    if (response.status === 401 || response.status === 403) {
      await discardBody(response);
      if (!context.credentials) return { answer: { status: 'missing', reference: context.reference } };
      return {
        answer: {
          status: 'denied',
          reference: context.reference,
          detail: `${context.peer} refused the given credentials (its token service ${url.host} answered HTTP ${response.status})`,
        },
      };
    }
    if (response.status !== 200) {
      await discardBody(response);
      throw new RegistryUnreachable(`${peer} answered HTTP ${response.status}`);
    }
    const body = await readBodyLimited(response, TOKEN_BODY_LIMIT);
    const answer = body ? parseTokenAnswer(body) : undefined;
    if (!answer) throw new RegistryUnreachable(`${peer} answered without a usable token`);
    return answer;
  }

  /** The final answer for a response that is not a plain 200. */
  private async answerFor(context: CheckContext, response: Response): Promise<ImageCheck> {
    await discardBody(response);
    const { reference } = context;
    switch (response.status) {
      case 404:
        return { status: 'missing', reference };
      case 401:
      case 403:
        // Docker Hub answers 401 for a repository that does not exist, so without
        // credentials "not allowed to see it" is, for us, "not there".
        if (!context.credentials) return { status: 'missing', reference };
        return {
          status: 'denied',
          reference,
          detail: `${context.peer} refused pull access to ${reference.repository} with the given credentials (HTTP ${response.status}: wrong credentials, no access, or no such repository)`,
        };
      default:
        return { status: 'unreachable', reference, detail: `${context.peer} answered HTTP ${response.status}` };
    }
  }
}

/**
 * The answer when no endpoint had the manifest: "missing" when any endpoint said so
 * (the node's pull would end there too), else "denied" when any refused the
 * credentials, else "blocked" when the address policy kept one from being asked
 * (which the provider must settle), else "unreachable". One endpoint's answer stands
 * as it is.
 */
function settleAcrossEndpoints(reference: ImageReference, answers: ImageCheck[]): ImageCheck {
  if (answers.length === 1) return answers[0]!;
  if (answers.some((answer) => answer.status === 'missing')) return { status: 'missing', reference };
  const joined = (texts: Array<string | undefined>) => texts.filter((text) => text !== undefined).join('; ');
  const denied = answers.flatMap((answer) => (answer.status === 'denied' ? [answer.detail] : []));
  if (denied.length > 0) return { status: 'denied', reference, detail: joined(denied) };
  const blocked = answers.flatMap((answer) => (answer.status === 'blocked' ? [answer.logDetail] : []));
  if (blocked.length > 0) return { status: 'blocked', reference, logDetail: joined(blocked) };
  const unreachable = answers.flatMap((answer) => (answer.status === 'unreachable' ? [answer] : []));
  const hidden = unreachable.some((answer) => answer.logDetail !== undefined);
  return {
    status: 'unreachable',
    reference,
    detail: joined(unreachable.map((answer) => answer.detail)),
    ...(hidden ? { logDetail: joined(unreachable.map((answer) => answer.logDetail ?? answer.detail)) } : {}),
  };
}

/**
 * Whether an endpoint stands in for another registry (containerd's `isProxy` in
 * core/remotes/docker/registry.go): any host but the registry's own, Docker Hub's
 * API host counting as docker.io's own.
 */
function isProxyFor(base: string, registry: string): boolean {
  const host = new URL(base).host;
  const own = registry.toLowerCase();
  return host !== own && !(own === DOCKER_HUB && host === DOCKER_HUB_API_HOST);
}

/** Each mirror endpoint's host:port (`127.0.0.1:5000`, `mirror.example:443`), as allow entries of the address policy. */
function mirrorHosts(mirrors: RegistryMirrors): string[] {
  return Object.values(mirrors).flatMap((bases) => bases.map((base) => hostPortOf(new URL(base))));
}

function validMirrors(mirrors: RegistryMirrors): RegistryMirrors {
  try {
    return parseRegistryMirrors(mirrors);
  } catch (err) {
    throw new RangeError(`mirrors: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** `registry ghcr.io`; for Docker Hub also the API host, which is what DNS or TLS errors are about. */
function describeRegistry(registry: string): string {
  return registry === DOCKER_HUB ? `registry ${DOCKER_HUB} (${DOCKER_HUB_API_HOST})` : `registry ${registry}`;
}

function exists(context: CheckContext, digest: string | undefined): ImageCheck {
  return digest ? { status: 'exists', reference: context.reference, digest } : { status: 'exists', reference: context.reference };
}

function contentDigest(response: Response): string | undefined {
  const digest = response.headers.get('docker-content-digest')?.trim();
  return digest && DIGEST_HEADER.test(digest) ? digest : undefined;
}

/** Bearer when offered (it is what token-based registries want), else Basic, else whatever came first. */
function preferredChallenge(header: string | null): AuthChallenge | undefined {
  if (!header) return undefined;
  const challenges = parseWwwAuthenticate(header);
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic') ?? challenges[0];
}

function parseTokenAnswer(body: Uint8Array): { token: string; expiresInMs: number } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const fields = parsed as { token?: unknown; access_token?: unknown; expires_in?: unknown };
  const token = nonEmptyString(fields.token) ?? nonEmptyString(fields.access_token);
  if (!token) return undefined;
  const expiresIn = fields.expires_in;
  const expiresInMs = typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : DEFAULT_TOKEN_LIFETIME_MS;
  return { token, expiresInMs };
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function basicHeader(credentials: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}`;
}

/** `HOST:port` → `host:port`; tolerates entries written as URLs (`http://host:5000/`). */
function normaliseRegistryHost(entry: string): string {
  return entry
    .trim()
    .toLowerCase()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//, '')
    .replace(/\/+$/, '');
}

/** The host without its port: `[::1]:5000` → `[::1]`, `reg:5000` → `reg`. */
function hostname(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function positive(value: number, name: string): number {
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} must be a positive number`);
  return value;
}

function wholeNumber(value: number, name: string): number {
  if (!(Number.isInteger(value) && value >= 0)) throw new RangeError(`${name} must be a whole number ≥ 0`);
  return value;
}
