/**
 * Why a container stopped, restarts or is not ready, read from the pod as the watch
 * cache holds it (Kubernetes' `containerStatuses` and the spec's probes).
 *
 * Kubernetes already says all of it, but spread over `state`, `lastState`, `ready`,
 * `started` and `restartCount`, in words only an operator reads. This puts each
 * container's answer in one place, keeps Kubernetes' own reason and exit code beside a
 * sentence a customer understands, and says when `GET /k8s/pod/log?previous=true` has
 * something to show. Pure.
 */
import type { ContainerStateJson, ContainerStatusJson, EventJson, PodJson } from '../cluster/gateway.js';

/** How one run of a container ended, as Kubernetes recorded it. */
export interface TerminationView {
  /** Kubernetes' reason: OOMKilled, Error, Completed, ContainerCannotRun, StartError, … */
  reason: string;
  exitCode: number;
  /** The signal that ended it, when the runtime reports one. */
  signal?: number;
  /** The runtime's or the container's termination message, when there is one. */
  message?: string;
  /** RFC 3339; null when Kubernetes did not record it (a run that never started). */
  startedAt: string | null;
  finishedAt: string | null;
  /**
   * The kubelet killed it because this probe failed (from its Killing event). Kubernetes'
   * reason does not say so: an app that exits cleanly on SIGTERM shows `Completed`, code 0.
   */
  killedBy?: 'livenessProbe' | 'startupProbe';
}

export type ContainerPhase = 'running' | 'waiting' | 'terminated' | 'unknown';

export interface ContainerHealthView {
  name: string;
  ready: boolean;
  restartCount: number;
  /** What the current instance does. */
  state: ContainerPhase;
  /** Why it waits or why the current instance ended (CrashLoopBackOff, ContainerCreating, OOMKilled, …). */
  reason?: string;
  /** Kubernetes' words with that reason (for CrashLoopBackOff: how long it backs off). */
  message?: string;
  /** RFC 3339: when the current instance started running, or ended. */
  since?: string;
  /** The current instance's exit code, when it has ended. */
  exitCode?: number;
  /** Kubernetes waits before starting the container again because it keeps stopping. */
  crashLoopBackOff: boolean;
  /** How the previous instance ended (Kubernetes' `lastState.terminated`); null when there was none. */
  lastTermination: TerminationView | null;
  /** Whether a previous instance is known, so `GET /k8s/pod/log?previous=true` can read its log. */
  hasPreviousLog: boolean;
  /** The state in one sentence for the customer. */
  summary: string;
}

interface ProbeSpecJson {
  readinessProbe?: unknown;
  livenessProbe?: unknown;
  startupProbe?: unknown;
}

type StateJson = ContainerStateJson | undefined;

/**
 * Each container of the pod, in the order of its spec (statuses of unknown containers
 * after them). `probeKills`: the kubelet's Killing events of the pod (a failed liveness or
 * startup probe), which tell a probe's kill from the app's own exit.
 */
export function containerHealth(pod: PodJson, probeKills: readonly EventJson[] = []): ContainerHealthView[] {
  const statuses = pod.status?.containerStatuses ?? [];
  const specs = pod.spec.containers as Array<PodJson['spec']['containers'][number] & ProbeSpecJson>;
  const out = specs.map((c) => one(c.name, statuses.find((s) => s.name === c.name), c, probeKills));
  for (const s of statuses) if (!specs.some((c) => c.name === s.name)) out.push(one(s.name, s, {}, probeKills));
  return out;
}

/** Seconds of slack between the kubelet's clock on the event and on the termination (both whole seconds). */
const KILL_SLACK_MS = 2000;

/**
 * Which probe's failure killed the run that ended at `t`, if one did: a Killing event
 * ("Container app failed liveness probe, will be restarted") last seen while that run
 * was alive. Kubernetes counts repeats into one event, whose last time is the latest kill.
 */
function killedBy(container: string, t: TerminationView, kills: readonly EventJson[]): TerminationView['killedBy'] {
  const started = t.startedAt ? Date.parse(t.startedAt) : NaN;
  const finished = t.finishedAt ? Date.parse(t.finishedAt) : NaN;
  if (!Number.isFinite(started) || !Number.isFinite(finished)) return undefined;
  for (const e of kills) {
    const m = /^Container (\S+) failed (liveness|startup) probe/.exec(e.message ?? '');
    if (!m || m[1] !== container) continue;
    const at = Date.parse(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? '');
    if (at >= started - KILL_SLACK_MS && at <= finished + KILL_SLACK_MS) return m[2] === 'liveness' ? 'livenessProbe' : 'startupProbe';
  }
  return undefined;
}

/**
 * Whether the containers need explaining: one has stopped at least once, waits, has
 * ended, or runs without being ready. While every container runs its first instance
 * and is ready there is nothing to say, and `GET /k8s/pod/status` keeps the seed's
 * exact four fields. Nor is there before the kubelet reports any container (a pod not
 * scheduled yet, e.g. waiting for its volume): the pod's own status says why it waits.
 */
export function needsExplaining(health: readonly ContainerHealthView[]): boolean {
  return health.some((c) => c.state !== 'unknown' && (c.state !== 'running' || !c.ready || c.restartCount > 0 || c.lastTermination !== null));
}

function one(name: string, s: ContainerStatusJson | undefined, spec: ProbeSpecJson, probeKills: readonly EventJson[]): ContainerHealthView {
  const view: ContainerHealthView = {
    name,
    ready: s?.ready === true,
    restartCount: typeof s?.restartCount === 'number' ? s.restartCount : 0,
    state: 'unknown',
    crashLoopBackOff: false,
    lastTermination: termination(s?.lastState?.terminated),
    hasPreviousLog: false,
    summary: '',
  };
  if (view.lastTermination && probeKills.length) {
    const by = killedBy(name, view.lastTermination, probeKills);
    if (by) view.lastTermination.killedBy = by;
  }
  view.hasPreviousLog = view.restartCount > 0 || view.lastTermination !== null;
  const { running, waiting, terminated } = s?.state ?? {};
  if (running) {
    view.state = 'running';
    const since = str(running.startedAt);
    if (since) view.since = since;
  } else if (waiting) {
    view.state = 'waiting';
    copyText(view, waiting);
    view.crashLoopBackOff = waiting.reason === 'CrashLoopBackOff';
  } else if (terminated) {
    view.state = 'terminated';
    copyText(view, terminated);
    if (typeof terminated.exitCode === 'number') view.exitCode = terminated.exitCode;
    const since = str(terminated.finishedAt);
    if (since) view.since = since;
  }
  view.summary = summarize(view, s, spec);
  return view;
}

function copyText(view: ContainerHealthView, state: ContainerStateJson): void {
  const reason = str(state.reason);
  if (reason) view.reason = reason;
  const message = str(state.message);
  if (message) view.message = message;
}

function termination(t: StateJson): TerminationView | null {
  if (!t) return null;
  const out: TerminationView = {
    // Kubernetes leaves the reason out for some runtimes' plain exits; the exit code still says how.
    reason: str(t.reason) ?? (t.exitCode === 0 ? 'Completed' : 'Error'),
    exitCode: typeof t.exitCode === 'number' ? t.exitCode : 0,
    startedAt: str(t.startedAt) ?? null,
    finishedAt: str(t.finishedAt) ?? null,
  };
  if (typeof t.signal === 'number' && t.signal > 0) out.signal = t.signal;
  const message = str(t.message);
  if (message) out.message = message;
  return out;
}

/** "exited with code 3 (Error)", "was killed for using more memory than its limit (OOMKilled)". */
export function describeTermination(t: Pick<TerminationView, 'reason' | 'exitCode' | 'signal' | 'killedBy'>): string {
  if (t.killedBy) return `was restarted because its ${t.killedBy === 'livenessProbe' ? 'liveness' : 'startup'} probe failed (${t.reason}, exit code ${t.exitCode})`;
  if (t.reason === 'OOMKilled') return 'was killed for using more memory than its limit (OOMKilled)';
  if (t.reason === 'Completed') return `exited normally (code ${t.exitCode})`;
  if (t.reason === 'ContainerCannotRun' || t.reason === 'StartError') return `could not be started (${t.reason})`;
  if (t.signal) return `was ended by signal ${t.signal} (${t.reason})`;
  // 128+N is how a shell reports death by signal N: 137 is SIGKILL (a liveness probe's kill, or the memory limit), 143 SIGTERM.
  if (t.exitCode === 137) return `was killed (exit code 137, SIGKILL; ${t.reason})`;
  if (t.exitCode === 143) return `was stopped (exit code 143, SIGTERM; ${t.reason})`;
  return `exited with code ${t.exitCode} (${t.reason})`;
}

function summarize(view: ContainerHealthView, s: ContainerStatusJson | undefined, spec: ProbeSpecJson): string {
  const restarts = view.restartCount === 1 ? 'restarted once' : view.restartCount > 1 ? `restarted ${view.restartCount} times` : '';
  const last = view.lastTermination ? `its last run ${describeTermination(view.lastTermination)}` : '';
  const history = [last, restarts].filter(Boolean).join('; ');
  const tail = history ? `; ${history}` : '';
  switch (view.state) {
    case 'unknown':
      return 'not created yet';
    case 'waiting':
      if (view.crashLoopBackOff) {
        // Kubernetes' message is "back-off 20s restarting failed container=… pod=…(uid)": the wait is what a customer needs.
        const wait = /^back-off (\S+)/.exec(view.message ?? '')?.[1];
        return `keeps stopping: Kubernetes waits${wait ? ` ${wait}` : ''} before starting it again (CrashLoopBackOff)${tail}`;
      }
      return `waiting to start${view.reason ? ` (${view.reason}${view.message ? `: ${view.message}` : ''})` : ''}${tail}`;
    case 'terminated':
      return `has stopped: it ${describeTermination({ reason: view.reason ?? 'Error', exitCode: view.exitCode ?? 0 })}${tail}`;
    case 'running': {
      if (view.ready) return `running and ready${tail}`;
      // `started` is false until a startup probe succeeds (true at once without one).
      if (spec.startupProbe && s?.started === false) return `running, not ready: its startup probe has not succeeded yet${tail}`;
      if (spec.readinessProbe) return `running, not ready: its readiness probe does not succeed${tail}`;
      return `running, not ready yet${tail}`;
    }
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
