/**
 * A version on every order that the database itself bumps whenever the order's row or
 * one of its custom domains changes, whoever writes it (any replica, any code path, a
 * provider's SQL by hand). A replica may then keep an order it has read, with its
 * domains, and know it is current from one narrow indexed read: the authentication of
 * every tenant request, and the domains of every status read.
 */
import { type Kysely, SqliteAdapter, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('orders').addColumn('version', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
  if (db.getExecutor().adapter instanceof SqliteAdapter) {
    // recursive_triggers is off (SQLite's default): the trigger's own update does not fire it again.
    await sql`create trigger orders_version after update on orders for each row when new.version = old.version
      begin update orders set version = old.version + 1 where id = new.id; end`.execute(db);
    await sql`create trigger domains_version_insert after insert on domains for each row
      begin update orders set version = version + 1 where id = new.order_id; end`.execute(db);
    await sql`create trigger domains_version_delete after delete on domains for each row
      begin update orders set version = version + 1 where id = old.order_id; end`.execute(db);
    await sql`create trigger domains_version_update after update on domains for each row
      begin update orders set version = version + 1 where id in (old.order_id, new.order_id); end`.execute(db);
    return;
  }
  await sql`create function vkube_order_version() returns trigger language plpgsql as $$
    begin new.version := old.version + 1; return new; end $$`.execute(db);
  await sql`create trigger orders_version before update on orders for each row execute function vkube_order_version()`.execute(db);
  await sql`create function vkube_domains_touch_order() returns trigger language plpgsql as $$
    begin
      if tg_op <> 'INSERT' then update orders set version = version + 1 where id = old.order_id; end if;
      if tg_op <> 'DELETE' then update orders set version = version + 1 where id = new.order_id; end if;
      return null;
    end $$`.execute(db);
  await sql`create trigger domains_touch_order after insert or update or delete on domains for each row execute function vkube_domains_touch_order()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (db.getExecutor().adapter instanceof SqliteAdapter) {
    for (const t of ['orders_version', 'domains_version_insert', 'domains_version_delete', 'domains_version_update']) await sql`drop trigger if exists ${sql.raw(t)}`.execute(db);
  } else {
    await sql`drop trigger if exists domains_touch_order on domains`.execute(db);
    await sql`drop trigger if exists orders_version on orders`.execute(db);
    await sql`drop function if exists vkube_domains_touch_order()`.execute(db);
    await sql`drop function if exists vkube_order_version()`.execute(db);
  }
  await db.schema.alterTable('orders').dropColumn('version').execute();
}
