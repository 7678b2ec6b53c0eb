import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sql } from 'kysely';
import { SQLITE_CACHE_KIB, openDatabase } from '../../src/store/database.js';

const dirs: string[] = [];
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe("SQLite's page cache", () => {
  it("is bounded at SQLite's own default, not the 16,000 KiB better-sqlite3 builds in, and reads past it still answer", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vkube-cache-'));
    dirs.push(dir);
    const { db } = openDatabase(`sqlite:${join(dir, 'vkube.db')}`);
    try {
      const { rows } = await sql<{ cache_size: number }>`pragma cache_size`.execute(db);
      assert.equal(rows[0]?.cache_size, -SQLITE_CACHE_KIB, 'a negative cache_size is a bound in KiB');
      // Twice the cache's worth of rows: the pages it cannot hold are read again from the file.
      await sql`create table filler (id integer primary key, data text not null)`.execute(db);
      const rowsWanted = Math.ceil((2 * SQLITE_CACHE_KIB * 1024) / 1000);
      await sql`with recursive n(i) as (select 1 union all select i + 1 from n where i < ${rowsWanted}) insert into filler select i, printf('%.1000c', 'x') from n`.execute(db);
      const { rows: sums } = await sql<{ n: number; bytes: number }>`select count(*) as n, sum(length(data)) as bytes from filler`.execute(db);
      assert.equal(sums[0]?.n, rowsWanted);
      assert.equal(sums[0]?.bytes, rowsWanted * 1000);
    } finally {
      await db.destroy();
    }
  });
});
