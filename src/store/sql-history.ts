/** The deploy history on SQL (written by SqlStore.recordDeploy, in the deploy's own transaction) and usage samples. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { DeployHistoryStore, UsageStore } from '../domain/store-port.js';
import type { DeployHistoryEntry, UsageRow } from '../domain/records.js';
import { fixedSizeChunks } from './statement-cache.js';
import { heldOrders } from './held-orders.js';
import { DELETE_BATCH, deleteInBatches } from './batched-delete.js';

/** Rows per statement of the usage sampler's writes. */
const CHUNK = 128;

export class SqlDeployHistoryStore implements DeployHistoryStore {
  constructor(private readonly db: Kysely<Database>) {}

  async deployHistory(orderId: string, limit: number): Promise<DeployHistoryEntry[]> {
    const rows = await this.db.selectFrom('deploy_history').selectAll().where('order_id', '=', orderId).orderBy('generation', 'desc').limit(limit).execute();
    return rows.map(fromRow);
  }

  async deployOfGeneration(orderId: string, generation: number): Promise<DeployHistoryEntry | undefined> {
    const row = await this.db.selectFrom('deploy_history').selectAll().where('order_id', '=', orderId).where('generation', '=', generation).executeTakeFirst();
    return row ? fromRow(row) : undefined;
  }
}

function fromRow(r: { order_id: string; generation: number; created_at: number; spec: string }): DeployHistoryEntry {
  return { orderId: r.order_id, generation: Number(r.generation), createdAt: Number(r.created_at), spec: JSON.parse(r.spec) as unknown };
}

export class SqlUsageStore implements UsageStore {
  constructor(private readonly db: Kysely<Database>) {}

  async recordUsage(rows: UsageRow[]): Promise<void> {
    // In chunks, within the databases' parameter limits, of a few fixed lengths (each
    // length is a statement SQLite compiles and keeps). SQLite runs them synchronously,
    // and its promise resolves without letting I/O in: a tick of thousands of orders held
    // the event loop for all its chunks at once. So requests get a turn between chunks.
    let turns = 0;
    const turn = () => (turns++ === 0 ? Promise.resolve() : new Promise<void>((r) => setImmediate(r)));
    // Only orders this database holds: a pod labelled for another's would fail every other order's sample of the tick.
    const held = await heldOrders(this.db, rows.map((r) => r.orderId), turn);
    for (const chunk of fixedSizeChunks(rows.filter((r) => held.has(r.orderId)), CHUNK)) {
      await turn();
      await this.db
        .insertInto('usage_samples')
        .values(chunk.map((r) => ({ order_id: r.orderId, at: r.at, sample: JSON.stringify(r.sample) })))
        .onConflict((oc) => oc.columns(['order_id', 'at']).doUpdateSet((eb) => ({ sample: eb.ref('excluded.sample') })))
        .execute();
    }
  }

  async usageSince(orderId: string, since: number): Promise<UsageRow[]> {
    const rows = await this.db.selectFrom('usage_samples').selectAll().where('order_id', '=', orderId).where('at', '>=', since).orderBy('at', 'asc').execute();
    return rows.map((r) => ({ orderId: r.order_id, at: Number(r.at), sample: JSON.parse(r.sample) as unknown }));
  }

  /**
   * A batch is whole orders' old samples, ~DELETE_BATCH rows, in the key's order: the rows
   * of one sampling tick are spread over every order's pages, so batches by time dirtied
   * every page of the key each time (100,000 rows at 5,000 orders: 1.9 s in all, 45 ms at
   * worst), where batches by order touch only their orders' (0.3 s in all, 12 ms at worst;
   * one statement: 0.6 s at once).
   */
  async pruneUsage(before: number): Promise<number> {
    let after = '';
    return deleteInBatches(async () => {
      const end = await this.db
        .selectFrom('usage_samples')
        .select('order_id')
        .where('order_id', '>', after)
        .where('at', '<', before)
        .orderBy('order_id')
        .limit(1)
        .offset(DELETE_BATCH - 1)
        .executeTakeFirst();
      let q = this.db.deleteFrom('usage_samples').where('order_id', '>', after).where('at', '<', before);
      if (end) q = q.where('order_id', '<=', end.order_id);
      const deleted = Number((await q.executeTakeFirst()).numDeletedRows);
      if (end) after = end.order_id;
      return { deleted, last: !end };
    });
  }
}
