/**
 * Pod events and restart counts on SQL. Upserts, so several V-Kube replicas recording the
 * same event agree; a batch is one transaction of multi-row statements, not one commit per record.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { EventBatch, EventStore } from '../domain/store-port.js';
import type { ContainerRestarts, PodEvent } from '../domain/records.js';
import { fixedSizeChunks } from './statement-cache.js';
import { heldOrders } from './held-orders.js';

/** Rows per INSERT: a few statement texts (64, 32, …, 1 rows) for every batch size. */
const ROWS_PER_STATEMENT = 64;

export class SqlEventStore implements EventStore {
  constructor(private readonly db: Kysely<Database>) {}

  async recordBatch(batch: EventBatch): Promise<void> {
    if (batch.events.length === 0 && batch.restarts.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      // Only orders this database holds: another installation's would fail the whole batch.
      const held = await heldOrders(trx, [...batch.events, ...batch.restarts].map((r) => r.orderId));
      const ours = <T extends { orderId: string }>(records: T[]) => records.filter((r) => held.has(r.orderId));
      for (const events of fixedSizeChunks(ours(batch.events), ROWS_PER_STATEMENT)) {
        await trx
          .insertInto('pod_events')
          .values(
            events.map((e) => ({
              order_id: e.orderId,
              uid: e.uid,
              object: e.object,
              type: e.type,
              reason: e.reason,
              message: e.message,
              count: e.count,
              first_seen: e.firstSeen,
              last_seen: e.lastSeen,
            })),
          )
          .onConflict((oc) =>
            oc.columns(['order_id', 'uid']).doUpdateSet((eb) => ({
              count: eb.ref('excluded.count'),
              message: eb.ref('excluded.message'),
              last_seen: eb.ref('excluded.last_seen'),
            })),
          )
          .execute();
      }
      for (const restarts of fixedSizeChunks(ours(batch.restarts), ROWS_PER_STATEMENT)) {
        await trx
          .insertInto('container_restarts')
          .values(
            restarts.map((r) => ({
              order_id: r.orderId,
              pod: r.pod,
              container: r.container,
              restart_count: r.restartCount,
              last_reason: r.lastReason,
              last_exit_code: r.lastExitCode,
              updated_at: r.updatedAt,
            })),
          )
          .onConflict((oc) =>
            oc
              .columns(['order_id', 'pod', 'container'])
              .doUpdateSet((eb) => ({
                restart_count: eb.ref('excluded.restart_count'),
                last_reason: eb.ref('excluded.last_reason'),
                last_exit_code: eb.ref('excluded.last_exit_code'),
                updated_at: eb.ref('excluded.updated_at'),
              }))
              .where('container_restarts.restart_count', '<', (eb) => eb.ref('excluded.restart_count')),
          )
          .execute();
      }
    });
  }

  async recentEvents(orderId: string, limit: number): Promise<PodEvent[]> {
    const rows = await this.db.selectFrom('pod_events').selectAll().where('order_id', '=', orderId).orderBy('last_seen', 'desc').orderBy('uid').limit(limit).execute();
    return rows.map((r) => ({
      orderId: r.order_id,
      uid: r.uid,
      object: r.object,
      type: r.type,
      reason: r.reason,
      message: r.message,
      count: Number(r.count),
      firstSeen: Number(r.first_seen),
      lastSeen: Number(r.last_seen),
    }));
  }

  async restarts(orderId: string): Promise<ContainerRestarts[]> {
    const rows = await this.db.selectFrom('container_restarts').selectAll().where('order_id', '=', orderId).orderBy('updated_at', 'desc').execute();
    return rows.map((r) => ({
      orderId: r.order_id,
      pod: r.pod,
      container: r.container,
      restartCount: Number(r.restart_count),
      lastReason: r.last_reason,
      lastExitCode: r.last_exit_code === null ? null : Number(r.last_exit_code),
      updatedAt: Number(r.updated_at),
    }));
  }

  async trimEvents(orderId: string, keep: number): Promise<void> {
    const cutoff = await this.db
      .selectFrom('pod_events')
      .select('last_seen')
      .where('order_id', '=', orderId)
      .orderBy('last_seen', 'desc')
      .offset(keep)
      .limit(1)
      .executeTakeFirst();
    if (cutoff) await this.db.deleteFrom('pod_events').where('order_id', '=', orderId).where('last_seen', '<=', Number(cutoff.last_seen)).execute();
  }
}
