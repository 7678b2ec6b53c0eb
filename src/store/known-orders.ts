/**
 * Orders this replica has read, each with the version the database gave it (bumped by the
 * database on every change of the order's row or its domains: migration 010). A lookup
 * reads only the version (one narrow indexed read) and hands back the kept copy when it is
 * the same: a tenant request no longer reads and parses the whole row, and the copy is as
 * current as a fresh read. Bounded: past the bound the least recently used order goes.
 * Copies are frozen: they are shared by every request of that order.
 *
 * A kept copy's strings are pooled: every order repeats its provider, service, status,
 * region, unit, port choice and image, and a row read from the database makes each anew
 * (at 5,000 orders, some 2 MiB of copies). Only strings are shared, never objects: order
 * records are copied and edited (see ValuePool), and a string cannot be edited.
 */
import type { OrderRecord } from '../domain/records.js';
import { LruMap } from '../kernel/lru-map.js';
import { StringPool } from '../kernel/string-pool.js';

export const KNOWN_ORDERS_KEPT = 20_000;
/** Strings per generation of the pool: the repeated ones number a few per order option and image. */
const STRINGS_PER_GENERATION = 4_000;

export class KnownOrders {
  private readonly orders: LruMap<string, Readonly<OrderRecord>>;
  constructor(
    size = KNOWN_ORDERS_KEPT,
    private readonly strings = new StringPool(STRINGS_PER_GENERATION),
  ) {
    this.orders = new LruMap(size);
  }

  /** The kept copy of the order when it is at `version`. */
  at(id: string, version: number): OrderRecord | undefined {
    const known = this.orders.get(id);
    return known?.version === version ? known : undefined;
  }

  /** Keeps `order` (a record just read, not shared yet): its strings pooled, the record frozen. */
  keep(order: OrderRecord): OrderRecord {
    const frozen = Object.freeze(this.poolStrings(order));
    this.orders.set(order.id, frozen);
    return frozen;
  }

  /** `value` with every string in it, at any depth, replaced by the pool's copy; changed in place. */
  private poolStrings<T>(value: T): T {
    const container = value as unknown as Record<string, unknown> | unknown[];
    if (Array.isArray(container)) {
      for (let i = 0; i < container.length; i++) container[i] = this.pooled(container[i]);
    } else {
      // Assigning `__proto__` would set the object's prototype; such a key keeps its value as it is.
      for (const key of Object.keys(container)) if (key !== '__proto__') container[key] = this.pooled(container[key]);
    }
    return value;
  }

  private pooled(v: unknown): unknown {
    if (typeof v === 'string') return this.strings.intern(v);
    return v !== null && typeof v === 'object' ? this.poolStrings(v) : v;
  }
}
