/**
 * What the original clients' API needs: custom domains (one owner each), notices
 * (expiry warnings), an order's description and custom label, and the sealed secret
 * (`magic`) that `GET /userService/{id}` hands out.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('orders').addColumn('description', 'text', (c) => c.notNull().defaultTo('')).execute();
  await db.schema.alterTable('orders').addColumn('custom_label', 'text', (c) => c.notNull().defaultTo('')).execute();
  // base58 of a sealed box to the order's public key; "" when the order has no key.
  await db.schema.alterTable('orders').addColumn('magic', 'text', (c) => c.notNull().defaultTo('')).execute();

  // The primary key makes a domain belong to one order at most.
  await db.schema
    .createTable('domains')
    .addColumn('domain', 'varchar(253)', (c) => c.primaryKey())
    .addColumn('order_id', 'varchar(64)', (c) => c.notNull().references('orders.id'))
    .addColumn('container_port', 'integer', (c) => c.notNull())
    .addColumn('https', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('domains_order').on('domains').column('order_id').execute();

  // One notice of each type per order: raising it twice is a no-op.
  await db.schema
    .createTable('notices')
    .addColumn('id', 'varchar(128)', (c) => c.primaryKey())
    .addColumn('order_id', 'varchar(64)', (c) => c.notNull().references('orders.id'))
    .addColumn('service_id', 'text', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('notice_type', 'varchar(64)', (c) => c.notNull())
    .addColumn('timestamp', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('notices_address').on('notices').columns(['address', 'timestamp']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('notices').execute();
  await db.schema.dropTable('domains').execute();
  await db.schema.alterTable('orders').dropColumn('magic').execute();
  await db.schema.alterTable('orders').dropColumn('custom_label').execute();
  await db.schema.alterTable('orders').dropColumn('description').execute();
}
