/**
 * One writer to Kubernetes: the desired state's generation and the one the reconcile
 * leader last applied (handlers wait on it), the teardown state of ended orders (their
 * host ports are released in the same transaction that marks the teardown done), and
 * the durable per-order work queue the leader drains.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Bumped by every change of what the cluster should hold (spec, restart, stop/start, metadata, domains).
  await db.schema.alterTable('orders').addColumn('generation', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  // The generation the leader applied in full (every object of the set, pruning done).
  await db.schema.alterTable('orders').addColumn('observed_generation', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  // When it did (milliseconds): the whole set is re-applied now and then, which restores what no watch sees (Secrets).
  await db.schema.alterTable('orders').addColumn('observed_at', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
  // Ended orders: 'Terminating' until their namespace is gone, then 'Done' (leases released with that change).
  await db.schema.alterTable('orders').addColumn('teardown', 'varchar(16)').execute();
  // Orders that ended before this migration: the next pass checks their namespace is gone and frees what they still hold.
  await sql`update orders set teardown = 'Terminating' where service_status in ('ServiceDone', 'ServiceAbort')`.execute(db);
  await db.schema.createIndex('orders_teardown').on('orders').column('teardown').execute();

  await db.schema
    .createTable('reconcile_queue')
    .addColumn('order_id', 'varchar(64)', (c) => c.primaryKey().references('orders.id'))
    // Bumped by every enqueue, so a worker that finishes an older attempt leaves a newer request queued.
    .addColumn('stamp', 'integer', (c) => c.notNull())
    .addColumn('due_at', 'bigint', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('last_error', 'text', (c) => c.notNull())
    .addColumn('enqueued_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('reconcile_queue_due').on('reconcile_queue').column('due_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('reconcile_queue').execute();
  await db.schema.dropIndex('orders_teardown').execute();
  for (const column of ['teardown', 'observed_at', 'observed_generation', 'generation']) await db.schema.alterTable('orders').dropColumn(column).execute();
}
