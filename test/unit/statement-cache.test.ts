import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { fixedSizeChunks, withStatementCache } from '../../src/store/statement-cache.js';

describe('withStatementCache', () => {
  it('compiles a SQL text once and hands back the same statement after', () => {
    const cached = withStatementCache(new SQLite(':memory:'));
    const a = cached.prepare('select 1 as one');
    assert.equal(cached.prepare('select 1 as one'), a);
    assert.notEqual(cached.prepare('select 2 as two'), a);
    assert.deepEqual(a.all([]), [{ one: 1 }]);
  });

  it('keeps at most `size` statements, dropping the least recently used', () => {
    const cached = withStatementCache(new SQLite(':memory:'), 2);
    const one = cached.prepare('select 1');
    const two = cached.prepare('select 2');
    assert.equal(cached.prepare('select 1'), one); // now "select 2" is the least recently used
    cached.prepare('select 3');
    assert.equal(cached.prepare('select 1'), one);
    assert.notEqual(cached.prepare('select 2'), two, 'evicted, so compiled anew');
  });

  it('serves Kysely: writes, reads and transactions see each other through reused statements', async () => {
    const db = new Kysely<{ t: { id: number; v: string } }>({ dialect: new SqliteDialect({ database: withStatementCache(new SQLite(':memory:')) }) });
    await sql`create table t (id integer primary key, v text not null)`.execute(db);
    for (let i = 0; i < 3; i++) await db.insertInto('t').values({ id: i, v: `v${i}` }).execute();
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('t').set({ v: 'changed' }).where('id', '=', 1).execute();
      assert.equal((await trx.selectFrom('t').select('v').where('id', '=', 1).executeTakeFirstOrThrow()).v, 'changed');
    });
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await trx.updateTable('t').set({ v: 'rolled back' }).where('id', '=', 2).execute();
        throw new Error('abort');
      }),
      /abort/,
    );
    const rows = await db.selectFrom('t').select(['id', 'v']).orderBy('id').execute();
    assert.deepEqual(rows, [
      { id: 0, v: 'v0' },
      { id: 1, v: 'changed' },
      { id: 2, v: 'v2' },
    ]);
    await db.destroy();
  });
});

describe('fixedSizeChunks', () => {
  it('splits any number of items, in order, into chunks of a few fixed lengths', () => {
    const lengths = new Set<number>();
    for (let n = 0; n <= 700; n++) {
      const items = Array.from({ length: n }, (_, i) => i);
      const chunks = fixedSizeChunks(items, 200);
      assert.deepEqual(chunks.flat(), items, `${n} items come back whole and in order`);
      for (const c of chunks) lengths.add(c.length);
    }
    // 200, then 128, 64, …, 1: one compiled statement each, whatever the counts were.
    assert.deepEqual([...lengths].sort((a, b) => a - b), [1, 2, 4, 8, 16, 32, 64, 128, 200]);
  });
});
