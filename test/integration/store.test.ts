/**
 * The SQL store against real databases: the same tests on a SQLite file and on a
 * PostgreSQL database (the test runner's server, TEST_POSTGRES_URL, or one this
 * file starts when run on its own). Every test gets a fresh, migrated database.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { Kysely } from 'kysely';
import { testPostgres } from '../../dev/postgres/testing.js';
import { migrateToLatest, openDatabase } from '../../src/store/database.js';
import { migrationProvider } from '../../src/store/migrations/index.js';
import type { Database } from '../../src/store/schema.js';
import { SqlNotificationStore } from '../../src/store/sql-notifications.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { SqlDeployHistoryStore, SqlUsageStore } from '../../src/store/sql-history.js';
import { SqlDomainStore } from '../../src/store/sql-domains.js';
import { SqlEventStore } from '../../src/store/sql-events.js';
import { ConcurrentChange, type DeployRecord, PortsTaken, StaleState } from '../../src/domain/store-port.js';
import { DEPLOY_HISTORY_KEPT, type NewOrder, type OrderRecord, type PortLease } from '../../src/domain/records.js';

interface OpenStore {
  store: SqlStore;
  /** The same database underneath, to check what the store wrote. */
  db: Kysely<Database>;
  /** Where it is: another connection to it is another writer (another process, a provider's shell). */
  url: string;
  migrationsApplied: string[];
}

interface StoreFactory {
  /** A store on a fresh, empty database, migrated to the latest schema. */
  freshStore(): Promise<OpenStore>;
  /** Frees what the factory holds (files, a PostgreSQL server it started). */
  close(): Promise<void>;
}

async function openStore(url: string): Promise<OpenStore> {
  // As many connections as the concurrency tests run deploys, so on PostgreSQL they really race.
  const { db, orderWrites } = openDatabase(url, { poolSize: 20 });
  try {
    const migrationsApplied = await migrateToLatest(db);
    return { store: new SqlStore(db, orderWrites), db, url, migrationsApplied };
  } catch (err) {
    await db.destroy();
    throw err;
  }
}

async function sqliteFactory(): Promise<StoreFactory> {
  const dir = await mkdtemp(join(tmpdir(), 'vkube-store-test-'));
  let files = 0;
  return {
    freshStore: () => openStore(`sqlite:${join(dir, `store-${++files}.db`)}`),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

async function postgresFactory(): Promise<StoreFactory> {
  const server = await testPostgres();
  return {
    freshStore: async () => openStore(await server.createDatabase()),
    close: () => server.stop(),
  };
}

const DATABASES: Array<[name: string, factory: () => Promise<StoreFactory>]> = [
  ['SQLite', sqliteFactory],
  ['PostgreSQL', postgresFactory],
];

// Later than 2038, so a 32-bit integer column would not hold it.
const T0 = 4_102_444_800;
const HOUR = 3600;

let nextOrder = 0;

function newOrder(overrides: Partial<NewOrder> = {}): NewOrder {
  const n = ++nextOrder;
  return {
    id: `order-${n}`,
    secretHash: `hash-${n}`,
    serviceID: `service-${n}`,
    service: '2-Unit-Resource',
    serviceCategoryID: 'category-1',
    provider: 'provider-address',
    address: `buyer-${n}`,
    recipient: 'recipient-address',
    amount: 12.5,
    amountPaid: 12.25,
    durationHours: 24,
    serviceOptions: { resourceUnit: '2-Unit-Resource', portSpecification: 'User Specified Service Port' },
    publicKey: 'public-key',
    email: `buyer-${n}@example.test`,
    orderStatus: 'OrderFiled',
    serviceStatus: 'ServicePending',
    region: 'region-a',
    units: 2,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

/** A first deploy of an order: pending → running, with its start and expiry. */
function firstDeploy(overrides: Partial<DeployRecord> = {}): DeployRecord {
  return {
    spec: { image: 'nginx:1.27', ports: [80] },
    region: 'region-a',
    leases: [],
    allowedFrom: ['ServicePending'],
    status: 'ServiceRunning',
    fields: { activatedAt: T0 + 10, runningAt: T0 + 10, endAt: T0 + 10 + 24 * HOUR },
    now: T0 + 10,
    ...overrides,
  };
}

function tcp(...ports: number[]): DeployRecord['leases'] {
  return ports.map((port) => ({ port, protocol: 'TCP' }));
}

function byLease(a: PortLease, b: PortLease): number {
  return a.region.localeCompare(b.region) || a.port - b.port || a.protocol.localeCompare(b.protocol) || a.orderId.localeCompare(b.orderId);
}

/** Asserts the promise rejects with the error class, and returns the error for closer checks. */
async function rejection<E extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof type) return err;
    throw new assert.AssertionError({ message: `expected ${type.name}, got: ${String(err)}`, actual: err, expected: type });
  }
  assert.fail(`expected ${type.name}, but it resolved`);
}

/**
 * Runs `work` and counts the event loop's turns meanwhile: a prune that lets requests in
 * between its batches lets the loop turn; one long statement on SQLite does not.
 */
async function withLoopTurns<T>(work: () => Promise<T>): Promise<{ value: T; turns: number }> {
  let turns = 0;
  let counting = true;
  const turn = () => {
    turns++;
    if (counting) setImmediate(turn);
  };
  setImmediate(turn);
  try {
    return { value: await work(), turns };
  } finally {
    counting = false;
  }
}

async function allLeases(db: Kysely<Database>): Promise<PortLease[]> {
  const rows = await db.selectFrom('port_leases').selectAll().execute();
  return rows.map((r) => ({ region: r.region, port: Number(r.port), protocol: r.protocol as PortLease['protocol'], orderId: r.order_id })).sort(byLease);
}

for (const [databaseName, makeFactory] of DATABASES) {
  describe(`SqlStore on ${databaseName}`, () => {
    let factory: StoreFactory | undefined;
    let opened: OpenStore | undefined;
    let store: SqlStore;
    let db: Kysely<Database>;

    before(async () => {
      factory = await makeFactory();
    });
    after(async () => {
      await factory?.close();
    });
    beforeEach(async () => {
      opened = await factory!.freshStore();
      ({ store, db } = opened);
    });
    afterEach(async () => {
      await opened?.store.close();
      opened = undefined;
    });

    async function seed(overrides: Partial<NewOrder> = {}): Promise<OrderRecord> {
      return store.insertOrder(newOrder(overrides));
    }

    /** An order that has been deployed once (running), holding `ports`. */
    async function running(ports: number[] = [], region = 'region-a'): Promise<OrderRecord> {
      const order = await seed({ region });
      return store.recordDeploy(order.id, firstDeploy({ region, leases: tcp(...ports) }));
    }

    describe('schema', () => {
      it('migrates a fresh database to the latest schema, and a second run applies nothing', async () => {
        const all = Object.keys(await migrationProvider.getMigrations()).sort();
        assert.deepEqual(opened!.migrationsApplied, all);
        assert.deepEqual(await migrateToLatest(db), []);
      });

      it('answers ping', async () => {
        await store.ping();
      });
    });

    describe('orders', () => {
      it('insertOrder stores every field and returns the order with an empty deploy state', async () => {
        const input = newOrder();
        const expected: OrderRecord = {
          ...input,
          activatedAt: null,
          runningAt: null,
          stoppedAt: null,
          doneAt: null,
          abortedAt: null,
          endAt: null,
          spec: null,
          specGeneration: 0,
          restartGeneration: 0,
          description: '',
          customLabel: '',
          magic: '',
          // Generation 1, queued: the leader provisions the namespace and isolation objects of an order just sold.
          generation: 1,
          observedGeneration: 0,
          observedAt: 0,
          teardown: null,
          version: 0,
        };
        assert.deepEqual(await store.insertOrder(input), expected);
        assert.deepEqual(await store.findOrder(input.id), expected);
        assert.equal((await store.queuedWork(input.id))?.attempts, 0, 'queued for the leader in the same transaction');
      });

      it('finds an order by its id and by its secret hash, and nothing for unknown keys', async () => {
        const order = await seed();
        await seed();
        assert.equal((await store.findOrder(order.id))?.secretHash, order.secretHash);
        assert.equal((await store.findOrderBySecretHash(order.secretHash))?.id, order.id);
        assert.equal(await store.findOrder('no-such-order'), undefined);
        assert.equal(await store.findOrderBySecretHash('no-such-hash'), undefined);
      });

      it('a kept order is as current as a fresh read: the database bumps its version on every change of the row or its domains, whoever writes', async () => {
        const order = await seed();
        const first = (await store.findOrderBySecretHash(order.secretHash))!;
        assert.equal(await store.findOrder(order.id), first, 'read again unchanged: the same kept copy');
        assert.ok(Object.isFrozen(first), 'shared by requests: frozen');

        const versions = [first.version];
        const read = async () => {
          const o = (await store.findOrderBySecretHash(order.secretHash))!;
          assert.ok(o.version > versions.at(-1)!, `version ${o.version} after ${versions.at(-1)}`);
          versions.push(o.version);
          return o;
        };
        await store.transition(order.id, ['ServicePending'], 'ServiceAbort', { abortedAt: T0 + 1 }, T0 + 1);
        assert.equal((await read()).serviceStatus, 'ServiceAbort');
        // A change made by hand, outside V-Kube (another replica, a provider's SQL).
        await db.updateTable('orders').set({ description: 'by hand' }).where('id', '=', order.id).execute();
        assert.equal((await read()).description, 'by hand');
        assert.equal((await store.findOrder(order.id))?.description, 'by hand', 'by id too');
        // Its domains are part of what the version covers.
        await db.insertInto('domains').values({ domain: 'kept.example.com', order_id: order.id, container_port: 80, https: 0, created_at: T0 }).execute();
        await read();
        await db.updateTable('domains').set({ https: 1 }).where('order_id', '=', order.id).execute();
        await read();
        await db.deleteFrom('domains').where('order_id', '=', order.id).execute();
        await read();
        assert.equal((await store.findOrder(order.id))!.version, versions.at(-1), 'a read changes nothing');
      });

      it('setSecretHash replaces the hash: the new one finds the order, the old one nothing', async () => {
        const order = await seed();
        await store.setSecretHash(order.id, 'rotated-hash', T0 + 5);
        assert.equal(await store.findOrderBySecretHash(order.secretHash), undefined);
        const found = await store.findOrderBySecretHash('rotated-hash');
        assert.equal(found?.id, order.id);
        assert.equal(found?.updatedAt, T0 + 5);
      });

      it('setSecretHash of an unknown order throws StaleState', async () => {
        const err = await rejection(store.setSecretHash('no-such-order', 'h', T0), StaleState);
        assert.equal(err.orderId, 'no-such-order');
      });

      it('listOrders pages newest first (ties by id) and gives the total on every page', async () => {
        // Inserted out of order; b and c share a creation time.
        await seed({ id: 'c', createdAt: T0 + 2 });
        await seed({ id: 'a', createdAt: T0 + 1 });
        await seed({ id: 'e', createdAt: T0 + 4 });
        await seed({ id: 'b', createdAt: T0 + 2 });
        await seed({ id: 'd', createdAt: T0 + 3 });
        const pages = [];
        for (let offset = 0; offset < 6; offset += 2) pages.push(await store.listOrders({ limit: 2, offset }));
        assert.deepEqual(
          pages.map((p) => p.items.map((o) => o.id)),
          [['e', 'd'], ['b', 'c'], ['a']],
        );
        assert.deepEqual(pages.map((p) => p.total), [5, 5, 5]);
      });

      it('listOrders past the end has no items but the total', async () => {
        await seed();
        await seed();
        assert.deepEqual(await store.listOrders({ limit: 10, offset: 5 }), { items: [], total: 2 });
      });

      it('listOrders filters by service status, and the total counts only the matches', async () => {
        const pending = await seed({ createdAt: T0 + 1 });
        const first = await running();
        const second = await running();
        const page = await store.listOrders({ limit: 1, offset: 0, status: 'ServiceRunning' });
        assert.equal(page.total, 2);
        assert.equal(page.items.length, 1);
        assert.ok([first.id, second.id].includes(page.items[0]!.id));
        const pendingPage = await store.listOrders({ limit: 10, offset: 0, status: 'ServicePending' });
        assert.deepEqual(pendingPage.items.map((o) => o.id), [pending.id]);
        assert.equal(pendingPage.total, 1);
        assert.deepEqual(await store.listOrders({ limit: 10, offset: 0, status: 'ServiceAbort' }), { items: [], total: 0 });
      });

      it('listLiveOrders returns pending, running and stopped orders, and ended ones only until their teardown is done', async () => {
        const pending = await seed();
        const live = await running();
        const stopped = await running();
        await store.transition(stopped.id, ['ServiceRunning'], 'ServiceStop', { stoppedAt: T0 + 20 }, T0 + 20);
        const done = await running();
        await store.transition(done.id, ['ServiceRunning'], 'ServiceDone', { doneAt: T0 + 20 }, T0 + 20);
        const aborted = await seed();
        await store.transition(aborted.id, ['ServicePending'], 'ServiceAbort', { abortedAt: T0 + 20 }, T0 + 20);
        // Ended: listed while Terminating, so a pass finishes a teardown a crash interrupted.
        assert.deepEqual((await store.listLiveOrders({ limit: 10 })).map((o) => o.id), [pending.id, live.id, stopped.id, done.id, aborted.id].sort());
        // Orders listed once are kept at their version: a change since shows in the next list.
        await store.transition(live.id, ['ServiceRunning'], 'ServiceStop', { stoppedAt: T0 + 25 }, T0 + 25);
        assert.equal((await store.listLiveOrders({ limit: 10 })).find((o) => o.id === live.id)?.serviceStatus, 'ServiceStop');
        await store.transition(live.id, ['ServiceStop'], 'ServiceRunning', { runningAt: T0 + 26 }, T0 + 26);
        assert.equal((await store.listLiveOrders({ limit: 10 })).find((o) => o.id === live.id)?.serviceStatus, 'ServiceRunning');
        assert.equal(await store.finishTeardown(done.id, T0 + 30), true);
        assert.equal(await store.finishTeardown(aborted.id, T0 + 30), true);
        const expected = [pending.id, live.id, stopped.id].sort();
        assert.deepEqual((await store.listLiveOrders({ limit: 10 })).map((o) => o.id), expected);
        // Page by page, in id order, nothing skipped or repeated.
        const first = await store.listLiveOrders({ limit: 2 });
        assert.deepEqual(first.map((o) => o.id), expected.slice(0, 2));
        assert.deepEqual((await store.listLiveOrders({ after: first[1]!.id, limit: 2 })).map((o) => o.id), expected.slice(2));
        assert.deepEqual(await store.listLiveOrders({ after: expected[2]!, limit: 2 }), []);
      });
    });

    describe('orders read again (SQLite: without a read while known current)', () => {
      it('come back as the last write left them, whichever connection wrote and whatever it changed', async () => {
        const order = await running();
        const first = (await store.findOrderBySecretHash(order.secretHash))!;
        assert.equal(await store.findOrderBySecretHash(order.secretHash), first, 'unchanged: the kept copy');

        const stopped = await store.transition(order.id, ['ServiceRunning'], 'ServiceStop', {}, T0 + 10);
        assert.equal((await store.findOrderBySecretHash(order.secretHash))!.serviceStatus, 'ServiceStop', 'a write of this store');
        assert.equal((await store.findOrder(order.id))!.version, stopped.version);

        await new SqlDomainStore(db).claimDomains(order.id, [{ domain: 'shop.example.test', containerPort: 80, https: false }], T0 + 20);
        const withDomain = (await store.findOrderBySecretHash(order.secretHash))!;
        assert.ok(withDomain.version > stopped.version, 'a domain claimed moves the version (the status route reads domains by it)');

        const other = openDatabase(opened!.url);
        try {
          await other.db.updateTable('orders').set({ description: 'by another process' }).where('id', '=', order.id).execute();
          assert.equal((await store.findOrderBySecretHash(order.secretHash))!.description, 'by another process', 'a write of another connection');
          assert.equal((await store.findOrder(order.id))!.description, 'by another process');
        } finally {
          await other.db.destroy();
        }

        await assert.rejects(
          db.transaction().execute(async (trx) => {
            await trx.updateTable('orders').set({ description: 'rolled back' }).where('id', '=', order.id).execute();
            throw new Error('abandon');
          }),
          /abandon/,
        );
        assert.equal((await store.findOrderBySecretHash(order.secretHash))!.description, 'by another process', 'a write rolled back changed nothing');

        await store.setSecretHash(order.id, 'a-new-hash', T0 + 30);
        assert.equal(await store.findOrderBySecretHash(order.secretHash), undefined, 'the rotated-away secret opens nothing');
        assert.equal((await store.findOrderBySecretHash('a-new-hash'))!.id, order.id);
        assert.equal(await store.findOrderBySecretHash(order.secretHash), undefined, 'not even once the new one has been read');
      });
    });

    describe('transition', () => {
      it('moves from any of the allowed statuses and sets the given fields', async () => {
        const order = await running();
        const stopped = await store.transition(order.id, ['ServicePending', 'ServiceRunning'], 'ServiceStop', { stoppedAt: T0 + 30 }, T0 + 31);
        assert.equal(stopped.serviceStatus, 'ServiceStop');
        assert.equal(stopped.stoppedAt, T0 + 30);
        assert.equal(stopped.updatedAt, T0 + 31);
        // Fields not named stay as they were.
        assert.equal(stopped.runningAt, order.runningAt);
        assert.equal(stopped.endAt, order.endAt);
        assert.deepEqual(await store.findOrder(order.id), stopped);
      });

      it('from a status not allowed throws StaleState naming the actual status, and writes nothing', async () => {
        const order = await seed();
        const err = await rejection(store.transition(order.id, ['ServiceRunning', 'ServiceStop'], 'ServiceDone', { doneAt: T0 + 40 }, T0 + 40), StaleState);
        assert.equal(err.orderId, order.id);
        assert.equal(err.actual, 'ServicePending');
        assert.deepEqual(await store.findOrder(order.id), order);
      });

      it('of an unknown order throws StaleState without a status', async () => {
        const err = await rejection(store.transition('no-such-order', ['ServicePending'], 'ServiceAbort', {}, T0), StaleState);
        assert.equal(err.actual, undefined);
      });
    });

    describe('outbox', () => {
      const outbox = () => new SqlNotificationStore(db);
      const types = async (orderId: string) => (await db.selectFrom('outbox').select('type').where('order_id', '=', orderId).orderBy('created_at').orderBy('type').execute()).map((r) => r.type);

      it('records order.created, deploy.accepted and order.aborted in the transactions of those changes, and nothing for a refused one', async () => {
        const order = await running([8801]);
        await store.transition(order.id, ['ServiceRunning'], 'ServiceAbort', { abortedAt: T0 + 5 }, T0 + 5);
        assert.deepEqual((await types(order.id)).sort(), ['deploy.accepted', 'order.aborted', 'order.created']);
        await rejection(store.transition(order.id, ['ServiceRunning'], 'ServiceAbort', {}, T0 + 6), StaleState);
        const other = await seed({ region: 'region-a' });
        await rejection(store.recordDeploy(other.id, firstDeploy({ leases: tcp(8801) })), PortsTaken);
        assert.deepEqual((await types(order.id)).sort(), ['deploy.accepted', 'order.aborted', 'order.created'], 'a refused change tells of nothing');
        assert.deepEqual(await types(other.id), ['order.created']);
        const events = await outbox().undispatchedEvents(100);
        const aborted = events.find((e) => e.type === 'order.aborted' && e.orderId === order.id);
        assert.equal(aborted?.order?.serviceStatus, 'ServiceAbort', 'the snapshot is the order as the change left it');
      });

      it('records a cluster event once per dedupe key, fans it out once, and keeps deliveries per target', async () => {
        const order = await seed();
        const n = outbox();
        const event = { type: 'pod.crashloop', orderId: order.id, data: { container: 'c1' }, dedupeKey: `pod.crashloop/uid-1/c1`, at: T0 * 1000 };
        assert.equal(await n.appendEvent(event), true);
        assert.equal(await n.appendEvent(event), false);
        assert.equal(await n.appendEvent({ ...event, orderId: 'not-ours', dedupeKey: 'x' }), false, 'an order not in this database');
        const [e] = (await n.undispatchedEvents(100)).filter((x) => x.type === 'pod.crashloop');
        await n.dispatchEvent(e!.id, [{ channel: 'email', target: 'a@example.com' }, { channel: 'webhook', target: 'whk_1' }], 1000);
        await n.dispatchEvent(e!.id, [{ channel: 'email', target: 'a@example.com' }], 1000);
        assert.equal((await n.deliveriesOfEvent(e!.id)).length, 2);
        assert.equal((await n.undispatchedEvents(100)).some((x) => x.id === e!.id), false);
        assert.equal((await n.dueDeliveries(999, 10)).length, 0);
        assert.equal((await n.dueDeliveries(1000, 10)).length, 2);
      });

      it('prunes finished deliveries and their events past the retention, never pending ones', async () => {
        const order = await seed();
        const n = outbox();
        await n.appendEvent({ type: 'order.expiring', orderId: order.id, data: {}, at: 1000 });
        await n.appendEvent({ type: 'order.expired', orderId: order.id, data: {}, at: 1000 });
        const [done, waiting] = (await n.undispatchedEvents(100)).filter((e) => e.type.startsWith('order.expir')).sort((a, b) => a.type.localeCompare(b.type)).reverse();
        await n.dispatchEvent(done!.id, [{ channel: 'email', target: 'a@example.com' }], 1000);
        await n.dispatchEvent(waiting!.id, [{ channel: 'email', target: 'a@example.com' }], 1000);
        const [d] = await n.deliveriesOfEvent(done!.id);
        await n.updateDelivery(d!.id, { status: 'delivered', attempts: 1, nextAt: 1000, lastError: '', lastStatus: null, deliveredAt: 1001 });
        assert.equal(await n.pruneOutbox(1000), 0, 'nothing older than the cut');
        assert.equal(await n.pruneOutbox(2000), 1);
        assert.equal(await n.findEvent(done!.id), undefined);
        assert.ok(await n.findEvent(waiting!.id), 'an event with a pending delivery stays');
        assert.equal((await n.deliveriesOfEvent(waiting!.id)).length, 1);
      });

      it('prunes a large outbox in batches that let the event loop turn, passing over events a pending delivery keeps', async () => {
        const n = outbox();
        // 2,600 dispatched events made before the cut (more than two batches, several at one
        // instant so the cursor must break ties by id), 100 after it, each with one delivery.
        const events = Array.from({ length: 2_700 }, (_, i) => ({
          id: `evt_prune_${String(i).padStart(5, '0')}`,
          type: 'order.expiring',
          order_id: null,
          order_json: null,
          data_json: '{}',
          created_at: 10_000 + Math.floor(i / 4),
          dispatched: 1,
          dedupe_key: null,
        }));
        const cut = 10_000 + 650;
        // Every 500th event before the cut still has a pending delivery: it and its delivery stay.
        const pending = new Set(events.filter((e, i) => e.created_at < cut && i % 500 === 0).map((e) => e.id));
        const deliveries = events.map((e, i) => ({
          id: `dlv_prune_${i}`,
          event_id: e.id,
          channel: 'webhook',
          target: 'whk_prune',
          status: pending.has(e.id) ? 'pending' : 'delivered',
          attempts: 1,
          next_at: e.created_at,
          last_error: '',
          last_status: 200,
          created_at: e.created_at,
          delivered_at: pending.has(e.id) ? null : e.created_at,
        }));
        for (let i = 0; i < events.length; i += 500) await db.insertInto('outbox').values(events.slice(i, i + 500)).execute();
        for (let i = 0; i < deliveries.length; i += 500) await db.insertInto('deliveries').values(deliveries.slice(i, i + 500)).execute();
        const { value: pruned, turns } = await withLoopTurns(() => n.pruneOutbox(cut));
        assert.equal(pruned, 2_600 - pending.size);
        assert.ok(turns >= 2, `the loop turned between batches (${turns} times)`);
        const left = await db.selectFrom('outbox').select('id').where('id', 'like', 'evt_prune_%').orderBy('id').execute();
        const kept = events.filter((e) => e.created_at >= cut || pending.has(e.id)).map((e) => e.id);
        assert.deepEqual(left.map((r) => r.id), kept);
        for (const id of pending) assert.equal((await n.deliveriesOfEvent(id)).length, 1, `the pending delivery of ${id} stays`);
        assert.equal(await n.pruneOutbox(cut), 0, 'a second prune finds nothing');
      });

      it('refuses a signature seen before, until it expires', async () => {
        const n = outbox();
        assert.equal(await n.useSignature('ab'.repeat(32), T0 + 300, T0), true);
        assert.equal(await n.useSignature('ab'.repeat(32), T0 + 300, T0), false);
      });
    });

    describe('recordDeploy', () => {
      it(`keeps the last ${DEPLOY_HISTORY_KEPT} deploys of an order in its history, and the rest is dropped`, async () => {
        const order = await seed();
        const history = new SqlDeployHistoryStore(db);
        const generations: number[] = [];
        for (let i = 0; i < DEPLOY_HISTORY_KEPT + 3; i++) {
          const deployed = await store.recordDeploy(order.id, firstDeploy({ spec: { image: `app:v${i}` }, allowedFrom: ['ServicePending', 'ServiceRunning'] }));
          generations.push(deployed.generation);
          // Read afresh by another store on the same database: this one keeps what it recorded.
          assert.deepEqual(await new SqlStore(db).findOrder(order.id), deployed, 'the order as recorded is the order as stored');
        }
        const kept = await history.deployHistory(order.id, 100);
        assert.deepEqual(kept.map((e) => e.generation), generations.slice(-DEPLOY_HISTORY_KEPT).reverse());
        assert.deepEqual(kept[0]!.spec, { image: `app:v${DEPLOY_HISTORY_KEPT + 2}` });
      });

      it('keeps the order it recorded at its version: a change made elsewhere since shows in the next read', async () => {
        const order = await seed();
        const deployed = await store.recordDeploy(order.id, firstDeploy());
        assert.equal(await store.findOrder(order.id), deployed, 'the recorded order is the one kept');
        // Another replica (another store on the same database) changes the order.
        await new SqlStore(db).setMetadata(order.id, { description: 'changed elsewhere' }, T0 + 40);
        const read = await store.findOrder(order.id);
        assert.equal(read?.description, 'changed elsewhere');
        assert.ok(read!.version > deployed.version);
      });

      it('records the spec, region, status and fields, takes the leases and bumps the spec and restart generations', async () => {
        const order = await seed();
        const spec = { image: 'registry.test/app:v1', env: { MODE: 'prod' }, ports: [8080, 53] };
        const deployed = await store.recordDeploy(
          order.id,
          firstDeploy({ spec, region: 'region-b', leases: [{ port: 30001, protocol: 'TCP' }, { port: 30002, protocol: 'UDP' }] }),
        );
        assert.deepEqual(deployed, {
          ...order,
          spec,
          region: 'region-b',
          serviceStatus: 'ServiceRunning',
          activatedAt: T0 + 10,
          runningAt: T0 + 10,
          endAt: T0 + 10 + 24 * HOUR,
          specGeneration: 1,
          // Deploying again replaces the pod: the restart generation moves with every deploy.
          restartGeneration: 1,
          generation: 2,
          updatedAt: T0 + 10,
          // One change of the row: the database bumped its version once.
          version: order.version + 1,
        });
        assert.deepEqual(await store.findOrder(order.id), deployed);
        assert.equal((await store.queuedWork(order.id))?.attempts, 0, 'queued for the leader in the same transaction');
        assert.deepEqual(await store.leasesOfOrder(order.id), [
          { region: 'region-b', port: 30001, protocol: 'TCP', orderId: order.id },
          { region: 'region-b', port: 30002, protocol: 'UDP', orderId: order.id },
        ]);
      });

      it("replaces the order's own leases: ports kept, added and dropped, never a conflict with itself", async () => {
        const order = await running([30001, 30002]);
        const updated = await store.recordDeploy(
          order.id,
          firstDeploy({ leases: tcp(30002, 30003), allowedFrom: ['ServiceRunning', 'ServiceStop'], fields: {}, now: T0 + 50 }),
        );
        assert.equal(updated.specGeneration, 2);
        // An update keeps the first start's timestamps.
        assert.equal(updated.activatedAt, order.activatedAt);
        assert.deepEqual((await store.leasesOfOrder(order.id)).map((l) => l.port), [30002, 30003]);
        assert.deepEqual(await allLeases(db), [
          { region: 'region-a', port: 30002, protocol: 'TCP', orderId: order.id },
          { region: 'region-a', port: 30003, protocol: 'TCP', orderId: order.id },
        ]);
      });

      it('an empty lease list releases every port the order held', async () => {
        const order = await running([30001]);
        await store.recordDeploy(order.id, firstDeploy({ allowedFrom: ['ServiceRunning'], leases: [] }));
        assert.deepEqual(await store.leasesOfOrder(order.id), []);
      });

      it('the same port number on another protocol or in another region is no conflict', async () => {
        const holder = await running([30001], 'region-a');
        const otherProtocol = await seed();
        await store.recordDeploy(otherProtocol.id, firstDeploy({ leases: [{ port: 30001, protocol: 'UDP' }] }));
        const otherRegion = await seed({ region: 'region-b' });
        await store.recordDeploy(otherRegion.id, firstDeploy({ region: 'region-b', leases: tcp(30001) }));
        assert.deepEqual(await allLeases(db), [
          { region: 'region-a', port: 30001, protocol: 'TCP', orderId: holder.id },
          { region: 'region-a', port: 30001, protocol: 'UDP', orderId: otherProtocol.id },
          { region: 'region-b', port: 30001, protocol: 'TCP', orderId: otherRegion.id },
        ]);
      });

      it('refuses with PortsTaken naming exactly the ports another order holds, and writes nothing', async () => {
        const holder = await running([30010, 30011]);
        const order = await running([30020]);
        const leasesBefore = await allLeases(db);

        const err = await rejection(
          store.recordDeploy(order.id, firstDeploy({ spec: { image: 'new' }, allowedFrom: ['ServiceRunning'], leases: tcp(30020, 30011, 30012, 30010), now: T0 + 60 })),
          PortsTaken,
        );
        assert.deepEqual([...err.leases].sort(byLease), [
          { region: 'region-a', port: 30010, protocol: 'TCP', orderId: holder.id },
          { region: 'region-a', port: 30011, protocol: 'TCP', orderId: holder.id },
        ]);
        assert.match(err.message, /30010\/TCP/);
        assert.deepEqual(await allLeases(db), leasesBefore);
        assert.deepEqual(await store.findOrder(order.id), order);
        assert.deepEqual(await store.findOrder(holder.id), holder);
      });

      it('refuses with StaleState when the order is in none of the allowed statuses, and writes nothing', async () => {
        const order = await running([30030]);
        const err = await rejection(store.recordDeploy(order.id, firstDeploy({ spec: { image: 'new' }, leases: tcp(30031), now: T0 + 70 })), StaleState);
        assert.equal(err.orderId, order.id);
        assert.equal(err.actual, 'ServiceRunning');
        assert.deepEqual(await store.findOrder(order.id), order);
        assert.deepEqual(await allLeases(db), [{ region: 'region-a', port: 30030, protocol: 'TCP', orderId: order.id }]);
      });

      it('refuses with StaleState for an unknown order, and writes nothing', async () => {
        const err = await rejection(store.recordDeploy('no-such-order', firstDeploy({ leases: tcp(30040) })), StaleState);
        assert.equal(err.actual, undefined);
        assert.deepEqual(await allLeases(db), []);
      });
    });

    describe('renew, restart, metadata', () => {
      it('renew adds hours and moves the expiry of a started order by as much', async () => {
        const order = await running();
        const renewed = await store.renew(order.id, 5, T0 + 80);
        assert.equal(renewed.durationHours, order.durationHours + 5);
        assert.equal(renewed.endAt, order.endAt! + 5 * HOUR);
        assert.equal(renewed.updatedAt, T0 + 80);
        assert.equal(renewed.serviceStatus, 'ServiceRunning');
      });

      it('renew of an order not started yet adds hours and leaves it without an expiry', async () => {
        const order = await seed();
        const renewed = await store.renew(order.id, 3, T0 + 80);
        assert.equal(renewed.durationHours, order.durationHours + 3);
        assert.equal(renewed.endAt, null);
      });

      it('renew of a finished order throws StaleState and changes nothing', async () => {
        const order = await running();
        const done = await store.transition(order.id, ['ServiceRunning'], 'ServiceDone', { doneAt: T0 + 90 }, T0 + 90);
        const err = await rejection(store.renew(order.id, 5, T0 + 95), StaleState);
        assert.equal(err.actual, 'ServiceDone');
        assert.deepEqual(await store.findOrder(order.id), done);
      });

      it('bumpRestart bumps the restart generation and nothing of the desired spec', async () => {
        const order = await running();
        const once = await store.bumpRestart(order.id, T0 + 100);
        const twice = await store.bumpRestart(order.id, T0 + 101);
        assert.equal(once.restartGeneration, order.restartGeneration + 1);
        assert.equal(twice.restartGeneration, order.restartGeneration + 2);
        assert.equal(twice.specGeneration, order.specGeneration);
        assert.equal(twice.updatedAt, T0 + 101);
        assert.deepEqual(twice.spec, order.spec);
      });

      it('setMetadata sets the description and/or the label and bumps the spec generation', async () => {
        const order = await running();
        const described = await store.setMetadata(order.id, { description: 'my shop' }, T0 + 110);
        assert.deepEqual([described.description, described.customLabel, described.specGeneration], ['my shop', '', order.specGeneration + 1]);
        const labelled = await store.setMetadata(order.id, { customLabel: 'shop' }, T0 + 111);
        assert.deepEqual([labelled.description, labelled.customLabel, labelled.specGeneration], ['my shop', 'shop', order.specGeneration + 2]);
        assert.equal(labelled.updatedAt, T0 + 111);
      });

      it('setMagic stores the sealed secret', async () => {
        const order = await seed();
        await store.setMagic(order.id, '3mJr7AoUXx2Wqd');
        assert.equal((await store.findOrder(order.id))?.magic, '3mJr7AoUXx2Wqd');
      });
    });

    describe('one writer', () => {
      it('an end starts the teardown; finishTeardown moves it to Done and releases leases and domains together, once', async () => {
        const order = await running([30070, 30071]);
        await db.insertInto('domains').values({ domain: 'shop.example.com', order_id: order.id, container_port: 80, https: 0, created_at: T0 }).execute();
        const aborted = await store.transition(order.id, ['ServiceRunning'], 'ServiceAbort', { abortedAt: T0 + 20 }, T0 + 20);
        assert.equal(aborted.teardown, 'Terminating');
        assert.deepEqual((await store.leasesOfOrder(order.id)).map((l) => l.port), [30070, 30071], 'held while the namespace may still run pods');
        assert.equal(await store.finishTeardown(order.id, T0 + 30), true);
        assert.equal((await store.findOrder(order.id))?.teardown, 'Done');
        assert.deepEqual(await store.leasesOfOrder(order.id), []);
        assert.deepEqual(await db.selectFrom('domains').selectAll().where('order_id', '=', order.id).execute(), []);
        assert.equal(await store.finishTeardown(order.id, T0 + 31), false, 'only from Terminating');
        assert.equal(await store.finishTeardown((await running()).id, T0 + 31), false, 'never for a live order');
      });

      it('recordDeploy derived from an older generation throws ConcurrentChange and writes nothing', async () => {
        const order = await running([30080]);
        await store.recordDeploy(order.id, firstDeploy({ allowedFrom: ['ServiceRunning'], leases: tcp(30081), expectedGeneration: order.generation }));
        const now = (await store.findOrder(order.id))!;
        const err = await rejection(store.recordDeploy(order.id, firstDeploy({ allowedFrom: ['ServiceRunning'], leases: tcp(30082), expectedGeneration: order.generation })), ConcurrentChange);
        assert.equal(err.expected, order.generation);
        assert.deepEqual(await store.findOrder(order.id), now);
        assert.deepEqual((await store.leasesOfOrder(order.id)).map((l) => l.port), [30081]);
      });

      it('every change of the desired state bumps the generation and queues the order in its transaction; the queue keeps a newer request', async () => {
        const order = await running();
        await store.completeWork(order.id, (await store.queuedWork(order.id))!.stamp);
        assert.equal(await store.queueDepth(), 0);
        const steps = [
          () => store.transition(order.id, ['ServiceRunning'], 'ServiceStop', {}, T0 + 40),
          () => store.transition(order.id, ['ServiceStop'], 'ServiceRunning', {}, T0 + 41),
          () => store.bumpRestart(order.id, T0 + 42),
          () => store.setMetadata(order.id, { description: 'd' }, T0 + 43),
        ];
        let generation = order.generation;
        for (const step of steps) {
          const before = await store.queuedWork(order.id);
          const after = await step();
          assert.equal(after.generation, ++generation);
          const queued = await store.queuedWork(order.id);
          assert.ok(queued && (!before || queued.stamp > before.stamp), 'queued with a new stamp');
        }
        const first = (await store.queuedWork(order.id))!;
        await store.deferWork(order.id, first.stamp, Date.now() + 60_000, 'apply failed: HTTP 500');
        const deferred = (await store.queuedWork(order.id))!;
        assert.deepEqual([deferred.attempts, deferred.lastError], [1, 'apply failed: HTTP 500']);
        assert.deepEqual(await store.dueWork(Date.now(), 10), [], 'waits for its back-off');
        await store.ensureQueued(order.id, Date.now());
        assert.deepEqual(await store.dueWork(Date.now(), 10), [], 'a re-check (a pass, a watch event) leaves the back-off running');
        assert.equal((await store.queuedWork(order.id))?.attempts, 1);
        // A request while an attempt runs: the attempt's completion must not drop it.
        await store.enqueue(order.id, Date.now());
        await store.completeWork(order.id, first.stamp);
        const renewed = (await store.queuedWork(order.id))!;
        assert.deepEqual([renewed.attempts, renewed.lastError], [0, ''], 'a new request starts over');
        assert.deepEqual((await store.dueWork(Date.now(), 10)).map((w) => w.orderId), [order.id]);
        await store.completeWork(order.id, renewed.stamp);
        assert.equal(await store.queueDepth(), 0);
      });

      it('a re-check brings an entry not tried yet forward, never back: a resync paced for later does not keep a watch event waiting', async () => {
        const order = await running();
        await store.completeWork(order.id, (await store.queuedWork(order.id))!.stamp);
        const now = Date.now();
        await store.ensureQueued(order.id, now + 20_000);
        assert.deepEqual(await store.dueWork(now, 10), [], 'the paced resync waits for its time');
        await store.ensureQueued(order.id, now + 40_000);
        assert.equal((await store.queuedWork(order.id))?.dueAt, now + 20_000, 'a later re-check does not push it back');
        await store.ensureQueued(order.id, now);
        assert.deepEqual((await store.dueWork(now, 10)).map((w) => w.orderId), [order.id], 'a re-check due now brings it forward');
        assert.equal(await store.queueDepth(), 1, 'still one entry');
        await store.completeWork(order.id, (await store.queuedWork(order.id))!.stamp);
      });

      it('markObserved records the applied generation and never moves it back', async () => {
        const order = await running();
        await store.markObserved(order.id, 5, 1000);
        await store.markObserved(order.id, 3, 2000);
        const o = (await store.findOrder(order.id))!;
        assert.deepEqual([o.observedGeneration, o.observedAt], [5, 1000]);
      });
    });

    describe('leases', () => {
      it("releaseLeases frees only that order's ports, and another order can take them", async () => {
        const leaving = await running([30050, 30051]);
        const staying = await running([30052]);
        await store.releaseLeases(leaving.id);
        assert.deepEqual(await store.leasesOfOrder(leaving.id), []);
        assert.deepEqual((await store.leasesOfOrder(staying.id)).map((l) => l.port), [30052]);
        const next = await seed();
        await store.recordDeploy(next.id, firstDeploy({ leases: tcp(30050, 30051) }));
        assert.deepEqual((await store.leasesOfOrder(next.id)).map((l) => l.port), [30050, 30051]);
      });

      it("leasesInRegion lists every order's leases in that region and no other; leasesOfOrder sorts by port", async () => {
        const first = await running([30062, 30060], 'region-a');
        const second = await running([30061], 'region-a');
        const elsewhere = await running([30060], 'region-b');
        assert.deepEqual([...(await store.leasesInRegion('region-a'))].sort(byLease), [
          { region: 'region-a', port: 30060, protocol: 'TCP', orderId: first.id },
          { region: 'region-a', port: 30061, protocol: 'TCP', orderId: second.id },
          { region: 'region-a', port: 30062, protocol: 'TCP', orderId: first.id },
        ]);
        assert.deepEqual(await store.leasesInRegion('region-b'), [{ region: 'region-b', port: 30060, protocol: 'TCP', orderId: elsewhere.id }]);
        assert.deepEqual(await store.leasesInRegion('region-c'), []);
        assert.deepEqual((await store.leasesOfOrder(first.id)).map((l) => l.port), [30060, 30062]);
      });
    });

    describe('settings', () => {
      it('getSetting of an unknown key is undefined', async () => {
        assert.equal(await store.getSetting('no-such-key'), undefined);
      });

      it('setSettingOnce stores the first value and keeps it', async () => {
        assert.equal(await store.setSettingOnce('cluster-id', 'first'), 'first');
        assert.equal(await store.setSettingOnce('cluster-id', 'second'), 'first');
        assert.equal(await store.getSetting('cluster-id'), 'first');
      });

      it('concurrent setSettingOnce calls all return the one value that was stored', async () => {
        const values = Array.from({ length: 10 }, (_, i) => `value-${i}`);
        const returned = await Promise.all(values.map((v) => store.setSettingOnce('raced', v)));
        const stored = await store.getSetting('raced');
        assert.ok(stored !== undefined && values.includes(stored));
        assert.deepEqual(new Set(returned), new Set([stored]));
      });
    });

    describe('concurrent deploys', () => {
      const ORDERS = 20;
      // Races are won by timing: a few rounds make a lost one far more likely to show.
      const ROUNDS = 10;

      async function pendingOrders(region: string): Promise<OrderRecord[]> {
        const orders: OrderRecord[] = [];
        for (let i = 0; i < ORDERS; i++) orders.push(await seed({ region }));
        return orders;
      }

      /** Every deploy must either succeed or be refused with PortsTaken; anything else fails the test. */
      function outcomes(orders: OrderRecord[], results: PromiseSettledResult<OrderRecord>[]) {
        const winners: OrderRecord[] = [];
        const losers: Array<{ order: OrderRecord; err: PortsTaken }> = [];
        results.forEach((result, i) => {
          const order = orders[i]!;
          if (result.status === 'fulfilled') winners.push(order);
          else if (result.reason instanceof PortsTaken) losers.push({ order, err: result.reason });
          else throw result.reason;
        });
        return { winners, losers };
      }

      async function assertLosersUntouched(losers: Array<{ order: OrderRecord }>): Promise<void> {
        for (const { order } of losers) {
          assert.deepEqual(await store.findOrder(order.id), order);
          assert.deepEqual(await store.leasesOfOrder(order.id), []);
        }
      }

      it(`${ORDERS} orders deploying at once for the same port: exactly one wins, the others get PortsTaken naming it`, async () => {
        const region = 'race-one-port';
        const orders = await pendingOrders(region);
        const results = await Promise.allSettled(orders.map((o) => store.recordDeploy(o.id, firstDeploy({ region, leases: tcp(31000) }))));
        const { winners, losers } = outcomes(orders, results);

        assert.equal(winners.length, 1);
        assert.equal(losers.length, ORDERS - 1);
        const winner = winners[0]!;
        for (const { err } of losers) {
          assert.deepEqual(err.leases, [{ region, port: 31000, protocol: 'TCP', orderId: winner.id }]);
        }
        assert.deepEqual(await allLeases(db), [{ region, port: 31000, protocol: 'TCP', orderId: winner.id }]);
        assert.equal((await store.findOrder(winner.id))?.serviceStatus, 'ServiceRunning');
        await assertLosersUntouched(losers);
      });

      it(`${ORDERS} orders deploying at once for 3 of the same 5 ports never lease a port twice`, async () => {
        const ports = [31100, 31101, 31102, 31103, 31104];
        // Every 3-of-5 set, each asked twice and in varying order (the order in which
        // ports are asked must not matter, nor deadlock anything).
        const triples = ports.flatMap((a, i) => ports.slice(i + 1).flatMap((b, j) => ports.slice(i + j + 2).map((c) => [a, b, c])));
        const requests = Array.from({ length: ORDERS }, (_, n) => {
          const triple = triples[n % triples.length]!;
          const rotated = [...triple.slice(n % 3), ...triple.slice(0, n % 3)];
          return n % 2 === 0 ? rotated : rotated.reverse();
        });

        for (let round = 1; round <= ROUNDS; round++) {
          const region = `race-overlap-${round}`;
          const orders = await pendingOrders(region);
          const results = await Promise.allSettled(orders.map((o, n) => store.recordDeploy(o.id, firstDeploy({ region, leases: tcp(...requests[n]!) }))));
          const { winners, losers } = outcomes(orders, results);

          // Any two 3-of-5 sets share a port: one order, and only one, can get its ports.
          assert.equal(winners.length, 1, `round ${round}: winners ${winners.map((w) => w.id).join(', ')}`);
          const winner = winners[0]!;
          const winnerPorts = requests[orders.indexOf(winner)]!;
          const leases = await store.leasesInRegion(region);
          assert.deepEqual(leases.map((l) => l.port).sort(), [...winnerPorts].sort());
          assert.ok(leases.every((l) => l.orderId === winner.id));

          for (const { order, err } of losers) {
            const asked = requests[orders.indexOf(order)]!;
            assert.ok(err.leases.length > 0);
            for (const lease of err.leases) {
              assert.equal(lease.orderId, winner.id);
              assert.ok(asked.includes(lease.port) && winnerPorts.includes(lease.port), `${order.id} told ${lease.port} is taken`);
            }
          }
          await assertLosersUntouched(losers);
        }

        // The table as a whole: no (region, port, protocol) held twice.
        const rows = await allLeases(db);
        const keys = rows.map((l) => `${l.region}/${l.port}/${l.protocol}`);
        assert.equal(new Set(keys).size, keys.length);
        assert.equal(rows.length, ROUNDS * 3);
      });

      it('concurrent deploys of one order never conflict with themselves: one after the other, the last one holds its ports', async () => {
        for (let round = 1; round <= ROUNDS; round++) {
          const region = `race-self-${round}`;
          const order = await running([31200, 31201], region);
          const requests = [
            [31201, 31202],
            [31202, 31203],
            [31203, 31201],
          ];
          const updates = await Promise.all(
            requests.map((ports) => store.recordDeploy(order.id, firstDeploy({ region, allowedFrom: ['ServiceRunning'], leases: tcp(...ports) }))),
          );
          // Each saw the one before it: the generations are 2, 3 and 4 in some order.
          assert.deepEqual(updates.map((u) => u.specGeneration).sort(), [2, 3, 4]);
          const last = requests[updates.findIndex((u) => u.specGeneration === 4)]!;
          assert.deepEqual((await store.leasesOfOrder(order.id)).map((l) => l.port), [...last].sort());
        }
      });
    });

    describe('pod events', () => {
      const event = (orderId: string, uid: string, count = 1) => ({ orderId, uid, object: 'Pod/workload-1', type: 'Normal', reason: 'Started', message: `started ${count}`, count, firstSeen: T0, lastSeen: T0 + count });
      const restarts = (orderId: string, restartCount: number) => ({ orderId, pod: 'workload-1', container: 'app', restartCount, lastReason: 'Error', lastExitCode: 1, updatedAt: T0 + restartCount });

      it('writes a batch of events and restart counts in one go: a newer event replaces its count, a restart count only rises', async () => {
        const a = await running();
        const b = await running();
        const events = new SqlEventStore(db);
        // 150 events: several statements of the fixed lengths (64, 64, 16, 4, 2).
        const many = Array.from({ length: 150 }, (_, i) => event(i % 2 ? a.id : b.id, `uid-${i}`));
        await events.recordBatch({ events: many, restarts: [restarts(a.id, 3)] });
        assert.equal((await events.recentEvents(a.id, 500)).length, 75);
        assert.equal((await events.recentEvents(b.id, 500)).length, 75);
        await events.recordBatch({ events: [event(a.id, 'uid-1', 4)], restarts: [restarts(a.id, 2), restarts(b.id, 1)] });
        const updated = (await events.recentEvents(a.id, 500)).find((e) => e.uid === 'uid-1');
        assert.deepEqual(updated && { count: updated.count, message: updated.message, lastSeen: updated.lastSeen }, { count: 4, message: 'started 4', lastSeen: T0 + 4 });
        assert.equal((await events.restarts(a.id))[0]?.restartCount, 3, 'a lower restart count does not replace a higher one');
        assert.equal((await events.restarts(b.id))[0]?.restartCount, 1);
      });

      it('leaves out the records of an order this database does not hold, and writes the others of the batch', async () => {
        const a = await running();
        const events = new SqlEventStore(db);
        await events.recordBatch({
          events: [event(a.id, 'mine-1'), event('order-of-another-installation', 'theirs'), event(a.id, 'mine-2')],
          restarts: [restarts('order-of-another-installation', 1)],
        });
        assert.deepEqual((await events.recentEvents(a.id, 10)).map((e) => e.uid).sort(), ['mine-1', 'mine-2']);
        assert.equal((await db.selectFrom('pod_events').select('uid').execute()).length, 2);
        assert.equal((await db.selectFrom('container_restarts').select('pod').execute()).length, 0);
      });
    });

    describe('usage samples', () => {
      it('stores the samples of known orders and leaves out a pod labelled for an order this database does not hold', async () => {
        const a = await running();
        const b = await running();
        const usage = new SqlUsageStore(db);
        const sample = (memory: number) => ({ containers: { app: { cpu: 0.1, memory } }, rx: null, tx: null });
        await usage.recordUsage([
          { orderId: a.id, at: T0 + 30, sample: sample(1) },
          { orderId: 'order-of-another-installation', at: T0 + 30, sample: sample(2) },
          { orderId: b.id, at: T0 + 30, sample: sample(3) },
        ]);
        assert.deepEqual(await usage.usageSince(a.id, T0), [{ orderId: a.id, at: T0 + 30, sample: sample(1) }]);
        assert.deepEqual(await usage.usageSince(b.id, T0), [{ orderId: b.id, at: T0 + 30, sample: sample(3) }]);
        assert.deepEqual(await usage.usageSince('order-of-another-installation', T0), []);
        // Only strangers in a tick: nothing written, nothing thrown.
        await usage.recordUsage([{ orderId: 'order-of-another-installation', at: T0 + 60, sample: sample(4) }]);
        assert.equal((await db.selectFrom('usage_samples').select('order_id').execute()).length, 2);
      });

      it('prunes what is older than the cutoff, in batches of whole orders that let the event loop turn, and keeps the rest', async () => {
        const usage = new SqlUsageStore(db);
        const orders = [];
        for (let i = 0; i < 7; i++) orders.push(await running());
        // 7 orders × 400 ticks: 1,400 rows before the cutoff (more than one batch), 1,400 after.
        const rows = orders.flatMap((o) => Array.from({ length: 400 }, (_, k) => ({ orderId: o.id, at: T0 + k * 30, sample: { containers: {}, rx: k, tx: null } })));
        await usage.recordUsage(rows);
        const cutoff = T0 + 200 * 30;
        const { value: pruned, turns } = await withLoopTurns(() => usage.pruneUsage(cutoff));
        assert.equal(pruned, 1_400);
        assert.ok(turns >= 1, `the loop turned between batches (${turns} times)`);
        for (const o of orders) {
          const left = await usage.usageSince(o.id, 0);
          assert.deepEqual([left.length, left[0]!.at, left.at(-1)!.at], [200, cutoff, T0 + 399 * 30], `order ${o.id} keeps exactly its samples from the cutoff on`);
        }
        assert.equal(await usage.pruneUsage(cutoff), 0, 'a second prune finds nothing');
      });
    });
  });
}
