/**
 * The SSE log stream on real sockets (an HTTP server and client on loopback): characters
 * split across upstream chunks arrive whole, an overlong line is cut at the cap with a
 * marker, a client that stops reading stops the upstream (backpressure) and one that
 * never reads again is dropped, and a client that leaves ends the upstream.
 */
import assert from 'node:assert/strict';
import { type IncomingMessage, type Server, createServer, get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, describe, it } from 'node:test';
import { type SseEvent, SseParser } from '../../src/cli/sse.js';
import { type SseLogOptions, pipeLogAsSse } from '../../src/http/sse-log.js';
import { eventually } from '../helpers/eventually.js';

interface Served {
  /** Resolves with the client's response once the stream's head arrived. */
  response: Promise<IncomingMessage>;
  closed: () => boolean;
  destroyClient: () => void;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** Serves `upstream` as SSE on a loopback server and connects one client to it. */
async function serve(upstream: Readable, opts: SseLogOptions = {}): Promise<Served> {
  let closed = false;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
    pipeLogAsSse(upstream, res, { ...opts, onClose: () => (closed = true) });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let destroy = () => {};
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpGet({ host: '127.0.0.1', port, path: '/' }, resolve);
    req.on('error', (err) => (closed ? undefined : reject(err)));
    destroy = () => req.destroy();
  });
  return { response, closed: () => closed, destroyClient: () => destroy() };
}

/** Every event of the response, decoded as `vkube logs -f` does. */
async function readEvents(res: IncomingMessage): Promise<SseEvent[]> {
  res.setEncoding('utf8');
  const parser = new SseParser();
  const events: SseEvent[] = [];
  for await (const text of res) events.push(...parser.push(text as string));
  return [...events, ...parser.end()];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SSE log stream', () => {
  it('delivers characters cut across upstream chunks intact, then event: end', async () => {
    const upstream = new PassThrough();
    const served = await serve(upstream);
    const events = readEvents(await served.response);
    const log = Buffer.from('café ready\n€100 paid\nemoji 😀 done\nno newline at the end ž');
    // Cut inside every multi-byte character, each piece sent on its own.
    let from = 0;
    for (let i = 1; i < log.length; i++) {
      if ((log[i]! & 0xc0) !== 0x80) continue;
      upstream.write(log.subarray(from, i));
      from = i;
      await sleep(5);
    }
    upstream.end(log.subarray(from));
    assert.deepEqual(await events, [
      { event: 'message', data: 'café ready' },
      { event: 'message', data: '€100 paid' },
      { event: 'message', data: 'emoji 😀 done' },
      { event: 'message', data: 'no newline at the end ž' },
      { event: 'end', data: 'the container stopped or was replaced' },
    ]);
    assert.ok(served.closed(), 'onClose ran');
  });

  it('cuts a line longer than the cap and says how much was dropped; the next line is whole', async () => {
    const upstream = new PassThrough();
    const served = await serve(upstream, { maxLineBytes: 64 * 1024 });
    const events = readEvents(await served.response);
    const long = 'x'.repeat(1024 * 1024);
    for (let i = 0; i < long.length; i += 10_000) upstream.write(long.slice(i, i + 10_000));
    upstream.end('\nafter\n');
    const [cut, after, end] = await events;
    assert.equal(cut!.data, `${'x'.repeat(64 * 1024)} …[line cut: ${1024 * 1024 - 64 * 1024} more bytes]`);
    assert.equal(after!.data, 'after');
    assert.equal(end!.event, 'end');
  });

  it('opens the stream at once, before the first log line', async () => {
    const upstream = new PassThrough();
    const served = await serve(upstream);
    const opened = await Promise.race([served.response.then(() => true), sleep(3_000).then(() => false)]);
    assert.ok(opened, 'the client got the head of the stream while the log was still quiet');
    upstream.end();
  });

  it('keeps a carriage return inside a line in the same event', async () => {
    const upstream = new PassThrough();
    const served = await serve(upstream);
    const events = readEvents(await served.response);
    upstream.end('10%\r50%\r100%\r\nnext\n');
    const [progress, next] = await events;
    assert.deepEqual(progress, { event: 'message', data: '10%\n50%\n100%' }, 'one event, parts joined');
    assert.equal(next!.data, 'next');
  });

  it('stops reading the upstream while the client reads nothing, and goes on when it reads again', { timeout: 60_000 }, async () => {
    let pulled = 0;
    const line = Buffer.from(`${'y'.repeat(1023)}\n`);
    const upstream = new Readable({
      read() {
        // A log produced only as fast as it is asked for; it ends at 128 MiB so that a
        // stream without backpressure fails the assertion below instead of the process.
        if (pulled >= 128 * 1024 * 1024) return void this.push(null);
        for (let i = 0; i < 64; i++) {
          pulled += line.length;
          if (!this.push(line)) return;
        }
      },
    });
    const served = await serve(upstream);
    const res = await served.response;
    res.pause();
    // Socket buffers on both sides fill, then the upstream must stop being read.
    let before = -1;
    await eventually(
      async () => {
        const now = pulled;
        await sleep(300);
        assert.equal(pulled, now, `the upstream is no longer read (${pulled} bytes so far)`);
        before = pulled;
      },
      { timeoutMs: 20_000, intervalMs: 0 },
    );
    assert.ok(before < 64 * 1024 * 1024, `the upstream stopped after ${before} bytes (socket buffers), not unbounded`);
    assert.ok(upstream.isPaused(), 'the upstream is paused');

    let read = 0;
    res.on('data', (c: Buffer) => (read += c.length));
    res.resume();
    await eventually(() => assert.ok(pulled > before + 4 * 1024 * 1024, `reading again resumed the upstream (${pulled - before} more bytes)`), { timeoutMs: 20_000 });
    assert.ok(read > 0, 'the client got data');

    served.destroyClient();
    await eventually(() => assert.ok(upstream.destroyed && served.closed(), 'a client that leaves ends the upstream'));
  });

  it('drops a client that leaves everything unread', { timeout: 60_000 }, async () => {
    const line = Buffer.from(`${'z'.repeat(1023)}\n`);
    const upstream = new Readable({
      read() {
        while (this.push(line));
      },
    });
    const served = await serve(upstream, { stalledClientMs: 500 });
    (await served.response).pause();
    await eventually(() => assert.ok(served.closed() && upstream.destroyed, 'the stalled client was dropped and the upstream ended'), { timeoutMs: 30_000 });
  });

  it('says event: error when the upstream breaks off', async () => {
    const upstream = new PassThrough();
    const served = await serve(upstream);
    const events = readEvents(await served.response);
    upstream.write('one line\n');
    await sleep(50);
    upstream.destroy(new Error('connection reset'));
    assert.deepEqual(await events, [
      { event: 'message', data: 'one line' },
      { event: 'error', data: 'the log stream was interrupted' },
    ]);
  });
});
