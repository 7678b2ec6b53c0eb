/** Every store V-Kube keeps, on one SQL database. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { SqlDomainStore } from './sql-domains.js';
import { SqlNoticeStore } from './sql-notices.js';
import { SqlNotificationStore } from './sql-notifications.js';
import type { NotificationStore } from '../domain/notify/store-port.js';
import { SqlStore } from './sql-store.js';
import { SqlEventStore } from './sql-events.js';
import { SqlAuditStore } from './sql-audit.js';
import { SqlTokenStore } from './sql-tokens.js';
import { SqlDeployHistoryStore, SqlUsageStore } from './sql-history.js';
import type { AuditStore, DeployHistoryStore, DomainStore, EventStore, NoticeStore, Store, TokenStore, UsageStore } from '../domain/store-port.js';
import { translateOutages } from './unavailable.js';
import type { SqliteOrderWrites } from './sqlite-order-writes.js';

export interface Stores {
  /** Orders, their leases and settings. */
  store: Store;
  domains: DomainStore;
  notices: NoticeStore;
  events: EventStore;
  tokens: TokenStore;
  audit: AuditStore;
  /** E-mail contacts and codes, seen signatures, webhooks, the outbox and its deliveries. */
  notifications: NotificationStore;
  /** The specs each order was deployed with (the last few), for history and rollback. */
  history: DeployHistoryStore;
  /** Usage samples of running orders (the last day), for usage graphs. */
  usage: UsageStore;
}

/** `orderWrites`: SQLite's, from openDatabase, once the schema is migrated. */
export function sqlStores(db: Kysely<Database>, orderWrites?: SqliteOrderWrites): Stores {
  return {
    store: translateOutages(new SqlStore(db, orderWrites)),
    domains: translateOutages(new SqlDomainStore(db)),
    notices: translateOutages(new SqlNoticeStore(db)),
    events: translateOutages(new SqlEventStore(db)),
    tokens: translateOutages(new SqlTokenStore(db)),
    audit: translateOutages(new SqlAuditStore(db)),
    notifications: translateOutages(new SqlNotificationStore(db)),
    history: translateOutages(new SqlDeployHistoryStore(db)),
    usage: translateOutages(new SqlUsageStore(db)),
  };
}
