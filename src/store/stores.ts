/** Every store V-Kube keeps, on one SQL database. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { SqlDomainStore } from './sql-domains.js';
import { SqlNoticeStore } from './sql-notices.js';
import { SqlStore } from './sql-store.js';
import { SqlEventStore } from './sql-events.js';
import type { DomainStore, EventStore, NoticeStore, Store } from './types.js';
import { translateOutages } from './unavailable.js';

export interface Stores {
  /** Orders, their leases and settings. */
  store: Store;
  domains: DomainStore;
  notices: NoticeStore;
  events: EventStore;
}

export function sqlStores(db: Kysely<Database>): Stores {
  return {
    store: translateOutages(new SqlStore(db)),
    domains: translateOutages(new SqlDomainStore(db)),
    notices: translateOutages(new SqlNoticeStore(db)),
    events: translateOutages(new SqlEventStore(db)),
  };
}
