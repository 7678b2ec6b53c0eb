/**
 * A Map bounded to `maxEntries` entries that drops the least recently used one when full:
 * for what a process keeps of a population that can outgrow its memory (prepared
 * statements, orders it has read, image checks).
 *
 * A Map iterates in insertion order, so re-inserting an entry on use keeps the oldest
 * first. But a delete and a set on every read leave a hole in the Map's table each time,
 * and every few thousand reads V8 copies the table anew: at 5,000 orders, read by every
 * status request, each copy left some 200 KB in the old generation and the status route
 * paid for a full collection every few seconds. So an entry is moved only when it is
 * read while among the older half (more than half the bound inserted since it was): a
 * hot entry is read without any write. What is dropped first is still what has gone
 * unused longest, give or take half the bound: an entry read since the last
 * `maxEntries / 2` insertions is never dropped.
 */
export class LruMap<K, V> {
  private readonly entries = new Map<K, { value: V; stamp: number }>();
  /** Insertions so far: an entry's stamp is the count when it was (re-)inserted. */
  private clock = 0;
  private readonly half: number;

  constructor(readonly maxEntries: number) {
    if (!(maxEntries >= 1)) throw new RangeError('maxEntries must be at least 1');
    this.half = Math.ceil(maxEntries / 2);
  }

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (this.clock - entry.stamp >= this.half) {
      this.entries.delete(key);
      entry.stamp = ++this.clock;
      this.entries.set(key, entry);
    }
    return entry.value;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, stamp: ++this.clock });
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
