/** Every store V-Kube keeps, on one SQL database. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { SqlDomainStore } from './sql-domains.js';
import { SqlNoticeStore } from './sql-notices.js';
import { SqlStore } from './sql-store.js';
import type { DomainStore, NoticeStore, Store } from './types.js';

export interface Stores {
  /** Orders, their leases and settings. */
  store: Store;
  domains: DomainStore;
  notices: NoticeStore;
}

export function sqlStores(db: Kysely<Database>): Stores {
  return { store: new SqlStore(db), domains: new SqlDomainStore(db), notices: new SqlNoticeStore(db) };
}
