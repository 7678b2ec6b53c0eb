/**
 * Into a customer's running container: a one-shot exec (a command, its output and exit
 * code in one answer), an interactive exec and a port-forward (live streams the HTTP
 * layer relays over a WebSocket). Every one of them goes through the API server
 * (pods/exec, pods/portforward) as V-Kube's identity, only ever to the pod of the order
 * the credential opened: the pod is looked up from the order, never named by the caller.
 *
 * Each takes a place in the order's session registry first (sessions.ts), so the cap,
 * the idle timeout, the maximum length and the end of the order apply to all of them.
 */
import type { ClusterReader, PodJson, PodStream } from '../cluster/gateway.js';
import type { ExecConfig } from '../config.js';
import type { AuditStore, OrderRecord, OrderStore } from '../store/types.js';
import type { Clock } from './clock.js';
import { assertActive } from './deploy.js';
import { ConflictError, ForbiddenError, InputError, NotFoundError } from './errors.js';
import { type EndReason, type Session, SessionRegistry, type SessionKind } from './sessions.js';
import { CappedBuffer, closeFrame, EXEC_PROTOCOL, exitStatus, frame, parseFrame, STATUS, STDERR, STDIN, STDOUT } from './stream-channels.js';
import type { WorkloadService } from './workload.js';
import { randomUUID } from 'node:crypto';

/** Largest stdin frame sent upstream: the API server relays frames of this order of size. */
const STDIN_CHUNK = 32 * 1024;
const DEFAULT_TIMEOUT_SECONDS = 30;
/** Argument count and total size a command may have (the kernel's own limit is about 2 MiB). */
const MAX_ARGS = 1024;
const MAX_COMMAND_BYTES = 128 * 1024;

export interface ExecRequest {
  container?: string;
  command: string[];
  stdin?: string;
  timeoutSeconds?: number;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** The command's exit code; null when it has none (it timed out, could not start, or its pod went). */
  exitCode: number | null;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  timedOut: boolean;
  /** Why there is no exit code, or Kubernetes' words about a failure. */
  message?: string;
}

/** Who asked, for the audit log. */
export interface AuditContext {
  actor: string;
  orderId: string;
  client: string;
  requestId: string;
}

export interface ShellRequest {
  container?: string;
  command: string[];
  stdin: boolean;
  tty: boolean;
}

/** An open interactive exec or port-forward: the HTTP layer relays `stream` and ends `session` when either side goes. */
export interface LiveSession {
  session: Session;
  stream: PodStream;
  container?: string;
}

export interface ExecServiceDeps {
  cluster: ClusterReader;
  workloads: WorkloadService;
  orders: Pick<OrderStore, 'findOrder'>;
  audit: AuditStore;
  clock: Clock;
  config: ExecConfig;
  log?: (msg: string, err: unknown) => void;
}

export class ExecService {
  readonly sessions: SessionRegistry;

  constructor(private readonly deps: ExecServiceDeps) {
    const { config } = deps;
    this.sessions = new SessionRegistry(
      { maxPerOrder: config.maxSessionsPerOrder, idleMs: config.idleSeconds * 1000, maxMs: config.maxSessionSeconds * 1000 },
      { orderLive: (id) => this.orderLive(id), ...(deps.log ? { log: deps.log } : {}) },
    );
    // A pod that is going (stop, restart, update, teardown) takes its sessions with it at once.
    deps.cluster.onChange((change) => {
      if (change.kind !== 'pod') return;
      const uid = change.pod.metadata.uid;
      if (uid && (change.type === 'DELETED' || change.pod.metadata.deletionTimestamp)) this.sessions.endPod(uid);
    });
  }

  get enabled(): boolean {
    return this.deps.config.enabled;
  }

  /** Refuses when the provider turned exec and port-forward off. */
  assertEnabled(): void {
    if (!this.deps.config.enabled) throw new ForbiddenError('exec and port-forward are turned off by the provider of this service (VKUBE_EXEC=off)');
  }

  /** Takes a place for a followed log (it counts toward the order's cap like any session). */
  openLogStream(order: OrderRecord, onEnd: (reason: EndReason) => void): Session {
    return this.sessions.open({ kind: 'logs', orderId: order.id, timed: false }, onEnd);
  }

  /** Runs a command to its end (or its timeout) and answers its output, capped, and its exit code. */
  async run(order: OrderRecord, body: ExecRequest): Promise<ExecResult> {
    this.assertEnabled();
    const command = checkCommand(body.command);
    const maxTimeout = this.deps.config.maxTimeoutSeconds;
    const timeoutSeconds = body.timeoutSeconds ?? Math.min(DEFAULT_TIMEOUT_SECONDS, maxTimeout);
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > maxTimeout) {
      throw new InputError(`must be an integer from 1 to ${maxTimeout}`, 'timeoutSeconds');
    }
    const { pod, container } = this.target(order, body.container);
    const stdin = body.stdin !== undefined;

    let result: ((reason: EndReason) => void) | undefined;
    const session = this.sessions.open({ kind: 'exec', orderId: order.id, podUid: pod.metadata.uid, timed: false }, (reason) => result?.(reason));
    let stream: PodStream;
    try {
      stream = await this.deps.cluster.exec(pod.metadata.namespace!, pod.metadata.name, { container, command, stdin, tty: false });
    } catch (err) {
      session.end('error');
      throw err;
    }
    if (session.endedWith) {
      stream.close();
      throw new ConflictError('the pod went away before the command could start');
    }

    const cap = this.deps.config.outputBytes;
    const stdout = new CappedBuffer(cap);
    const stderr = new CappedBuffer(cap);
    let status: ReturnType<typeof exitStatus> | undefined;
    return new Promise<ExecResult>((resolve) => {
      const timer = setTimeout(() => session.end('timeout'), timeoutSeconds * 1000);
      result = (reason) => {
        clearTimeout(timer);
        stream.close();
        const timedOut = reason === 'timeout';
        const why =
          status?.message ??
          (timedOut
            ? `the command did not finish within ${timeoutSeconds} s; its stream was closed`
            : reason === 'pod-gone' || reason === 'order-ended'
              ? 'the pod went away (stopped, restarted or ended) before the command finished'
              : status
                ? undefined
                : 'the stream ended without an exit status');
        resolve({
          stdout: stdout.text(),
          stderr: stderr.text(),
          exitCode: timedOut ? null : (status?.exitCode ?? null),
          stdoutTruncated: stdout.truncated,
          stderrTruncated: stderr.truncated,
          timedOut,
          ...(why ? { message: why } : {}),
        });
      };
      stream.on('frame', (message) => {
        const f = parseFrame(message);
        if (!f) return;
        if (f.channel === STDOUT) stdout.push(f.data);
        else if (f.channel === STDERR) stderr.push(f.data);
        else if (f.channel === STATUS) status = exitStatus(f.data);
      });
      stream.on('close', () => session.end('finished'));
      if (stdin) {
        const data = Buffer.from(body.stdin ?? '', 'utf8');
        for (let i = 0; i < data.length; i += STDIN_CHUNK) stream.send(frame(STDIN, data.subarray(i, i + STDIN_CHUNK)));
        // End of input (v5 only; an API server before 1.30 has no way to say it, and the command sees its input end only with the stream).
        if (stream.protocol === EXEC_PROTOCOL) stream.send(closeFrame(STDIN));
      }
    });
  }

  /** Opens an interactive exec; the caller relays the stream and ends the session. */
  async openShell(order: OrderRecord, req: ShellRequest, audit: AuditContext, onEnd: (reason: EndReason) => void): Promise<LiveSession> {
    this.assertEnabled();
    const command = checkCommand(req.command);
    const { pod, container } = this.target(order, req.container);
    const detail = { container, command, stdin: req.stdin, tty: req.tty };
    const open = await this.openLive('shell', order, pod, detail, audit, onEnd, (signal) =>
      this.deps.cluster.exec(pod.metadata.namespace!, pod.metadata.name, { container, command, stdin: req.stdin, tty: req.tty }, signal),
    );
    return { ...open, container };
  }

  /** Opens one TCP connection to `port` in the pod's network namespace. */
  async openPortForward(order: OrderRecord, port: number, audit: AuditContext, onEnd: (reason: EndReason) => void): Promise<LiveSession> {
    this.assertEnabled();
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InputError('must be an integer from 1 to 65535', 'port');
    const { pod } = this.target(order, undefined);
    return this.openLive('portforward', order, pod, { port }, audit, onEnd, (signal) => this.deps.cluster.portForward(pod.metadata.namespace!, pod.metadata.name, port, signal));
  }

  private async openLive(
    kind: SessionKind,
    order: OrderRecord,
    pod: PodJson,
    detail: Record<string, unknown>,
    audit: AuditContext,
    onEnd: (reason: EndReason) => void,
    connect: (signal: AbortSignal) => Promise<PodStream>,
  ): Promise<{ session: Session; stream: PodStream }> {
    const abort = new AbortController();
    let started = false;
    let stream: PodStream | undefined;
    const session = this.sessions.open({ kind, orderId: order.id, podUid: pod.metadata.uid, timed: true }, (reason) => {
      // However it ends (the client left, idle, the order ended), the API server's side goes too.
      abort.abort();
      stream?.close();
      if (started) {
        const seconds = Math.round((Date.now() - session.startedAt) / 100) / 10;
        this.record(audit, `${kind === 'shell' ? 'exec' : kind} session end`, 101, { session: session.id, reason, seconds });
      }
      onEnd(reason);
    });
    try {
      stream = await connect(abort.signal);
    } catch (err) {
      session.end('error');
      throw err;
    }
    if (session.endedWith) {
      // The order or pod ended (or the client left) while the API server was being asked.
      stream.close();
      throw new ConflictError('the session ended while it was being opened (the client left, or the pod went away)');
    }
    started = true;
    this.record(audit, `${kind === 'shell' ? 'exec' : kind} session start`, 101, { session: session.id, ...detail });
    return { session, stream };
  }

  /** An audit entry of its own (sessions are GETs, which the HTTP edge does not audit by itself). */
  private record(ctx: AuditContext, action: string, outcome: number, detail: Record<string, unknown>): void {
    const at = this.deps.clock.now();
    this.deps.audit
      .appendAudit({
        id: `${Date.now().toString(36)}-${randomUUID()}`,
        at,
        actor: ctx.actor,
        orderId: ctx.orderId,
        action,
        outcome,
        client: ctx.client,
        requestId: ctx.requestId,
        detail: JSON.stringify(detail),
      })
      .catch((err: unknown) => this.deps.log?.('could not write the audit log', err));
  }

  /** The order's live pod and the container asked for (default: the first). */
  private target(order: OrderRecord, containerName: string | undefined): { pod: PodJson; container: string } {
    assertActive(order, this.deps.clock.now());
    const pod = this.deps.workloads.currentPod(order);
    const names = pod.spec.containers.map((c) => c.name);
    const container = containerName ?? names[0]!;
    if (!names.includes(container)) throw new NotFoundError(`no container "${container}" in the pod; it has ${names.join(', ')}`);
    if (pod.metadata.deletionTimestamp) throw new ConflictError('the pod is being replaced or stopped; try again once the new one runs');
    const state = pod.status?.containerStatuses?.find((c) => c.name === container)?.state;
    if (pod.status?.phase !== 'Running' || !state?.running) {
      const waiting = state?.waiting?.reason ?? state?.terminated?.reason;
      throw new ConflictError(`container "${container}" is not running${waiting ? ` (${waiting})` : ''}; see GET /api/v1/k8s/pod/status`);
    }
    return { pod, container };
  }

  /** Whether the order may still hold sessions: running, not expired, not aborted. */
  private async orderLive(orderId: string): Promise<boolean> {
    const order = await this.deps.orders.findOrder(orderId);
    if (!order || order.serviceStatus !== 'ServiceRunning') return false;
    return order.endAt === null || this.deps.clock.now() < order.endAt;
  }
}

function checkCommand(command: unknown): string[] {
  if (!Array.isArray(command) || command.length === 0) throw new InputError('must be a non-empty array of strings (the program, then its arguments)', 'command');
  if (command.length > MAX_ARGS) throw new InputError(`at most ${MAX_ARGS} arguments`, 'command');
  let bytes = 0;
  for (const [i, arg] of command.entries()) {
    if (typeof arg !== 'string') throw new InputError('must be a string', `command[${i}]`);
    if (arg.includes('\0')) throw new InputError('must not contain a NUL character', `command[${i}]`);
    bytes += Buffer.byteLength(arg, 'utf8');
  }
  if (bytes > MAX_COMMAND_BYTES) throw new InputError(`at most ${MAX_COMMAND_BYTES / 1024} KiB in all`, 'command');
  if (command[0] === '') throw new InputError('must name a program', 'command[0]');
  return command as string[];
}
