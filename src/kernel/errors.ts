/**
 * The errors domain code throws. Each names what went wrong in words a customer can
 * act on; `src/http/errors.ts` is the one place that turns them into HTTP statuses and
 * the `{"error":{"code","message"}}` envelope.
 */

export abstract class DomainError extends Error {
  abstract readonly kind: ErrorKind;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export type ErrorKind =
  | 'input'
  | 'unauthenticated'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'too-many-requests'
  | 'unavailable'
  | 'upstream';

/** One thing wrong with a request: the field's path (`containers[0].name`, "" for the whole) and what is wrong with it. */
export interface FieldProblem {
  field: string;
  message: string;
  /** The field is well formed, but something else holds what it asks for now (a host port another order has). */
  conflict?: boolean;
}

/** How many problems an error's message lists. */
const MAX_LISTED = 10;

/**
 * The request is malformed or breaks a rule; `field` names the offending part. A body
 * checked whole (a deploy) carries every problem found in `problems`, and its message
 * lists them all, so a customer fixes a file in one round instead of one per try.
 */
export class InputError extends DomainError {
  readonly kind = 'input';
  readonly problems: readonly FieldProblem[];
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(field ? `${field}: ${message}` : message);
    this.problems = [{ field: field ?? '', message }];
  }

  /** Several problems at once; the first names `field`. */
  static several(problems: readonly FieldProblem[]): InputError {
    const [first, ...rest] = problems;
    if (!first) throw new Error('InputError.several needs a problem');
    const err = new InputError(first.message, first.field || undefined);
    if (rest.length === 0) return err;
    const text = (p: FieldProblem) => (p.field ? `${p.field}: ${p.message}` : p.message);
    // The message stays readable; `problems` (the validate routes' answer) has them all.
    const shown = problems.slice(0, MAX_LISTED).map(text);
    if (problems.length > MAX_LISTED) shown.push(`and ${problems.length - MAX_LISTED} more`);
    return Object.assign(err, { message: shown.join('; '), problems: [...problems] });
  }
}

/** No credentials, or credentials that open nothing. */
export class AuthenticationError extends DomainError {
  readonly kind = 'unauthenticated';
}

/** Authenticated, but this may not be done now (expired or aborted order, …). */
export class ForbiddenError extends DomainError {
  readonly kind = 'forbidden';
}

export class NotFoundError extends DomainError {
  readonly kind = 'not-found';
}

/**
 * Kubernetes has no log to give for that container now: it waits to start, or (with
 * `previous`) it has no previous instance. `detail` holds Kubernetes' own words.
 */
export class LogUnavailableError extends NotFoundError {
  constructor(
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`no log to read: ${detail}`, options);
  }
}

/** The request clashes with the state of something else (a host port held by another order). */
export class ConflictError extends DomainError {
  readonly kind = 'conflict';
}

export class TooManyRequestsError extends DomainError {
  readonly kind = 'too-many-requests';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/** A dependency we own (the cluster, the database) cannot be reached; retry later. */
export class UnavailableError extends DomainError {
  readonly kind = 'unavailable';
}

/**
 * Waited too long for earlier work on the same thing (another change to the same order
 * still being applied). Nothing of this request's own work was started.
 */
export class LockTimeoutError extends UnavailableError {
  constructor(
    readonly waiter: string,
    readonly waitedMs: number,
  ) {
    super(`${waiter} waited ${waitedMs / 1000} s for an earlier change to be applied and gave up; try again shortly`);
  }
}

/** A third party the request depends on (an image registry) failed to answer. */
export class UpstreamError extends DomainError {
  readonly kind = 'upstream';
}
