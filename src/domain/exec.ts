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
import type { AuditStore, OrderStore } from './store-port.js';
import type { OrderRecord } from './records.js';
import type { Clock } from '../kernel/clock.js';
import { assertActive } from './deploy.js';
import { ConflictError, ForbiddenError, InputError, NotFoundError } from '../kernel/errors.js';
import { type EndReason, type Session, SessionRegistry, type SessionKind } from './sessions.js';
import { CappedBuffer, closeFrame, EXEC_PROTOCOL, exitStatus, frame, parseFrame, STATUS, STDERR, STDIN, STDOUT } from '../kernel/stream-channels.js';
import type { WorkloadService } from './workload.js';
import { randomUUID } from 'node:crypto';

/** The byte stream of an exec or port-forward, as the routes relay it. */
export type { PodStream };

/** Largest stdin frame sent upstream: the API server relays frames of this order of size. */
const STDIN_CHUNK = 32 * 1024;
const DEFAULT_TIMEOUT_SECONDS = 30;
/**
 * Reports its PID on stderr, then becomes the command (exec keeps the PID): what a timed-out
 * command is killed by. `$0` is a name for error messages; "$@" is the command, unchanged.
 */
const PID_MARK = 'vkube-exec-pid ';
const PID_WRAPPER = ['/bin/sh', '-c', `printf '${PID_MARK}%s\\n' "$$" >&2 && exec "$@"`, 'vkube-exec'];
/** Argument count and total size a command may have (the kernel's own limit is about 2 MiB). */
export const MAX_ARGS = 1024;
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

  /**
   * Runs a command to its end (or its timeout) and answers its output, capped, and its exit code.
   *
   * Kubernetes has no timeout for exec, and closing the stream does not stop the process
   * (containerd keeps it running, blocked or not, until it exits by itself). So the
   * command runs under a tiny `/bin/sh` wrapper that reports its PID on stderr (stripped
   * from the answer) and then execs it, unchanged, as that same process; on timeout V-Kube
   * runs `kill -KILL <pid>` in the container. An image without /bin/sh gets the command
   * unwrapped, and there the timeout only closes the stream (the message says so).
   */
  async run(order: OrderRecord, body: ExecRequest): Promise<ExecResult> {
    this.assertEnabled();
    const command = checkCommand(body.command);
    const maxTimeout = this.deps.config.maxTimeoutSeconds;
    const timeoutSeconds = body.timeoutSeconds ?? Math.min(DEFAULT_TIMEOUT_SECONDS, maxTimeout);
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > maxTimeout) {
      throw new InputError(`must be an integer from 1 to ${maxTimeout}`, 'timeoutSeconds');
    }
    const { pod, container } = this.target(order, body.container);
    const deadline = Date.now() + timeoutSeconds * 1000;

    let finish: ((reason: EndReason) => void) | undefined;
    const session = this.sessions.open({ kind: 'exec', orderId: order.id, podUid: pod.metadata.uid, timed: false }, (reason) => finish?.(reason));
    try {
      const wrapped = await this.runOnce(pod, container, [...PID_WRAPPER, ...command], body.stdin, deadline, session, (f) => (finish = f));
      // No /bin/sh in the image: the wrapper could not start, so nothing of the command ran. Run it as it is.
      if (wrapped.pid === undefined && wrapped.exitCode === null && !wrapped.timedOut && isMissingShell(wrapped.message)) {
        const bare = await this.runOnce(pod, container, command, body.stdin, deadline, session, (f) => (finish = f));
        return bare.timedOut ? { ...bare, message: `the command did not finish within ${timeoutSeconds} s; its stream was closed, but this image has no /bin/sh, so V-Kube could not kill it and it may still run` } : bare;
      }
      if (!wrapped.timedOut) return wrapped;
      const killed = wrapped.pid !== undefined && (await this.kill(pod, container, wrapped.pid));
      return {
        ...wrapped,
        message: killed
          ? `the command did not finish within ${timeoutSeconds} s: it was killed (SIGKILL); processes it started in the background may still run`
          : `the command did not finish within ${timeoutSeconds} s; its stream was closed, but V-Kube could not kill it and it may still run`,
      };
    } finally {
      session.end('finished');
    }
  }

  /** One exec to its end or the deadline; the session's end (pod gone, order ended) ends it too. */
  private async runOnce(
    pod: PodJson,
    container: string,
    command: string[],
    stdinText: string | undefined,
    deadline: number,
    session: Session,
    onSessionEnd: (finish: (reason: EndReason) => void) => void,
  ): Promise<ExecResult & { pid?: number }> {
    const stream = await this.deps.cluster.exec(pod.metadata.namespace!, pod.metadata.name, { container, command, stdin: stdinText !== undefined, tty: false });
    if (session.endedWith) {
      stream.close();
      throw new ConflictError('the pod went away before the command could start');
    }
    const cap = this.deps.config.outputBytes;
    const stdout = new CappedBuffer(cap);
    const stderr = new CappedBuffer(cap);
    const pid = new PidLine();
    let status: ReturnType<typeof exitStatus> | undefined;
    return new Promise((resolve) => {
      let done = false;
      const end = (reason: EndReason | 'timeout' | 'closed') => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        stream.close();
        const timedOut = reason === 'timeout';
        const why = timedOut
          ? undefined
          : reason === 'pod-gone' || reason === 'order-ended'
            ? 'the pod went away (stopped, restarted or ended) before the command finished'
            : (status?.message ?? (status ? undefined : 'the stream ended without an exit status'));
        resolve({
          stdout: stdout.text(),
          stderr: stderr.text(),
          exitCode: timedOut ? null : (status?.exitCode ?? null),
          stdoutTruncated: stdout.truncated,
          stderrTruncated: stderr.truncated,
          timedOut,
          ...(why ? { message: why } : {}),
          ...(pid.value !== undefined ? { pid: pid.value } : {}),
        });
      };
      const timer = setTimeout(() => end('timeout'), Math.max(0, deadline - Date.now()));
      onSessionEnd((reason) => end(reason));
      stream.on('frame', (message) => {
        const f = parseFrame(message);
        if (!f) return;
        if (f.channel === STDOUT) stdout.push(f.data);
        else if (f.channel === STDERR) {
          const rest = pid.push(f.data);
          if (rest.length) stderr.push(rest);
        } else if (f.channel === STATUS) status = exitStatus(f.data);
      });
      stream.on('close', () => end('closed'));
      if (stream.closed) return end('closed');
      stream.resume();
      if (stdinText !== undefined) {
        const data = Buffer.from(stdinText, 'utf8');
        for (let i = 0; i < data.length; i += STDIN_CHUNK) stream.send(frame(STDIN, data.subarray(i, i + STDIN_CHUNK)));
        // End of input (v5 only; an API server before 1.30 has no way to say it, and the command sees its input end only with the stream).
        if (stream.protocol === EXEC_PROTOCOL) stream.send(closeFrame(STDIN));
      }
    });
  }

  /** `kill -KILL <pid>` in the container (bounded: 5 s); whether it worked. */
  private async kill(pod: PodJson, container: string, pid: number): Promise<boolean> {
    try {
      const stream = await this.deps.cluster.exec(pod.metadata.namespace!, pod.metadata.name, { container, command: ['/bin/sh', '-c', 'kill -KILL "$1"', 'vkube-kill', String(pid)], stdin: false, tty: false });
      return await new Promise<boolean>((resolve) => {
        let ok = false;
        const timer = setTimeout(() => (stream.close(), resolve(false)), 5000);
        stream.on('frame', (message) => {
          const f = parseFrame(message);
          if (f?.channel === STATUS) ok = exitStatus(f.data).exitCode === 0;
        });
        stream.on('close', () => (clearTimeout(timer), resolve(ok)));
        stream.resume();
      });
    } catch (err) {
      this.deps.log?.(`could not kill a timed-out exec (pid ${pid}) in ${pod.metadata.namespace}/${pod.metadata.name}`, err);
      return false;
    }
  }

  /**
   * Every check a session would pass before it opens (exec on, order live, the container
   * running, a free place under the cap), without opening one. A browser cannot read why
   * an upgrade was refused, and the CLI asks before it listens: both send a plain GET,
   * which runs this and then answers 426.
   */
  check(order: OrderRecord, kind: 'shell' | 'portforward', containerName: string | undefined): void {
    this.assertEnabled();
    this.target(order, containerName);
    // The cap's own refusal, word for word: take a place and give it back at once.
    this.sessions.open({ kind, orderId: order.id, timed: false }, () => undefined).end('finished');
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

/** The wrapper could not start: the image has no /bin/sh (the runtime's words vary). */
function isMissingShell(message: string | undefined): boolean {
  return !!message && /\/bin\/sh/.test(message) && /no such file|not found|executable file/i.test(message);
}

/**
 * Takes the wrapper's PID line off the front of stderr, even across frames; everything
 * else, from the first byte that does not fit the line, is the command's own stderr.
 */
export class PidLine {
  value: number | undefined;
  private head = Buffer.alloc(0);
  private done = false;

  push(data: Buffer): Buffer {
    if (this.done) return data;
    this.head = Buffer.concat([this.head, data]);
    const text = this.head.toString('latin1');
    const mark = PID_MARK.slice(0, Math.min(PID_MARK.length, text.length));
    if (!text.startsWith(mark)) return this.give();
    const nl = text.indexOf('\n');
    if (nl < 0) return this.head.length > 64 ? this.give() : Buffer.alloc(0);
    const m = /^vkube-exec-pid (\d+)$/.exec(text.slice(0, nl));
    if (!m) return this.give();
    this.value = Number(m[1]);
    const rest = this.head.subarray(nl + 1);
    this.done = true;
    this.head = Buffer.alloc(0);
    return rest;
  }

  private give(): Buffer {
    this.done = true;
    const all = this.head;
    this.head = Buffer.alloc(0);
    return all;
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
