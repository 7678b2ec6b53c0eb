/** Access tokens on SQL; only their keyed hashes are stored. */
import type { Kysely, Selectable } from 'kysely';
import type { AccessTokensTable, Database } from './schema.js';
import type { TokenStore } from '../domain/store-port.js';
import type { AccessToken } from '../domain/records.js';

export class SqlTokenStore implements TokenStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insertToken(t: AccessToken): Promise<void> {
    await this.db
      .insertInto('access_tokens')
      .values({ id: t.id, order_id: t.orderId, name: t.name, token_hash: t.tokenHash, created_at: t.createdAt, expires_at: t.expiresAt, active: t.active ? 1 : 0, last_used_at: t.lastUsedAt })
      .execute();
  }

  async findTokenByHash(hash: string): Promise<AccessToken | undefined> {
    const row = await this.db.selectFrom('access_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
    return row && fromRow(row);
  }

  async tokensOf(orderId: string): Promise<AccessToken[]> {
    return (await this.db.selectFrom('access_tokens').selectAll().where('order_id', '=', orderId).orderBy('created_at', 'desc').orderBy('id').execute()).map(fromRow);
  }

  async deactivateToken(orderId: string, id: string): Promise<boolean> {
    const r = await this.db.updateTable('access_tokens').set({ active: 0 }).where('order_id', '=', orderId).where('id', '=', id).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async deleteToken(orderId: string, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('access_tokens').where('order_id', '=', orderId).where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  async touchToken(id: string, at: number): Promise<void> {
    await this.db.updateTable('access_tokens').set({ last_used_at: at }).where('id', '=', id).execute();
  }
}

function fromRow(r: Selectable<AccessTokensTable>): AccessToken {
  return {
    id: r.id,
    orderId: r.order_id,
    name: r.name,
    tokenHash: r.token_hash,
    createdAt: Number(r.created_at),
    expiresAt: r.expires_at === null ? null : Number(r.expires_at),
    active: Number(r.active) === 1,
    lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
  };
}
