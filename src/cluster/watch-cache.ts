/**
 * An in-memory copy of one kind of Kubernetes object, kept current by LIST + WATCH.
 *
 * Hot reads (regions, host ports, pod status) come from here instead of a LIST per
 * request. The cache knows whether it has synced and whether its watch is healthy,
 * so readiness and "cluster unreachable" answers tell the truth. A dropped watch is
 * resumed from the last resourceVersion; an expired one (410 Gone) re-lists.
 *
 * A watch can also go quiet without ending: the API server, or the network in between,
 * accepts and never answers. A watch silent for `stallMs` is re-opened from the last
 * resourceVersion. Silence alone does not make the cache stale, though: the API server
 * sends bookmarks only when its own cache of that kind has moved past the watch's
 * version, so a watch of a kind nothing changes (V-Kube's volume claims on a cluster
 * without any) hears nothing for two minutes and more, and events get none at all. So
 * the cache stays live while the re-open is asked, and stops being live only when the
 * re-open fails or goes unanswered past its deadline. The gateway's heartbeat calls
 * `interrupt()` when the API server stops answering: that stops the cache being live at
 * once.
 */
import { awakeMs } from '../kernel/awake-clock.js';
import { LineSplitter } from '../kernel/line-splitter.js';
import type { ValuePool } from '../kernel/value-pool.js';
import { KubeError, type KubeHttp } from './kube-http.js';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string>; creationTimestamp?: string; deletionTimestamp?: string; managedFields?: unknown };
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchCacheOptions<T extends KubeObject> {
  http: KubeHttp;
  /** Collection path, e.g. `/api/v1/pods`. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Secondary indexes: name → the keys an object is filed under. */
  indexes?: Record<string, (obj: T) => string[]>;
  /** Called after the cache has applied a change (not for the objects of a re-list). */
  onChange?: (type: WatchEventType, obj: T) => void;
  /** Called after every (re-)list, with the fresh contents. */
  onSync?: () => void;
  /** Whether to keep an object in memory (default: all). Others are only passed to onChange. */
  retain?: (obj: T) => boolean;
  /** Also pass every listed object to onChange as ADDED (for streams that must not miss a gap). */
  emitOnList?: boolean;
  /** Keeps only what readers need of each object (memory grows with the cluster). */
  transform?: (obj: T) => T;
  /**
   * True for a watch line that can matter to nobody (judged on the raw text): it is not
   * decoded, and only its resourceVersion is kept, so the watch resumes after it. For a
   * stream that is mostly other workloads' objects, dropped after decoding anyway. Only
   * an ADDED, MODIFIED or DELETED line whose version can be read is skipped.
   */
  skipsLine?: (line: string) => boolean;
  /** Shares repeated strings and small pieces among the kept objects (and with other caches given the same pool). */
  pool?: ValuePool;
  /** A watch with neither event nor bookmark for this long is stalled (default 90 s; bookmarks come about every minute). */
  stallMs?: number;
  log?: (msg: string, err?: unknown) => void;
}

interface ListResponse<T> {
  metadata: { resourceVersion: string; continue?: string };
  items: T[];
}

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 5_000;
/**
 * Far above any object etcd stores (its requests are capped at 1.5 MiB by default): a
 * longer line means a broken stream, and the watch starts again instead of buffering it.
 */
const MAX_WATCH_EVENT_BYTES = 16 * 1024 * 1024;
/** The server ends a watch after `timeoutSeconds`; one that outlives it by this much is stuck. */
const WATCH_DEADLINE_GRACE_SECONDS = 30;
const DEFAULT_STALL_MS = 90_000;
/** A watch line of a change: the API server writes `type` first, then `object`. Bookmarks and errors are always decoded. */
const CHANGE_LINE = /^\{"type":"(?:ADDED|MODIFIED|DELETED)","object":\{/;
/**
 * The object's own version: its metadata comes before any field that could name another
 * object's (an Event's `involvedObject`), and a string value cannot hold an unescaped quote.
 */
const FIRST_RESOURCE_VERSION = /"resourceVersion":"(\d+)"/;
/** The reason a watch is ended for being quiet: the loop re-opens it at once and the cache stays live meanwhile. */
const QUIET = 'WatchQuiet';

export class WatchCache<T extends KubeObject> {
  private readonly objects = new Map<string, T>();
  private changes = 0;
  /**
   * Index → value → the keys filed under it: one key alone as a string, a Set from the
   * second on. Most values file one object (a pod's namespace, its host port), and a Set
   * each was some 2 MiB of the pod cache's memory at 5,000 pods.
   */
  private readonly indexes = new Map<string, Map<string, string | Set<string>>>();
  private resourceVersion = '';
  private stopped = false;
  private abort: AbortController | undefined;
  /** The LIST or WATCH in flight: `interrupt()` ends it alone, and the loop starts over. */
  private attempt: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private hasSynced = false;
  private healthy = false;
  private lastError: string | undefined;
  private lastContact = 0;
  /** lastContact on the awake clock, which silence is judged on. */
  private lastContactAwake = 0;
  private syncWaiters: Array<() => void> = [];

  constructor(private readonly opts: WatchCacheOptions<T>) {
    for (const name of Object.keys(opts.indexes ?? {})) this.indexes.set(name, new Map());
  }

  start(): void {
    if (this.loop) return;
    this.stopped = false;
    // One signal for the whole run: stop() ends a re-list or a watch alike, whichever is in flight.
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    await this.loop;
    this.loop = undefined;
  }

  /** Resolves once the first LIST has filled the cache. */
  waitForSync(timeoutMs: number): Promise<boolean> {
    if (this.hasSynced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.syncWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  get synced(): boolean {
    return this.hasSynced;
  }

  /**
   * Synced, the watch connected, and not silent past the time a quiet watch gets to be
   * re-opened and answered: answers reflect the cluster. Silence counts whatever the
   * watch is doing — waiting for an answer to its request included — so a server that
   * stops answering shows here after `stallMs` plus the re-open's deadline at most, even
   * if the loop itself were stuck.
   */
  get live(): boolean {
    return this.hasSynced && this.healthy && !this.silence(this.staleMs);
  }

  get status(): { synced: boolean; live: boolean; size: number; lastError?: string; lastContact: number } {
    return { synced: this.hasSynced, live: this.live, size: this.objects.size, lastError: this.lastError ?? this.silence(this.staleMs), lastContact: this.lastContact };
  }

  /** Why the cache has been quiet too long, or undefined while it was heard from within `limitMs`. */
  private silence(limitMs: number): string | undefined {
    // On the awake clock: time this process spent stopped is not the server's silence (its events may wait unread).
    const quiet = awakeMs() - this.lastContactAwake;
    return this.lastContact && quiet >= limitMs ? `stalled: no event or bookmark for ${Math.round(quiet / 1000)} s` : undefined;
  }

  private get stallMs(): number {
    return this.opts.stallMs ?? DEFAULT_STALL_MS;
  }

  /** How often a watch checks whether it has been quiet for `stallMs`. */
  private get stallCheckMs(): number {
    return Math.min(this.stallMs, 5_000);
  }

  /** The longest a watch request may wait for its answer (a re-open after silence included). */
  private get openMs(): number {
    return Math.min(15_000, this.stallMs);
  }

  /** Silence past this is stale whatever the loop is doing: the quiet watch was due to be re-opened and answered by then. */
  private get staleMs(): number {
    return this.stallMs + this.stallCheckMs + this.openMs;
  }

  get size(): number {
    return this.objects.size;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.objects.get(key(namespace, name));
  }

  list(): IterableIterator<T> {
    return this.objects.values();
  }

  /** The resourceVersion the next watch resumes from: of the last event seen, skipped ones included. */
  get resumeVersion(): string {
    return this.resourceVersion;
  }

  /** Moves whenever what the cache holds may have changed: a value derived from it is current while this stays the same. */
  get version(): number {
    return this.changes;
  }

  byIndex(index: string, value: string): T[] {
    const keys = this.indexes.get(index)?.get(value);
    if (keys === undefined) return [];
    const out: T[] = [];
    for (const k of typeof keys === 'string' ? [keys] : keys) {
      const obj = this.objects.get(k);
      if (obj) out.push(obj);
    }
    return out;
  }

  indexKeys(index: string): string[] {
    return [...(this.indexes.get(index)?.keys() ?? [])];
  }

  /**
   * The connection under this cache is not to be trusted (the API server stopped
   * answering): stop calling the cache live, and end the LIST or WATCH in flight so the
   * loop starts over, from the last resourceVersion, on a fresh connection.
   */
  interrupt(reason: string): void {
    if (this.stopped) return;
    this.healthy = false;
    this.lastError = reason;
    this.attempt?.abort(new Error(reason));
  }

  private async run(signal: AbortSignal): Promise<void> {
    let backoff = BACKOFF_MIN_MS;
    while (!this.stopped) {
      const attempt = new AbortController();
      const stop = () => attempt.abort();
      signal.addEventListener('abort', stop, { once: true });
      this.attempt = attempt;
      try {
        if (!this.resourceVersion) await this.relist(attempt.signal);
        if (this.stopped) break;
        await this.watch(attempt.signal);
        backoff = BACKOFF_MIN_MS;
      } catch (err) {
        if (this.stopped) break;
        if (attempt.signal.aborted) {
          // interrupt(): the reason is already recorded; try again on a fresh connection after the usual pause.
          err = attempt.signal.reason instanceof Error ? attempt.signal.reason : err;
        }
        if (err instanceof KubeError && err.status === 410) {
          this.resourceVersion = '';
          continue;
        }
        // Quiet, not broken: ask again at once from the same version; only a failed re-open makes the cache stale.
        if (err instanceof KubeError && err.reason === QUIET) continue;
        this.healthy = false;
        this.lastError = err instanceof Error ? err.message : String(err);
        this.opts.log?.(`watch ${this.opts.path} failed; retrying in ${backoff} ms`, err);
        await sleep(backoff + Math.random() * backoff * 0.2, signal);
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      } finally {
        signal.removeEventListener('abort', stop);
      }
    }
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.opts.http.get<ListResponse<T>>(this.opts.path, {
        query: { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector, limit: 500, continue: cont },
        timeoutMs: 60_000,
        budget: 'watch',
        signal,
      });
      for (const item of page.items) {
        const obj = this.shape(item);
        if (this.opts.emitOnList) this.opts.onChange?.('ADDED', obj);
        if (this.opts.retain && !this.opts.retain(obj)) continue;
        fresh.set(key(obj.metadata.namespace, obj.metadata.name), obj);
      }
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion;
    } while (cont);
    this.changes++;
    this.objects.clear();
    for (const idx of this.indexes.values()) idx.clear();
    for (const [k, obj] of fresh) {
      this.objects.set(k, obj);
      this.addToIndexes(k, obj);
    }
    this.resourceVersion = rv;
    this.markContact();
    if (!this.hasSynced) {
      this.hasSynced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
    this.opts.onSync?.();
  }

  private async watch(signal: AbortSignal): Promise<void> {
    // The server ends the watch after this; we resume from the last version seen.
    const timeoutSeconds = 240 + Math.floor(Math.random() * 60);
    const res = await this.opts.http.stream(this.opts.path, {
      query: {
        watch: true,
        allowWatchBookmarks: true,
        resourceVersion: this.resourceVersion,
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
        timeoutSeconds,
      },
      streamDeadlineMs: (timeoutSeconds + WATCH_DEADLINE_GRACE_SECONDS) * 1000,
      timeoutMs: this.openMs,
      budget: 'watch',
      signal,
    });
    this.markContact();
    // No event and no bookmark for stallMs: the stream may be stuck, however open its socket looks; ask again.
    let quiet: string | undefined;
    // Judged after the sockets have been read (setImmediate): events that came while this process was busy are not silence.
    const stallCheck = setInterval(
      () =>
        setImmediate(() => {
          if (res.destroyed) return;
          quiet = this.silence(this.stallMs);
          if (quiet) res.destroy(new Error(quiet));
        }),
      this.stallCheckMs,
    );
    // One JSON event per line; a character split across chunks is joined before decoding.
    const lines = new LineSplitter({ maxLineBytes: MAX_WATCH_EVENT_BYTES, overlong: 'fail' });
    try {
      for await (const chunk of res) {
        for (const line of lines.push(chunk as Buffer)) if (line.text.trim()) this.handle(line.text);
      }
    } catch (err) {
      if (this.stopped) return;
      if (err instanceof KubeError) throw err;
      if (quiet && !signal.aborted) throw new KubeError(0, QUIET, `watch ${this.opts.path}: ${quiet}`, this.opts.http.clusterName, { cause: err });
      throw new KubeError(0, 'WatchBroken', `watch ${this.opts.path}: ${(err as Error).message}`, this.opts.http.clusterName, { cause: err });
    } finally {
      clearInterval(stallCheck);
    }
    if (!this.stopped && res.complete === false) {
      throw new KubeError(0, 'WatchBroken', `watch ${this.opts.path} ended early`, this.opts.http.clusterName);
    }
  }

  private handle(line: string): void {
    if (this.opts.skipsLine && this.skipped(line)) return;
    let event: { type: string; object: T & { code?: number; message?: string } };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      return;
    }
    this.markContact();
    const { type, object } = event;
    if (type === 'ERROR') {
      throw new KubeError(object.code ?? 500, 'WatchError', `watch ${this.opts.path}: ${object.message ?? 'error event'}`, this.opts.http.clusterName);
    }
    if (object.metadata?.resourceVersion) this.resourceVersion = object.metadata.resourceVersion;
    if (type === 'BOOKMARK') return;
    const obj = this.shape(object);
    this.changes++;
    const k = key(obj.metadata.namespace, obj.metadata.name);
    const old = this.objects.get(k);
    if (old) this.removeFromIndexes(k, old);
    if (type === 'DELETED' || (this.opts.retain && !this.opts.retain(obj))) {
      this.objects.delete(k);
    } else {
      this.objects.set(k, obj);
      this.addToIndexes(k, obj);
    }
    this.opts.onChange?.(type as WatchEventType, obj);
  }

  /** Keeps the version of a line `skipsLine` passes over; false when it must be decoded after all. */
  private skipped(line: string): boolean {
    if (!CHANGE_LINE.test(line) || !this.opts.skipsLine!(line)) return false;
    const rv = FIRST_RESOURCE_VERSION.exec(line)?.[1];
    if (!rv) return false;
    this.resourceVersion = rv;
    this.markContact();
    return true;
  }

  private shape(obj: T): T {
    // The transform sees the object whole (the Deployments' reads who owns V-Kube's fields); what it keeps loses its managed fields.
    const shaped = slim(this.opts.transform ? this.opts.transform(obj) : obj);
    return this.opts.pool ? this.opts.pool.share(shaped) : shaped;
  }

  private markContact(): void {
    this.healthy = true;
    this.lastError = undefined;
    this.lastContact = Date.now();
    this.lastContactAwake = awakeMs();
  }

  private addToIndexes(k: string, obj: T): void {
    for (const [name, fn] of Object.entries(this.opts.indexes ?? {})) {
      const idx = this.indexes.get(name)!;
      for (const v of fn(obj)) {
        const filed = idx.get(v);
        if (filed === undefined) idx.set(v, k);
        else if (typeof filed !== 'string') filed.add(k);
        else if (filed !== k) idx.set(v, new Set([filed, k]));
      }
    }
  }

  private removeFromIndexes(k: string, obj: T): void {
    for (const [name, fn] of Object.entries(this.opts.indexes ?? {})) {
      const idx = this.indexes.get(name)!;
      for (const v of fn(obj)) {
        const filed = idx.get(v);
        if (filed === k) idx.delete(v);
        else if (typeof filed === 'object') {
          filed.delete(k);
          if (filed.size === 1) idx.set(v, filed.values().next().value!);
        }
      }
    }
  }
}

/** managedFields are large and never read; dropping them halves the memory of a pod. */
function slim<T extends KubeObject>(obj: T): T {
  if (obj.metadata?.managedFields) delete obj.metadata.managedFields;
  return obj;
}

function key(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** Waits `ms`, or less if `signal` aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
