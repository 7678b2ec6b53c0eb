/**
 * Deploy history and rollback. Every recorded spec (a deploy, an update, new images or
 * config) is kept with the generation it got, in the deploy's own transaction (the
 * last DEPLOY_HISTORY_KEPT per order). A rollback turns a past spec back into the deploy
 * body of the shape it came in, with its registry passwords, and deploys that through
 * the very path and checks of a deploy: region, units, reserved ports, images in their
 * registry, host ports free now. It is then the newest entry of the history itself.
 */
import type { DeployHistoryStore } from './store-port.js';
import type { OrderRecord } from './records.js';
import { DEPLOY_HISTORY_KEPT } from './records.js';
import type { CredentialBox } from './credential-box.js';
import type { DeployResult, DeployService } from './deploy.js';
import type { ContainerSpec, DeploySpec } from './deploy-spec.js';
import { InputError, NotFoundError } from '../kernel/errors.js';

export interface HistoryContainer {
  name: string;
  image: string;
  ports: Array<{ containerPort: number; hostPort?: number; protocol: string }>;
  memoryBytes: number;
}

export interface HistoryEntryView {
  generation: number;
  /** Unix seconds. */
  createdAt: number;
  /** The same, RFC 3339. */
  time: string;
  region: string;
  /** Whether this is the spec deployed now. */
  current: boolean;
  containers: HistoryContainer[];
  /** One line, e.g. `web: nginx:1.27, 80→41234/TCP`. */
  summary: string;
}

export interface HistoryView {
  /** How many specs are kept per order. */
  kept: number;
  entries: HistoryEntryView[];
}

export class DeployHistoryService {
  constructor(
    private readonly history: DeployHistoryStore,
    private readonly deploys: Pick<DeployService, 'deploy'>,
    private readonly credentials: Pick<CredentialBox, 'open'>,
  ) {}

  async list(order: OrderRecord): Promise<HistoryView> {
    const entries = await this.history.deployHistory(order.id, DEPLOY_HISTORY_KEPT);
    const currentGeneration = entries[0]?.generation;
    return {
      kept: DEPLOY_HISTORY_KEPT,
      entries: entries.map((e) => entryView(e.spec as DeploySpec, e.generation, e.createdAt, e.generation === currentGeneration && order.spec !== null)),
    };
  }

  /** `POST /k8s/deployment/rollback {"generation": n}`: redeploys the spec of generation n. */
  async rollback(order: OrderRecord, body: unknown): Promise<DeployResult & { rolledBackTo: number }> {
    const generation = parseGeneration(body);
    const entry = await this.history.deployOfGeneration(order.id, generation);
    if (!entry) {
      const kept = await this.history.deployHistory(order.id, DEPLOY_HISTORY_KEPT);
      const known = kept.map((e) => e.generation).join(', ');
      throw new NotFoundError(`no deploy of generation ${generation} in this order's history${known ? ` (it keeps the last ${DEPLOY_HISTORY_KEPT}: generations ${known})` : ' (nothing was deployed yet)'}`);
    }
    const spec = entry.spec as DeploySpec;
    const body2 = specAsBody(spec, (sealed) => this.credentials.open(sealed));
    const result = await this.deploys.deploy(order, body2, spec.shape === 'seed' ? 'deploy' : 'update');
    return { ...result, rolledBackTo: generation };
  }
}

function parseGeneration(body: unknown): number {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InputError('must be a JSON object such as {"generation": 3}', 'body');
  const g = (body as Record<string, unknown>).generation;
  if (g === undefined || g === null) throw new InputError('required: the generation to roll back to (GET /k8s/deployment/history lists them)', 'generation');
  if (typeof g !== 'number' || !Number.isInteger(g) || g < 1 || g > 2 ** 31) throw new InputError(`must be a positive integer, not ${JSON.stringify(g).slice(0, 40)}`, 'generation');
  return g;
}

export function entryView(spec: DeploySpec, generation: number, createdAt: number, current: boolean): HistoryEntryView {
  const containers = spec.containers.map((c) => ({
    name: c.name,
    image: c.image,
    ports: c.ports.map((p) => ({ containerPort: p.containerPort, ...(p.hostPort !== undefined ? { hostPort: p.hostPort } : {}), protocol: p.protocol })),
    memoryBytes: c.memoryBytes,
  }));
  const summary = containers
    .map((c) => `${c.name}: ${c.image}${c.ports.length ? `, ${c.ports.map((p) => `${p.containerPort}${p.hostPort ? `→${p.hostPort}` : ''}/${p.protocol}`).join(' ')}` : ''}`)
    .join('; ');
  return { generation, createdAt, time: new Date(createdAt * 1000).toISOString().replace('.000Z', 'Z'), region: spec.region, current, containers, summary };
}

/**
 * A recorded spec as the deploy body of its own shape, so a rollback passes the deploy's
 * parser and checks unchanged. Host ports are given as recorded (random-port orders
 * ignore them and keep their current ones).
 */
export function specAsBody(spec: DeploySpec, open: (sealed: string) => string): Record<string, unknown> {
  const container = (c: ContainerSpec): Record<string, unknown> => ({
    name: c.name,
    imageName: c.image,
    ports: c.ports.map((p) => ({ containerPort: p.containerPort, ...(p.hostPort !== undefined ? { hostPort: p.hostPort } : {}), protocol: p.protocol })),
    envs: c.env,
    ...(c.command ? { command: c.command } : {}),
    ...(c.args ? { args: c.args } : {}),
    ...(c.mountPath ? { mountPath: c.mountPath } : {}),
    ...(c.configFiles.length ? { configMap: Object.fromEntries(c.configFiles.map((f) => [f.path, f.content])) } : {}),
    ...(c.exposedPorts.length ? { exposedPorts: c.exposedPorts } : {}),
    ...(c.probes ?? {}),
    ...(spec.shape === 'seed' ? { resource: { memory: memoryQuantity(c.memoryBytes) } } : { resourceUnit: c.units }),
  });
  return {
    nodeSelector: { region: spec.region },
    containers: spec.containers.map(container),
    ...(spec.registryLogins.length ? { pvtLogin: spec.registryLogins.map((l) => ({ username: l.username, password: open(l.password) })) } : {}),
  };
}

/** Exact: `100Mi` when whole mebibytes, else plain bytes. */
function memoryQuantity(bytes: number): string {
  return bytes % 2 ** 20 === 0 ? `${bytes / 2 ** 20}Mi` : String(bytes);
}
