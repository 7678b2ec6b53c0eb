/**
 * The customer's view: the specs an order was deployed with (for history and rollback),
 * and samples of what its pod used (for usage graphs). Both are bounded: the last few
 * specs per order, and samples of the last day.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('deploy_history')
    .addColumn('order_id', 'varchar(64)', (c) => c.notNull().references('orders.id'))
    .addColumn('generation', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('spec', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('deploy_history_pk', ['order_id', 'generation'])
    .execute();

  await db.schema
    .createTable('usage_samples')
    .addColumn('order_id', 'varchar(64)', (c) => c.notNull().references('orders.id'))
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('sample', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('usage_samples_pk', ['order_id', 'at'])
    .execute();
  // Pruning deletes by time across every order.
  await db.schema.createIndex('usage_samples_at').on('usage_samples').column('at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('usage_samples').execute();
  await db.schema.dropTable('deploy_history').execute();
}
