import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { openDatabase } from '../../src/store/database.js';
import { startWalCheckpointer } from '../../src/store/wal-checkpointer.js';

const dirs: string[] = [];
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function tempFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vkube-wal-'));
  dirs.push(dir);
  return join(dir, 'vkube.db');
}

describe('checkpointing SQLite off the event loop', () => {
  it('the event loop never checkpoints; the worker copies the log back, and the log is reused rather than grown', async () => {
    const file = await tempFile();
    const { db, checkpointer } = openDatabase(`sqlite:${file}`);
    assert.ok(checkpointer, 'a SQLite file gets a checkpointer');
    try {
      const { rows } = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db);
      assert.equal(rows[0]?.wal_autocheckpoint, 0, "the event loop's connection leaves checkpoints to the worker");

      await sql`create table blobs (id integer primary key, data blob not null)`.execute(db);
      // ~6 MiB per round: past SQLite's 1,000-page threshold, where a commit would checkpoint.
      const round = async () => {
        for (let i = 0; i < 100; i++) await sql`insert or replace into blobs (id, data) values (${i}, randomblob(65536))`.execute(db);
      };
      await round();
      const first = await checkpointer.checkpointed();
      assert.ok(first.log > 1000, `the log held ${first.log} pages`);
      assert.equal(first.checkpointed, first.log, 'with no reader in the way, all of it was copied');
      const walAfterFirst = (await stat(`${file}-wal`)).size;

      for (let r = 0; r < 3; r++) {
        await round();
        await checkpointer.checkpointed();
      }
      const walAfterFour = (await stat(`${file}-wal`)).size;
      assert.ok(walAfterFour < walAfterFirst * 1.5, `the log restarts once copied: ${walAfterFirst} then ${walAfterFour} bytes after three more rounds`);
      const { rows: count } = await sql<{ n: number }>`select count(*) as n from blobs`.execute(db);
      assert.equal(count[0]?.n, 100);
    } finally {
      await db.destroy();
    }
    // Closing the database stopped the worker: this resolves only once it has exited.
    await checkpointer.stop();
  });

  it('a database in memory has no log and no worker', () => {
    assert.equal(openDatabase('sqlite::memory:').checkpointer, undefined);
  });

  it('when the worker cannot run, the connection checkpoints by itself again', async () => {
    const file = await tempFile();
    const database = new SQLite(file);
    database.pragma('journal_mode = WAL');
    try {
      const checkpointer = startWalCheckpointer(database, join(file, 'not-a-database'));
      await checkpointer.stop();
      assert.equal(database.pragma('wal_autocheckpoint', { simple: true }), 1000);
    } finally {
      database.close();
    }
  });
});
