/**
 * better-sqlite3 compiles SQL on every `prepare()`, and Kysely's SQLite driver prepares
 * each query afresh: on the hot reads (the secret lookup of every tenant request) that
 * compile was a fifth of the request's CPU. This hands Kysely a database whose
 * `prepare()` returns the statement compiled the first time that SQL text was seen.
 *
 * Reusing a statement is safe here: Kysely runs `all()`/`run()` to completion
 * synchronously, and V-Kube never streams a query (`iterate()`), which would hold a
 * statement busy. The cache is bounded because `where … in (…)` makes one SQL text per
 * list length; past the bound the least recently used statement is dropped.
 */
import type SQLite from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';
import { LruMap } from '../kernel/lru-map.js';

export const STATEMENT_CACHE_SIZE = 500;

export function withStatementCache(database: SQLite.Database, size = STATEMENT_CACHE_SIZE): SqliteDatabase {
  const statements = new LruMap<string, SQLite.Statement>(size);
  return {
    prepare(sql: string) {
      let statement = statements.get(sql);
      if (!statement) {
        statement = database.prepare(sql);
        statements.set(sql, statement);
      }
      return statement;
    },
    close: () => database.close(),
  };
}

/**
 * `items` in chunks whose lengths come from a short fixed list — `max`, then the powers of
 * two below it — so that a multi-row statement (`values (…), (…)`, `in (…)`) has a few SQL
 * texts, not one per length. Each text is a statement compiled and kept above: a
 * 200-row insert is some 100 KB of SQLite's memory, and the usage sampler's chunks, one
 * length per tick as the number of pods changed, held some 20 MiB.
 */
export function fixedSizeChunks<T>(items: readonly T[], max: number): T[][] {
  const chunks: T[][] = [];
  let i = 0;
  for (; i + max <= items.length; i += max) chunks.push(items.slice(i, i + max));
  for (let size = 2 ** Math.floor(Math.log2(max)); i < items.length; size /= 2) {
    if (i + size <= items.length) {
      chunks.push(items.slice(i, i + size));
      i += size;
    }
  }
  return chunks;
}
