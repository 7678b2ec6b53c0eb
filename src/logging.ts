/**
 * The process's structured JSON log. Credentials never reach it: the request headers
 * that carry them are redacted, and no code logs bodies.
 */
import { type DestinationStream, type Logger, pino } from 'pino';
import type { Config } from './config.js';

/** Headers that carry secrets or credentials, wherever a log line holds headers. */
const CREDENTIAL_HEADERS = ['secret', 'token', 'authorization', 'password', 'username', 'cookie', 'x-api-key'];
export const REDACTED_HEADERS = CREDENTIAL_HEADERS.flatMap((h) => [`req.headers["${h}"]`, `headers["${h}"]`]);

export function createLogger(level: Config['logLevel'], destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: REDACTED_HEADERS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
