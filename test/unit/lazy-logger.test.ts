/**
 * Each request's logger is made only when the request writes a line at a level the
 * process logs (src/http/lazy-logger.ts): the lines are the ones Fastify's own child
 * logger writes, request id included, and a request that logs nothing makes nothing.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { lazyChildLogger } from '../../src/http/lazy-logger.js';

async function linesOf(factory: 'lazy' | 'fastify', level: string): Promise<{ lines: Array<Record<string, unknown>>; children: number }> {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level }, sink);
  let children = 0;
  const child = logger.child.bind(logger);
  logger.child = ((...args: Parameters<typeof child>) => (children++, child(...args))) as typeof logger.child;
  const app = Fastify({ loggerInstance: logger as FastifyBaseLogger, genReqId: () => 'req-1', ...(factory === 'lazy' ? { childLoggerFactory: lazyChildLogger } : {}) });
  app.get('/quiet', async (request) => {
    request.log.info('an info line');
    request.log.debug({ detail: 1 }, 'a debug line');
    return 'ok';
  });
  app.get('/loud', async (request) => {
    request.log.warn({ what: 'x' }, 'a warning');
    request.log.error(new Error('boom'));
    return 'ok';
  });
  await app.ready();
  const before = children;
  await app.inject({ url: '/quiet' });
  const quietChildren = children - before;
  await app.inject({ url: '/loud' });
  await app.close();
  return { lines: lines.map(({ time: _t, pid: _p, hostname: _h, responseTime: _r, res, ...rest }) => (res ? { ...rest, res: withoutDate(res) } : rest)), children: factory === 'lazy' ? quietChildren : children };
}

/** A reply logged whole: its Date header says when, which two runs cannot share. */
function withoutDate(res: unknown): unknown {
  return JSON.parse(JSON.stringify(res).replace(/Date: [^\\]*\\r\\n/g, ''));
}

describe('the lazy request logger', () => {
  it('writes what Fastify’s own child logger writes', async () => {
    for (const level of ['warn', 'info', 'debug']) {
      const lazy = await linesOf('lazy', level);
      const own = await linesOf('fastify', level);
      assert.deepEqual(JSON.parse(JSON.stringify(lazy.lines)), JSON.parse(JSON.stringify(own.lines)), `at level ${level}: ${JSON.stringify(lazy.lines)} ${JSON.stringify(own.lines)}`);
      assert.ok(lazy.lines.every((l) => l.reqId === 'req-1'), 'every line names its request');
    }
  });

  it('makes no child for a request that writes nothing at the level the process logs', async () => {
    assert.equal((await linesOf('lazy', 'warn')).children, 0);
    assert.equal((await linesOf('lazy', 'info')).children, 1, 'an info line at level info: made');
  });
});
