/**
 * Into the running container: one-shot exec (POST), interactive exec and port-forward
 * (WebSocket). The order is the one the credential opens; its live pod is looked up,
 * never named by the caller, so a secret reaches only its own pod.
 *
 * WebSocket routes do all their checking — credential, VKUBE_EXEC, the container, the
 * session cap — and open the stream to the API server in a preHandler, before the
 * upgrade: every refusal is still an HTTP answer in the error envelope. Only then is the
 * connection upgraded and relayed.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
// For its additions to fastify's types (request.ws, wsHandler).
import type {} from '@fastify/websocket';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type WebSocket from 'ws';
import type { Authenticator } from '../../domain/authenticator.js';
import { InputError } from '../../kernel/errors.js';
import { type AuditContext, type ExecService, type LiveSession, MAX_ARGS, type PodStream } from '../../domain/exec.js';
import type { EndReason } from '../../domain/sessions.js';
import {
  CLOSE,
  EXEC_PROTOCOL,
  EXEC_PROTOCOL_V4,
  isClientFrame,
  parseFrame,
  PORT_FORWARD_DATA,
  PORT_FORWARD_ERROR,
  PortForwardDecoder,
  frame,
  SECRET_PROTOCOL_PREFIX,
  splitProtocols,
} from '../../kernel/stream-channels.js';
import { SecretHeader, orderOf, principalOf, tenantOnly } from '../auth.js';
import type { ClientLimiter } from '../client-limiter.js';
import { sendError } from '../errors.js';
import { errorResponses, validatedByDomain } from '../schemas.js';

export interface PodSessionRouteDeps {
  auth: Authenticator;
  limiter: ClientLimiter;
  exec: ExecService;
  /** Largest WebSocket message accepted from a client. */
  maxMessageBytes: number;
}

/** The subprotocol a port-forward client may offer (browsers must offer one beside the secret protocol, and get it back). */
export const PORT_FORWARD_CLIENT_PROTOCOL = 'portforward.vkube.dev';

/** Above this many bytes queued toward one side, the other side is no longer read. */
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

const ExecBody = Type.Object(
  {
    container: Type.Optional(Type.String({ description: 'default: the first container of the pod; one the pod does not have is a 404 naming it' })),
    command: Type.Array(Type.String({ pattern: '^[^\\u0000]*$', description: 'no NUL character' }), {
      minItems: 1,
      maxItems: MAX_ARGS,
      description: 'the program and its arguments, run as they are (no shell, unless you name one: ["sh", "-c", "echo $HOME"]); at most 1024 arguments, 128 KiB in all',
    }),
    stdin: Type.Optional(Type.String({ description: 'given to the command as its standard input, which then ends; without it the command reads an empty input' })),
    timeoutSeconds: Type.Optional(
      Type.Integer({ minimum: 1, description: 'default 30 (or VKUBE_EXEC_MAX_TIMEOUT_SECONDS when smaller), at most VKUBE_EXEC_MAX_TIMEOUT_SECONDS (default 300)' }),
    ),
  },
  { $id: 'ExecBody', examples: [{ command: ['sh', '-c', 'echo hello; echo oops >&2; exit 3'] }] },
);

const ExecResultSchema = Type.Object(
  {
    stdout: Type.String({ description: 'standard output as UTF-8, cut after VKUBE_EXEC_OUTPUT_BYTES (default 1 MiB)' }),
    stderr: Type.String({ description: 'standard error, cut the same way' }),
    exitCode: Type.Union([Type.Integer(), Type.Null()], { description: "the command's exit code; null when it has none: it timed out, could not start (the message says why), or its pod went away" }),
    stdoutTruncated: Type.Boolean({ description: 'true when stdout was cut at the cap (the command ran on; what it wrote past the cap is lost)' }),
    stderrTruncated: Type.Boolean(),
    timedOut: Type.Boolean({ description: 'true when timeoutSeconds passed first: the stream was closed and the command killed (see the README)' }),
    message: Type.Optional(Type.String({ description: "why there is no exit code, or Kubernetes' words about a failure (e.g. the program was not found)" })),
  },
  { $id: 'ExecResult' },
);

const ShellQuery = Type.Object({
  command: Type.Union([Type.String(), Type.Array(Type.String())], { description: 'repeated once per argument, as Kubernetes does: ?command=sh&command=-c&command=ls' }),
  container: Type.Optional(Type.String({ description: 'default: the first container' })),
  stdin: Type.Optional(Type.String({ description: 'true (default) or false: whether the session sends standard input' })),
  tty: Type.Optional(Type.String({ description: 'true or false (default): a terminal; then stderr is merged into stdout (channel 1) and resize frames apply' })),
});

const PortForwardQuery = Type.Object({
  port: Type.String({ description: "a TCP port in the pod's network namespace, 1–65535: any port a process of the pod listens on (declared in the deploy or not)" }),
});

const upgradeResponses = (description: string) => ({
  101: Type.Null({ description }),
  426: {
    ...Type.Ref('ErrorEnvelope'),
    description: 'not a WebSocket upgrade. A plain GET runs every check an upgrade would (secret, VKUBE_EXEC, the container, the session cap) and answers their refusal, or 426 when a WebSocket would be accepted: how a browser, which cannot read a refused upgrade, learns why',
  },
  ...errorResponses(400, 401, 403, 404, 409, 429, 503),
});

export const podSessionRoutes: FastifyPluginAsyncTypebox<PodSessionRouteDeps> = async (app, deps) => {
  tenantOnly(app, deps.auth, deps.limiter);
  const live = new WeakMap<FastifyRequest, LiveSession>();

  app.post(
    '/k8s/pod/exec',
    {
      schema: {
        summary: 'Run a command in a container of the pod and answer its output and exit code',
        description:
          'Runs `command` in the container (default: the first) of the order\'s live pod through the Kubernetes API (pods/exec), waits for it to end, and answers ' +
          'its stdout, stderr and exit code. Each output is cut after VKUBE_EXEC_OUTPUT_BYTES (default 1 MiB) and `stdoutTruncated` / `stderrTruncated` say so. ' +
          'When `timeoutSeconds` passes first, V-Kube closes the stream and answers what it has with `timedOut: true` and `exitCode: null`. ' +
          'A one-shot exec counts as a session of the order while it runs (VKUBE_SESSIONS_PER_ORDER: 429 when over). ' +
          "Every call is in the provider's audit log with its container and command, never its output or stdin. " +
          '404: nothing is running, or the pod has no such container (named). 409: the container is not running. 403: the order expired or was aborted, or the provider turned exec off (VKUBE_EXEC=off).',
        tags: ['tenant'],
        headers: SecretHeader,
        body: ExecBody,
        response: { 200: ExecResultSchema, ...errorResponses(400, 401, 403, 404, 409, 429, 503) },
      },
    },
    async (request) => {
      const order = orderOf(request);
      const body = request.body;
      // What was run, never what it printed or read: set before running, so a refusal is recorded with it too.
      request.auditDetail = JSON.stringify({ container: body.container ?? null, command: body.command, stdin: body.stdin !== undefined, timeoutSeconds: body.timeoutSeconds ?? null });
      const result = await deps.exec.run(order, body);
      request.auditDetail = JSON.stringify({ container: body.container ?? null, command: body.command, stdin: body.stdin !== undefined, exitCode: result.exitCode, timedOut: result.timedOut });
      return result;
    },
  );

  app.route({
    method: 'GET',
    url: '/k8s/pod/exec',
    config: { audit: true },
    schema: {
      summary: 'Interactive exec over WebSocket (v5.channel.k8s.io)',
      description:
        'A WebSocket speaking Kubernetes\' `v5.channel.k8s.io` (or `v4.channel.k8s.io`): every binary message is one frame whose first byte is the channel — ' +
        '0 stdin, 1 stdout, 2 stderr, 3 status, 4 resize (`{"Width":80,"Height":24}`), 255 close (`[255,0]`: end of stdin; v5 only). The client sends 0, 4 and 255; ' +
        'anything else is dropped. The server sends 1, 2 and, once, 3: the metav1.Status Kubernetes sends (`{"status":"Success"}`, or `"Failure"` with ' +
        '`details.causes[{reason:"ExitCode",message:"<code>"}]`), then closes with 1000. ' +
        'Offer `v5.channel.k8s.io` (answered with it). The secret comes in the `secret` header or, from a browser, as the subprotocol ' +
        '`base64url.vkube.secret.<base64url of the secret, unpadded>` offered beside it. ' +
        'Refusals (401, 403 when VKUBE_EXEC=off or the order ended, 404 no pod or container, 409 not running, 429 too many sessions or requests) answer HTTP in the error envelope before any upgrade. ' +
        'The session closes after VKUBE_SESSION_IDLE_SECONDS without traffic, after VKUBE_SESSION_MAX_SECONDS, and when the order stops, expires or is aborted or its pod goes ' +
        '(close codes: 1000 command ended, 1001 pod gone or V-Kube shutting down, 1008 idle / too long / order ended, 1011 failure; the reason says which). ' +
        'Start and end are in the audit log (container, command; never the traffic).',
      tags: ['tenant'],
      headers: SecretHeader,
      querystring: ShellQuery,
      response: upgradeResponses('Switching Protocols: the session is open'),
    },
    ...validatedByDomain,
    preHandler: async (request) => {
      if (!request.ws) {
        // A plain GET: the refusal an upgrade would get, or 426 (see ExecService.check).
        const q = parseShellQuery(request.query);
        return deps.exec.check(orderOf(request), 'shell', q.container);
      }
      const { protocols } = splitProtocols(request.headers['sec-websocket-protocol']);
      if (!protocols.includes(EXEC_PROTOCOL) && !protocols.includes(EXEC_PROTOCOL_V4)) {
        throw new InputError(`offer the WebSocket subprotocol ${EXEC_PROTOCOL} (Sec-WebSocket-Protocol)`, 'Sec-WebSocket-Protocol');
      }
      const q = parseShellQuery(request.query);
      const session = await deps.exec.openShell(orderOf(request), q, auditContext(request), (reason) => endClient(request, reason));
      hold(request, session);
    },
    handler: (_request, reply) => notUpgraded(reply, `offer ${EXEC_PROTOCOL}`),
    wsHandler: (socket, request) => {
      const session = live.get(request);
      if (!session) return socket.close(1011, 'no session');
      relayExec(socket, request, session);
    },
  });

  app.route({
    method: 'GET',
    url: '/k8s/pod/portforward',
    config: { audit: true },
    schema: {
      summary: 'Port-forward over WebSocket: one socket, one TCP connection to a port of the pod',
      description:
        "Opens one TCP connection to `port` in the pod's network namespace (through the Kubernetes API, pods/portforward) and carries its bytes, raw, in binary messages both ways: " +
        'what the client sends is written to the connection, what the connection answers comes back. No framing, no channel byte. Any port a process of the pod listens on may be used ' +
        "(declared or not: the pod is the customer's own, and the connection is made inside it, so network policies do not apply). " +
        'When the pod\'s side closes the connection or refuses it, the WebSocket closes (1000, or 1011 with the node\'s error, e.g. "connection refused"); closing the WebSocket closes the connection. ' +
        `The secret comes in the \`secret\` header or as the subprotocol \`${SECRET_PROTOCOL_PREFIX}<base64url>\`; a browser must then also offer \`${PORT_FORWARD_CLIENT_PROTOCOL}\`, which is answered. ` +
        'Refusals answer HTTP in the error envelope before any upgrade; limits, close codes and audit entries are those of the interactive exec.',
      tags: ['tenant'],
      headers: SecretHeader,
      querystring: PortForwardQuery,
      response: upgradeResponses('Switching Protocols: connected'),
    },
    ...validatedByDomain,
    preHandler: async (request) => {
      const port = parsePort((request.query as Record<string, unknown> | undefined)?.port);
      if (!request.ws) return deps.exec.check(orderOf(request), 'portforward', undefined);
      const session = await deps.exec.openPortForward(orderOf(request), port, auditContext(request), (reason) => endClient(request, reason));
      hold(request, session);
    },
    handler: (_request, reply) => notUpgraded(reply, 'then send and receive raw bytes'),
    wsHandler: (socket, request) => {
      const session = live.get(request);
      if (!session) return socket.close(1011, 'no session');
      relayPortForward(socket, request, session);
    },
  });

  /** Clients (the WebSocket, once upgraded) by request, so a session ended by V-Kube can close its socket. */
  const sockets = new WeakMap<FastifyRequest, WebSocket>();
  const pendingEnd = new WeakMap<FastifyRequest, EndReason>();

  /** What the API server sent before the client's upgrade completed: relayed first. */
  const early = new WeakMap<FastifyRequest, { frames: Buffer[]; stop: () => void }>();

  function hold(request: FastifyRequest, session: LiveSession): void {
    live.set(request, session);
    // Nothing may be lost between now and the upgrade: hold the upstream, keep what already
    // came (a prompt), and note if it already ended (a command that exits at once).
    const frames: Buffer[] = [];
    const keep = (f: Buffer) => frames.push(f);
    const ended = () => session.session.end('finished');
    session.stream.on('frame', keep);
    session.stream.on('close', ended);
    if (session.stream.closed) ended();
    early.set(request, { frames, stop: () => (session.stream.off('frame', keep), session.stream.off('close', ended)) });
    // A client that goes before its upgrade completes leaves no session behind.
    request.raw.socket.once('close', () => session.session.end('client'));
  }

  function endClient(request: FastifyRequest, reason: EndReason): void {
    const socket = sockets.get(request);
    if (!socket) {
      pendingEnd.set(request, reason);
      return;
    }
    const [code, text] = CLOSE_CODES[reason];
    if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.close(code, text);
    // A client that does not answer the close handshake is cut off.
    setTimeout(() => socket.terminate(), 5000).unref();
  }

  /** Exec frames both ways: the client's stdin, resize and close; the container's output and exit status. */
  function relayExec(socket: WebSocket, request: FastifyRequest, { session, stream }: LiveSession): void {
    const canHalfClose = stream.protocol === EXEC_PROTOCOL;
    relay(socket, request, stream, session, {
      fromClient: (message) => {
        const f = parseFrame(message);
        if (!f || !isClientFrame(f)) return undefined;
        // v4 has no half-close: the command sees its input end only when the session does.
        if (f.channel === CLOSE && !canHalfClose) return undefined;
        return message;
      },
      fromUpstream: (message) => message,
    });
  }

  /** Raw bytes to the pod's port: channel 0 both ways; the node's errors (channel 1) close the socket with them. */
  function relayPortForward(socket: WebSocket, request: FastifyRequest, { session, stream }: LiveSession): void {
    const decoder = new PortForwardDecoder();
    let error = '';
    relay(socket, request, stream, session, {
      fromClient: (message) => frame(PORT_FORWARD_DATA, message),
      fromUpstream: (message) => {
        const f = decoder.push(message);
        if (!f || f.data.length === 0) return undefined;
        if (f.channel === PORT_FORWARD_DATA) return f.data;
        if (f.channel === PORT_FORWARD_ERROR) {
          error += f.data.toString('utf8');
          // The node reports a failed connection here, then closes: tell the client why.
          socket.close(1011, truncateReason(error.trim()));
        }
        return undefined;
      },
    });
  }

  /** The upgraded socket of a request: a session V-Kube ends from now on closes it (or at once, if it already ended). */
  function bindSocket(socket: WebSocket, request: FastifyRequest): void {
    sockets.set(request, socket);
    const pending = pendingEnd.get(request);
    if (pending) endClient(request, pending);
  }

  /** Relays both ways with backpressure; the session ends when either side closes. */
  function relay(
    socket: WebSocket,
    request: FastifyRequest,
    stream: PodStream,
    session: LiveSession['session'],
    map: { fromClient: (message: Buffer) => Buffer | undefined; fromUpstream: (message: Buffer) => Buffer | undefined },
  ): void {
    let upstreamPaused = false;
    let clientPaused = false;

    const toClient = (message: Buffer) => {
      session.touch();
      const out = map.fromUpstream(message);
      if (!out || socket.readyState !== socket.OPEN) return;
      socket.send(out, { binary: true }, () => {
        if (upstreamPaused && socket.bufferedAmount < LOW_WATER) {
          upstreamPaused = false;
          stream.resume();
        }
      });
      if (!upstreamPaused && socket.bufferedAmount > HIGH_WATER) {
        upstreamPaused = true;
        stream.pause();
      }
    };
    const held = early.get(request);
    held?.stop();
    for (const f of held?.frames ?? []) toClient(f);
    stream.on('frame', toClient);
    socket.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      session.touch();
      const message = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      const out = map.fromClient(message);
      if (!out) return;
      stream.send(out, () => {
        if (clientPaused && stream.bufferedAmount < LOW_WATER) {
          clientPaused = false;
          socket.resume();
        }
      });
      if (!clientPaused && stream.bufferedAmount > HIGH_WATER) {
        clientPaused = true;
        socket.pause();
      }
    });
    stream.on('close', () => session.end('finished'));
    socket.on('close', () => {
      session.end('client');
      stream.close();
    });
    socket.on('error', () => socket.terminate());
    // Last: a session that already ended (a command that exited at once) closes the socket now, after what it printed.
    bindSocket(socket, request);
    if (!session.endedWith && !upstreamPaused) stream.resume();
  }
};

/** How each end of a session closes the client's WebSocket: code and reason. */
const CLOSE_CODES: Record<EndReason, [number, string]> = {
  finished: [1000, 'ended'],
  client: [1000, 'closed by the client'],
  idle: [1008, 'idle for too long (VKUBE_SESSION_IDLE_SECONDS)'],
  'max-length': [1008, 'the session lasted the longest allowed (VKUBE_SESSION_MAX_SECONDS)'],
  timeout: [1008, 'timed out'],
  'order-ended': [1008, 'the order was stopped, expired or was aborted'],
  'pod-gone': [1001, 'the pod went away (stopped, restarted or replaced)'],
  error: [1011, 'the stream to the cluster failed'],
  shutdown: [1001, 'V-Kube is shutting down'],
};

/** A WebSocket close reason holds at most 123 bytes. */
function truncateReason(text: string): string {
  const buf = Buffer.from(text || 'error', 'utf8');
  return buf.length <= 123 ? buf.toString('utf8') : `${buf.subarray(0, 119).toString('utf8').replace(/\uFFFD+$/, '')}...`;
}

function notUpgraded(reply: FastifyReply, how: string): FastifyReply {
  return sendError(reply, 426, `this endpoint is a WebSocket: send Upgrade: websocket (${how})`).header('upgrade', 'websocket');
}

function auditContext(request: FastifyRequest): AuditContext {
  const principal = principalOf(request);
  return {
    actor: principal.via === 'token' ? `token:${principal.tokenId}` : `order:${principal.order.id}`,
    orderId: principal.order.id,
    client: request.ip,
    requestId: String(request.id),
  };
}

function parseShellQuery(query: unknown): { container?: string; command: string[]; stdin: boolean; tty: boolean } {
  const q = (query ?? {}) as Record<string, unknown>;
  const one = (key: string): string | undefined => {
    const v = q[key];
    const s = Array.isArray(v) ? v[0] : v;
    return s === undefined || s === '' ? undefined : String(s);
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const s = one(key);
    if (s === undefined) return fallback;
    if (/^(true|1|yes)$/i.test(s)) return true;
    if (/^(false|0|no)$/i.test(s)) return false;
    throw new InputError('must be true or false', key);
  };
  const raw = q.command;
  const command = raw === undefined ? [] : (Array.isArray(raw) ? raw : [raw]).map(String);
  if (command.length === 0) throw new InputError('required: repeat it once per argument (?command=sh&command=-c&command=…)', 'command');
  const container = one('container');
  return { ...(container !== undefined ? { container } : {}), command, stdin: bool('stdin', true), tty: bool('tty', false) };
}

function parsePort(value: unknown): number {
  const s = Array.isArray(value) ? value[0] : value;
  if (typeof s !== 'string' || !/^\d{1,5}$/.test(s) || Number(s) < 1 || Number(s) > 65535) throw new InputError('required: a TCP port from 1 to 65535', 'port');
  return Number(s);
}
