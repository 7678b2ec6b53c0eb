/**
 * Reading the live pod that `GET /k8s/pod/status` returns (Kubernetes' own Pod status
 * and spec, which the SDK types as open objects) and waiting for it to run.
 *
 * Pure: no I/O here; `waitForRunning` gets its clock, sleep and fetch injected, so its
 * decisions (fail fast on a crash, time out, tell the old pod from the new) are unit-tested.
 */
import type { paths } from '../sdk/client.js';
import type { ClientDeployBody } from './deploy-file.js';

export type PodStatusResponse = paths['/api/v1/k8s/pod/status']['get']['responses'][200]['content']['application/json'];

export interface ContainerView {
  name: string;
  image?: string;
  ready: boolean;
  restarts: number;
  state: 'waiting' | 'running' | 'terminated' | 'unknown';
  reason?: string;
  message?: string;
  exitCode?: number;
  /** ISO time the current state began (running/terminated). */
  since?: string;
  /** How the previous run ended, e.g. `Error (exit 1)`. */
  lastTermination?: string;
  /** ISO time the previous run ended. */
  lastTerminationAt?: string;
  /** The server's sentence on why it stopped, restarts or is not ready (when it explains: `containers` in the status). */
  why?: string;
  /** A previous instance is known: `vkube logs --previous` can read it. */
  hasPreviousLog?: true;
}

export interface PortView {
  container: string;
  containerPort: number;
  hostPort?: number;
  protocol: string;
}

export interface DomainView {
  domain: string;
  containerPort: number;
  isHttps: boolean;
}

/** Where the app is reached (`endpoints` in the pod status). */
export type EndpointView = NonNullable<PodStatusResponse['endpoints']>[number];

export interface PodView {
  name: string;
  phase: string;
  ready: boolean;
  node?: string;
  hostIP?: string;
  podIP?: string;
  startedAt?: string;
  reason?: string;
  message?: string;
  /** The scheduler's message when the pod cannot be placed on a node. */
  unschedulable?: string;
  containers: ContainerView[];
  ports: PortView[];
  domains: DomainView[];
  /** Where the app is reached: host ports at their public address, custom domains as URLs. */
  endpoints: EndpointView[];
}

export function podView(status: PodStatusResponse): PodView {
  const s = status.podStatus;
  const spec = status.podSpec;
  const specContainers = list(spec.containers);
  const statuses = new Map(list(s.containerStatuses).map((c) => [str(c.name) ?? '', c]));
  const conditions = list(s.conditions);
  const condition = (type: string) => conditions.find((c) => c.type === type);
  const scheduled = condition('PodScheduled');

  const containers = specContainers.map((c): ContainerView => {
    const name = str(c.name) ?? '';
    const cs = statuses.get(name);
    const state = obj(cs?.state);
    const waiting = obj(state.waiting);
    const running = obj(state.running);
    const terminated = obj(state.terminated);
    const last = obj(obj(cs?.lastState).terminated);
    const view: ContainerView = {
      name,
      ready: cs?.ready === true,
      restarts: typeof cs?.restartCount === 'number' ? cs.restartCount : 0,
      state: state.waiting ? 'waiting' : state.running ? 'running' : state.terminated ? 'terminated' : 'unknown',
    };
    const image = str(c.image);
    if (image) view.image = image;
    const reason = str(waiting.reason) ?? str(terminated.reason);
    if (reason) view.reason = reason;
    const message = str(waiting.message) ?? str(terminated.message);
    if (message) view.message = message;
    if (typeof terminated.exitCode === 'number') view.exitCode = terminated.exitCode;
    const since = str(running.startedAt) ?? str(terminated.finishedAt);
    if (since) view.since = since;
    if (Object.keys(last).length) {
      view.lastTermination = `${str(last.reason) ?? 'terminated'}${typeof last.exitCode === 'number' ? ` (exit ${last.exitCode})` : ''}`;
      const at = str(last.finishedAt);
      if (at) view.lastTerminationAt = at;
    }
    // The server's own explanation, present once there is something to explain.
    const explained = status.containers?.find((x) => x.name === name);
    if (explained) {
      view.why = explained.summary;
      if (explained.hasPreviousLog) view.hasPreviousLog = true;
    }
    return view;
  });

  const ports = specContainers.flatMap((c) =>
    list(c.ports).map((p): PortView => {
      const port: PortView = { container: str(c.name) ?? '', containerPort: num(p.containerPort) ?? 0, protocol: str(p.protocol) ?? 'TCP' };
      const hostPort = num(p.hostPort);
      if (hostPort) port.hostPort = hostPort;
      return port;
    }),
  );

  const view: PodView = {
    name: status.name,
    phase: str(s.phase) ?? 'Unknown',
    ready: condition('Ready')?.status === 'True',
    containers,
    ports,
    domains: list(status.domains).flatMap((d) =>
      typeof d.domain === 'string' ? [{ domain: d.domain, containerPort: num(d.containerPort) ?? 0, isHttps: d.isHttps === true }] : [],
    ),
    endpoints: status.endpoints ?? [],
  };
  const optional: Array<[keyof PodView, string | undefined]> = [
    ['node', str(spec.nodeName)],
    ['hostIP', str(s.hostIP)],
    ['podIP', str(s.podIP)],
    ['startedAt', str(s.startTime)],
    ['reason', str(s.reason)],
    ['message', str(s.message)],
  ];
  for (const [key, value] of optional) if (value) Object.assign(view, { [key]: value });
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') view.unschedulable = str(scheduled.message) ?? 'no node fits the pod';
  return view;
}

/**
 * One line per endpoint, e.g. `http://ausrine.example.com:41234/  → web 80/TCP`, or for a
 * node without a public address `41234/TCP on no public address (internal 10.88.0.1) → web 80/TCP`.
 * Empty when nothing is published.
 */
export function endpointLines(endpoints: readonly EndpointView[]): string[] {
  return endpoints.map((e) => {
    const target = `→ ${e.container ? `${e.container} ` : ''}${e.containerPort}/${e.protocol}`;
    if (e.url) return `${e.url}  ${target}`;
    if (e.host) return `${e.host}:${e.hostPort}/${e.protocol}  ${target}`;
    return `port ${e.hostPort}/${e.protocol}: no public address${e.internalHost ? ` (internal only: ${e.internalHost}:${e.hostPort})` : ''}  ${target}`;
  });
}

/** The note to print under the endpoints when a node has no public address (once). */
export function endpointNote(endpoints: readonly EndpointView[]): string | undefined {
  return endpoints.find((e) => e.host === null && e.note)?.note;
}

/**
 * Container states that will not fix themselves: report them at once rather than wait
 * for the timeout (a crash is a crash, not a timeout).
 */
const FATAL_WAITING = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImageNeverPull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/** Why the pod will not become Running, or undefined while it still may. */
export function failureOf(pod: PodView): string | undefined {
  if (pod.phase === 'Failed') {
    return `the pod failed${pod.reason ? `: ${pod.reason}` : ''}${pod.message ? ` (${pod.message})` : ''}`;
  }
  if (pod.unschedulable) return `the pod cannot be scheduled: ${pod.unschedulable}`;
  for (const c of pod.containers) {
    if (c.state === 'waiting' && c.reason && FATAL_WAITING.has(c.reason)) {
      const detail = [c.message, c.lastTermination ? `last run: ${c.lastTermination}` : undefined, c.restarts ? `${c.restarts} restarts` : undefined].filter(Boolean).join('; ');
      return `container ${c.name}: ${c.reason}${detail ? ` (${detail})` : ''}`;
    }
  }
  return undefined;
}

/** One line of progress: `Pending (web: ContainerCreating)`. */
export function progressLine(pod: PodView): string {
  const waiting = pod.containers.filter((c) => c.state !== 'running' && c.reason).map((c) => `${c.name}: ${c.reason}`);
  const notReady = pod.phase === 'Running' && !pod.ready ? ['not ready yet'] : [];
  const extra = [...waiting, ...notReady];
  return `pod ${pod.name}: ${pod.phase}${pod.ready ? ', ready' : ''}${extra.length ? ` (${extra.join(', ')})` : ''}`;
}

type ContainerLike = Pick<ClientDeployBody['containers'][number], 'name' | 'imageName' | 'command' | 'args' | 'envs' | 'ports'>;

/**
 * Whether a pod already runs what `containers` asks for. A redeploy that changes none of
 * this keeps its pod (Kubernetes only replaces a pod whose template changed), so the
 * CLI must not wait for a new one; when something differs, it waits for the new pod.
 */
export function podMatches(pod: PodStatusResponse, containers: ContainerLike[]): boolean {
  const running = list(pod.podSpec.containers);
  if (running.length !== containers.length) return false;
  const lines = (v: string | string[] | null | undefined) => (v === undefined || v === null ? [] : typeof v === 'string' ? v.split('\n').filter((s) => s !== '') : v);
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  return containers.every((want, i) => {
    const have = running[i]!;
    if (str(have.name) !== want.name || str(have.image) !== want.imageName.trim()) return false;
    if (!same(list(have.command).length ? (have.command as string[]) : [], lines(want.command))) return false;
    if (!same(list(have.args).length ? (have.args as string[]) : [], lines(want.args))) return false;
    const env = (e: Array<{ name?: unknown; value?: unknown }>) => e.map((x) => `${String(x.name)}=${String(x.value ?? '')}`).sort();
    if (!same(env(list(have.env)), env(want.envs ?? []))) return false;
    const ports = (p: Array<Record<string, unknown>>, withHost: boolean) =>
      p.map((x) => `${String(x.containerPort)}${withHost && x.hostPort ? `:${String(x.hostPort)}` : ''}`).sort();
    // Host ports are compared only when the file names them (V-Kube picks them for random-port orders).
    const withHost = (want.ports ?? []).some((p) => p.hostPort);
    return same(ports(list(have.ports), withHost), ports(want.ports ?? [], withHost));
  });
}

export interface WaitDeps {
  /** The current pod; undefined while there is none (404). */
  fetchPod(): Promise<PodStatusResponse | undefined>;
  sleep(ms: number): Promise<void>;
  now(): number;
  report(line: string): void;
}

export interface WaitOptions {
  timeoutMs: number;
  /** The pod that ran before the deploy, when a new one is expected to replace it. */
  replacing?: string;
  /** How long the replaced pod is ignored before it counts as "kept" (no new pod came). */
  settleMs?: number;
  intervalMs?: number;
}

export type WaitResult = { ok: true; pod: PodView } | { ok: false; timedOut: boolean; reason: string; pod?: PodView };

/** Polls until the pod is Running and Ready, fails fast on what will not recover, or times out. */
export async function waitForRunning(deps: WaitDeps, opts: WaitOptions): Promise<WaitResult> {
  const start = deps.now();
  const interval = opts.intervalMs ?? 1000;
  const settle = opts.settleMs ?? 10_000;
  let last = '';
  let seen: PodView | undefined;
  const say = (line: string) => {
    if (line !== last) deps.report(line);
    last = line;
  };
  for (;;) {
    const elapsed = deps.now() - start;
    const status = await deps.fetchPod();
    const pod = status ? podView(status) : undefined;
    const stale = pod && opts.replacing !== undefined && pod.name === opts.replacing && elapsed < settle;
    if (!pod) {
      say('waiting for the pod to be created');
    } else if (stale) {
      say(`waiting for pod ${pod.name} to be replaced`);
    } else {
      seen = pod;
      say(progressLine(pod));
      const failure = failureOf(pod);
      if (failure) return { ok: false, timedOut: false, reason: failure, pod };
      if (pod.phase === 'Running' && pod.ready) return { ok: true, pod };
    }
    const left = opts.timeoutMs - (deps.now() - start);
    if (left <= 0) {
      const where = seen ? progressLine(seen).replace(/^pod \S+: /, '') : 'no pod yet';
      return { ok: false, timedOut: true, reason: `the pod is not Running and Ready after ${Math.round(opts.timeoutMs / 1000)} s (now: ${where})`, ...(seen ? { pod: seen } : {}) };
    }
    await deps.sleep(Math.min(interval, left));
  }
}

// ---- reading Kubernetes JSON that the SDK types as unknown ----

type Loose = Record<string, unknown> & { name?: unknown; image?: unknown; command?: unknown; args?: unknown; env?: Array<{ name?: unknown; value?: unknown }>; ports?: unknown };

function obj(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function list(value: unknown): Loose[] {
  return Array.isArray(value) ? value.map((v) => obj(v) as Loose) : [];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
