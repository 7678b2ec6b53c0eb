class StringPool {
  /** `generation`: strings per generation; `maxLength`: longer ones are left alone (rarely repeated, costly to hash). */
  constructor(generation, maxLength = 128) {
    this.generation = generation;
    this.maxLength = maxLength;
  }
  generation;
  maxLength;
  young = /* @__PURE__ */ new Map();
  old = /* @__PURE__ */ new Map();
  intern(s) {
    if (s.length > this.maxLength) return s;
    const young = this.young.get(s);
    if (young !== void 0) return young;
    const canonical = this.old.get(s) ?? s;
    if (this.young.size >= this.generation) {
      this.old = this.young;
      this.young = /* @__PURE__ */ new Map();
    }
    this.young.set(canonical, canonical);
    return canonical;
  }
  /** Replaces, in place, every string value inside `value` (objects and arrays, at any depth) by its pooled copy. */
  internAll(value) {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const v = value[i];
        if (typeof v === "string") value[i] = this.intern(v);
        else if (v !== null && typeof v === "object") this.internAll(v);
      }
    } else if (value !== null && typeof value === "object") {
      const o = value;
      for (const k in o) {
        const v = o[k];
        if (typeof v === "string") o[k] = this.intern(v);
        else if (v !== null && typeof v === "object") this.internAll(v);
      }
    }
    return value;
  }
  /** Whether `s` is pooled now (for tests). */
  has(s) {
    return this.young.has(s) || this.old.has(s);
  }
  /** Entries in both generations (a string carried over counts twice until the old one goes). */
  get size() {
    return this.young.size + this.old.size;
  }
}
export {
  StringPool
};
