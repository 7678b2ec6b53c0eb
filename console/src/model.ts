/**
 * What the console shows, read out of the API's answers. Pure functions: no DOM, no
 * fetch. `GET /k8s/userService` and `GET /k8s/pod/status` are loosely typed in the
 * OpenAPI document (they carry Kubernetes objects), so every field is checked here.
 */

export type ServiceStatus = 'ServicePending' | 'ServiceRunning' | 'ServiceStop' | 'ServiceDone' | 'ServiceAbort';

export interface Service {
  id: string;
  status: ServiceStatus | string;
  serviceOptions: Record<string, string>;
  /** Resource units of the order (from serviceOptions.resourceUnit). */
  units: number;
  /** Hours bought. */
  duration: number;
  /** Unix seconds; 0 until the service first starts. */
  endAt: number;
  /** The region the order is bound to; "" until the first deploy picks one. */
  region: string;
  /** True when V-Kube, not the customer, picks the host ports. */
  randomPorts: boolean;
}

/** Memory of one resource unit. The API does not publish the provider's unit size; 1 GiB is the default. */
export const UNIT_MEMORY_MIB = 1024;

export const STATUS_LABELS: Record<string, string> = {
  ServicePending: 'Not deployed yet',
  ServiceRunning: 'Running',
  ServiceStop: 'Stopped',
  ServiceDone: 'Expired',
  ServiceAbort: 'Cancelled',
};

export function statusLabel(status: string): string {
  return STATUS_LABELS[status] ?? status;
}

/**
 * The header's word for the service: "Running" only once the pod runs and is ready.
 * Right after a deploy, start or restart the service is ServiceRunning while the pod is
 * still being scheduled, pulling its image or starting: that is "Starting".
 */
export function headerStatus(status: string, pod: Pod | null): { label: string; tone: string } {
  if (status !== 'ServiceRunning') return { label: statusLabel(status), tone: status };
  const ready = pod !== null && pod.phase === 'Running' && pod.containers.length > 0 && pod.containers.every((c) => c.ready);
  if (ready) return { label: 'Running', tone: 'ServiceRunning' };
  const troubled = pod?.containers.some((c) => c.crashLoop || /BackOff|Err/.test(c.reason));
  return troubled ? { label: 'Not running', tone: 'Trouble' } : { label: 'Starting', tone: 'Starting' };
}

/** `N-Unit-Resource` → N (at least 1). */
export function unitsOf(resourceUnit: string | undefined): number {
  const n = Number(/^(\d+)/.exec(resourceUnit ?? '')?.[1]);
  return Number.isInteger(n) && n > 0 ? n : 1;
}

export function readService(raw: Record<string, unknown>): Service {
  const options = isRecord(raw.serviceOptions) ? Object.fromEntries(Object.entries(raw.serviceOptions).map(([k, v]) => [k, String(v)])) : {};
  return {
    id: str(raw.id),
    status: str(raw.status),
    serviceOptions: options,
    units: unitsOf(options.resourceUnit),
    duration: num(raw.duration),
    endAt: num(raw.endAt),
    region: str(raw.region) || (options.region ?? ''),
    randomPorts: options.portSpecification === 'System Random Map Port',
  };
}

/** What the service's status allows. */
export function allowedActions(status: string): { stop: boolean; start: boolean; restart: boolean; deploy: boolean } {
  return {
    stop: status === 'ServiceRunning',
    start: status === 'ServiceStop',
    restart: status === 'ServiceRunning',
    deploy: status === 'ServicePending' || status === 'ServiceRunning' || status === 'ServiceStop',
  };
}

export interface ContainerState {
  name: string;
  image: string;
  ready: boolean;
  restartCount: number;
  /** running, waiting, terminated, or unknown (no status yet). */
  state: 'running' | 'waiting' | 'terminated' | 'unknown';
  /** Why it waits or ended (CrashLoopBackOff, ImagePullBackOff, Completed, …). */
  reason: string;
  message: string;
  since: string;
  /** How the previous run ended (Kubernetes' lastState.terminated); null when there was none. */
  lastTermination: Termination | null;
  /** Kubernetes waits before starting it again because it keeps stopping. */
  crashLoop: boolean;
  /** A previous run is known, so the log of the previous container can be read. */
  hasPreviousLog: boolean;
  /** The server's sentence on why it stopped or is not ready; "" when the server has nothing to explain. */
  summary: string;
}

export interface Termination {
  /** OOMKilled, Error, Completed, … */
  reason: string;
  exitCode: number;
  /** RFC 3339, or "" when Kubernetes did not record it. */
  finishedAt: string;
  /** The kubelet killed it because this probe failed (the server reads it from the kubelet's events). */
  killedBy?: 'livenessProbe' | 'startupProbe';
}

export interface PortMapping {
  container: string;
  containerPort: number;
  hostPort?: number;
  protocol: string;
}

export interface Domain {
  domain: string;
  containerPort: number;
  isHttps: boolean;
}

/** Where the app is reached (`endpoints` in the pod status): a host port at its public address, or a custom domain. */
export interface Endpoint {
  container: string;
  containerPort: number;
  protocol: string;
  /** The public host; null when the node has none (then `note` says so and `internalHost` is the node's internal address). */
  host: string | null;
  hostPort: number;
  url: string;
  source: string;
  internalHost: string;
  note: string;
}

/** The order's persistent volume, as `GET /k8s/pod/status` reports it (only when the pod mounts one). */
export interface Storage {
  /** Pending, Bound or Lost. */
  phase: string;
  /** What is going on, in plain words (the server writes it for customers). */
  message: string;
}

export interface Pod {
  name: string;
  phase: string;
  nodeName: string;
  hostIP: string;
  podIP: string;
  startTime: string;
  containers: ContainerState[];
  ports: PortMapping[];
  domains: Domain[];
  endpoints: Endpoint[];
  /** The pod's reason/message when Kubernetes gives one (e.g. Evicted). */
  reason: string;
  message: string;
  /** Its persistent volume; null when it has none. */
  storage: Storage | null;
}

export function readPod(raw: Record<string, unknown>): Pod {
  const status = isRecord(raw.podStatus) ? raw.podStatus : {};
  const spec = isRecord(raw.podSpec) ? raw.podSpec : {};
  const specContainers = list(spec.containers);
  const statuses = list(status.containerStatuses);
  // The server's explanation per container (`containers`), present once there is something to explain.
  const explained = list(raw.containers);
  const containers: ContainerState[] = specContainers.map((c) => {
    const name = str(c.name);
    const s = statuses.find((x) => x.name === name);
    return containerState(name, str(c.image), s, explained.find((x) => x.name === name));
  });
  // Statuses of containers the spec does not list (should not happen) are shown too.
  for (const s of statuses) if (!containers.some((c) => c.name === s.name)) containers.push(containerState(str(s.name), str(s.image), s, explained.find((x) => x.name === s.name)));
  const ports = specContainers.flatMap((c) =>
    list(c.ports).map((p) => {
      const m: PortMapping = { container: str(c.name), containerPort: num(p.containerPort), protocol: str(p.protocol) || 'TCP' };
      if (typeof p.hostPort === 'number' && p.hostPort > 0) m.hostPort = p.hostPort;
      return m;
    }),
  );
  const domains = list(raw.domains).map((d) => ({ domain: str(d.domain), containerPort: num(d.containerPort), isHttps: d.isHttps === true }));
  const endpoints = list(raw.endpoints).map((e) => ({
    container: str(e.container),
    containerPort: num(e.containerPort),
    protocol: str(e.protocol) || 'TCP',
    host: typeof e.host === 'string' && e.host ? e.host : null,
    hostPort: num(e.hostPort),
    url: str(e.url),
    source: str(e.source),
    internalHost: str(e.internalHost),
    note: str(e.note),
  }));
  return {
    name: str(raw.name),
    phase: str(status.phase) || 'Unknown',
    nodeName: str(spec.nodeName),
    hostIP: str(status.hostIP),
    podIP: str(status.podIP),
    startTime: str(status.startTime),
    containers,
    ports,
    domains,
    endpoints,
    reason: str(status.reason),
    message: str(status.message),
    storage: isRecord(raw.storage) ? { phase: str(raw.storage.phase) || 'Pending', message: str(raw.storage.message) } : null,
  };
}

function containerState(name: string, image: string, s: Record<string, unknown> | undefined, explained: Record<string, unknown> | undefined): ContainerState {
  const out: ContainerState = { name, image, ready: false, restartCount: 0, state: 'unknown', reason: '', message: '', since: '', lastTermination: null, crashLoop: false, hasPreviousLog: false, summary: '' };
  if (explained) out.summary = str(explained.summary);
  if (!s) return out;
  // Read from Kubernetes' own status, so it shows whether or not the server explained it.
  const last = isRecord(s.lastState) && isRecord(s.lastState.terminated) ? s.lastState.terminated : undefined;
  if (last) out.lastTermination = { reason: str(last.reason) || (num(last.exitCode) === 0 ? 'Completed' : 'Error'), exitCode: num(last.exitCode), finishedAt: str(last.finishedAt) };
  // Kubernetes' status cannot say a probe killed it; the server's explanation can.
  const explainedLast = explained && isRecord(explained.lastTermination) ? explained.lastTermination : undefined;
  const by = explainedLast?.killedBy;
  if (out.lastTermination && (by === 'livenessProbe' || by === 'startupProbe')) out.lastTermination.killedBy = by;
  out.ready = s.ready === true;
  out.restartCount = num(s.restartCount);
  const state = isRecord(s.state) ? s.state : {};
  if (isRecord(state.running)) {
    out.state = 'running';
    out.since = str(state.running.startedAt);
  } else if (isRecord(state.waiting)) {
    out.state = 'waiting';
    out.reason = str(state.waiting.reason);
    out.message = str(state.waiting.message);
    out.crashLoop = out.reason === 'CrashLoopBackOff';
  } else if (isRecord(state.terminated)) {
    out.state = 'terminated';
    out.reason = str(state.terminated.reason);
    out.message = str(state.terminated.message);
    out.since = str(state.terminated.finishedAt);
  }
  out.hasPreviousLog = explained ? explained.hasPreviousLog === true : out.restartCount > 0 || out.lastTermination !== null;
  return out;
}

/** "OOMKilled: over its memory limit (exit code 137)", "Error (exit code 3)". */
export function terminationText(t: Termination): string {
  if (t.killedBy) return `Restarted: its ${t.killedBy === 'livenessProbe' ? 'liveness' : 'startup'} probe failed (${t.reason}, exit code ${t.exitCode})`;
  const what = t.reason === 'OOMKilled' ? 'OOMKilled: over its memory limit' : t.reason;
  return `${what} (exit code ${t.exitCode})`;
}

export function totalRestarts(pod: Pod | null | undefined): number {
  return pod ? pod.containers.reduce((sum, c) => sum + c.restartCount, 0) : 0;
}

/** "2 d 3 h 4 min 5 s" from seconds (0 and below: "0 s"). */
export function formatDuration(seconds: number): string {
  let s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const hours = Math.floor(s / 3600);
  s -= hours * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts: string[] = [];
  if (d) parts.push(`${d} d`);
  if (d || hours) parts.push(`${hours} h`);
  if (d || hours || m) parts.push(`${m} min`);
  if (!d) parts.push(`${s} s`);
  return parts.join(' ');
}

/** Splits `nginx:1.27` / `ghcr.io/o/app:tag` / `localhost:5000/app` into name and tag; digests have no tag. */
export function splitImage(ref: string): { image: string; tag: string; digest: boolean } {
  const trimmed = ref.trim();
  if (trimmed.includes('@')) return { image: trimmed.slice(0, trimmed.indexOf('@')), tag: '', digest: true };
  const colon = trimmed.lastIndexOf(':');
  const slash = trimmed.lastIndexOf('/');
  if (colon > slash) return { image: trimmed.slice(0, colon), tag: trimmed.slice(colon + 1), digest: false };
  return { image: trimmed, tag: 'latest', digest: false };
}

/** Newline-separated text → lines (blank lines dropped); the seed API takes the text itself. */
export function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '');
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function list(v: unknown): Array<Record<string, unknown>> {
  return Array.isArray(v) ? v.filter(isRecord) : [];
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : 0;
}

/**
 * A Kubernetes event in a sentence a customer reads without knowing Kubernetes
 * ("Downloading the image nginx:1.27."); the raw reason and message stay one click
 * away. Events of the pod's machinery (ReplicaSets, pod names with hashes) become
 * what they mean for the app.
 */
export function eventSentence(e: { reason: string; message: string; object: string }): string {
  const m = e.message;
  const quoted = /"([^"]+)"/.exec(m)?.[1];
  const container = /container:? "?([a-z0-9-]+)"?/i.exec(m)?.[1];
  const c = container ? `Container ${container}` : 'A container';
  switch (e.reason) {
    case 'Scheduled': {
      const node = / to (\S+)$/.exec(m)?.[1];
      return node ? `Placed on node ${node}.` : 'Placed on a node.';
    }
    case 'FailedScheduling':
      return `No node can take the pod yet: ${simplify(m)}`;
    case 'Pulling':
      return quoted ? `Downloading the image ${quoted}.` : 'Downloading the image.';
    case 'Pulled':
      return /already present/.test(m) ? `The image${quoted ? ` ${quoted}` : ''} was already on the node.` : `Image${quoted ? ` ${quoted}` : ''} downloaded.`;
    case 'Created':
      return `${c} created.`;
    case 'Started':
      return `${c} started.`;
    case 'Killing':
      return `${c} is being stopped.`;
    case 'BackOff':
      return /pull/i.test(m) ? `The image cannot be downloaded; Kubernetes keeps trying.` : `${c} keeps stopping; Kubernetes waits a little longer before each new start.`;
    case 'Failed':
      return /pull|image/i.test(m) ? `The image could not be downloaded: ${simplify(m)}` : `Could not start: ${simplify(m)}`;
    case 'Unhealthy':
      return `A health check failed: ${simplify(m)}`;
    case 'OOMKilling':
    case 'OOMKilled':
      return `${c} used more memory than it may and was stopped.`;
    case 'Evicted':
      return `The pod was moved off its node: ${simplify(m)}`;
    case 'ScalingReplicaSet':
      return / to 0\b/.test(m) ? 'The previous version of your pod is being removed.' : 'A new version of your pod is being started.';
    case 'SuccessfulCreate':
      return 'Your pod was created.';
    case 'SuccessfulDelete':
      return 'A previous pod was removed.';
    default:
      return `${e.reason.replace(/([a-z])([A-Z])/g, '$1 $2')}: ${simplify(m)}`;
  }
}

/** Kubernetes' message without the namespace/pod-hash names a customer never chose. */
function simplify(message: string): string {
  const text = message.replace(/\bvkube-[a-z0-9-]+\/([a-z0-9-]+?)(-[a-z0-9]{8,10})?(-[a-z0-9]{5})?\b/g, 'your pod').trim();
  return /[.!?]$/.test(text) ? text : `${text}.`;
}
