/**
 * A database that cannot take a query now (down, unreachable, read-only, disk full,
 * locked for too long) is an outage, not a bug: callers get UnavailableError (503,
 * "try again"), never a 500. Wraps a store so every method translates such errors.
 */
import { UnavailableError } from '../kernel/errors.js';

const SQLITE_UNAVAILABLE = /^SQLITE_(READONLY|BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL|CORRUPT|NOTADB)/;
// PostgreSQL SQLSTATE classes: 08 connection exception, 53 insufficient resources,
// 57 operator intervention (shutdown), 25006 read-only transaction, 58 system error.
const POSTGRES_UNAVAILABLE = /^(08|53|57|58)|^25006$|^40001$|^40P01$/;
const NETWORK = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE|ENOTFOUND|EAI_AGAIN)$/;

export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  if (SQLITE_UNAVAILABLE.test(code) || POSTGRES_UNAVAILABLE.test(code) || NETWORK.test(code)) return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is closed|database is closed|Query read timeout/i.test(message);
}

export function describeDatabaseError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  if (code === 'SQLITE_READONLY' || code === '25006') return 'the database is read-only';
  if (code === 'SQLITE_FULL') return 'the database disk is full';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'the database is locked by another process';
  if (code === '57014') return 'the database did not finish in time (statement timeout)';
  return 'the database cannot be reached';
}

/** The server never answered: unlike a cancelled statement, this one may still have been carried out. */
function outcomeUnknown(err: unknown): boolean {
  const message = (err as { message?: unknown })?.message;
  return typeof message === 'string' && /Query read timeout/.test(message);
}

/** The same store, with database outages turned into UnavailableError. */
export function translateOutages<T extends object>(store: T): T {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } catch (err) {
          if (outcomeUnknown(err)) throw new UnavailableError('the database did not answer in time; a change asked for may or may not have been made: check before repeating it', { cause: err });
          if (isDatabaseUnavailable(err)) throw new UnavailableError(`${describeDatabaseError(err)}; nothing was changed, try again shortly`, { cause: err });
          throw err;
        }
      };
    },
  });
}
