/**
 * Which of some order ids this database holds. Records keyed by an order (usage samples,
 * pod events) can come from a namespace left by another installation, or restored from
 * elsewhere: written as they are, one unknown order would fail the foreign key and, with
 * it, every other record of the same statement. Writers keep only the orders this finds.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';
import { fixedSizeChunks } from './statement-cache.js';

/** Ids per `in (…)` list. */
const IDS_PER_STATEMENT = 128;

/** The ids among `orderIds` of orders in the database; `between` runs before each read (a turn for requests). */
export async function heldOrders(db: Kysely<Database> | Transaction<Database>, orderIds: Iterable<string>, between?: () => Promise<void>): Promise<Set<string>> {
  const held = new Set<string>();
  for (const ids of fixedSizeChunks([...new Set(orderIds)], IDS_PER_STATEMENT)) {
    await between?.();
    for (const o of await db.selectFrom('orders').select('id').where('id', 'in', ids).execute()) held.add(o.id);
  }
  return held;
}
