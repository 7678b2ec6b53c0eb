/**
 * What can go wrong in `vkube`, as exit codes a script can branch on. Every failure
 * becomes a CliError here, so the rest of the CLI never decides exit codes itself and
 * never prints a stack trace.
 *
 * Messages must never carry a secret or an admin token: they are built from the
 * server's envelope message (which never holds one) and from our own text.
 */
import { VkubeApiError } from '../sdk/client.js';

export const ExitCode = {
  ok: 0,
  /** Anything unexpected. */
  generic: 1,
  /** Bad flags, arguments or files. */
  usage: 2,
  /** Not logged in, wrong secret or admin token, or the order may not do this (401/403). */
  auth: 3,
  /** 404: nothing deployed, unknown order, image does not exist. */
  notFound: 4,
  /** 409: a host port is taken, the service is in the wrong state. */
  conflict: 5,
  /** 400: V-Kube refused the request as invalid. */
  invalid: 6,
  /** V-Kube, the cluster or a registry cannot be reached (5xx or network). */
  unavailable: 7,
  /** The deploy did not reach Running and Ready (crash, image pull, unschedulable, timeout). */
  deployFailed: 8,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Stable names for `{"error":{"code":…}}` in --json output, one per exit code. */
const KIND: Record<ExitCode, string> = {
  0: 'ok',
  1: 'internal',
  2: 'usage',
  3: 'unauthenticated',
  4: 'not_found',
  5: 'conflict',
  6: 'invalid',
  7: 'unavailable',
  8: 'deploy_failed',
};

export const EXIT_CODES_HELP = `Exit codes:
  0  ok
  1  unexpected error
  2  usage error: bad flags, arguments or file
  3  not logged in, wrong secret or admin token, or not allowed (HTTP 401/403,
     e.g. the order expired or was aborted)
  4  not found (HTTP 404: nothing deployed, no such order or image)
  5  conflict (HTTP 409: a host port is taken, the service is in the wrong state)
  6  refused as invalid by V-Kube (HTTP 400)
  7  V-Kube, the cluster or a registry is unavailable (HTTP 5xx or network)
  8  the deploy did not reach Running (crash loop, image pull, unschedulable, timeout)`;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** The HTTP status V-Kube answered, when the error came from it. */
    readonly httpStatus?: number,
  ) {
    super(message);
    this.name = 'CliError';
  }

  get kind(): string {
    return KIND[this.exitCode];
  }

  /** The `{"error":…}` document printed with --json. */
  toJSON(): { error: { code: string; message: string; exitCode: number; httpStatus?: number } } {
    return { error: { code: this.kind, message: this.message, exitCode: this.exitCode, ...(this.httpStatus ? { httpStatus: this.httpStatus } : {}) } };
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, ExitCode.usage);
}

/** A V-Kube answer's status → exit code and a message that says who failed. */
export function fromHttpStatus(status: number, message: string, server: string, admin = false): CliError {
  if (status === 400 || status === 413 || status === 415 || status === 422) return new CliError(`V-Kube refused the request: ${message}`, ExitCode.invalid, status);
  if (status === 401) {
    return admin
      ? new CliError(`V-Kube at ${server} refused the admin token: ${message}`, ExitCode.auth, status)
      : new CliError(`V-Kube at ${server} did not accept the secret (${message}); check --secret or VKUBE_SECRET, or run \`vkube login\``, ExitCode.auth, status);
  }
  if (status === 403) return new CliError(`not allowed: ${message}`, ExitCode.auth, status);
  if (status === 404) return new CliError(message, ExitCode.notFound, status);
  if (status === 409) return new CliError(message, ExitCode.conflict, status);
  if (status === 429) return new CliError(`V-Kube asks to slow down: ${message}`, ExitCode.unavailable, status);
  // The status code is in --json's httpStatus; the words say who failed.
  if (status === 502) return new CliError(`a service V-Kube depends on could not be reached: ${message}`, ExitCode.unavailable, status);
  if (status === 503) return new CliError(`V-Kube at ${server} is up, but cannot serve this now: ${message}`, ExitCode.unavailable, status);
  if (status >= 500) return new CliError(`V-Kube at ${server} failed (${status}): ${message}`, ExitCode.unavailable, status);
  return new CliError(`V-Kube answered ${status}: ${message}`, ExitCode.generic, status);
}

/** Node's fetch failures (`TypeError: fetch failed` with a system error as cause) in words. */
const NETWORK_CAUSES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
};

export class RequestTimeout extends Error {
  constructor(readonly seconds: number) {
    super(`no answer within ${seconds} s`);
    this.name = 'RequestTimeout';
  }
}

/** Whatever was thrown → a CliError. `server` names where the failed call went; `admin` whether it carried the admin token. */
export function toCliError(err: unknown, server?: string, admin = false): CliError {
  if (err instanceof CliError) return err;
  const where = server ? `V-Kube at ${server}` : 'V-Kube';
  if (err instanceof VkubeApiError) return fromHttpStatus(err.status, err.message, server ?? 'the server', admin);
  if (err instanceof RequestTimeout || (err instanceof Error && err.cause instanceof RequestTimeout)) {
    const t = err instanceof RequestTimeout ? err : (err.cause as RequestTimeout);
    return new CliError(`${where} gave ${t.message}`, ExitCode.unavailable);
  }
  if (err instanceof TypeError && err.message === 'fetch failed') {
    const cause = err.cause as { code?: unknown; message?: unknown } | undefined;
    const code = typeof cause?.code === 'string' ? cause.code : undefined;
    const why = (code && NETWORK_CAUSES[code]) ?? (typeof cause?.message === 'string' ? cause.message : 'network error');
    return new CliError(`cannot reach ${where}: ${why}${code ? ` (${code})` : ''}`, ExitCode.unavailable);
  }
  if (err instanceof SyntaxError) return new CliError(`${where} sent an answer that is not JSON; is --server right?`, ExitCode.unavailable);
  // A bug of ours: say what it was, without a stack trace (VKUBE_DEBUG=1 shows it).
  const message = err instanceof Error ? err.message : String(err);
  if (process.env.VKUBE_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return new CliError(`unexpected error: ${message}`, ExitCode.generic);
}
