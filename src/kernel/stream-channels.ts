/**
 * The framing Kubernetes speaks over WebSocket for exec and port-forward, as pure
 * functions (no sockets here: test/unit/stream-channels.test.ts covers them).
 *
 * Exec, `v5.channel.k8s.io` (and its predecessor `v4.channel.k8s.io`): every binary
 * message is one frame, its first byte the channel —
 *   0 stdin · 1 stdout · 2 stderr · 3 status (a metav1.Status as JSON, once, at the end)
 *   4 resize (`{"Width":w,"Height":h}`) · 255 close (v5 only: `[255, channel]` half-closes
 *   that channel, how a client says "end of stdin").
 *
 * Port-forward, `v4.channel.k8s.io` on `pods/portforward?ports=N`: channel 0 carries the
 * connection's data both ways, channel 1 the errors from the node; the first frame the
 * server sends on each channel starts with the port as 2 bytes, little-endian, which is
 * not data. V-Kube strips it, so its own port-forward socket carries raw bytes only.
 */

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const STATUS = 3;
export const RESIZE = 4;
export const CLOSE = 255;

export const EXEC_PROTOCOL = 'v5.channel.k8s.io';
/** Older clients (kubectl before 1.30, most libraries): the same framing without channel 255. */
export const EXEC_PROTOCOL_V4 = 'v4.channel.k8s.io';
export const PORT_FORWARD_PROTOCOL = 'v4.channel.k8s.io';
export const PORT_FORWARD_DATA = 0;
export const PORT_FORWARD_ERROR = 1;

/**
 * Browsers cannot set headers on a WebSocket, so the secret may come as a subprotocol
 * offered beside the real one: `base64url.vkube.secret.<base64url of the secret, unpadded>`.
 */
export const SECRET_PROTOCOL_PREFIX = 'base64url.vkube.secret.';

export interface Frame {
  channel: number;
  data: Buffer;
}

/** One frame: the channel byte, then the data. */
export function frame(channel: number, data: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const out = Buffer.allocUnsafe(body.length + 1);
  out[0] = channel;
  body.copy(out, 1);
  return out;
}

/** v5's half-close: no more data on `channel` (for stdin: end of input). */
export function closeFrame(channel: number): Buffer {
  return Buffer.from([CLOSE, channel]);
}

export function resizeFrame(width: number, height: number): Buffer {
  return frame(RESIZE, JSON.stringify({ Width: width, Height: height }));
}

/** A message as frames: undefined for an empty message, which carries no channel. */
export function parseFrame(message: Buffer): Frame | undefined {
  if (message.length === 0) return undefined;
  return { channel: message[0]!, data: message.subarray(1) };
}

/** A resize frame's size, or undefined when it is not one Kubernetes would accept. */
export function parseResize(data: Buffer): { width: number; height: number } | undefined {
  try {
    const v = JSON.parse(data.toString('utf8')) as { Width?: unknown; Height?: unknown };
    const ok = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65535;
    return ok(v.Width) && ok(v.Height) ? { width: v.Width, height: v.Height } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Which frames a customer's interactive exec client may send on to Kubernetes: stdin,
 * resize (with a size that parses) and close. Anything else (a frame on the status or
 * output channels, a malformed resize) is dropped rather than relayed.
 */
export function isClientFrame(f: Frame): boolean {
  if (f.channel === STDIN) return true;
  if (f.channel === RESIZE) return parseResize(f.data) !== undefined;
  if (f.channel === CLOSE) return f.data.length === 1 && f.data[0] === STDIN;
  return false;
}

/** How a command ended, from the status frame (channel 3). */
export interface ExitStatus {
  /** The command's exit code; null when it never ran or Kubernetes did not say (the message says why). */
  exitCode: number | null;
  /** Kubernetes' words, for a failure. */
  message?: string;
}

/**
 * metav1.Status on channel 3: `{"status":"Success"}` is exit code 0;
 * `{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"42"}]}}`
 * carries the code; any other failure (command not found, container gone) has none.
 */
export function exitStatus(data: Buffer | string): ExitStatus {
  let status: { status?: string; reason?: string; message?: string; details?: { causes?: Array<{ reason?: string; message?: string }> } };
  try {
    status = JSON.parse(typeof data === 'string' ? data : data.toString('utf8')) as typeof status;
  } catch {
    return { exitCode: null, message: 'Kubernetes sent an unreadable exit status' };
  }
  if (status.status === 'Success') return { exitCode: 0 };
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  const code = cause?.message !== undefined && /^\d+$/.test(cause.message) ? Number(cause.message) : null;
  return { exitCode: code, ...(status.message ? { message: status.message } : {}) };
}

/**
 * Strips the port prefix (2 bytes) the server puts at the start of each port-forward
 * channel, even when it arrives split across frames or joined to the first data.
 */
export class PortForwardDecoder {
  private readonly prefixLeft = new Map<number, number>();

  /** The data a server frame carries for its channel (possibly empty). */
  push(message: Buffer): Frame | undefined {
    const f = parseFrame(message);
    if (!f) return undefined;
    const left = this.prefixLeft.get(f.channel) ?? 2;
    if (left === 0) return f;
    const skip = Math.min(left, f.data.length);
    this.prefixLeft.set(f.channel, left - skip);
    return { channel: f.channel, data: f.data.subarray(skip) };
  }
}

/**
 * The `Sec-WebSocket-Protocol` offer split into protocols, with V-Kube's secret
 * protocol taken out and decoded.
 */
export function splitProtocols(header: string | string[] | undefined): { protocols: string[]; secret?: string } {
  const all = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const protocols: string[] = [];
  let secret: string | undefined;
  for (const p of all) {
    if (p.startsWith(SECRET_PROTOCOL_PREFIX)) {
      const encoded = p.slice(SECRET_PROTOCOL_PREFIX.length);
      // base64url only (no padding): anything else is not a secret we issued.
      if (/^[A-Za-z0-9_-]+$/.test(encoded)) secret = Buffer.from(encoded, 'base64url').toString('utf8');
    } else protocols.push(p);
  }
  return secret === undefined ? { protocols } : { protocols, secret };
}

/** The subprotocol a browser offers to carry `secret` (the inverse of splitProtocols). */
export function secretProtocol(secret: string): string {
  return SECRET_PROTOCOL_PREFIX + Buffer.from(secret, 'utf8').toString('base64url');
}

/**
 * Output kept up to a cap: what fits is kept, the rest counted, so the answer can say
 * how much was cut. UTF-8 decoding happens once at the end, so a character is never
 * split by a frame boundary (only, at worst, by the cap itself).
 */
export class CappedBuffer {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  dropped = 0;

  constructor(private readonly cap: number) {}

  push(data: Buffer): void {
    const room = this.cap - this.kept;
    if (room >= data.length) {
      this.chunks.push(data);
      this.kept += data.length;
      return;
    }
    if (room > 0) {
      this.chunks.push(data.subarray(0, room));
      this.kept += room;
    }
    this.dropped += data.length - Math.max(room, 0);
  }

  get truncated(): boolean {
    return this.dropped > 0;
  }

  text(): string {
    const bytes = Buffer.concat(this.chunks);
    // A multi-byte character cut by the cap would decode as U+FFFD: leave its start out instead.
    return this.truncated ? bytes.subarray(0, completeUtf8Length(bytes)).toString('utf8') : bytes.toString('utf8');
  }
}

/** The length of `bytes` without a trailing, incomplete UTF-8 sequence. */
function completeUtf8Length(bytes: Buffer): number {
  let i = bytes.length - 1;
  let continuation = 0;
  while (i >= 0 && continuation < 3 && (bytes[i]! & 0xc0) === 0x80) {
    i--;
    continuation++;
  }
  if (i < 0) return bytes.length;
  const lead = bytes[i]!;
  const need = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : lead >= 0xc0 ? 1 : 0;
  return need > continuation ? i : bytes.length;
}
