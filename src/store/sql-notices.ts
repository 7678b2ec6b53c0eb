/** Notices to customers (expiry warnings and the like) on SQL. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { NewOutboxEvent } from '../domain/notify/store-port.js';
import { appendOutboxIn } from './sql-notifications.js';
import type { NoticeStore } from '../domain/store-port.js';
import type { Notice, Page } from '../domain/records.js';

export class SqlNoticeStore implements NoticeStore {
  constructor(private readonly db: Kysely<Database>) {}

  async addNotice(n: Notice, event?: NewOutboxEvent): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const r = await trx
        .insertInto('notices')
        .values({ id: `${n.orderId}:${n.noticeType}`, order_id: n.orderId, service_id: n.serviceID, address: n.address, notice_type: n.noticeType, timestamp: n.timestamp })
        .onConflict((oc) => oc.column('id').doNothing())
        .executeTakeFirst();
      const added = Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
      // Told to webhooks and by e-mail once, as the notice itself is recorded once.
      if (added && event) await appendOutboxIn(trx, event);
      return added;
    });
  }

  async listNotices(filter: { address: string; serviceID?: string; limit: number; offset: number }): Promise<Page<Notice>> {
    let q = this.db.selectFrom('notices').where('address', '=', filter.address);
    if (filter.serviceID) q = q.where('service_id', '=', filter.serviceID);
    const [rows, count] = await Promise.all([
      q.selectAll().orderBy('timestamp', 'desc').orderBy('id').limit(filter.limit).offset(filter.offset).execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return {
      items: rows.map((r) => ({ orderId: r.order_id, serviceID: r.service_id, address: r.address, noticeType: r.notice_type, timestamp: Number(r.timestamp) })),
      total: Number(count.n),
    };
  }
}
