/**
 * On SQLite, which orders are known current without asking the database again.
 *
 * Every tenant request reads its order's version by its secret (one indexed read), so
 * that a kept copy is served only while it is current (known-orders.ts). On PostgreSQL
 * that read is what keeps replicas honest. On SQLite the file has one writer in practice,
 * this process, and the read was a sixth of the status route's CPU, growing with the
 * population (a deeper index, colder pages). So:
 *
 * - temporary triggers on this connection call into JavaScript whenever a statement of
 *   this process updates or deletes an order (a domain's change updates its order too,
 *   migration 010): that order is no longer known current;
 * - `PRAGMA data_version` tells whether any other connection (another process on the
 *   file, a provider's `sqlite3` shell) has committed since the last look: then no
 *   order is.
 *
 * An order read from the database is known current at the version read, until one of
 * the two says otherwise. A write that is rolled back still counts as a write: the next
 * read goes to the database. A read that a write of the same order overtook (the store's
 * reads are asynchronous) is not taken: `mark` before the read, `confirm` after.
 */
import type SQLite from 'better-sqlite3';
import { LruMap } from '../kernel/lru-map.js';

const WRITTEN_FUNCTION = 'vkube_order_written';

export class SqliteOrderWrites {
  /** Orders known current: id → the version read. */
  private readonly current: LruMap<string, number>;
  /** Writes of an order seen on this connection so far (rolled back or not). */
  private writes = 0;
  private readonly dataVersion: SQLite.Statement<[], number>;
  private lastDataVersion: number;
  private following = false;

  constructor(
    private readonly database: SQLite.Database,
    maxEntries: number,
  ) {
    this.current = new LruMap(maxEntries);
    this.dataVersion = database.prepare<[], number>('pragma data_version').pluck();
    this.lastDataVersion = this.dataVersion.get()!;
    database.function(WRITTEN_FUNCTION, { deterministic: false }, (id: unknown) => {
      this.writes++;
      if (typeof id === 'string') this.current.delete(id);
      return null;
    });
  }

  /** Starts hearing this connection's writes of orders; the orders table must exist (after the migrations). */
  follow(): void {
    if (this.following) return;
    for (const [event, row] of [
      ['update', 'old'],
      ['delete', 'old'],
    ] as const) {
      this.database.exec(`create temp trigger if not exists vkube_order_${event}d after ${event} on main.orders begin select ${WRITTEN_FUNCTION}(${row}.id); end`);
    }
    this.following = true;
  }

  /** The version of the order known current, or undefined: ask the database. */
  versionOf(id: string): number | undefined {
    if (!this.following || this.othersCommitted()) return undefined;
    return this.current.get(id);
  }

  /** Taken just before a read of an order, for `confirm`. */
  mark(): number {
    return this.writes;
  }

  /** The order was read at `version`: known current from now on, unless a write came since `mark`. */
  confirm(id: string, version: number, mark: number): void {
    if (this.following && this.writes === mark) this.current.set(id, version);
  }

  /** Another connection committed since the last look: nothing is known current any more. */
  private othersCommitted(): boolean {
    const version = this.dataVersion.get()!;
    if (version === this.lastDataVersion) return false;
    this.lastDataVersion = version;
    this.current.clear();
    return true;
  }
}
