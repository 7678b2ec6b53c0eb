/**
 * Contacts, codes, seen signatures, webhooks and the outbox on SQL. `appendOutboxIn`
 * is also called by the order and notice stores inside their own transactions, so an
 * event is recorded if and only if the change it tells of is.
 */
import type { Kysely, Selectable, Transaction } from 'kysely';
import { randomBytes } from 'node:crypto';
import { DELETE_BATCH, deleteInBatches } from './batched-delete.js';
import type { DeliveriesTable, Database, OrdersTable, OutboxTable, WebhooksTable } from './schema.js';
import type { ServiceStatus } from '../domain/records.js';
import type {
  Contact,
  ContactOwner,
  Delivery,
  DeliveryChannel,
  DeliveryStatus,
  NewOutboxEvent,
  NotificationStore,
  OrderSnapshot,
  OutboxEvent,
  PendingCode,
  Webhook,
} from '../domain/notify/store-port.js';

type Db = Kysely<Database> | Transaction<Database>;

/** Expired signatures are swept on about one insert in this many. */
const SWEEP_EVERY = 50;

export class SqlNotificationStore implements NotificationStore {
  private inserts = 0;

  constructor(private readonly db: Kysely<Database>) {}

  async contactOf(owner: ContactOwner): Promise<Contact | undefined> {
    const row = await this.db.selectFrom('contacts').selectAll().where('owner_kind', '=', owner.kind).where('owner', '=', owner.id).where('type', '=', 'email').executeTakeFirst();
    return row && { owner, type: 'email', contact: row.contact, createdAt: Number(row.created_at) };
  }

  async bindContact(c: Contact): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('contacts')
        .values({ owner_kind: c.owner.kind, owner: c.owner.id, type: c.type, contact: c.contact, created_at: c.createdAt })
        .onConflict((oc) => oc.columns(['owner_kind', 'owner', 'type']).doUpdateSet({ contact: c.contact, created_at: c.createdAt }))
        .execute();
      await trx.deleteFrom('contact_codes').where('owner_kind', '=', c.owner.kind).where('owner', '=', c.owner.id).execute();
    });
  }

  async deleteContact(owner: ContactOwner, type: 'email'): Promise<boolean> {
    const r = await this.db.deleteFrom('contacts').where('owner_kind', '=', owner.kind).where('owner', '=', owner.id).where('type', '=', type).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async contactsOf(owners: ContactOwner[]): Promise<Contact[]> {
    const wanted = owners.filter((o) => o.id);
    if (wanted.length === 0) return [];
    const rows = await this.db
      .selectFrom('contacts')
      .selectAll()
      .where('type', '=', 'email')
      .where((eb) => eb.or(wanted.map((o) => eb.and([eb('owner_kind', '=', o.kind), eb('owner', '=', o.id)]))))
      .execute();
    return rows.map((r) => ({ owner: { kind: r.owner_kind as ContactOwner['kind'], id: r.owner }, type: 'email', contact: r.contact, createdAt: Number(r.created_at) }));
  }

  async pendingCode(owner: ContactOwner): Promise<PendingCode | undefined> {
    const r = await this.db.selectFrom('contact_codes').selectAll().where('owner_kind', '=', owner.kind).where('owner', '=', owner.id).executeTakeFirst();
    return (
      r && {
        owner,
        type: 'email',
        contact: r.contact,
        codeHash: r.code_hash,
        expiresAt: Number(r.expires_at),
        attempts: Number(r.attempts),
        sentAt: Number(r.sent_at),
      }
    );
  }

  async putCode(c: PendingCode): Promise<void> {
    const values = { contact: c.contact, code_hash: c.codeHash, expires_at: c.expiresAt, attempts: c.attempts, sent_at: c.sentAt };
    await this.db
      .insertInto('contact_codes')
      .values({ owner_kind: c.owner.kind, owner: c.owner.id, type: c.type, ...values })
      .onConflict((oc) => oc.columns(['owner_kind', 'owner', 'type']).doUpdateSet(values))
      .execute();
  }

  async countCodeAttempt(owner: ContactOwner): Promise<number> {
    await this.db
      .updateTable('contact_codes')
      .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
      .where('owner_kind', '=', owner.kind)
      .where('owner', '=', owner.id)
      .execute();
    return (await this.pendingCode(owner))?.attempts ?? 0;
  }

  async dropCode(owner: ContactOwner): Promise<void> {
    await this.db.deleteFrom('contact_codes').where('owner_kind', '=', owner.kind).where('owner', '=', owner.id).execute();
  }

  async useSignature(signatureHash: string, expiresAt: number, now: number): Promise<boolean> {
    if (++this.inserts % SWEEP_EVERY === 0) await this.db.deleteFrom('seen_signatures').where('expires_at', '<', now).execute();
    const r = await this.db
      .insertInto('seen_signatures')
      .values({ signature_hash: signatureHash, expires_at: expiresAt })
      .onConflict((oc) => oc.column('signature_hash').doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async insertWebhook(h: Webhook): Promise<void> {
    await this.db.insertInto('webhooks').values({ id: h.id, url: h.url, secret_sealed: h.secretSealed, events: JSON.stringify(h.events), created_at: h.createdAt }).execute();
  }

  async listWebhooks(): Promise<Webhook[]> {
    return (await this.db.selectFrom('webhooks').selectAll().orderBy('created_at').orderBy('id').execute()).map(webhookFromRow);
  }

  async findWebhook(id: string): Promise<Webhook | undefined> {
    const row = await this.db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
    return row && webhookFromRow(row);
  }

  async deleteWebhook(id: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('deliveries').where('channel', '=', 'webhook').where('target', '=', id).execute();
      const r = await trx.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  async appendEvent(event: NewOutboxEvent): Promise<boolean> {
    return this.db.transaction().execute((trx) => appendOutboxIn(trx, event));
  }

  async undispatchedEvents(limit: number): Promise<OutboxEvent[]> {
    const rows = await this.db.selectFrom('outbox').selectAll().where('dispatched', '=', 0).orderBy('created_at').orderBy('id').limit(limit).execute();
    return rows.map(eventFromRow);
  }

  async dispatchEvent(eventId: string, deliveries: Array<{ channel: DeliveryChannel; target: string }>, now: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      if (deliveries.length) {
        await trx
          .insertInto('deliveries')
          .values(
            deliveries.map((d) => ({
              id: newId('dlv'),
              event_id: eventId,
              channel: d.channel,
              target: d.target,
              status: 'pending',
              attempts: 0,
              next_at: now,
              last_error: '',
              last_status: null,
              created_at: now,
              delivered_at: null,
            })),
          )
          .onConflict((oc) => oc.columns(['event_id', 'channel', 'target']).doNothing())
          .execute();
      }
      await trx.updateTable('outbox').set({ dispatched: 1 }).where('id', '=', eventId).execute();
    });
  }

  async findEvent(id: string): Promise<OutboxEvent | undefined> {
    const row = await this.db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirst();
    return row && eventFromRow(row);
  }

  async dueDeliveries(now: number, limit: number): Promise<Delivery[]> {
    const rows = await this.db.selectFrom('deliveries').selectAll().where('status', '=', 'pending').where('next_at', '<=', now).orderBy('next_at').orderBy('id').limit(limit).execute();
    return rows.map(deliveryFromRow);
  }

  async updateDelivery(id: string, c: Pick<Delivery, 'status' | 'attempts' | 'nextAt' | 'lastError' | 'lastStatus' | 'deliveredAt'>): Promise<void> {
    await this.db
      .updateTable('deliveries')
      .set({ status: c.status, attempts: c.attempts, next_at: c.nextAt, last_error: c.lastError.slice(0, 1000), last_status: c.lastStatus, delivered_at: c.deliveredAt })
      .where('id', '=', id)
      .execute();
  }

  async deliveriesOfWebhook(webhookId: string, opts: { limit: number; offset: number; status?: DeliveryStatus }): Promise<{ items: Array<Delivery & { type: string }>; total: number }> {
    let q = this.db.selectFrom('deliveries').innerJoin('outbox', 'outbox.id', 'deliveries.event_id').where('deliveries.channel', '=', 'webhook').where('deliveries.target', '=', webhookId);
    if (opts.status) q = q.where('deliveries.status', '=', opts.status);
    const [rows, count] = await Promise.all([
      q.selectAll('deliveries').select('outbox.type as type').orderBy('deliveries.created_at', 'desc').orderBy('deliveries.id').limit(opts.limit).offset(opts.offset).execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { items: rows.map((r) => ({ ...deliveryFromRow(r), type: r.type })), total: Number(count.n) };
  }

  /**
   * Old dispatched events go, a batch at a time in the order they were made, with their
   * deliveries finished before the cut; an event with a delivery still pending (or made
   * after the cut) stays, and so does that delivery. The cursor walks
   * `outbox_undispatched` (dispatched, created_at), so an event kept for a pending
   * delivery is passed over, not read again in every batch.
   */
  async pruneOutbox(before: number): Promise<number> {
    let after: { at: number; id: string } | undefined;
    return deleteInBatches(async () => {
      let q = this.db.selectFrom('outbox').select(['id', 'created_at']).where('dispatched', '=', 1).where('created_at', '<', before);
      if (after) {
        const { at, id } = after;
        q = q.where((eb) => eb.or([eb('created_at', '>', at), eb.and([eb('created_at', '=', at), eb('id', '>', id)])]));
      }
      const batch = await q.orderBy('created_at').orderBy('id').limit(DELETE_BATCH).execute();
      if (batch.length === 0) return { deleted: 0, last: true };
      const ids = batch.map((r) => r.id);
      const tail = batch[batch.length - 1]!;
      after = { at: Number(tail.created_at), id: tail.id };
      const deleted = await this.db.transaction().execute(async (trx) => {
        await trx.deleteFrom('deliveries').where('event_id', 'in', ids).where('status', '!=', 'pending').where('created_at', '<', before).execute();
        const r = await trx
          .deleteFrom('outbox')
          .where('id', 'in', ids)
          .where(({ not, exists, selectFrom }) => not(exists(selectFrom('deliveries').select('deliveries.id').whereRef('deliveries.event_id', '=', 'outbox.id'))))
          .executeTakeFirst();
        return Number(r.numDeletedRows);
      });
      return { deleted, last: batch.length < DELETE_BATCH };
    });
  }

  async deliveriesOfEvent(eventId: string): Promise<Delivery[]> {
    return (await this.db.selectFrom('deliveries').selectAll().where('event_id', '=', eventId).orderBy('id').execute()).map(deliveryFromRow);
  }
}

/** The columns of an order row an event's snapshot is made of. */
const SNAPSHOT_COLUMNS = ['id', 'service_id', 'address', 'region', 'units', 'service_status', 'end_at', 'generation'] as const;
type SnapshotRow = Pick<Selectable<OrdersTable>, (typeof SNAPSHOT_COLUMNS)[number]>;

/**
 * Records an event inside the caller's transaction, with a snapshot of its order as the
 * transaction sees it: `orderRow` when the caller holds the row it just wrote (read
 * again otherwise). False when its dedupe key was recorded already, or its order is
 * not in this database.
 */
export async function appendOutboxIn(db: Db, event: NewOutboxEvent, orderRow?: SnapshotRow): Promise<boolean> {
  let order: OrderSnapshot | null = null;
  if (event.orderId) {
    const row =
      orderRow ??
      (await db.selectFrom('orders').select(SNAPSHOT_COLUMNS).where('id', '=', event.orderId).executeTakeFirst());
    // A pod of another V-Kube sharing the cluster: its order is not ours to tell of.
    if (!row) return false;
    order = {
      id: row.id,
      serviceID: row.service_id,
      address: row.address,
      region: row.region,
      units: Number(row.units),
      serviceStatus: row.service_status as ServiceStatus,
      endAt: row.end_at === null ? null : Number(row.end_at),
      generation: Number(row.generation),
    };
  }
  const r = await db
    .insertInto('outbox')
    .values({
      id: newId('evt'),
      type: event.type,
      order_id: event.orderId,
      order_json: order ? JSON.stringify(order) : null,
      data_json: JSON.stringify(event.data),
      created_at: event.at,
      dispatched: 0,
      dedupe_key: event.dedupeKey ?? null,
    })
    .onConflict((oc) => oc.column('dedupe_key').doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}

function webhookFromRow(r: Selectable<WebhooksTable>): Webhook {
  return { id: r.id, url: r.url, secretSealed: r.secret_sealed, events: JSON.parse(r.events) as string[], createdAt: Number(r.created_at) };
}

function eventFromRow(r: Selectable<OutboxTable>): OutboxEvent {
  return {
    id: r.id,
    type: r.type,
    orderId: r.order_id,
    order: r.order_json ? (JSON.parse(r.order_json) as OrderSnapshot) : null,
    data: JSON.parse(r.data_json) as Record<string, unknown>,
    createdAt: Number(r.created_at),
  };
}

function deliveryFromRow(r: Selectable<DeliveriesTable>): Delivery {
  return {
    id: r.id,
    eventId: r.event_id,
    channel: r.channel as DeliveryChannel,
    target: r.target,
    status: r.status as DeliveryStatus,
    attempts: Number(r.attempts),
    nextAt: Number(r.next_at),
    lastError: r.last_error,
    lastStatus: r.last_status === null ? null : Number(r.last_status),
    createdAt: Number(r.created_at),
    deliveredAt: r.delivered_at === null ? null : Number(r.delivered_at),
  };
}
