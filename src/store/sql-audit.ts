/** The audit log on SQL: append-only from the API's side. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { AuditStore } from '../domain/store-port.js';
import type { AuditEntry, Page } from '../domain/records.js';
import { DELETE_BATCH, deleteInBatches } from './batched-delete.js';

export class SqlAuditStore implements AuditStore {
  constructor(private readonly db: Kysely<Database>) {}

  async appendAudit(e: AuditEntry): Promise<void> {
    await this.db
      .insertInto('audit_log')
      .values({ id: e.id, at: e.at, actor: e.actor, order_id: e.orderId, action: e.action, outcome: e.outcome, client: e.client, request_id: e.requestId, detail: e.detail ?? null })
      .execute();
  }

  async pruneAudit(before: number): Promise<number> {
    return deleteInBatches(async () => {
      const batch = this.db.selectFrom('audit_log').select('id').where('at', '<', before).limit(DELETE_BATCH);
      const deleted = Number((await this.db.deleteFrom('audit_log').where('id', 'in', batch).executeTakeFirst()).numDeletedRows);
      return { deleted, last: deleted < DELETE_BATCH };
    });
  }

  async listAudit(filter: { orderId?: string; limit: number; offset: number }): Promise<Page<AuditEntry>> {
    let q = this.db.selectFrom('audit_log');
    if (filter.orderId) q = q.where('order_id', '=', filter.orderId);
    const [rows, count] = await Promise.all([
      q.selectAll().orderBy('at', 'desc').orderBy('id', 'desc').limit(filter.limit).offset(filter.offset).execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return {
      items: rows.map((r) => ({ id: r.id, at: Number(r.at), actor: r.actor, orderId: r.order_id, action: r.action, outcome: Number(r.outcome), client: r.client, requestId: r.request_id, detail: r.detail ?? null })),
      total: Number(count.n),
    };
  }
}
