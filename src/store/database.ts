/**
 * Opens the database a URL names — `sqlite:<path>` (the embedded default) or
 * `postgres://…` — as a Kysely instance, and brings its schema up to date.
 */
import SQLite from 'better-sqlite3';
import { type Driver, Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import pg from 'pg';
import { migrationProvider } from './migrations/index.js';
import type { Database } from './schema.js';
import { withStatementCache } from './statement-cache.js';
import { KNOWN_ORDERS_KEPT } from './known-orders.js';
import { SqliteOrderWrites } from './sqlite-order-writes.js';
import { type WalCheckpointer, startWalCheckpointer } from './wal-checkpointer.js';

export type Dialect = 'sqlite' | 'postgres';

export interface OpenDatabase {
  db: Kysely<Database>;
  dialect: Dialect;
  /** SQLite files: the worker that checkpoints the log off the event loop (wal-checkpointer.ts). */
  checkpointer?: WalCheckpointer;
  /** SQLite: which orders are known current without a read (sqlite-order-writes.ts); for sqlStores. */
  orderWrites?: SqliteOrderWrites;
}

// PostgreSQL returns int8 (bigint) as a string to protect precision; our bigints are
// unix seconds, well inside a double.
pg.types.setTypeParser(20, (v) => Number(v));

export interface OpenOptions {
  poolSize?: number;
  /**
   * PostgreSQL cancels a statement (a wait for a lock included) that runs longer:
   * SQLSTATE 57014, which callers get as 503. Default 15 s; 0: none (migrations).
   */
  statementTimeoutMs?: number;
  /** Longest wait for a connection, a new one or a free one from the pool (default 5 s). */
  connectTimeoutMs?: number;
}

/**
 * The client stops waiting this long after the server should have cancelled a statement:
 * a server that vanished without a reset cannot cancel anything.
 */
const CLIENT_GRACE_MS = 5_000;
/**
 * TCP keep-alive probes on idle connections start after this: a pooled connection to a
 * server that went away is found dead before a request is given it.
 */
const KEEPALIVE_IDLE_MS = 10_000;

/**
 * The SQLite connection's page cache, KiB: SQLite's own default. better-sqlite3 builds
 * SQLite with 16,000 KiB, and as the database grew with the orders that cache filled up
 * to it: at 5,000 orders, most of the C allocator's heap growth (13.6 → 47.5 MiB). V-Kube's
 * hot reads are served from memory already (known orders, watch caches); a page the cache
 * no longer holds is read again from the operating system's file cache.
 */
export const SQLITE_CACHE_KIB = 2_000;

export function openDatabase(url: string, opts: OpenOptions = {}): OpenDatabase {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (file !== ':memory:') mkdirSync(dirname(resolve(file)), { recursive: true });
    const database = new SQLite(file);
    // WAL lets readers proceed while a deploy writes; the busy timeout covers a second process on the same file.
    database.pragma('journal_mode = WAL');
    database.pragma('busy_timeout = 5000');
    database.pragma('foreign_keys = ON');
    database.pragma('synchronous = NORMAL');
    database.pragma(`cache_size = -${SQLITE_CACHE_KIB}`);
    const checkpointer = file === ':memory:' ? undefined : startWalCheckpointer(database, file);
    const statements = withStatementCache(database);
    const close = statements.close.bind(statements);
    statements.close = () => {
      void checkpointer?.stop();
      return close();
    };
    return {
      db: new Kysely<Database>({ dialect: new RollbackSafeSqliteDialect({ database: statements }) }),
      dialect: 'sqlite',
      orderWrites: new SqliteOrderWrites(database, KNOWN_ORDERS_KEPT),
      ...(checkpointer ? { checkpointer } : {}),
    };
  }
  const statementTimeoutMs = opts.statementTimeoutMs ?? 15_000;
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5_000,
    ...(statementTimeoutMs > 0 ? { statement_timeout: statementTimeoutMs, query_timeout: statementTimeoutMs + CLIENT_GRACE_MS } : {}),
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_IDLE_MS,
  });
  // A client that loses its connection emits 'error': on the pool while idle, on the
  // client itself while checked out (Kysely holds none of its own listeners). Without a
  // listener Node would crash the process; the query that was running rejects anyway
  // and reports the outage, so these events carry nothing more.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), dialect: 'postgres' };
}

/**
 * SQLite rolls a transaction back by itself on some errors (SQLITE_FULL, SQLITE_IOERR, …);
 * Kysely's ROLLBACK then fails with "cannot rollback - no transaction is active", and that
 * error would replace the real one: a full disk would answer 500 instead of 503. A
 * transaction that is already gone has nothing left to roll back, so that one is ignored.
 */
class RollbackSafeSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    const driver = super.createDriver();
    const rollback = driver.rollbackTransaction.bind(driver);
    driver.rollbackTransaction = async (connection) => {
      try {
        await rollback(connection);
      } catch (err) {
        if (!/no transaction is active/.test((err as Error).message)) throw err;
      }
    };
    return driver;
  }
}

/** Applies every pending migration; throws with the failing migration's name. */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error) {
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? String(error)}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
