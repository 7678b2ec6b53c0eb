/**
 * Notifications: e-mail contacts bound to a service (its secret) or to a wallet address
 * (a signed request), the short-lived codes that prove an address before it is bound,
 * the signatures already seen (replays are refused), the provider's webhooks, and the
 * outbox of events with one delivery per webhook or e-mail recipient.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('contacts')
    // 'service' (owner: an order id) or 'address' (owner: a V Systems wallet address).
    .addColumn('owner_kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('owner', 'varchar(128)', (c) => c.notNull())
    .addColumn('type', 'varchar(16)', (c) => c.notNull())
    .addColumn('contact', 'varchar(320)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('contacts_pk', ['owner_kind', 'owner', 'type'])
    .execute();

  await db.schema
    .createTable('contact_codes')
    .addColumn('owner_kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('owner', 'varchar(128)', (c) => c.notNull())
    .addColumn('type', 'varchar(16)', (c) => c.notNull())
    .addColumn('contact', 'varchar(320)', (c) => c.notNull())
    // A keyed hash of the code (and of what it binds): the code itself is never stored.
    .addColumn('code_hash', 'varchar(128)', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('sent_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('contact_codes_pk', ['owner_kind', 'owner', 'type'])
    .execute();

  await db.schema
    .createTable('seen_signatures')
    .addColumn('signature_hash', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('seen_signatures_expiry').on('seen_signatures').column('expires_at').execute();

  await db.schema
    .createTable('webhooks')
    .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
    .addColumn('url', 'text', (c) => c.notNull())
    // Sealed (AES-GCM under the installation key): it must be usable to sign, so it cannot be hashed.
    .addColumn('secret_sealed', 'text', (c) => c.notNull())
    // JSON array of event types; [] means every type.
    .addColumn('events', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('outbox')
    .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
    .addColumn('type', 'varchar(40)', (c) => c.notNull())
    .addColumn('order_id', 'varchar(64)')
    .addColumn('order_json', 'text')
    .addColumn('data_json', 'text', (c) => c.notNull())
    // Unix milliseconds.
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    // 0 until the leader has made its deliveries.
    .addColumn('dispatched', 'integer', (c) => c.notNull())
    // Events seen in the cluster (a pod crash-looping) are recorded once, whichever replica led when.
    .addColumn('dedupe_key', 'varchar(200)', (c) => c.unique())
    .execute();
  await db.schema.createIndex('outbox_undispatched').on('outbox').columns(['dispatched', 'created_at']).execute();

  await db.schema
    .createTable('deliveries')
    .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
    .addColumn('event_id', 'varchar(40)', (c) => c.notNull().references('outbox.id'))
    // 'webhook' (target: a webhook id) or 'email' (target: an address).
    .addColumn('channel', 'varchar(16)', (c) => c.notNull())
    .addColumn('target', 'varchar(320)', (c) => c.notNull())
    // 'pending', 'delivered' or 'dead' (gave up after the last attempt).
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_at', 'bigint', (c) => c.notNull())
    .addColumn('last_error', 'text', (c) => c.notNull())
    .addColumn('last_status', 'integer')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('delivered_at', 'bigint')
    .addUniqueConstraint('deliveries_once', ['event_id', 'channel', 'target'])
    .execute();
  await db.schema.createIndex('deliveries_due').on('deliveries').columns(['status', 'next_at']).execute();
  await db.schema.createIndex('deliveries_target').on('deliveries').columns(['channel', 'target', 'created_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['deliveries', 'outbox', 'webhooks', 'seen_signatures', 'contact_codes', 'contacts']) await db.schema.dropTable(table).execute();
}
