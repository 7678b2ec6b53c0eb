/** Custom domains on SQL: the primary key gives every domain one owner. */
import type { Kysely, Selectable } from 'kysely';
import { PreparedQuery } from './prepared-query.js';
import type { Database, DomainsTable } from './schema.js';
import { type DomainStore, DomainsTaken } from '../domain/store-port.js';
import { type DomainClaim } from '../domain/records.js';

export class SqlDomainStore implements DomainStore {
  /** Read by every `GET /k8s/pod/status`. */
  private readonly ofOrder: PreparedQuery<Selectable<DomainsTable>, [string]>;

  constructor(private readonly db: Kysely<Database>) {
    this.ofOrder = new PreparedQuery(db as unknown as Kysely<never>, () => db.selectFrom('domains').selectAll().where('order_id', '=', '').orderBy('domain'));
  }

  async domainsOf(orderId: string): Promise<DomainClaim[]> {
    const rows = await this.ofOrder.run(orderId);
    return rows.map((r) => ({ domain: r.domain, orderId: r.order_id, containerPort: Number(r.container_port), https: Number(r.https) === 1 }));
  }

  async claimDomains(orderId: string, claims: Array<Omit<DomainClaim, 'orderId'>>, now: number): Promise<void> {
    if (claims.length === 0) return;
    const names = claims.map((c) => c.domain);
    const held = async () =>
      (await this.db.selectFrom('domains').select('domain').where('domain', 'in', names).where('order_id', '!=', orderId).execute()).map((r) => r.domain);
    try {
      await this.db.transaction().execute(async (trx) => {
        const taken = (await trx.selectFrom('domains').select('domain').where('domain', 'in', names).where('order_id', '!=', orderId).execute()).map((r) => r.domain);
        if (taken.length) throw new DomainsTaken(taken);
        await trx.deleteFrom('domains').where('order_id', '=', orderId).where('domain', 'in', names).execute();
        await trx
          .insertInto('domains')
          .values(claims.map((c) => ({ domain: c.domain, order_id: orderId, container_port: c.containerPort, https: c.https ? 1 : 0, created_at: now })))
          .execute();
      });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === '23505' || code?.startsWith('SQLITE_CONSTRAINT')) throw new DomainsTaken(await held());
      throw err;
    }
  }

  async releaseDomains(orderId: string, domains?: string[]): Promise<void> {
    let q = this.db.deleteFrom('domains').where('order_id', '=', orderId);
    if (domains) {
      if (domains.length === 0) return;
      q = q.where('domain', 'in', domains);
    }
    await q.execute();
  }
}
