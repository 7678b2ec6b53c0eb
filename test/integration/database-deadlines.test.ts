/**
 * PostgreSQL statements have a deadline: a statement that runs past
 * VKUBE_DB_STATEMENT_TIMEOUT_MS (here: one that waits for a lock another session
 * holds) is cancelled by the server, and the caller gets 503 naming it, not a hang.
 * Real PostgreSQL (the test runner's, TEST_POSTGRES_URL), the real app on the local cluster.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { type TestPostgres, testPostgres } from '../../dev/postgres/testing.js';
import { type TestApp, startTestApp } from '../helpers/app.js';

const TIMEOUT_MS = 1000;
let postgres: TestPostgres;
let url: string;
let t: TestApp;

before(async () => {
  postgres = await testPostgres();
  url = await postgres.createDatabase();
  t = await startTestApp({ env: { DATABASE_URL: url, VKUBE_DB_STATEMENT_TIMEOUT_MS: String(TIMEOUT_MS) } });
});
after(async () => {
  await t?.close();
  await postgres?.stop();
});

/** Holds an exclusive lock on `table` from another session until released. */
async function lockTable(table: string): Promise<{ release: () => Promise<void> }> {
  const other = new pg.Client({ connectionString: url });
  await other.connect();
  await other.query('BEGIN');
  await other.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  return {
    release: async () => {
      await other.query('ROLLBACK');
      await other.end();
    },
  };
}

describe('PostgreSQL statement timeout', () => {
  it('a request whose statement waits past the timeout answers 503 naming it, within the timeout and a little', { timeout: 60_000 }, async () => {
    const order = await t.createOrder();
    assert.equal((await t.tenant(order.secret).get('/api/v1/k8s/order')).statusCode, 200, 'works before the lock');

    const lock = await lockTable('orders');
    try {
      for (const call of [() => t.tenant(order.secret).get('/api/v1/k8s/order'), () => t.admin('POST', '/api/v1/admin/orders', { duration: 1 })]) {
        const started = Date.now();
        const res = await call();
        const took = Date.now() - started;
        assert.equal(res.statusCode, 503, res.body);
        assert.match(res.json<{ error: { message: string } }>().error.message, /the database did not finish in time \(statement timeout\); nothing was changed/);
        assert.ok(took >= TIMEOUT_MS * 0.9, `it waited for the statement (${took} ms)`);
        assert.ok(took < TIMEOUT_MS + 4_000, `no hang: answered after ${took} ms`);
      }
    } finally {
      await lock.release();
    }
    assert.equal((await t.tenant(order.secret).get('/api/v1/k8s/order')).statusCode, 200, 'works again once the lock is gone');
  });
});
