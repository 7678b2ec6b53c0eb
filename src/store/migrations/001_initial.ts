/** Orders, their host-port leases, and settings. */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('orders')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('secret_hash', 'varchar(128)', (c) => c.notNull().unique())
    .addColumn('service_id', 'text', (c) => c.notNull())
    .addColumn('service', 'text', (c) => c.notNull())
    .addColumn('service_category_id', 'text', (c) => c.notNull())
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('recipient', 'text', (c) => c.notNull())
    .addColumn('amount', 'double precision', (c) => c.notNull())
    .addColumn('amount_paid', 'double precision', (c) => c.notNull())
    .addColumn('duration_hours', 'integer', (c) => c.notNull())
    .addColumn('service_options', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('order_status', 'varchar(32)', (c) => c.notNull())
    .addColumn('service_status', 'varchar(32)', (c) => c.notNull())
    .addColumn('region', 'varchar(128)', (c) => c.notNull())
    .addColumn('units', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('activated_at', 'bigint')
    .addColumn('running_at', 'bigint')
    .addColumn('stopped_at', 'bigint')
    .addColumn('done_at', 'bigint')
    .addColumn('aborted_at', 'bigint')
    .addColumn('end_at', 'bigint')
    .addColumn('spec', 'text')
    .addColumn('spec_generation', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('restart_generation', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('orders_service_status').on('orders').column('service_status').execute();
  await db.schema.createIndex('orders_created_at').on('orders').column('created_at').execute();

  // One row per held host port: the primary key is what makes double-booking impossible.
  await db.schema
    .createTable('port_leases')
    .addColumn('region', 'varchar(128)', (c) => c.notNull())
    .addColumn('port', 'integer', (c) => c.notNull())
    .addColumn('protocol', 'varchar(8)', (c) => c.notNull())
    .addColumn('order_id', 'varchar(64)', (c) => c.notNull().references('orders.id'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('port_leases_pk', ['region', 'port', 'protocol'])
    .execute();
  await db.schema.createIndex('port_leases_order').on('port_leases').column('order_id').execute();

  await db.schema
    .createTable('settings')
    .addColumn('key', 'varchar(128)', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('port_leases').execute();
  await db.schema.dropTable('settings').execute();
  await db.schema.dropTable('orders').execute();
}
