/**
 * The store on SQL (SQLite or PostgreSQL) through Kysely. State changes are guarded
 * (`UPDATE … WHERE service_status IN (…)` and a row count); host-port leases rely on
 * the table's primary key, never on a read-then-write alone.
 */
import { type Kysely, type Selectable, type Transaction, sql } from 'kysely';
import type { Database, OrdersTable, PortLeasesTable, ReconcileQueueTable } from './schema.js';
import type { NewOutboxEvent } from '../domain/notify/store-port.js';
import { appendOutboxIn } from './sql-notifications.js';
import { PreparedQuery } from './prepared-query.js';
import { KNOWN_ORDERS_KEPT, KnownOrders } from './known-orders.js';
import type { SqliteOrderWrites } from './sqlite-order-writes.js';
import { LruMap } from '../kernel/lru-map.js';
import { ConcurrentChange, type DeployRecord, PortsTaken, StaleState, type Store } from '../domain/store-port.js';
import { DEPLOY_HISTORY_KEPT, type NewOrder, type OrderRecord, type Page, type PortLease, type QueuedWork, type ServiceStatus, type Teardown } from '../domain/records.js';

type Db = Kysely<Database> | Transaction<Database>;
const ENDED: ServiceStatus[] = ['ServiceDone', 'ServiceAbort'];

export class SqlStore implements Store {
  /** The lookup of every tenant request: the order's id and version only (KnownOrders has the rest). */
  private readonly bySecretHash: PreparedQuery<{ id: string; version: number | string }, [string]>;
  private readonly versionById: PreparedQuery<{ version: number | string }, [string]>;
  private readonly byId: PreparedQuery<Selectable<OrdersTable>, [string]>;
  private readonly known = new KnownOrders();
  /** SQLite: which order a secret hash opened (a fact only a rotation of the secret changes; see findOrderBySecretHash). */
  private readonly idBySecretHash = new LruMap<string, string>(KNOWN_ORDERS_KEPT);

  /** `writes`: on SQLite, what spares the version read of an order known current (sqlite-order-writes.ts). */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly writes?: SqliteOrderWrites,
  ) {
    writes?.follow();
    const never = db as unknown as Kysely<never>;
    this.bySecretHash = new PreparedQuery(never, () => db.selectFrom('orders').select(['id', 'version']).where('secret_hash', '=', ''));
    this.versionById = new PreparedQuery(never, () => db.selectFrom('orders').select('version').where('id', '=', ''));
    this.byId = new PreparedQuery(never, () => db.selectFrom('orders').selectAll().where('id', '=', ''));
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  async insertOrder(order: NewOrder): Promise<OrderRecord> {
    await this.db.transaction().execute(async (trx) => {
      // Generation 1, queued: the leader provisions the order's namespace and isolation
      // objects at once, so its first deploy only adds the workload.
      await trx.insertInto('orders').values({ ...toRow(order), generation: 1 }).execute();
      await enqueueIn(trx, order.id);
      // The provider's webhooks hear of it if and only if it was recorded.
      await appendOutboxIn(trx, { type: 'order.created', orderId: order.id, data: {}, at: Date.now() });
    });
    return (await this.findOrder(order.id))!;
  }

  async findOrder(id: string): Promise<OrderRecord | undefined> {
    const current = this.keptCurrent(id);
    if (current) return current;
    const mark = this.writes?.mark();
    const [head] = await this.versionById.run(id);
    return head && this.confirmed(await (this.known.at(id, Number(head.version)) ?? this.readOrder(id)), mark);
  }

  async findOrderBySecretHash(hash: string): Promise<OrderRecord | undefined> {
    const id = this.writes && this.idBySecretHash.get(hash);
    const current = id ? this.keptCurrent(id) : undefined;
    // A secret rotated since leaves its old hash naming the order: the order's own hash decides.
    // (The authenticator compares the two again, in constant time.)
    if (current?.secretHash === hash) return current;
    const mark = this.writes?.mark();
    const [head] = await this.bySecretHash.run(hash);
    if (!head) return undefined;
    const order = this.confirmed(await (this.known.at(head.id, Number(head.version)) ?? this.readOrder(head.id)), mark);
    // Keyed by the kept order's own strings, not the request's: 5,000 orders add no strings.
    if (this.writes && order?.secretHash === hash) this.idBySecretHash.set(order.secretHash, order.id);
    return order;
  }

  /** The kept copy of an order known current without a read (SQLite only), or undefined. */
  private keptCurrent(id: string): OrderRecord | undefined {
    const version = this.writes?.versionOf(id);
    return version === undefined ? undefined : this.known.at(id, version);
  }

  /** An order just read: known current from now on, unless a write of an order came since `mark`. */
  private confirmed(order: OrderRecord | undefined, mark: number | undefined): OrderRecord | undefined {
    if (order && mark !== undefined) this.writes!.confirm(order.id, order.version, mark);
    return order;
  }

  /** The whole row, kept for the next lookup at the same version (undefined if it went meanwhile). */
  private async readOrder(id: string): Promise<OrderRecord | undefined> {
    const [row] = await this.byId.run(id);
    return row && this.known.keep(fromRow(row));
  }

  async listOrders(opts: { limit: number; offset: number; status?: ServiceStatus }): Promise<Page<OrderRecord>> {
    let q = this.db.selectFrom('orders');
    if (opts.status) q = q.where('service_status', '=', opts.status);
    const [rows, count] = await Promise.all([
      q.selectAll().orderBy('created_at', 'desc').orderBy('id').limit(opts.limit).offset(opts.offset).execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { items: rows.map(fromRow), total: Number(count.n) };
  }

  async listLiveOrders(page: { after?: string; limit: number }): Promise<OrderRecord[]> {
    // Walks the primary key in id order and stops after `limit` live rows. With the bare
    // columns the planner took the status and teardown indexes (a MULTI-INDEX OR), read
    // every live order and sorted them all by id for each page: a pass over 5,000 orders
    // read 21 pages of ~7 ms, each blocking the event loop, growing with the square of the
    // population. `|| ''` keeps the values and hides the columns from their indexes, in
    // SQLite and PostgreSQL alike.
    // Only ids and versions are read for the page; an order kept at that version is handed
    // back as kept, and only the others are read whole: a pass's reads over 5,000 orders
    // took 73 ms of the event loop when every row was read and parsed, 12 ms now.
    let q = this.db
      .selectFrom('orders')
      .select(['id', 'version'])
      .where((eb) =>
        eb.or([eb(sql<string>`service_status || ''`, 'in', ['ServicePending', 'ServiceRunning', 'ServiceStop']), eb(sql<string>`teardown || ''`, '=', 'Terminating')]),
      )
      .orderBy('id')
      .limit(page.limit);
    if (page.after !== undefined) q = q.where('id', '>', page.after);
    const heads = await q.execute();
    const kept = heads.map((h) => this.known.at(h.id, Number(h.version)));
    const missing = heads.filter((_, i) => !kept[i]).map((h) => h.id);
    const read = new Map<string, OrderRecord>();
    if (missing.length > 0) {
      for (const row of await this.db.selectFrom('orders').selectAll().where('id', 'in', missing).execute()) read.set(row.id, this.known.keep(fromRow(row)));
    }
    // An order changed between the two reads comes as read the second time; one deleted meanwhile is left out.
    return heads.flatMap((h, i) => kept[i] ?? read.get(h.id) ?? []);
  }

  async setSecretHash(id: string, hash: string, now: number): Promise<void> {
    const r = await this.db.updateTable('orders').set({ secret_hash: hash, updated_at: now }).where('id', '=', id).executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new StaleState(id, undefined);
  }

  async recordDeploy(id: string, deploy: DeployRecord): Promise<OrderRecord> {
    try {
      const recorded = await this.db.transaction().execute(async (trx) => {
        // Inserted in one order by every deploy, so two deploys waiting on each other's
        // uncommitted leases cannot deadlock (PostgreSQL would abort one with 40P01).
        const wanted = deploy.leases
          .map((l) => ({ ...l, region: deploy.region }))
          .sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
        const held = await heldByOthers(trx, id, wanted);
        if (held.length) throw new PortsTaken(held);
        // The guarded UPDATE comes before the leases: a stale or unknown order is refused
        // before anything is written (an unknown one would otherwise fail the leases'
        // foreign key), and its row lock makes two deploys of one order take turns on
        // PostgreSQL instead of colliding on their own leases.
        const row = await trx
          .updateTable('orders')
          .set((eb) => ({
            ...toPartialRow(deploy.fields),
            spec: JSON.stringify(deploy.spec),
            region: deploy.region,
            service_status: deploy.status,
            spec_generation: eb('spec_generation', '+', 1),
            // Deploying again replaces the pod, even with an identical spec.
            restart_generation: eb('restart_generation', '+', 1),
            generation: eb('generation', '+', 1),
            // What the version trigger would do (migration 010), done in the statement itself:
            // SQLite's trigger runs after it, and RETURNING would not see its bump.
            version: eb('version', '+', 1),
            updated_at: deploy.now,
          }))
          .where('id', '=', id)
          .where('service_status', 'in', deploy.allowedFrom)
          .$if(deploy.expectedGeneration !== undefined, (q) => q.where('generation', '=', deploy.expectedGeneration!))
          // The order as changed, read in the same statement (SQLite and PostgreSQL both return it).
          .returningAll()
          .executeTakeFirst();
        if (!row) {
          const current = await trx.selectFrom('orders').select(['service_status', 'generation']).where('id', '=', id).executeTakeFirst();
          if (current && deploy.allowedFrom.includes(current.service_status as ServiceStatus)) throw new ConcurrentChange(id, deploy.expectedGeneration ?? -1);
          throw new StaleState(id, current?.service_status as ServiceStatus | undefined);
        }
        await enqueueIn(trx, id);
        await trx.deleteFrom('port_leases').where('order_id', '=', id).execute();
        if (wanted.length) {
          await trx
            .insertInto('port_leases')
            .values(wanted.map((l) => ({ region: l.region, port: l.port, protocol: l.protocol, order_id: id, created_at: deploy.now })))
            .execute();
        }
        // The deploy history (rollback's source) is written with the spec it records, and kept
        // bounded. Every deploy writes one entry and counts one spec generation, so an order
        // with no more spec generations than entries kept has nothing to drop.
        await trx.insertInto('deploy_history').values({ order_id: id, generation: row.generation, created_at: deploy.now, spec: JSON.stringify(deploy.spec) }).execute();
        if (Number(row.spec_generation) > DEPLOY_HISTORY_KEPT) {
          await trx
            .deleteFrom('deploy_history')
            .where('order_id', '=', id)
            .where('generation', 'not in', (eb) => eb.selectFrom('deploy_history').select('generation').where('order_id', '=', id).orderBy('generation', 'desc').limit(DEPLOY_HISTORY_KEPT))
            .execute();
        }
        // The snapshot from the row the UPDATE returned: no second read of the order.
        const accepted = { region: deploy.region, hostPorts: wanted.map((l) => ({ port: l.port, protocol: l.protocol })) };
        await appendOutboxIn(trx, { type: 'deploy.accepted', orderId: id, data: accepted, at: Date.now() }, row);
        return fromRow(row);
      });
      // Kept once committed, at the version the UPDATE returned: the leader's read of the
      // order it is about to apply, a moment later, then finds it without reading the row again.
      return this.known.keep(recorded);
    } catch (err) {
      // Two deploys raced past the read above: the primary key stopped the second one.
      if (isUniqueViolation(err)) {
        const held = await heldByOthers(this.db, id, deploy.leases.map((l) => ({ ...l, region: deploy.region })));
        throw new PortsTaken(held.length ? held : deploy.leases.map((l) => ({ ...l, region: deploy.region, orderId: '?' })));
      }
      throw err;
    }
  }

  async transition(id: string, from: ServiceStatus[], to: ServiceStatus, fields: Partial<OrderRecord>, now: number): Promise<OrderRecord> {
    const teardown: Partial<{ teardown: Teardown }> = ENDED.includes(to) ? { teardown: 'Terminating' } : {};
    const ended = to === 'ServiceAbort' ? 'order.aborted' : to === 'ServiceDone' ? 'order.expired' : undefined;
    return this.changeDesiredState(
      id,
      (trx) =>
      trx
        .updateTable('orders')
        .set((eb) => ({ ...toPartialRow(fields), ...teardown, service_status: to, generation: eb('generation', '+', 1), updated_at: now }))
        .where('id', '=', id)
        .where('service_status', 'in', from)
        .executeTakeFirst(),
      ended && { type: ended, orderId: id, data: {}, at: Date.now() },
    );
  }

  /**
   * One guarded UPDATE of the desired state, and the order queued for the leader (and the
   * event told to webhooks and e-mail, if any), in one transaction: a crash cannot leave
   * a change that nobody will apply, nor one that nobody hears of.
   */
  private async changeDesiredState(
    id: string,
    update: (trx: Transaction<Database>) => Promise<{ numUpdatedRows: bigint }>,
    event?: NewOutboxEvent,
  ): Promise<OrderRecord> {
    const changed = await this.db.transaction().execute(async (trx) => {
      const r = await update(trx);
      if (Number(r.numUpdatedRows) !== 1) return false;
      await enqueueIn(trx, id);
      if (event) await appendOutboxIn(trx, event);
      return true;
    });
    const order = await this.findOrder(id);
    if (!changed || !order) throw new StaleState(id, order?.serviceStatus);
    return order;
  }

  async renew(id: string, hours: number, now: number): Promise<OrderRecord> {
    const r = await this.db
      .updateTable('orders')
      .set((eb) => ({
        duration_hours: eb('duration_hours', '+', hours),
        end_at: sql<number | null>`case when end_at is null then null else end_at + ${hours * 3600} end`,
        updated_at: now,
      }))
      .where('id', '=', id)
      .where('service_status', 'in', ['ServicePending', 'ServiceRunning', 'ServiceStop'])
      .executeTakeFirst();
    const order = await this.findOrder(id);
    if (Number(r.numUpdatedRows) !== 1 || !order) throw new StaleState(id, order?.serviceStatus);
    return order;
  }

  async bumpRestart(id: string, now: number): Promise<OrderRecord> {
    return this.changeDesiredState(id, (trx) =>
      trx
        .updateTable('orders')
        .set((eb) => ({ restart_generation: eb('restart_generation', '+', 1), generation: eb('generation', '+', 1), updated_at: now }))
        .where('id', '=', id)
        .executeTakeFirst(),
    );
  }

  async setMetadata(id: string, fields: { description?: string; customLabel?: string }, now: number): Promise<OrderRecord> {
    return this.changeDesiredState(id, (trx) =>
      trx
        .updateTable('orders')
        .set((eb) => ({
          ...(fields.description !== undefined ? { description: fields.description } : {}),
          ...(fields.customLabel !== undefined ? { custom_label: fields.customLabel } : {}),
          spec_generation: eb('spec_generation', '+', 1),
          generation: eb('generation', '+', 1),
          updated_at: now,
        }))
        .where('id', '=', id)
        .executeTakeFirst(),
    );
  }

  async setMagic(id: string, magic: string): Promise<void> {
    await this.db.updateTable('orders').set({ magic }).where('id', '=', id).execute();
  }

  async releaseLeases(id: string): Promise<void> {
    await this.db.deleteFrom('port_leases').where('order_id', '=', id).execute();
  }

  async markObserved(id: string, generation: number, at: number): Promise<void> {
    await this.db.updateTable('orders').set({ observed_generation: generation, observed_at: at }).where('id', '=', id).where('observed_generation', '<=', generation).execute();
  }

  async finishTeardown(id: string, now: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const r = await trx.updateTable('orders').set({ teardown: 'Done', updated_at: now }).where('id', '=', id).where('teardown', '=', 'Terminating').executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      await trx.deleteFrom('port_leases').where('order_id', '=', id).execute();
      await trx.deleteFrom('domains').where('order_id', '=', id).execute();
      return true;
    });
  }

  async enqueue(orderId: string, at: number): Promise<void> {
    await enqueueIn(this.db, orderId, at);
  }

  async ensureQueued(orderId: string, at: number): Promise<void> {
    await this.db
      .insertInto('reconcile_queue')
      .values({ order_id: orderId, stamp: 1, due_at: at, attempts: 0, last_error: '', enqueued_at: at })
      // Queued already: a back-off runs as it is; an entry not yet tried (a resync paced
      // for later) comes forward to the sooner time, so a watch event is not kept waiting.
      .onConflict((oc) =>
        oc
          .column('order_id')
          .doUpdateSet({ due_at: (eb) => eb.ref('excluded.due_at') })
          .where('reconcile_queue.attempts', '=', 0)
          .where('reconcile_queue.due_at', '>', (eb) => eb.ref('excluded.due_at')),
      )
      .execute();
  }

  async dueWork(at: number, limit: number): Promise<QueuedWork[]> {
    const rows = await this.db.selectFrom('reconcile_queue').selectAll().where('due_at', '<=', at).orderBy('due_at').orderBy('order_id').limit(limit).execute();
    return rows.map(workFromRow);
  }

  async completeWork(orderId: string, stamp: number): Promise<void> {
    await this.db.deleteFrom('reconcile_queue').where('order_id', '=', orderId).where('stamp', '=', stamp).execute();
  }

  async deferWork(orderId: string, stamp: number, dueAt: number, error: string | undefined): Promise<void> {
    await this.db
      .updateTable('reconcile_queue')
      .set((eb) => ({ due_at: dueAt, ...(error !== undefined ? { attempts: eb('attempts', '+', 1), last_error: error.slice(0, 2000) } : {}) }))
      .where('order_id', '=', orderId)
      .where('stamp', '=', stamp)
      .execute();
  }

  async queuedWork(orderId: string): Promise<QueuedWork | undefined> {
    const row = await this.db.selectFrom('reconcile_queue').selectAll().where('order_id', '=', orderId).executeTakeFirst();
    return row && workFromRow(row);
  }

  async queueDepth(): Promise<number> {
    const row = await this.db.selectFrom('reconcile_queue').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async leasesInRegion(region: string, ports?: number[]): Promise<PortLease[]> {
    if (ports && ports.length === 0) return [];
    let q = this.db.selectFrom('port_leases').selectAll().where('region', '=', region);
    if (ports) q = q.where('port', 'in', [...new Set(ports)]);
    return (await q.execute()).map(leaseFromRow);
  }

  async leasesOfOrder(id: string): Promise<PortLease[]> {
    const rows = await this.db.selectFrom('port_leases').selectAll().where('order_id', '=', id).orderBy('port').execute();
    return rows.map(leaseFromRow);
  }

  async countLeases(): Promise<number> {
    const row = await this.db.selectFrom('port_leases').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async getSetting(key: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
    return row?.value;
  }

  async setSettingOnce(key: string, value: string): Promise<string> {
    await this.db.insertInto('settings').values({ key, value }).onConflict((oc) => oc.column('key').doNothing()).execute();
    return (await this.getSetting(key))!;
  }
}

async function heldByOthers(db: Kysely<Database> | Transaction<Database>, orderId: string, wanted: Array<Omit<PortLease, 'orderId'>>): Promise<PortLease[]> {
  if (wanted.length === 0) return [];
  const rows = await db
    .selectFrom('port_leases')
    .selectAll()
    .where('region', '=', wanted[0]!.region)
    .where('port', 'in', wanted.map((l) => l.port))
    .where('order_id', '!=', orderId)
    .execute();
  return rows.map(leaseFromRow).filter((l) => wanted.some((w) => w.port === l.port && w.protocol === l.protocol));
}

/** Queues the order (due now, attempts reset) or, when queued already, makes the entry due now under a new stamp. */
async function enqueueIn(db: Db, orderId: string, at = Date.now()): Promise<void> {
  await db
    .insertInto('reconcile_queue')
    .values({ order_id: orderId, stamp: 1, due_at: at, attempts: 0, last_error: '', enqueued_at: at })
    .onConflict((oc) =>
      oc.column('order_id').doUpdateSet((eb) => ({
        stamp: eb('reconcile_queue.stamp', '+', 1),
        due_at: eb.ref('excluded.due_at'),
        attempts: 0,
        last_error: '',
        enqueued_at: eb.ref('excluded.enqueued_at'),
      })),
    )
    .execute();
}

function workFromRow(r: Selectable<ReconcileQueueTable>): QueuedWork {
  return { orderId: r.order_id, stamp: Number(r.stamp), dueAt: Number(r.due_at), attempts: Number(r.attempts), lastError: r.last_error, enqueuedAt: Number(r.enqueued_at) };
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

function leaseFromRow(r: Selectable<PortLeasesTable>): PortLease {
  return { region: r.region, port: r.port, protocol: r.protocol as PortLease['protocol'], orderId: r.order_id };
}

type InsertableOrderRow = Omit<OrdersTable, 'spec_generation' | 'restart_generation' | 'description' | 'custom_label' | 'magic' | 'generation' | 'observed_generation' | 'observed_at' | 'version'>;

function toRow(o: NewOrder): InsertableOrderRow {
  return {
    id: o.id,
    secret_hash: o.secretHash,
    service_id: o.serviceID,
    service: o.service,
    service_category_id: o.serviceCategoryID,
    provider: o.provider,
    address: o.address,
    recipient: o.recipient,
    amount: o.amount,
    amount_paid: o.amountPaid,
    duration_hours: o.durationHours,
    service_options: JSON.stringify(o.serviceOptions),
    public_key: o.publicKey,
    email: o.email,
    order_status: o.orderStatus,
    service_status: o.serviceStatus,
    region: o.region,
    units: o.units,
    created_at: o.createdAt,
    updated_at: o.updatedAt,
    activated_at: null,
    running_at: null,
    stopped_at: null,
    done_at: null,
    aborted_at: null,
    end_at: null,
    spec: null,
    teardown: null,
  };
}

/** The columns a transition may set. */
function toPartialRow(f: Partial<OrderRecord>): Partial<InsertableOrderRow> {
  const out: Partial<InsertableOrderRow> = {};
  if (f.activatedAt !== undefined) out.activated_at = f.activatedAt;
  if (f.runningAt !== undefined) out.running_at = f.runningAt;
  if (f.stoppedAt !== undefined) out.stopped_at = f.stoppedAt;
  if (f.doneAt !== undefined) out.done_at = f.doneAt;
  if (f.abortedAt !== undefined) out.aborted_at = f.abortedAt;
  if (f.endAt !== undefined) out.end_at = f.endAt;
  return out;
}

function fromRow(r: Selectable<OrdersTable>): OrderRecord {
  return {
    id: r.id,
    secretHash: r.secret_hash,
    serviceID: r.service_id,
    service: r.service,
    serviceCategoryID: r.service_category_id,
    provider: r.provider,
    address: r.address,
    recipient: r.recipient,
    amount: Number(r.amount),
    amountPaid: Number(r.amount_paid),
    durationHours: Number(r.duration_hours),
    serviceOptions: JSON.parse(r.service_options) as Record<string, string>,
    publicKey: r.public_key,
    email: r.email,
    orderStatus: r.order_status,
    serviceStatus: r.service_status as ServiceStatus,
    region: r.region,
    units: Number(r.units),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    activatedAt: numOrNull(r.activated_at),
    runningAt: numOrNull(r.running_at),
    stoppedAt: numOrNull(r.stopped_at),
    doneAt: numOrNull(r.done_at),
    abortedAt: numOrNull(r.aborted_at),
    endAt: numOrNull(r.end_at),
    spec: r.spec === null ? null : (JSON.parse(r.spec) as unknown),
    specGeneration: Number(r.spec_generation),
    restartGeneration: Number(r.restart_generation),
    description: r.description,
    customLabel: r.custom_label,
    magic: r.magic,
    generation: Number(r.generation),
    observedGeneration: Number(r.observed_generation),
    observedAt: Number(r.observed_at),
    teardown: r.teardown as Teardown | null,
    version: Number(r.version),
  };
}

function numOrNull(v: number | null): number | null {
  return v === null ? null : Number(v);
}
