/**
 * Byte streams become text without corrupting characters split across chunks: the
 * line splitter on its own, and the watch reader against a real HTTP server on
 * loopback that sends a watch event in pieces cut inside multi-byte characters.
 */
import assert from 'node:assert/strict';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { KubeHttp } from '../../src/cluster/kube-http.js';
import { type KubeObject, WatchCache } from '../../src/cluster/watch-cache.js';
import { LineSplitter, LineTooLongError } from '../../src/kernel/line-splitter.js';
import { eventually } from '../helpers/eventually.js';

/** Two, three and four bytes in UTF-8. */
const WIDE = 'é € 😀 ąčęėįšųūž';

/** Every way of cutting `bytes` in two. */
function allCuts(bytes: Buffer): Array<[Buffer, Buffer]> {
  const cuts: Array<[Buffer, Buffer]> = [];
  for (let i = 1; i < bytes.length; i++) cuts.push([bytes.subarray(0, i), bytes.subarray(i)]);
  return cuts;
}

describe('LineSplitter', () => {
  it('joins a character cut anywhere across two chunks before decoding it', () => {
    const text = `first ${WIDE}\nsecond ${WIDE}\r\nthird`;
    for (const [a, b] of allCuts(Buffer.from(text))) {
      const s = new LineSplitter({ maxLineBytes: 1024, overlong: 'fail' });
      const lines = [...s.push(a), ...s.push(b), ...s.end()].map((l) => l.text);
      assert.deepEqual(lines, [`first ${WIDE}`, `second ${WIDE}`, 'third'], `cut at ${a.length}`);
    }
  });

  it('survives one byte per chunk', () => {
    const s = new LineSplitter({ maxLineBytes: 1024, overlong: 'fail' });
    const bytes = Buffer.from(`${WIDE}\n${WIDE}`);
    const lines = [...bytes].flatMap((b) => s.push(Buffer.from([b])));
    assert.deepEqual([...lines, ...s.end()].map((l) => l.text), [WIDE, WIDE], 'both lines intact');
  });

  it('cuts an overlong line on a character boundary, counts what it dropped, and holds no more than the cap', () => {
    const cap = 64;
    const s = new LineSplitter({ maxLineBytes: cap, overlong: 'cut' });
    // 63 ASCII bytes then "€" (3 bytes): the cap falls inside the euro sign.
    const long = `${'a'.repeat(63)}€${'b'.repeat(10_000)}`;
    const chunk = Buffer.from(long);
    for (let i = 0; i < chunk.length; i += 1000) {
      s.push(chunk.subarray(i, i + 1000));
      assert.ok(s.pendingBytes <= cap, `held ${s.pendingBytes} bytes, at most ${cap}`);
    }
    const [line, ...rest] = s.push(Buffer.from('\nnext\n'));
    assert.equal(line!.text, 'a'.repeat(63), 'no half character at the end');
    assert.equal(line!.cutBytes, Buffer.byteLength(long) - 63, 'every dropped byte counted');
    assert.deepEqual(rest, [{ text: 'next', cutBytes: 0 }], 'the next line is whole');
  });

  it('keeps an unterminated line within the cap however long the stream runs', () => {
    const s = new LineSplitter({ maxLineBytes: 4096, overlong: 'cut' });
    const mib = Buffer.alloc(1024 * 1024, 'x');
    for (let i = 0; i < 32; i++) assert.deepEqual(s.push(mib), [], 'no line completes');
    assert.ok(s.pendingBytes <= 4096, `held ${s.pendingBytes} bytes`);
    const [last] = s.end();
    assert.equal(last!.text.length, 4096, 'the head of the line is kept');
    assert.equal(last!.cutBytes, 32 * mib.length - 4096, 'the rest is counted');
  });

  it('refuses an overlong line when told to', () => {
    const s = new LineSplitter({ maxLineBytes: 16, overlong: 'fail' });
    assert.throws(() => s.push(Buffer.alloc(17, 'x')), LineTooLongError, 'a line over the cap throws');
  });
});

describe('the watch reader', () => {
  let server: Server;
  let http: KubeHttp;
  const name = `config-${WIDE}`;
  const value = `${WIDE} ${'x'.repeat(100)} ${WIDE}`;

  before(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      if (url.searchParams.get('watch') !== 'true') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ metadata: { resourceVersion: '1' }, items: [] }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      const event = Buffer.from(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'cm', resourceVersion: '2' }, data: { [name]: value } } })}\n`);
      // Cut inside every multi-byte character, and let each piece reach the reader on its own.
      const cuts = [...event.keys()].filter((i) => (event[i]! & 0xc0) === 0x80);
      let from = 0;
      const next = () => {
        const to = cuts.shift();
        if (to === undefined) {
          res.write(event.subarray(from));
          return; // the watch stays open, as a real one does
        }
        res.write(event.subarray(from, to));
        from = to;
        setTimeout(next, 5);
      };
      next();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    http = new KubeHttp({ server: new URL(`http://127.0.0.1:${port}`), clusterName: 'loopback', tls: {}, authHeaders: async () => ({}) });
  });

  after(async () => {
    http.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('decodes an event whose multi-byte characters arrive split across chunks', async () => {
    const cache = new WatchCache<KubeObject & { data?: Record<string, string> }>({ http, path: '/api/v1/configmaps' });
    cache.start();
    try {
      const cm = await eventually(() => {
        const found = cache.get(undefined, 'cm');
        assert.ok(found, 'the watched ConfigMap arrived');
        return found;
      }, { timeoutMs: 10_000, intervalMs: 20 });
      assert.deepEqual(cm.data, { [name]: value }, 'characters intact, no U+FFFD');
    } finally {
      await cache.stop();
    }
  });
});
