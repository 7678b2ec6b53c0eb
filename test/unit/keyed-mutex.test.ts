/** KeyedMutex: one task at a time per key, and a bounded wait that fails with a typed 503. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { LockTimeoutError, UnavailableError } from '../../src/kernel/errors.js';
import { KeyedMutex } from '../../src/domain/keyed-mutex.js';
import { installErrorHandling } from '../../src/http/errors.js';

function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

const mutex = (timeoutMs = 5_000) => new KeyedMutex({ timeoutMs, describe: (key) => `the reconcile of order ${key}` });

describe('KeyedMutex', () => {
  it('runs tasks of one key one after the other, and of different keys side by side', async () => {
    const m = mutex();
    const log: string[] = [];
    const first = gate();
    const a1 = m.run('a', async () => {
      log.push('a1 start');
      await first.opened;
      log.push('a1 end');
    });
    const a2 = m.run('a', async () => void log.push('a2'));
    await m.run('b', async () => void log.push('b'));
    assert.deepEqual(log, ['a1 start', 'b'], 'b did not wait for a; a2 waits for a1');
    first.open();
    await Promise.all([a1, a2]);
    assert.deepEqual(log, ['a1 start', 'b', 'a1 end', 'a2']);
  });

  it('a failed task does not hold up the next', async () => {
    const m = mutex();
    const failed = m.run('a', async () => {
      throw new Error('boom');
    });
    await assert.rejects(failed, /boom/, 'the caller sees its own error');
    assert.equal(await m.run('a', async () => 'next'), 'next');
  });

  it('a caller that waits past the timeout gets LockTimeoutError naming what waited; its task never runs', async () => {
    const m = mutex(100);
    const held = gate();
    const holder = m.run('o1', () => held.opened);
    let ran = false;
    const started = Date.now();
    const err = await m
      .run('o1', async () => {
        ran = true;
      })
      .then(
        () => assert.fail('should have timed out'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof LockTimeoutError, `LockTimeoutError, got ${String(err)}`);
    assert.ok(err instanceof UnavailableError, 'an UnavailableError: 503, and callers that tolerate an unavailable cluster tolerate it too');
    assert.match(err.message, /^the reconcile of order o1 waited 0\.1 s for an earlier change to be applied/);
    assert.ok(Date.now() - started < 2_000, 'gave up near the timeout');
    held.open();
    await holder;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(ran, false, 'the task of a caller that gave up never runs');
  });

  it('the one in line after a caller that gave up waits for the task still running, not longer', async () => {
    const m = mutex(1_000);
    const held = gate();
    const order: string[] = [];
    const holder = m.run('k', async () => {
      await held.opened;
      order.push('holder done');
    });
    const quitter = m.run('k', async () => void order.push('quitter ran')).catch((e: unknown) => {
      assert.ok(e instanceof LockTimeoutError, 'timed out');
      order.push('quitter gave up');
    });
    // Queued behind the quitter, half-way through its wait: its own deadline is 500 ms after the quitter's.
    await new Promise((r) => setTimeout(r, 500));
    const next = m.run('k', async () => void order.push('next ran')).catch(() => order.push('next gave up'));
    await quitter;
    assert.deepEqual(order, ['quitter gave up'], 'next still waits for the holder');
    held.open();
    await Promise.all([holder, next]);
    assert.deepEqual(order, ['quitter gave up', 'holder done', 'next ran'], 'next ran as soon as the holder finished');
  });

  it('answers 503 in the error envelope', async () => {
    const app = Fastify();
    installErrorHandling(app);
    app.get('/x', async () => {
      throw new LockTimeoutError('the reconcile of order o1', 20_000);
    });
    const res = await app.inject('/x');
    assert.equal(res.statusCode, 503);
    assert.deepEqual(res.json(), { error: { code: 503, message: 'the reconcile of order o1 waited 20 s for an earlier change to be applied and gave up; try again shortly' } });
    await app.close();
  });
});
