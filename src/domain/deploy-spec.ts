/**
 * What a customer may deploy, and the one place that decides it.
 *
 * Two request shapes reach us: the seed API's (`POST /k8s/deploy`: `nodeSelector`,
 * `resource.memory` per container) and the original clients' (`POST /k8s/deployment`:
 * `resourceUnit` per container, `envs`, `config`, `pvtLogin`, … in two generations).
 * Both are parsed into one normalised `DeploySpec`, or refused with an InputError
 * that names the offending field (`containers[0].ports[1].hostPort: …`).
 *
 * Pure: no I/O. Everything it needs to know (the order's units, the known regions,
 * the reserved ports) comes in a `DeployContext`.
 */
import type { UnitCatalogue } from '../config.js';
import { type FieldProblem, InputError } from '../kernel/errors.js';
import { parseBytes } from '../kernel/quantity.js';

export type Protocol = 'TCP' | 'UDP';

export interface PortSpec {
  containerPort: number;
  /** Chosen by the customer, or by V-Kube for random-port orders (see ports.ts). */
  hostPort?: number;
  protocol: Protocol;
}

export interface ConfigFile {
  /** Absolute path of the file inside the container. */
  path: string;
  content: string;
}

export interface ExposedPort {
  path: string;
  rewrite: boolean;
  containerPort: number;
}

/**
 * A health check of a container, in Kubernetes' own shape (it is rendered into the
 * Deployment as it is). Exactly one of httpGet, tcpSocket and exec. Only what is
 * listed here is taken: no `host` or headers for httpGet, so the kubelet's requests
 * go to the pod's own address and nowhere else.
 */
export interface ProbeSpec {
  httpGet?: { path: string; port: number; scheme: 'HTTP' | 'HTTPS' };
  tcpSocket?: { port: number };
  exec?: { command: string[] };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  successThreshold?: number;
}

export const PROBE_KINDS = ['startupProbe', 'readinessProbe', 'livenessProbe'] as const;
export type ProbeKind = (typeof PROBE_KINDS)[number];
export type Probes = Partial<Record<ProbeKind, ProbeSpec>>;

/**
 * The bounds of a probe's timing, checked at the edge so a customer hears which field is
 * wrong instead of the cluster refusing the Deployment later. Wide enough for slow
 * starters (a startup probe may allow 100 × 300 s), tight enough that a probe cannot
 * hammer the node (at most once a second) or hang (a 60 s timeout).
 */
export const PROBE_BOUNDS = {
  initialDelaySeconds: [0, 3600],
  periodSeconds: [1, 300],
  timeoutSeconds: [1, 60],
  failureThreshold: [1, 100],
  successThreshold: [1, 10],
} as const satisfies Record<string, readonly [number, number]>;
const MAX_PROBE_COMMAND_BYTES = 4096;
export const MAX_PROBE_COMMAND_ITEMS = 64;

export interface ContainerSpec {
  name: string;
  image: string;
  ports: PortSpec[];
  memoryBytes: number;
  cpuMillis: number;
  /** Resource units the container was given (the clients' shape), else derived from memory. */
  units: number;
  command?: string[];
  args?: string[];
  env: Array<{ name: string; value: string }>;
  /** Mount point of the order's persistent volume, when the order has persistent storage. */
  mountPath?: string;
  configFiles: ConfigFile[];
  exposedPorts: ExposedPort[];
  /** Index into DeploySpec.registryLogins of the credentials for this container's image. */
  loginIndex?: number;
  /** Health checks; absent in specs recorded before probes existed, and when none was given. */
  probes?: Probes;
}

export interface RegistryLogin {
  username: string;
  password: string;
}

export interface DeploySpec {
  region: string;
  containers: ContainerSpec[];
  /** Registry credentials the customer gave (`pvtLogin`), by position. */
  registryLogins: RegistryLogin[];
  /** Which request shape it came from; `GET /k8s/deployment/info` answers in it. */
  shape: 'seed' | 'client';
  /**
   * Its published ports carry names, which the order's NetworkPolicy opens (manifests.ts),
   * so deploys leave the policy as it is. Set on every spec recorded (DeployService.commit);
   * absent in specs recorded before: their pods keep unnamed ports, and the policy lists
   * their numbers, until the next deploy (no running pod is restarted to rename its ports).
   */
  namedPorts?: true;
}

export interface DeployContext {
  order: { units: number; region: string; randomPorts: boolean; persistStorage: boolean };
  units: UnitCatalogue;
  reservedPorts: ReadonlyArray<readonly [number, number]>;
  /** Regions the cluster has now. */
  regions: readonly string[];
  /**
   * Where to deploy when neither the order nor the request names a region: the one with
   * most free memory. Asked only then: it adds up the requests of every pod in the cluster.
   */
  defaultRegion?: () => string | undefined;
  /** Decides whether an image reference is well formed. */
  isValidImage: (ref: string) => boolean;
}

// Exported for the published schemas (src/http/body-schemas.ts), so the two say the same.
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
export const MAX_ENV_NAME = 256;
/** A memory quantity as customers write it (binary or decimal suffix), spaces around allowed. */
export const MEMORY_QUANTITY = /^\s*\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?\s*$/;
/** An absolute path inside the container: not "/" itself, no ".." step, no NUL, ":" or line break. */
export const ABSOLUTE_PATH = /^(?!\/$)(?!.*(?:^|\/)\.\.(?:\/|$))\/[^\0:\n]*$/;
export const MAX_PATH = 512;
/** An exposed HTTP path, and a probe's: starts with "/", no white space (nor, for a probe, control characters). */
export const URL_PATH = /^\/[^\s\x00-\x1f\x7f]*$/;
export const MAX_EXPOSED_PATH = 256;
export const MAX_PROBE_PATH = 1024;
export const MAX_CONTAINERS = 20;
const MAX_CONFIG_BYTES = 768 * 1024;
const MAX_ARG_BYTES = 64 * 1024;
const MIN_MEMORY = 4 * 2 ** 20;
/** What a refused object should have looked like, in the messages. */
const CONTAINER_EXAMPLE = '{"name": "web", "imageName": "nginx:1.27", …}';
const PORT_EXAMPLE = '{"containerPort": 80, "hostPort": 8080}';

export function isReserved(port: number, reserved: DeployContext['reservedPorts']): boolean {
  return reserved.some(([lo, hi]) => port >= lo && port <= hi);
}

/**
 * Collects the problems of a body checked whole. Each field is read through `check`: a
 * refusal is noted and the field left out, and the reading goes on, so one answer names
 * every mistake. Checks across fields run only on what read cleanly.
 */
class Problems {
  readonly found: FieldProblem[] = [];

  check<T>(read: () => T): T | undefined {
    try {
      return read();
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      this.found.push(...err.problems);
      return undefined;
    }
  }

  add(message: string, field: string): void {
    this.found.push({ field, message });
  }

  /** Throws every problem found so far as one InputError. */
  throwIfAny(): void {
    if (this.found.length) throw InputError.several(this.found);
  }
}

/** `POST /k8s/deploy` (the seed API's body). */
export function parseSeedDeploy(body: unknown, ctx: DeployContext): DeploySpec {
  const root = object(body, 'body');
  const problems = new Problems();
  const region = problems.check(() => {
    const selector = root.nodeSelector === undefined ? undefined : object(root.nodeSelector, 'nodeSelector', '{"region": "ausrine"}');
    return parseRegion(selector?.region, 'nodeSelector.region', ctx, true);
  });
  const list = problems.check(() => containerList(root.containers)) ?? [];
  const containers = list.map((raw, i) => {
    const at = `containers[${i}]`;
    const c = problems.check(() => object(raw, at, CONTAINER_EXAMPLE));
    if (!c) return undefined;
    const common = commonContainer(c, at, ctx, problems);
    const memoryBytes = problems.check(() => memory(object(c.resource, `${at}.resource`, '{"memory": "256Mi"}').memory, `${at}.resource.memory`));
    return common && memoryBytes !== undefined ? { ...common, memoryBytes, units: 0, cpuMillis: 0 } : undefined;
  });
  const registryLogins = problems.check(() => logins(root.pvtLogin, containers.length)) ?? [];
  problems.throwIfAny();
  const parsed = containers as ContainerSpec[];
  const totalMemory = parsed.reduce((s, c) => s + c.memoryBytes, 0);
  const allowed = ctx.order.units * ctx.units.memoryBytes;
  if (totalMemory > allowed) {
    problems.add(
      `the containers ask for ${mib(totalMemory)} of memory in all, more than the order's ${ctx.order.units} unit(s) allow (${mib(allowed)})`,
      'containers[].resource.memory',
    );
  }
  // CPU follows memory: a container gets the share of the order's CPU that its memory is of the order's memory.
  const orderCpu = ctx.order.units * ctx.units.cpuMillis;
  for (const c of parsed) {
    c.cpuMillis = Math.max(10, Math.floor((orderCpu * c.memoryBytes) / allowed));
    c.units = Math.max(1, Math.round(c.memoryBytes / ctx.units.memoryBytes));
  }
  return finish({ region: region!, containers: parsed, registryLogins, shape: 'seed' }, ctx, problems);
}

/** `POST /k8s/deployment` and `/k8s/deployment/update` (the original clients' body). */
export function parseClientDeploy(body: unknown, ctx: DeployContext): DeploySpec {
  const root = object(body, 'body');
  const problems = new Problems();
  const region = problems.check(() => {
    const selector = root.nodeSelector === undefined ? undefined : object(root.nodeSelector, 'nodeSelector', '{"region": "ausrine"}');
    return parseRegion(selector?.region, 'nodeSelector.region', ctx, false);
  });
  const list = problems.check(() => containerList(root.containers)) ?? [];
  const containers = list.map((raw, i) => {
    const at = `containers[${i}]`;
    const c = problems.check(() => object(raw, at, CONTAINER_EXAMPLE));
    if (!c) return undefined;
    const common = commonContainer(c, at, ctx, problems);
    const units = problems.check(() => (c.resourceUnit === undefined ? 1 : int(c.resourceUnit, `${at}.resourceUnit`, 1, ctx.order.units)));
    return common && units !== undefined ? { ...common, units, memoryBytes: units * ctx.units.memoryBytes, cpuMillis: units * ctx.units.cpuMillis } : undefined;
  });
  const registryLogins = problems.check(() => logins(root.pvtLogin, containers.length)) ?? [];
  problems.throwIfAny();
  const parsed = containers as ContainerSpec[];
  const totalUnits = parsed.reduce((s, c) => s + c.units, 0);
  if (totalUnits > ctx.order.units) {
    problems.add(`the containers ask for ${totalUnits} resource units in all; the order has ${ctx.order.units}`, 'containers[].resourceUnit');
  }
  return finish({ region: region!, containers: parsed, registryLogins, shape: 'client' }, ctx, problems);
}

/** Checks shared by both shapes, across containers; then every problem found is thrown at once. */
function finish(spec: DeploySpec, ctx: DeployContext, problems: Problems): DeploySpec {
  const maxContainers = ctx.order.units * ctx.units.containers;
  if (spec.containers.length > maxContainers) {
    problems.add(`${spec.containers.length} containers, but the order's ${ctx.order.units} unit(s) allow ${maxContainers}`, 'containers');
  }
  const names = new Set<string>();
  const containerPorts = new Map<string, string>();
  const hostPorts = new Map<string, string>();
  spec.containers.forEach((c, i) => {
    if (names.has(c.name)) problems.add(`"${c.name}" is used by two containers; names must be unique in the pod`, `containers[${i}].name`);
    names.add(c.name);
    c.ports.forEach((p, j) => {
      const at = `containers[${i}].ports[${j}]`;
      const ck = `${p.containerPort}/${p.protocol}`;
      if (containerPorts.has(ck)) problems.add(`${ck} is already used by ${containerPorts.get(ck)}`, `${at}.containerPort`);
      else containerPorts.set(ck, at);
      if (p.hostPort !== undefined) {
        const hk = `${p.hostPort}/${p.protocol}`;
        if (hostPorts.has(hk)) problems.add(`${hk} is already used by ${hostPorts.get(hk)}`, `${at}.hostPort`);
        else hostPorts.set(hk, at);
      }
    });
    c.exposedPorts.forEach((e, j) => {
      if (!c.ports.some((p) => p.containerPort === e.containerPort && p.protocol === 'TCP')) {
        problems.add(`port ${e.containerPort} is not one of the container's TCP ports`, `containers[${i}].exposedPorts[${j}].containerPort`);
      }
    });
    const login = spec.registryLogins[i];
    if (login && (login.username || login.password)) c.loginIndex = i;
  });
  const hostPortCount = ctx.order.randomPorts
    ? spec.containers.reduce((s, c) => s + c.ports.length, 0)
    : hostPorts.size;
  const maxHostPorts = ctx.order.units * ctx.units.hostPorts;
  if (hostPortCount > maxHostPorts) {
    problems.add(`${hostPortCount} host ports, but the order's ${ctx.order.units} unit(s) allow ${maxHostPorts}`, 'containers[].ports');
  }
  const configBytes = spec.containers.reduce((s, c) => s + c.configFiles.reduce((t, f) => t + Buffer.byteLength(f.content), 0), 0);
  if (configBytes > MAX_CONFIG_BYTES) problems.add(`configuration files total ${configBytes} bytes; at most ${MAX_CONFIG_BYTES}`, 'containers[].config');
  problems.throwIfAny();
  return spec;
}

/** The fields both shapes share; undefined when one of them was refused (the problem is in `problems`). */
function commonContainer(c: Record<string, unknown>, at: string, ctx: DeployContext, problems: Problems): Omit<ContainerSpec, 'memoryBytes' | 'cpuMillis' | 'units'> | undefined {
  const before = problems.found.length;
  const name = problems.check(() => {
    const name = string(c.name, `${at}.name`);
    if (!DNS_LABEL.test(name)) throw new InputError(`"${truncate(name)}" is not a valid name: use lowercase letters, digits and "-" (at most 63, starting and ending with a letter or digit), e.g. web`, `${at}.name`);
    return name;
  });
  const image = problems.check(() => {
    const image = string(c.imageName, `${at}.imageName`).trim();
    if (!ctx.isValidImage(image)) throw new InputError(`"${truncate(image)}" is not a valid image reference (e.g. nginx, nginx:1.27, user/app:tag)`, `${at}.imageName`);
    return image;
  });
  const ports = problems.check(() => (c.ports === undefined || c.ports === null ? [] : array(c.ports, `${at}.ports`, PORT_EXAMPLE))) ?? [];
  const portSpecs = ports.map((p, j) => problems.check(() => port(p, `${at}.ports[${j}]`, ctx)));
  // The clients' body names it `envs`; a VKubefile and most people write `env`: name the one they wrote.
  const envKey = c.envs === undefined && c.env !== undefined ? 'env' : 'envs';
  const env = problems.check(() => envs(c[envKey], `${at}.${envKey}`));
  const files = problems.check(() => configFiles(c, at));
  const exposedPorts = problems.check(() => exposed(c.exposedPorts, `${at}.exposedPorts`));
  const command = problems.check(() => argv(c.command, `${at}.command`));
  const args = problems.check(() => argv(c.args, `${at}.args`));
  const mountPath = problems.check(() => {
    if (c.mountPath === undefined || c.mountPath === null || c.mountPath === '') return undefined;
    const path = absolutePath(c.mountPath, `${at}.mountPath`);
    if (!ctx.order.persistStorage) throw new InputError('this order has no persistent storage (persistStorage is not "Yes")', `${at}.mountPath`);
    return path;
  });
  const probes: Probes = {};
  for (const kind of PROBE_KINDS) {
    const value = c[kind];
    if (value === undefined || value === null) continue;
    const parsed = problems.check(() => probe(value, `${at}.${kind}`, kind));
    if (parsed) probes[kind] = parsed;
  }
  if (problems.found.length > before) return undefined;
  const out: Omit<ContainerSpec, 'memoryBytes' | 'cpuMillis' | 'units'> = {
    name: name!,
    image: image!,
    ports: portSpecs as PortSpec[],
    env: env!,
    configFiles: files!,
    exposedPorts: exposedPorts!,
  };
  if (command) out.command = command;
  if (args) out.args = args;
  if (mountPath) out.mountPath = mountPath;
  if (Object.keys(probes).length) out.probes = probes;
  return out;
}

/** One probe, named fields only; refused naming the field (`containers[0].livenessProbe.periodSeconds`). */
export function probe(value: unknown, at: string, kind: ProbeKind): ProbeSpec {
  const p = object(value, at);
  const handlers = (['httpGet', 'tcpSocket', 'exec'] as const).filter((h) => p[h] !== undefined && p[h] !== null);
  if (handlers.length !== 1) {
    throw new InputError(handlers.length ? `give only one of httpGet, tcpSocket, exec (not ${handlers.join(' and ')})` : 'needs one of httpGet, tcpSocket, exec', at);
  }
  const out: ProbeSpec = {};
  const handler = handlers[0]!;
  const h = object(p[handler], `${at}.${handler}`);
  if (handler === 'httpGet') {
    const path = h.path === undefined || h.path === null || h.path === '' ? '/' : string(h.path, `${at}.httpGet.path`);
    if (!URL_PATH.test(path) || path.length > MAX_PROBE_PATH) throw new InputError('must be a URL path starting with /, without spaces', `${at}.httpGet.path`);
    const scheme = h.scheme === undefined || h.scheme === null || h.scheme === '' ? 'HTTP' : string(h.scheme, `${at}.httpGet.scheme`);
    if (scheme !== 'HTTP' && scheme !== 'HTTPS') throw new InputError('must be HTTP or HTTPS (in capitals, as Kubernetes writes it)', `${at}.httpGet.scheme`);
    out.httpGet = { path, port: int(h.port, `${at}.httpGet.port`, 1, 65535), scheme };
  } else if (handler === 'tcpSocket') {
    out.tcpSocket = { port: int(h.port, `${at}.tcpSocket.port`, 1, 65535) };
  } else {
    const command = Array.isArray(h.command) ? h.command.map((v, i) => string(v, `${at}.exec.command[${i}]`)) : argv(h.command, `${at}.exec.command`);
    if (!command?.length || command[0] === '') throw new InputError('required: the program to run and its arguments, e.g. ["cat", "/tmp/healthy"]', `${at}.exec.command`);
    if (command.length > MAX_PROBE_COMMAND_ITEMS) throw new InputError(`at most ${MAX_PROBE_COMMAND_ITEMS} items`, `${at}.exec.command`);
    if (command.reduce((n, a) => n + Buffer.byteLength(a), 0) > MAX_PROBE_COMMAND_BYTES) throw new InputError(`longer than ${MAX_PROBE_COMMAND_BYTES} bytes`, `${at}.exec.command`);
    out.exec = { command };
  }
  for (const [field, [min, max]] of Object.entries(PROBE_BOUNDS) as Array<[keyof typeof PROBE_BOUNDS, readonly [number, number]]>) {
    if (p[field] !== undefined && p[field] !== null) out[field] = int(p[field], `${at}.${field}`, min, max);
  }
  // Kubernetes refuses anything else: a liveness or startup probe passes on its first success.
  if (kind !== 'readinessProbe' && out.successThreshold !== undefined && out.successThreshold !== 1) {
    throw new InputError(`must be 1 for a ${kind} (only a readinessProbe may ask for more successes)`, `${at}.successThreshold`);
  }
  return out;
}

function parseRegion(value: unknown, at: string, ctx: DeployContext, required: boolean): string {
  if (value === undefined || value === null || value === '') {
    if (ctx.order.region) return ctx.order.region;
    if (required) throw new InputError('required: one of the regions GET /k8s/regions lists', at);
    const roomiest = ctx.defaultRegion?.();
    if (roomiest) return roomiest;
    throw new InputError('required: the order names no region and the cluster has none with room', at);
  }
  const region = string(value, at);
  if (!ctx.regions.includes(region)) throw new InputError(`unknown region "${truncate(region)}"; known regions: ${ctx.regions.join(', ') || 'none'}`, at);
  if (ctx.order.region && region !== ctx.order.region) throw new InputError(`this order is for region "${ctx.order.region}"`, at);
  return region;
}

function containerList(value: unknown): unknown[] {
  const list = array(value, 'containers', CONTAINER_EXAMPLE);
  if (list.length === 0) throw new InputError('at least one container is required', 'containers');
  if (list.length > MAX_CONTAINERS) throw new InputError(`at most ${MAX_CONTAINERS} containers`, 'containers');
  return list;
}

function port(value: unknown, at: string, ctx: DeployContext): PortSpec {
  const p = object(value, at, PORT_EXAMPLE);
  // Written as Kubernetes writes it (it refuses "udp" too); absent, null or "" (a Go client's zero value) is TCP.
  const protocol = p.protocol === undefined || p.protocol === null || p.protocol === '' ? 'TCP' : string(p.protocol, `${at}.protocol`);
  if (protocol !== 'TCP' && protocol !== 'UDP') throw new InputError(`must be TCP or UDP (in capitals), not ${truncate(JSON.stringify(protocol))}`, `${at}.protocol`);
  const out: PortSpec = { containerPort: int(p.containerPort, `${at}.containerPort`, 1, 65535), protocol };
  // 0 (a Go client's zero value), null or absent: no host port. The published schema says 0–65535 for every order.
  if (p.hostPort === undefined || p.hostPort === null || p.hostPort === 0) return out;
  const hostPort = int(p.hostPort, `${at}.hostPort`, 0, 65535);
  // Random-port orders get their host ports from V-Kube; a well-formed one the client sent is ignored.
  if (ctx.order.randomPorts) return out;
  if (isReserved(hostPort, ctx.reservedPorts)) throw new InputError(`${hostPort} is a reserved port and cannot be leased`, `${at}.hostPort`);
  out.hostPort = hostPort;
  return out;
}

function memory(value: unknown, at: string): number {
  const text = string(value, at);
  const bytes = parseBytes(text);
  if (bytes === undefined || !MEMORY_QUANTITY.test(text)) {
    throw new InputError(`"${truncate(text)}" is not a memory quantity such as 100Mi or 1Gi`, at);
  }
  if (bytes < MIN_MEMORY) throw new InputError(`at least 4Mi`, at);
  return bytes;
}

/** `command`/`args`: a newline-separated string (seed) or an array of strings (clients). */
function argv(value: unknown, at: string): string[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  let items: string[];
  if (typeof value === 'string') items = value.split('\n').filter((s) => s !== '');
  else if (Array.isArray(value)) items = value.map((v, i) => string(v, `${at}[${i}]`));
  else throw new InputError('must be a newline-separated string or an array of strings', at);
  if (items.reduce((s, a) => s + Buffer.byteLength(a), 0) > MAX_ARG_BYTES) throw new InputError(`longer than ${MAX_ARG_BYTES} bytes`, at);
  return items.length ? items : undefined;
}

function envs(value: unknown, at: string): Array<{ name: string; value: string }> {
  if (value === undefined || value === null) return [];
  const seen = new Set<string>();
  return array(value, at, '{"name": "MODE", "value": "production"}').map((raw, i) => {
    const e = object(raw, `${at}[${i}]`, '{"name": "MODE", "value": "production"}');
    const name = string(e.name, `${at}[${i}].name`);
    if (!ENV_NAME.test(name) || name.length > MAX_ENV_NAME) throw new InputError('not a valid environment variable name', `${at}[${i}].name`);
    if (seen.has(name)) throw new InputError(`"${name}" is set twice`, `${at}[${i}].name`);
    seen.add(name);
    const v = e.value === undefined || e.value === null ? '' : typeof e.value === 'number' || typeof e.value === 'boolean' ? String(e.value) : string(e.value, `${at}[${i}].value`);
    return { name, value: v };
  });
}

function configFiles(c: Record<string, unknown>, at: string): ConfigFile[] {
  const files: ConfigFile[] = [];
  // Checked whenever given, as the published schema says, even without config.
  const mountPath = c.configMountPath === undefined || c.configMountPath === null || c.configMountPath === '' ? undefined : absolutePath(c.configMountPath, `${at}.configMountPath`);
  if (c.config !== undefined && c.config !== null && c.config !== '') {
    const content = string(c.config, `${at}.config`);
    if (mountPath === undefined) throw new InputError('required when config is given: the path of the file in the container', `${at}.configMountPath`);
    files.push({ path: mountPath, content });
  }
  if (c.configMap !== undefined && c.configMap !== null) {
    const map = object(c.configMap, `${at}.configMap`);
    for (const [path, content] of Object.entries(map)) {
      const where = `${at}.configMap[${JSON.stringify(truncate(path))}]`;
      files.push({ path: absolutePath(path, where), content: string(content, where) });
    }
  }
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.path)) throw new InputError(`the file ${f.path} is given twice`, `${at}.configMap`);
    seen.add(f.path);
  }
  return files;
}

function exposed(value: unknown, at: string): ExposedPort[] {
  if (value === undefined || value === null) return [];
  return array(value, at).map((raw, i) => {
    const e = object(raw, `${at}[${i}]`);
    const path = e.path === undefined || e.path === '' ? '/' : string(e.path, `${at}[${i}].path`);
    if (!URL_PATH.test(path) || path.length > MAX_EXPOSED_PATH) throw new InputError('must be a URL path starting with /', `${at}[${i}].path`);
    const rewrite = e.rewrite === undefined ? false : e.rewrite;
    if (typeof rewrite !== 'boolean') throw new InputError('must be true or false', `${at}[${i}].rewrite`);
    return { path, rewrite, containerPort: int(e.containerPort, `${at}[${i}].containerPort`, 1, 65535) };
  });
}

function logins(value: unknown, containers: number): RegistryLogin[] {
  if (value === undefined || value === null) return [];
  const list = array(value, 'pvtLogin');
  if (list.length > containers) throw new InputError(`${list.length} logins for ${containers} containers`, 'pvtLogin');
  return list.map((raw, i) => {
    const l = raw === null ? {} : object(raw, `pvtLogin[${i}]`);
    return {
      username: l.username === undefined || l.username === null ? '' : string(l.username, `pvtLogin[${i}].username`),
      password: l.password === undefined || l.password === null ? '' : string(l.password, `pvtLogin[${i}].password`),
    };
  });
}

function absolutePath(value: unknown, at: string): string {
  const path = string(value, at);
  if (!ABSOLUTE_PATH.test(path) || path.length > MAX_PATH) {
    throw new InputError('must be an absolute path inside the container (not "/", no "..")', at);
  }
  return path.replace(/\/+$/, '');
}

// ---- primitive readers: each names the field it refuses ----

/** `example`: the shape expected, for the message (`must be an object such as {…}`). */
function object(value: unknown, at: string, example?: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const shape = example ? `an object such as ${example}` : 'an object';
    throw new InputError(value === undefined ? `required: ${shape}` : `must be ${shape}, not ${truncate(JSON.stringify(value) ?? String(value))}`, at);
  }
  return value as Record<string, unknown>;
}

/** `itemExample`: the shape of one item, for the message. */
function array(value: unknown, at: string, itemExample?: string): unknown[] {
  if (!Array.isArray(value)) {
    const shape = itemExample ? `a list of ${itemExample}` : 'a list';
    throw new InputError(value === undefined || value === null ? `required: ${shape}` : `must be ${shape}, not ${truncate(JSON.stringify(value) ?? String(value))}`, at);
  }
  return value;
}

function string(value: unknown, at: string): string {
  if (typeof value !== 'string') throw new InputError(value === undefined || value === null ? 'required' : 'must be a string', at);
  if (value.length > 1024 * 1024) throw new InputError('too long', at);
  return value;
}

function int(value: unknown, at: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new InputError(value === undefined || value === null ? 'required' : `must be an integer from ${min} to ${max}, not ${truncate(JSON.stringify(value))}`, at);
  }
  if (value < min || value > max) throw new InputError(`must be an integer from ${min} to ${max}, not ${value}`, at);
  return value;
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function mib(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)}Mi`;
}
