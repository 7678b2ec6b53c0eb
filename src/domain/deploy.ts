/**
 * Deploying: validate the request, check images and host ports, record the desired
 * spec, its generation and the host-port leases in one transaction (which also queues
 * the order for the reconcile leader), then wait a bounded time for the leader to apply
 * that generation. This replica never writes to Kubernetes itself; the record comes
 * first, so a crash after it converges on restart.
 */
import type { ClusterReader } from '../cluster/gateway.js';
import type { Config } from '../config.js';
import { BLOCKED_REASON, type ImageRegistry, InvalidImageReference } from '../registry/types.js';
import type { OrderStore } from './store-port.js';
import type { OrderRecord, ServiceStatus } from './records.js';
import { ConcurrentChange, PortsTaken, StaleState } from './store-port.js';
import type { ApplyOutcome, ApplyWaiter } from './apply-waiter.js';
import type { Clock } from '../kernel/clock.js';
import type { CredentialBox } from './credential-box.js';
import { type DeployContext, type DeploySpec, parseClientDeploy, parseSeedDeploy } from './deploy-spec.js';
import { ConflictError, type FieldProblem, ForbiddenError, InputError, NotFoundError, UnavailableError } from '../kernel/errors.js';
import { namespaceOf } from './manifests.js';
import { assignsRandomPorts, persistsStorage } from './order-options.js';
import type { PortService } from './ports.js';

/** `deploy`: the seed's call, any live order. `first`: the clients' first deploy. `update`: their later ones. */
export type DeployMode = 'deploy' | 'first' | 'update';

export interface DeployResult {
  status: 'OK';
  id: string;
  namespace: string;
  region: string;
  containers: Array<{ name: string; image: string; ports: Array<{ containerPort: number; hostPort?: number; protocol: string }> }>;
  warnings: string[];
  /** The generation this deploy recorded. */
  generation: number;
  /** Whether the cluster had taken it when the answer was sent (else a warning says why not yet). */
  applied: boolean;
}

export interface DeployDeps {
  store: OrderStore;
  cluster: ClusterReader;
  ports: PortService;
  waiter: Pick<ApplyWaiter, 'waitFor'>;
  registry: ImageRegistry;
  credentials: CredentialBox;
  clock: Clock;
  config: Pick<Config, 'units' | 'reservedPorts'>;
  /** Whether an image reference is well formed (Docker's grammar). */
  isValidImage: (ref: string) => boolean;
}

/** How often a change derived from an order is redone when another request changed the order first. */
const CONCURRENT_RETRIES = 4;

/**
 * Runs `change` on the order as read; when another request (on any replica) changed the
 * order in between, reads it again and redoes the change on top: concurrent changes of
 * one order are serialized and none is lost. After a few rounds: 409.
 */
export async function onLatest<T>(store: Pick<OrderStore, 'findOrder'>, order: OrderRecord, change: (order: OrderRecord) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await change(order);
    } catch (err) {
      if (!(err instanceof ConcurrentChange)) throw err;
      if (attempt >= CONCURRENT_RETRIES) throw new ConflictError('the order is being changed by other requests at the same time; nothing was changed by this one, try again');
      const latest = await store.findOrder(order.id);
      if (!latest) throw new NotFoundError(`no order ${order.id}`);
      order = latest;
    }
  }
}

export class DeployService {
  constructor(private readonly deps: DeployDeps) {}

  deploy(order: OrderRecord, body: unknown, mode: DeployMode): Promise<DeployResult> {
    return onLatest(this.deps.store, order, (latest) => this.deployOnce(latest, body, mode));
  }

  private async deployOnce(order: OrderRecord, body: unknown, mode: DeployMode): Promise<DeployResult> {
    assertActive(order, this.deps.clock.now());
    if (mode === 'first' && order.serviceStatus !== 'ServicePending') {
      throw new ConflictError(`the service is already deployed (${order.serviceStatus}); change it with POST /k8s/deployment/update`);
    }
    if (mode === 'update' && order.serviceStatus === 'ServicePending') {
      throw new ConflictError('nothing is deployed yet; deploy first with POST /k8s/deployment');
    }
    const ctx = this.contextFor(order);
    const spec = mode === 'deploy' ? parseSeedDeploy(body, ctx) : parseClientDeploy(body, ctx);
    const warnings = await this.checkImages(spec);

    // Fixed ports: only those asked for matter. Random ports: every taken one does.
    const asked = ctx.order.randomPorts ? undefined : spec.containers.flatMap((c) => c.ports.flatMap((p) => (p.hostPort === undefined ? [] : [p.hostPort])));
    const taken = await this.deps.ports.taken(spec.region, order.id, asked);
    if (!taken) throw new UnavailableError(`the cluster of region ${spec.region} cannot be reached now; nothing was changed, try again shortly`);
    if (ctx.order.randomPorts) {
      this.deps.ports.assignRandomPorts(spec, order.spec && (order.spec as DeploySpec).region === spec.region ? (order.spec as DeploySpec) : null, taken);
    } else {
      const busy = spec.containers.flatMap((c) => c.ports).filter((p) => p.hostPort !== undefined && taken.has(`${p.hostPort}/${p.protocol}`));
      if (busy.length) throw portsTakenError(busy.map((p) => ({ port: p.hostPort!, protocol: p.protocol })), spec.region);
    }

    const allowedFrom: ServiceStatus[] = mode === 'first' ? ['ServicePending'] : mode === 'update' ? ['ServiceRunning', 'ServiceStop'] : ['ServicePending', 'ServiceRunning', 'ServiceStop'];
    const outcome = await this.commit(order, spec, { allowedFrom, status: 'ServiceRunning' });
    return {
      status: 'OK',
      id: order.id,
      namespace: namespaceOf(order.id),
      region: spec.region,
      containers: spec.containers.map((c) => ({
        name: c.name,
        image: c.image,
        ports: c.ports.map((p) => ({ containerPort: p.containerPort, ...(p.hostPort !== undefined ? { hostPort: p.hostPort } : {}), protocol: p.protocol })),
      })),
      warnings: [...warnings, ...(outcome.warning ? [outcome.warning] : [])],
      generation: outcome.generation,
      applied: outcome.applied,
    };
  }

  /**
   * Checks a deploy body as a deploy would — every field, the order's limits and the host
   * ports other orders hold — without changing anything, and answers every problem
   * found (none: it would be accepted). The console checks its form with it as the
   * customer types and the CLI checks a file before deploying: the server's rules, from
   * the one place that has them. Images are not checked here (`GET /k8s/images` does).
   */
  async validate(order: OrderRecord, body: unknown, shape: 'seed' | 'clients'): Promise<FieldProblem[]> {
    const ctx = this.contextFor(order);
    let spec: DeploySpec;
    try {
      spec = shape === 'seed' ? parseSeedDeploy(body, ctx) : parseClientDeploy(body, ctx);
    } catch (err) {
      if (err instanceof InputError) return [...err.problems];
      throw err;
    }
    if (ctx.order.randomPorts) return [];
    const asked = spec.containers.flatMap((c) => c.ports.flatMap((p) => (p.hostPort === undefined ? [] : [p.hostPort])));
    if (asked.length === 0) return [];
    const taken = await this.deps.ports.taken(spec.region, order.id, asked);
    if (!taken) throw new UnavailableError('the cluster cannot be reached now to check the host ports; try again shortly');
    return spec.containers.flatMap((c, i) =>
      c.ports.flatMap((p, j) =>
        p.hostPort !== undefined && taken.has(`${p.hostPort}/${p.protocol}`)
          ? [{ field: `containers[${i}].ports[${j}].hostPort`, message: `host port ${p.hostPort} is already taken in region ${spec.region}`, conflict: true }]
          : [],
      ),
    );
  }

  /** What a deploy body is checked against: the order, the provider's units and reserved ports, the regions now. */
  private contextFor(order: OrderRecord): DeployContext {
    const regions = this.deps.cluster.regions();
    if (!regions) throw new UnavailableError('the cluster cannot be reached now; nothing was changed, try again shortly');
    const ctx: DeployContext = {
      order: { units: order.units, region: order.region, randomPorts: assignsRandomPorts(order), persistStorage: persistsStorage(order) },
      units: this.deps.config.units,
      reservedPorts: this.deps.config.reservedPorts,
      regions,
      isValidImage: this.deps.isValidImage,
    };
    // A redeploy stays where it is; a first one without a region goes where there is most room.
    const previous = order.spec as DeploySpec | null;
    ctx.defaultRegion = () => previous?.region ?? mostRoom(this.deps.cluster.freeMemoryByRegion());
    return ctx;
  }

  /**
   * Records `spec` as the order's desired state (sealing registry passwords, taking its
   * host-port leases, queueing it for the leader) — refused with ConcurrentChange when
   * the order changed since `order` was read — and waits a bounded time for the leader
   * to apply it. Every change of a workload — deploy, update, new images, new config —
   * ends here.
   */
  async commit(order: OrderRecord, spec: DeploySpec, opts: { allowedFrom: ServiceStatus[]; status: ServiceStatus }): Promise<ApplyOutcome> {
    const now = this.deps.clock.now();
    const fields: Partial<OrderRecord> =
      order.serviceStatus === 'ServicePending'
        ? { activatedAt: now, runningAt: now, endAt: now + order.durationHours * 3600 }
        : order.serviceStatus === 'ServiceStop' && opts.status === 'ServiceRunning'
          ? { runningAt: now }
          : {};
    const stored: DeploySpec = {
      ...spec,
      namedPorts: true,
      registryLogins: spec.registryLogins.map((l) => ({ username: l.username, password: this.deps.credentials.seal(l.password) })),
    };
    let recorded: OrderRecord;
    try {
      recorded = await this.deps.store.recordDeploy(order.id, {
        spec: stored,
        region: spec.region,
        leases: spec.containers.flatMap((c) => c.ports).filter((p) => p.hostPort !== undefined).map((p) => ({ port: p.hostPort!, protocol: p.protocol })),
        allowedFrom: opts.allowedFrom,
        status: opts.status,
        fields,
        now,
        expectedGeneration: order.generation,
      });
    } catch (err) {
      if (err instanceof PortsTaken) throw portsTakenError(err.leases, spec.region);
      if (err instanceof StaleState) throw new ConflictError(`the order changed meanwhile (now ${err.actual ?? 'gone'}); nothing was deployed`);
      throw err;
    }
    return this.deps.waiter.waitFor(order.id, recorded.generation);
  }

  /** The order's current spec with registry passwords opened; NotFound-worthy when nothing is deployed. */
  currentSpec(order: OrderRecord): DeploySpec | undefined {
    if (!order.spec) return undefined;
    const spec = order.spec as DeploySpec;
    return { ...spec, registryLogins: spec.registryLogins.map((l) => ({ username: l.username, password: this.deps.credentials.open(l.password) })) };
  }

  /**
   * Refuses images the registry says do not exist, and images whose registry is on an
   * address V-Kube may not contact; a registry that cannot be asked only warns.
   */
  async checkImages(spec: DeploySpec): Promise<string[]> {
    const warnings: string[] = [];
    const results = await Promise.all(
      spec.containers.map(async (c, i) => {
        const credentials = c.loginIndex !== undefined ? spec.registryLogins[c.loginIndex] : undefined;
        try {
          return { c, i, result: await this.deps.registry.check(c.image, credentials) };
        } catch (err) {
          if (err instanceof InvalidImageReference) throw new InputError(err.message, `containers[${i}].imageName`);
          throw err;
        }
      }),
    );
    for (const { c, i, result } of results) {
      if (result.status === 'missing') throw new InputError(`image ${c.image} does not exist in its registry`, `containers[${i}].imageName`);
      if (result.status === 'denied') throw new InputError(`the registry refused the credentials for ${c.image}: ${result.detail}`, `pvtLogin[${i}]`);
      // Refused, not let through with a warning: the node would then pull from that
      // address itself, which is what the rule keeps tenants from reaching.
      if (result.status === 'blocked') throw new InputError(`registry ${result.reference.registry} is not allowed: ${BLOCKED_REASON}`, `containers[${i}].imageName`);
      if (result.status === 'unreachable') warnings.push(`could not check image ${c.image} (${result.detail}); deployed anyway, the node will retry pulling it`);
    }
    return warnings;
  }
}

function mostRoom(free: Map<string, number> | undefined): string | undefined {
  let best: [string, number] | undefined;
  for (const [region, bytes] of free ?? []) if (!best || bytes > best[1] || (bytes === best[1] && region < best[0])) best = [region, bytes];
  return best?.[0];
}

/** Deploys, updates and pod actions are refused once an order has ended. */
export function assertActive(order: OrderRecord, now: number): void {
  if (order.serviceStatus === 'ServiceDone' || (order.endAt !== null && now >= order.endAt)) {
    throw new ForbiddenError(`the order expired${order.endAt ? ` at ${new Date(order.endAt * 1000).toISOString()}` : ''}; renew it to deploy again`);
  }
  if (order.serviceStatus === 'ServiceAbort') throw new ForbiddenError('the order was aborted');
}

function portsTakenError(ports: Array<{ port: number; protocol: string }>, region: string): ConflictError {
  const list = [...new Set(ports.map((p) => `${p.port}${p.protocol === 'UDP' ? '/UDP' : ''}`))];
  return new ConflictError(`host port${list.length > 1 ? 's' : ''} ${list.join(', ')} ${list.length > 1 ? 'are' : 'is'} already taken in region ${region}`);
}
