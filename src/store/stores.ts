/** Every store V-Kube keeps, on one SQL database. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { SqlDomainStore } from './sql-domains.js';
import { SqlNoticeStore } from './sql-notices.js';
import { SqlNotificationStore } from './sql-notifications.js';
import type { NotificationStore } from './notification-types.js';
import { SqlStore } from './sql-store.js';
import { SqlEventStore } from './sql-events.js';
import { SqlAuditStore } from './sql-audit.js';
import { SqlTokenStore } from './sql-tokens.js';
import type { AuditStore, DomainStore, EventStore, NoticeStore, Store, TokenStore } from './types.js';
import { translateOutages } from './unavailable.js';

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
}

export function sqlStores(db: Kysely<Database>): Stores {
  return {
    store: translateOutages(new SqlStore(db)),
    domains: translateOutages(new SqlDomainStore(db)),
    notices: translateOutages(new SqlNoticeStore(db)),
    events: translateOutages(new SqlEventStore(db)),
    tokens: translateOutages(new SqlTokenStore(db)),
    audit: translateOutages(new SqlAuditStore(db)),
    notifications: translateOutages(new SqlNotificationStore(db)),
  };
}
