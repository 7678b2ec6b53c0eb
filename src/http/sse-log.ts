/**
 * A followed log as Server-Sent Events: one `data:` event per log line, then
 * `event: end` (the container stopped) or `event: error` (the upstream broke).
 *
 * - Text: lines are split on bytes and decoded whole (LineSplitter), so a character
 *   cut across chunks arrives intact.
 * - Memory: a log line is cut at `maxLineBytes` (64 KiB) and ends with a marker saying
 *   how many bytes were dropped; an unterminated line never holds more than that.
 * - Backpressure: when the client's socket buffer is full (`write()` returns false)
 *   the upstream is paused until 'drain', so a slow reader slows the upstream instead
 *   of filling our memory; a reader that takes nothing for `stalledClientMs` is dropped.
 * - Teardown: when the client leaves, the upstream is destroyed (and `onClose` runs,
 *   which aborts the upstream request).
 */
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { type Line, LineSplitter } from '../kernel/line-splitter.js';

export const SSE_MAX_LINE_BYTES = 64 * 1024;

export interface SseLogOptions {
  maxLineBytes?: number;
  /** Comment lines that keep idle proxies from closing a quiet stream (default 15 s). */
  heartbeatMs?: number;
  /** How long a client may leave everything unread before it is dropped (default 2 min). */
  stalledClientMs?: number;
  /** Once, when the stream is over for whatever reason. */
  onClose?: () => void;
}

const END_EVENT = 'event: end\ndata: the container stopped or was replaced\n\n';
const ERROR_EVENT = 'event: error\ndata: the log stream was interrupted\n\n';

/** One SSE event holding one log line; an overlong line ends with what was cut. */
export function logLineEvent(line: Line): string {
  return sseData(line.cutBytes > 0 ? `${line.text} …[line cut: ${line.cutBytes} more bytes]` : line.text);
}

/**
 * SSE ends a line at CR, LF or CRLF, so a carriage return inside a log line (progress
 * bars) would end its `data:` field early: each part gets a `data:` line of its own,
 * which readers join with "\n" into one event.
 */
function sseData(text: string): string {
  return `${text
    .split(/\r\n|\r|\n/)
    .map((part) => `data: ${part}\n`)
    .join('')}\n`;
}

/** Serves `upstream` (a followed log) on `res`, whose head has been written. */
export function pipeLogAsSse(upstream: Readable, res: ServerResponse, opts: SseLogOptions = {}): void {
  const lines = new LineSplitter({ maxLineBytes: opts.maxLineBytes ?? SSE_MAX_LINE_BYTES, overlong: 'cut' });
  let closed = false;
  let upstreamDone = false;
  let stalled: NodeJS.Timeout | undefined;

  const finish = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    clearTimeout(stalled);
    res.off('drain', onDrain);
    upstream.destroy();
    if (!res.writableEnded) res.end();
    opts.onClose?.();
  };
  const onDrain = () => {
    clearTimeout(stalled);
    if (!closed) upstream.resume();
  };
  const write = (text: string) => {
    if (closed) return;
    if (res.write(text) || upstream.isPaused()) return;
    upstream.pause();
    res.once('drain', onDrain);
    stalled = setTimeout(() => res.destroy(), opts.stalledClientMs ?? 120_000);
  };

  // Node holds a written head back until the first body bytes; a quiet log would keep the
  // client waiting for the stream to open until the first line or heartbeat.
  res.flushHeaders();
  // Only while nothing waits to be sent: a stream with data queued is not idle.
  const heartbeat = setInterval(() => {
    if (res.writableLength === 0) write(': keep-alive\n\n');
  }, opts.heartbeatMs ?? 15_000);
  res.on('close', finish);

  upstream.on('data', (chunk: Buffer) => {
    for (const line of lines.push(chunk)) write(logLineEvent(line));
  });
  upstream.on('end', () => {
    upstreamDone = true;
    for (const line of lines.end()) write(logLineEvent(line));
    write(END_EVENT);
    finish();
  });
  // An upstream that breaks off (error, or closed without an end) says so before the stream ends.
  const broken = () => {
    if (upstreamDone || closed) return;
    upstreamDone = true;
    write(ERROR_EVENT);
    finish();
  };
  upstream.on('error', broken);
  upstream.on('close', broken);
}
