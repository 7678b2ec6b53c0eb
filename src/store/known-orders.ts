/**
 * Orders this replica has read, each with the version the database gave it (bumped by the
 * database on every change of the order's row or its domains: migration 010). A lookup
 * reads only the version (one narrow indexed read) and hands back the kept copy when it is
 * the same: a tenant request no longer reads and parses the whole row, and the copy is as
 * current as a fresh read. Bounded: past the bound the least recently used order goes.
 * Copies are frozen: they are shared by every request of that order.
 */
import type { OrderRecord } from '../domain/records.js';
import { LruMap } from '../kernel/lru-map.js';

export const KNOWN_ORDERS_KEPT = 20_000;

export class KnownOrders {
  private readonly orders: LruMap<string, Readonly<OrderRecord>>;

  constructor(size = KNOWN_ORDERS_KEPT) {
    this.orders = new LruMap(size);
  }

  /** The kept copy of the order when it is at `version`. */
  at(id: string, version: number): OrderRecord | undefined {
    const known = this.orders.get(id);
    return known?.version === version ? known : undefined;
  }

  keep(order: OrderRecord): OrderRecord {
    const frozen = Object.freeze(order);
    this.orders.set(order.id, frozen);
    return frozen;
  }
}
