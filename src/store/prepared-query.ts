/**
 * A query of the hot path built by Kysely once and then run with new parameters only.
 * Kysely builds and compiles a query afresh on every call (an immutable tree of frozen
 * nodes, then its SQL text): for the secret lookup and the domains read that every
 * `GET /k8s/pod/status` makes, that was more CPU and garbage than running the statement.
 * The SQL text is the dialect's own (compiled by the database's Kysely instance), so this
 * works alike on SQLite and PostgreSQL.
 */
import { CompiledQuery, type Kysely } from 'kysely';

export class PreparedQuery<Row, Params extends unknown[]> {
  private sql: string | undefined;

  constructor(
    private readonly db: Kysely<never>,
    /** The query, built with placeholder values in the order `run` gets them. */
    private readonly build: () => { compile(): CompiledQuery },
  ) {}

  async run(...params: Params): Promise<Row[]> {
    this.sql ??= this.build().compile().sql;
    return (await this.db.executeQuery<Row>(CompiledQuery.raw(this.sql, params))).rows;
  }
}
