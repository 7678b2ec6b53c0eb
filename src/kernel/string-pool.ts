/**
 * One copy of each repeated string: JSON.parse makes a new string for every value longer
 * than a few characters, so 5,000 cached pods held 5,000 copies each of their image, their
 * namespace's name (in several fields), the same timestamps, "RuntimeDefault",
 * "node.kubernetes.io/not-ready" and the like.
 *
 * Two generations bound it: a string is looked up in both, added to the young one, and
 * when the young one is full it becomes the old one and the old one is dropped. A string
 * still in use is found again and carried over; one seen once (a uid, a resourceVersion)
 * falls out after two turns. Dropping an entry frees nothing in use: objects keep theirs.
 */
export class StringPool {
  private young = new Map<string, string>();
  private old = new Map<string, string>();

  /** `generation`: strings per generation; `maxLength`: longer ones are left alone (rarely repeated, costly to hash). */
  constructor(
    private readonly generation: number,
    private readonly maxLength = 128,
  ) {}

  intern(s: string): string {
    if (s.length > this.maxLength) return s;
    const young = this.young.get(s);
    if (young !== undefined) return young;
    const canonical = this.old.get(s) ?? s;
    if (this.young.size >= this.generation) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(canonical, canonical);
    return canonical;
  }

  /** Whether `s` is pooled now (for tests). */
  has(s: string): boolean {
    return this.young.has(s) || this.old.has(s);
  }

  /** Entries in both generations (a string carried over counts twice until the old one goes). */
  get size(): number {
    return this.young.size + this.old.size;
  }
}
