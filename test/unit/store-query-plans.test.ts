/**
 * The plans SQLite makes for queries that run over every order: each must walk an index
 * in the order it pages by, not read and sort the whole table for every page (which
 * grows with the square of the number of orders).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { migrateToLatest } from '../../src/store/database.js';
import type { Database } from '../../src/store/schema.js';
import { SqlStore } from '../../src/store/sql-store.js';

async function planOf(run: (store: SqlStore) => Promise<unknown>): Promise<string[]> {
  const database = new SQLite(':memory:');
  const seen: Array<{ sql: string; parameters: readonly unknown[] }> = [];
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }), log: (e) => void (e.level === 'query' && seen.push(e.query)) });
  await migrateToLatest(db);
  seen.length = 0;
  await run(new SqlStore(db));
  assert.equal(seen.length, 1, 'one query');
  const { sql, parameters } = seen[0]!;
  const plan = database
    .prepare(`explain query plan ${sql}`)
    .all(...(parameters as unknown[]))
    .map((r) => (r as { detail: string }).detail);
  await db.destroy();
  return plan;
}

describe('query plans over every order', () => {
  it("a reconcile pass's page of live orders walks the primary key from where the last page ended", async () => {
    const plan = await planOf((store) => store.listLiveOrders({ after: 'a'.repeat(24), limit: 100 }));
    assert.ok(
      plan.some((d) => /SEARCH orders USING (INDEX sqlite_autoindex_orders_1|PRIMARY KEY) \(id>\?\)/.test(d)),
      plan.join('\n'),
    );
    assert.ok(!plan.some((d) => /TEMP B-TREE|MULTI-INDEX OR/.test(d)), `no sort of every live order per page:\n${plan.join('\n')}`);
  });
});
