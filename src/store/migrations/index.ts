/**
 * Every migration, in order. Kept as a static list (not read from the directory) so
 * the bundle and the tests see exactly the same set. Never edit a migration that has
 * shipped: add the next one.
 */
import type { Migration, MigrationProvider } from 'kysely';
import * as m001 from './001_initial.js';
import * as m002 from './002_compat.js';
import * as m003 from './003_events.js';
import * as m004 from './004_security.js';
import * as m006 from './006_one_writer.js';
import * as m007 from './007_audit_detail.js';
import * as m008 from './008_notifications.js';
import * as m009 from './009_customer_view.js';
import * as m010 from './010_order_version.js';

const migrations: Record<string, Migration> = {
  '001_initial': m001,
  '002_compat': m002,
  '003_events': m003,
  '004_security': m004,
  '006_one_writer': m006,
  '007_audit_detail': m007,
  '008_notifications': m008,
  '009_customer_view': m009,
  '010_order_version': m010,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
