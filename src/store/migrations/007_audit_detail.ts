/**
 * What an audit entry was about beyond its route: the command of a one-shot exec, the
 * container and port of an interactive session, why a session ended. Never output,
 * never a credential. Null for the entries that need nothing more than the route.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('audit_log').addColumn('detail', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('audit_log').dropColumn('detail').execute();
}
