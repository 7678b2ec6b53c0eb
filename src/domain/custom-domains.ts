/**
 * Custom domains (`POST|PATCH|DELETE /k8s/pod/ingress`): a domain belongs to one order
 * at most; it routes to one of the pod's TCP container ports, over HTTPS with a
 * certificate from cert-manager when asked.
 */
import type { DomainStore, OrderStore } from './store-port.js';
import type { DomainClaim, OrderRecord } from './records.js';
import { DomainsTaken } from './store-port.js';
import type { ApplyWaiter } from './apply-waiter.js';
import type { Clock } from '../kernel/clock.js';
import { assertActive, type DeployService } from './deploy.js';
import { ConflictError, InputError, NotFoundError } from '../kernel/errors.js';
import { LruMap } from '../kernel/lru-map.js';

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
/** A domain name as it may be written (any case, a trailing dot): DOMAIN once lower-cased and the dot dropped. */
export const DOMAIN_INPUT = /^(?=.{1,253}\.?$)(?:[A-Za-z0-9](?:[-A-Za-z0-9]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\.?$/;
const MAX_DOMAINS = 20;

export interface DomainView {
  domain: string;
  containerPort: number;
  isHttps: boolean;
}

/** Domain lists kept by atVersion, one per order (the least recently read go first). */
const KEPT_LISTS = 20_000;

export class DomainService {
  private readonly byVersion = new LruMap<string, { version: number; views: DomainView[] }>(KEPT_LISTS);

  constructor(
    private readonly domains: DomainStore,
    private readonly store: OrderStore,
    private readonly deploys: DeployService,
    private readonly waiter: Pick<ApplyWaiter, 'waitFor'>,
    private readonly clock: Clock,
  ) {}

  async list(order: OrderRecord): Promise<DomainView[]> {
    return (await this.domains.domainsOf(order.id)).map(view);
  }

  /**
   * The domains as they were at `order`'s version (a record just read: the status read of
   * every request). The version covers the order's domains, so the list read once per
   * version is exact; after a change, use `list`, which reads.
   */
  async atVersion(order: OrderRecord): Promise<DomainView[]> {
    const known = this.byVersion.get(order.id);
    if (known?.version === order.version) return known.views;
    const views = await this.list(order);
    this.byVersion.set(order.id, { version: order.version, views });
    return views;
  }

  /** POST: `{"domain","containerPort","isLetsencrypt"?,"isEncryByself":false}`. */
  async add(order: OrderRecord, body: unknown): Promise<DomainView[]> {
    const b = object(body);
    const domain = parseDomain(b.domain, 'domain');
    const containerPort = this.port(order, b.containerPort);
    if (b.isEncryByself === true) throw new InputError('bringing your own certificate is not supported; use isLetsencrypt', 'isEncryByself');
    if (b.isLetsencrypt !== undefined && typeof b.isLetsencrypt !== 'boolean') throw new InputError('must be true or false', 'isLetsencrypt');
    await this.claim(order, [{ domain, containerPort, https: b.isLetsencrypt === true }]);
    return this.list(order);
  }

  /** PATCH: `{"action":"Add"|"Del","domains":[…]}`; added domains route like the order's first domain. */
  async patch(order: OrderRecord, body: unknown): Promise<DomainView[]> {
    const b = object(body);
    if (b.action !== 'Add' && b.action !== 'Del') throw new InputError('must be "Add" or "Del"', 'action');
    if (!Array.isArray(b.domains) || b.domains.length === 0) throw new InputError('must be a non-empty array of domain names', 'domains');
    const names = [...new Set(b.domains.map((d, i) => parseDomain(d, `domains[${i}]`)))];
    if (b.action === 'Del') {
      await this.domains.releaseDomains(order.id, names);
      await this.apply(order);
      return this.list(order);
    }
    const current = await this.domains.domainsOf(order.id);
    const template = current[0];
    const containerPort = template?.containerPort ?? this.port(order, undefined);
    await this.claim(order, names.map((domain) => ({ domain, containerPort, https: template?.https ?? false })));
    return this.list(order);
  }

  /** DELETE: every domain of the order. */
  async removeAll(order: OrderRecord): Promise<DomainView[]> {
    assertActive(order, this.clock.now());
    await this.domains.releaseDomains(order.id);
    await this.apply(order);
    return [];
  }

  private async claim(order: OrderRecord, claims: Array<Omit<DomainClaim, 'orderId'>>): Promise<void> {
    assertActive(order, this.clock.now());
    const current = await this.domains.domainsOf(order.id);
    const total = new Set([...current.map((d) => d.domain), ...claims.map((c) => c.domain)]).size;
    if (total > MAX_DOMAINS) throw new InputError(`at most ${MAX_DOMAINS} domains per order`, 'domains');
    try {
      await this.domains.claimDomains(order.id, claims, this.clock.now());
    } catch (err) {
      if (err instanceof DomainsTaken) throw new ConflictError(`domain ${err.domains.join(', ')} is already used by another service`);
      throw err;
    }
    await this.apply(order);
  }

  /** The port a domain routes to: the one given, or the pod's only TCP port. */
  private port(order: OrderRecord, value: unknown): number {
    const spec = this.deploys.currentSpec(order);
    if (!spec) throw new NotFoundError('nothing is deployed for this order yet; deploy before adding a domain');
    const tcp = spec.containers.flatMap((c) => c.ports.filter((p) => p.protocol === 'TCP').map((p) => p.containerPort));
    if (value === undefined || value === null) {
      if (tcp.length === 1) return tcp[0]!;
      throw new InputError(`required: one of the pod's TCP ports (${tcp.join(', ') || 'none'})`, 'containerPort');
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || !tcp.includes(value)) {
      throw new InputError(`must be one of the pod's TCP container ports (${tcp.join(', ') || 'none'})`, 'containerPort');
    }
    return value;
  }

  /** Domains live beside the spec: bump its generation so the leader re-applies the workload, and wait a bounded time for it. */
  private async apply(order: OrderRecord): Promise<void> {
    const next = await this.store.setMetadata(order.id, {}, this.clock.now());
    await this.waiter.waitFor(order.id, next.generation);
  }
}

function view(d: DomainClaim): DomainView {
  return { domain: d.domain, containerPort: d.containerPort, isHttps: d.https };
}

function object(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InputError('must be a JSON object', 'body');
  return body as Record<string, unknown>;
}

function parseDomain(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new InputError(value === undefined ? 'required' : 'must be a string', field);
  const domain = value.trim().toLowerCase().replace(/\.$/, '');
  if (!DOMAIN.test(domain)) throw new InputError(`"${value.slice(0, 80)}" is not a domain name such as app.example.com`, field);
  return domain;
}
