/**
 * A Map bounded to `size` entries that drops the least recently used one when full: for
 * what a process keeps of a population that can outgrow its memory (prepared statements,
 * orders it has read). A Map iterates in insertion order, so re-inserting on use keeps
 * the oldest first.
 */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly size: number) {}

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    if (this.entries.size >= this.size) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, value);
  }

  get count(): number {
    return this.entries.size;
  }
}
