/**
 * `GET /k8s/pod/logs` (SSE) through the real `pods/log` API of the local cluster, with a
 * log of the test's own (kwok serves it): multi-byte characters arrive intact however
 * the stream is chunked, a line over 64 KiB is cut with a marker on a character
 * boundary, and the upstream request ends when the client leaves.
 */
import assert from 'node:assert/strict';
import { type IncomingMessage, get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setPodLog, testKubeClient } from '../../dev/cluster/testing.js';
import { type SseEvent, SseParser } from '../../src/cli/sse.js';
import { namespaceOf } from '../../src/domain/manifests.js';
import { activeLogStreams } from '../../src/http/routes/pod-log.js';
import { SSE_MAX_LINE_BYTES } from '../../src/http/sse-log.js';
import { type TestApp, startTestApp } from '../helpers/app.js';
import { eventually } from '../helpers/eventually.js';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

const WIDE = 'café ☕ 😀 ąčęėįšųūž €';
/**
 * Under the cap, but long enough to span chunks of the stream: 60 000 bytes of 3-byte
 * characters, so a chunk boundary at any power of two falls inside one of them.
 */
const LONG_WIDE = '☕'.repeat(20_000);
/** Over the cap, in 3-byte characters: 65 536 is not a multiple of 3, so the cap falls inside one. */
const TOO_LONG = '€'.repeat(40_000);
const LAST = 'the last line';

/** SSE events until `until` says stop; then the client leaves. */
function readEventsUntil(port: number, secret: string, until: (events: SseEvent[]) => boolean): Promise<SseEvent[]> {
  return new Promise((resolve, reject) => {
    const req = httpGet({ host: '127.0.0.1', port, path: '/api/v1/k8s/pod/logs?container=c1', headers: { secret, connection: 'close' } }, (res: IncomingMessage) => {
      if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
      // setEncoding decodes across chunk boundaries (a StringDecoder): the test reads the way a correct client does.
      res.setEncoding('utf8');
      const parser = new SseParser();
      const events: SseEvent[] = [];
      res.on('data', (text: string) => {
        events.push(...parser.push(text));
        if (until(events)) {
          req.destroy();
          resolve(events);
        }
      });
    });
    req.on('error', (err) => (err.message.includes('socket hang up') ? undefined : reject(err)));
  });
}

describe('GET /k8s/pod/logs on a real pods/log stream', () => {
  it('keeps multi-byte characters intact, cuts an overlong line at 64 KiB with a marker, and ends the upstream when the client leaves', { timeout: 120_000 }, async () => {
    const order = await t.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'ausrine' } });
    const deploy = await t.tenant(order.secret).post('/api/v1/k8s/deployment', { containers: [{ name: 'c1', imageName: 'nginx:latest', resourceUnit: 1 }] });
    assert.equal(deploy.statusCode, 200, deploy.body);
    const ns = namespaceOf(order.id);
    const pod = await eventually(() => {
      const [running] = t.services.cluster.podsInNamespace(ns).filter((p) => p.status?.phase === 'Running');
      assert.ok(running, 'the pod runs');
      return running.metadata.name;
    });
    await setPodLog(testKubeClient(), { namespace: ns, pod }, [WIDE, LONG_WIDE, TOO_LONG, LAST]);
    await eventually(async () => {
      const log = await t.tenant(order.secret).get('/api/v1/k8s/pod/log?container=c1');
      assert.equal(log.statusCode, 200, log.body);
      assert.equal(log.json<string>(), `${WIDE}\n${LONG_WIDE}\n${TOO_LONG}\n${LAST}\n`, 'GET /k8s/pod/log returns the whole log, characters intact');
    });

    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;
    const events = await readEventsUntil(port, order.token, (e) => e.some((x) => x.data === LAST));
    const lines = events.filter((e) => e.event === 'message').map((e) => e.data);
    assert.deepEqual(lines.slice(0, 2), [WIDE, LONG_WIDE], 'multi-byte lines arrive whole, no U+FFFD');
    const kept = Math.floor(SSE_MAX_LINE_BYTES / 3);
    const cut = Buffer.byteLength(TOO_LONG) - kept * 3;
    assert.equal(lines[2], `${'€'.repeat(kept)} …[line cut: ${cut} more bytes]`, 'cut at the cap, on a character boundary, with the count of what was dropped');
    assert.equal(lines[3], LAST, 'the line after the cut one is whole');
    await eventually(() => assert.equal(activeLogStreams(), 0, 'the upstream log request was closed'));
  });
});
