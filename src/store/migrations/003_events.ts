/**
 * What happened to an order's pods, kept after Kubernetes forgets it (events expire
 * after an hour; a replaced pod takes its restart count with it).
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('pod_events')
    .addColumn('order_id', 'varchar(64)', (c) => c.notNull().references('orders.id'))
    .addColumn('uid', 'varchar(64)', (c) => c.notNull())
    .addColumn('object', 'text', (c) => c.notNull())
    .addColumn('type', 'varchar(32)', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('first_seen', 'bigint', (c) => c.notNull())
    .addColumn('last_seen', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('pod_events_pk', ['order_id', 'uid'])
    .execute();
  await db.schema.createIndex('pod_events_recent').on('pod_events').columns(['order_id', 'last_seen']).execute();

  await db.schema
    .createTable('container_restarts')
    .addColumn('order_id', 'varchar(64)', (c) => c.notNull().references('orders.id'))
    .addColumn('pod', 'varchar(253)', (c) => c.notNull())
    .addColumn('container', 'varchar(63)', (c) => c.notNull())
    .addColumn('restart_count', 'integer', (c) => c.notNull())
    .addColumn('last_reason', 'text', (c) => c.notNull())
    .addColumn('last_exit_code', 'integer')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('container_restarts_pk', ['order_id', 'pod', 'container'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('container_restarts').execute();
  await db.schema.dropTable('pod_events').execute();
}
