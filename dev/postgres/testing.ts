/**
 * PostgreSQL for tests: a throwaway server from Debian's binaries (see server.ts),
 * and fresh empty databases on it, one per test suite.
 *
 *   startPostgres()         a server of the caller's own, stopped by `stop()`
 *   ensureSharedPostgres()  the test runner's: one server for the whole run, its URL
 *                           handed to the test processes as TEST_POSTGRES_URL
 *   testPostgres()          what a test file uses: the runner's server when there is
 *                           one, else a server of its own (a file run on its own)
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startServer } from './server.js';

export { findPostgresBinaries } from './server.js';

/** The variable through which the test runner hands its server to the test processes. */
export const TEST_POSTGRES_URL = 'TEST_POSTGRES_URL';

export interface TestPostgres {
  /** `postgres://user:password@127.0.0.1:PORT/postgres`: the server's maintenance database. */
  url: string;
  /** Creates an empty database (a random name unless given) and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server if this handle started it, and removes its files. Safe to call twice. */
  stop(): Promise<void>;
}

export interface SharedPostgres extends TestPostgres {
  /** False when TEST_POSTGRES_URL already named a server; then `stop` leaves it alone. */
  startedHere: boolean;
}

export async function startPostgres(): Promise<TestPostgres> {
  const server = await startServer();
  return { url: server.url, createDatabase: (name) => createDatabase(server.url, name), stop: server.stop };
}

/**
 * The server for a whole test run: the one TEST_POSTGRES_URL names if it is set (a
 * developer's own), else a new throwaway one. Its files live in the system's
 * temporary directory, never in the repository.
 */
export async function ensureSharedPostgres(log: (line: string) => void = () => {}): Promise<SharedPostgres> {
  const given = process.env[TEST_POSTGRES_URL];
  if (given) {
    log(`PostgreSQL from ${TEST_POSTGRES_URL}: ${withoutPassword(given)}`);
    return { ...existingServer(given), startedHere: false };
  }
  const started = Date.now();
  const server = await startServer();
  log(`PostgreSQL ${server.version} on 127.0.0.1:${server.port} (${Date.now() - started} ms)`);
  return { url: server.url, createDatabase: (name) => createDatabase(server.url, name), stop: server.stop, startedHere: true };
}

/** The test runner's server when there is one, else a new one for this process. */
export async function testPostgres(): Promise<TestPostgres> {
  const given = process.env[TEST_POSTGRES_URL];
  return given ? existingServer(given) : startPostgres();
}

/** Creates an empty database on the server `serverUrl` points at; returns its URL. */
export async function createDatabase(serverUrl: string, name = `vkube_test_${randomBytes(6).toString('hex')}`): Promise<string> {
  // The name goes into SQL as an identifier: only names that need no quoting rules.
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query(`CREATE DATABASE "${name}"`);
  } catch (err) {
    throw new Error(`cannot create database ${name} on ${withoutPassword(serverUrl)}: ${(err as Error).message}`, { cause: err });
  } finally {
    // Closing after the CREATE (or its failure, thrown above): a connection already broken has nothing left to close.
    await client.end().catch(() => {});
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

function existingServer(url: string): TestPostgres {
  return { url, createDatabase: (name) => createDatabase(url, name), stop: async () => {} };
}

function withoutPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
