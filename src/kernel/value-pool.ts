/**
 * One copy of each repeated small piece of JSON among the objects the watch caches keep.
 *
 * A V-Kube pod is mostly what every other V-Kube pod is too: the same tolerations, the
 * same security context, the same resources for the same unit, `drop: ["ALL"]`,
 * `protocol: TCP`, empty lists. JSON.parse makes each of them anew for every pod: at 5,000
 * pods some 100,000 objects and arrays, each also marked by every full garbage collection.
 * 5,000 pods as kwok reports them held 13.0 MiB of heap with their strings pooled, 8.8 MiB
 * with their pieces shared too (about 0.1 ms more per pod event).
 *
 * `share` walks a freshly parsed object once, from the leaves up: every string goes through
 * the string pool, and every object or array whose JSON is short (at most `maxKeyLength`
 * characters) and made only of such pieces is replaced by the first equal one the pool
 * saw. Shared pieces are frozen, so code that tried to change a cached object in place
 * would fail loudly instead of changing it for every pod that shares it. The object handed
 * to `share` itself is never replaced or frozen.
 *
 * For objects that are read, never edited: two fields of one object may now be the same
 * array (`ports: []` and `env: []`), and a copy made with structuredClone keeps that, so
 * an edit of one copied field shows in the other. (Order records, which are copied and
 * edited, share only their strings for that reason: known-orders.ts.)
 *
 * Equal means equal JSON, keys in the same order. Like the string pool, the pool is two
 * generations: a piece still in use is found again and carried over; dropping an entry
 * frees nothing in use.
 */
import type { StringPool } from './string-pool.js';

export class ValuePool {
  private young = new Map<string, object>();
  private old = new Map<string, object>();

  /**
   * `generation`: pieces per generation; `maxKeyLength`: longer pieces are left alone (rarely
   * repeated: they carry a name, an address or a time).
   */
  constructor(
    private readonly strings: StringPool,
    private readonly generation: number,
    private readonly maxKeyLength = 256,
  ) {}

  /** `value` with its strings pooled and its small repeated pieces shared, changed in place. */
  share<T>(value: T): T {
    if (value !== null && typeof value === 'object') this.children(value as unknown as Record<string, unknown> | unknown[]);
    return value;
  }

  /** Whether `piece` is a shared piece now (for tests). */
  holds(piece: object): boolean {
    return this.young.has(keyOfShared(piece)) || this.old.has(keyOfShared(piece));
  }

  /** Pieces in both generations (one carried over counts twice until the old one goes). */
  get size(): number {
    return this.young.size + this.old.size;
  }

  /**
   * Replaces each child of `container` by its pooled copy; answers the container's own key
   * (its JSON) when all children have one and it is short enough, else undefined.
   */
  private children(container: Record<string, unknown> | unknown[]): string | undefined {
    let key: string | undefined;
    if (Array.isArray(container)) {
      key = '[';
      for (let i = 0; i < container.length; i++) {
        const [v, k] = this.visit(container[i]);
        container[i] = v;
        key = key !== undefined && k !== undefined && key.length + k.length < this.maxKeyLength ? `${key}${i ? ',' : ''}${k}` : undefined;
      }
      return key === undefined ? undefined : `${key}]`;
    }
    key = '{';
    let first = true;
    for (const name in container) {
      // Assigning it would set the object's prototype; Kubernetes names cannot be this anyway.
      if (name === '__proto__') {
        key = undefined;
        continue;
      }
      const [v, k] = this.visit(container[name]);
      container[name] = v;
      if (key === undefined || k === undefined) {
        key = undefined;
        continue;
      }
      const entry = `${JSON.stringify(name)}:${k}`;
      key = key.length + entry.length < this.maxKeyLength ? `${key}${first ? '' : ','}${entry}` : undefined;
      first = false;
    }
    return key === undefined ? undefined : `${key}}`;
  }

  /** The pooled copy of `v` and its key, or `v` itself and undefined when it is not to be shared. */
  private visit(v: unknown): [unknown, string | undefined] {
    switch (typeof v) {
      case 'string': {
        const s = this.strings.intern(v);
        return [s, s.length < this.maxKeyLength ? JSON.stringify(s) : undefined];
      }
      case 'number':
      case 'boolean':
        return [v, String(v)];
      case 'object': {
        if (v === null) return [v, 'null'];
        const key = this.children(v as Record<string, unknown> | unknown[]);
        return key === undefined ? [v, undefined] : [this.canonical(key, v), key];
      }
      default:
        return [v, undefined];
    }
  }

  private canonical(key: string, piece: object): object {
    const young = this.young.get(key);
    if (young !== undefined) return young;
    const canonical = this.old.get(key) ?? Object.freeze(piece);
    if (this.young.size >= this.generation) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, canonical);
    return canonical;
  }
}

/** A shared piece's key: its JSON, as `children` builds it (every piece in the pool is plain and short). */
function keyOfShared(piece: object): string {
  return JSON.stringify(piece);
}
