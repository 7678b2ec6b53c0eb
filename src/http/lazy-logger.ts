/**
 * Fastify gives every request a child logger bound to its request id. Making one costs
 * (pino copies its bindings and serializers) on every request, and at the default level
 * (warn) almost no request ever logs: a busy status route paid for it on each call. This
 * child is made only when a line is written at a level the logger writes; until then a
 * call at a level below it returns at once. What is written is the same line, from the
 * same child, as Fastify's own factory makes.
 */
import type { FastifyBaseLogger } from 'fastify';

type Bindings = Parameters<FastifyBaseLogger['child']>[0];
type ChildOptions = NonNullable<Parameters<FastifyBaseLogger['child']>[1]>;
type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type LogArgs = Parameters<FastifyBaseLogger['info']>;

/** For Fastify's `childLoggerFactory`. */
export function lazyChildLogger(logger: FastifyBaseLogger, bindings: Bindings, opts: ChildOptions): FastifyBaseLogger {
  // A route's own level or serializers: the child differs from its parent, make it now.
  if (opts.level !== undefined || opts.serializers !== undefined) return logger.child(bindings, opts);
  return new LazyChild(logger, bindings, opts);
}

/** Its state in private fields (#): a logger that is itself logged (a reply's `log`) shows as `{}`, as a pino logger does. */
class LazyChild implements FastifyBaseLogger {
  #made: FastifyBaseLogger | undefined;
  readonly #parent: FastifyBaseLogger;
  readonly #bindings: Bindings;
  readonly #opts: ChildOptions;

  constructor(parent: FastifyBaseLogger, bindings: Bindings, opts: ChildOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#opts = opts;
  }

  private get real(): FastifyBaseLogger {
    return (this.#made ??= this.#parent.child(this.#bindings, this.#opts));
  }

  /** pino answers isLevelEnabled; another logger is asked every time, through the real child. */
  private writes(level: Level): boolean {
    if (this.#made) return true;
    const enabled = (this.#parent as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled;
    return enabled ? enabled.call(this.#parent, level) : true;
  }

  get level(): FastifyBaseLogger['level'] {
    return this.#made ? this.#made.level : this.#parent.level;
  }

  set level(level: FastifyBaseLogger['level']) {
    this.real.level = level;
  }

  fatal(...args: LogArgs): void {
    if (this.writes('fatal')) this.real.fatal(...args);
  }

  error(...args: LogArgs): void {
    if (this.writes('error')) this.real.error(...args);
  }

  warn(...args: LogArgs): void {
    if (this.writes('warn')) this.real.warn(...args);
  }

  info(...args: LogArgs): void {
    if (this.writes('info')) this.real.info(...args);
  }

  debug(...args: LogArgs): void {
    if (this.writes('debug')) this.real.debug(...args);
  }

  trace(...args: LogArgs): void {
    if (this.writes('trace')) this.real.trace(...args);
  }

  silent(...args: LogArgs): void {
    this.real.silent(...args);
  }

  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.real.child(bindings, options);
  }
}
