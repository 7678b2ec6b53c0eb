/**
 * `{ ...base, ...extra }` for objects that are kept, or made on every request.
 *
 * V8 (Node 20) gives an object literal that starts with a spread and then adds
 * properties a hidden class of its own for nearly every object it makes: after the
 * first few, each `{ ...view, domains, endpoints }` got a new map, descriptor array and
 * enumeration cache (some 240 bytes more per object), and code reading such objects
 * stops being monomorphic. At 5,000 pods the status views and the Deployments' cached
 * metadata alone were 10,000 one-object hidden classes. `Object.assign` onto a fresh
 * literal walks the usual transitions, so all such objects share one class. Same keys in
 * the same order as the spread; for objects of known keys (no `__proto__` among them,
 * which `Object.assign` would treat as the prototype).
 */
export function extended<A extends object, B extends object>(base: A, extra: B): A & B {
  return Object.assign({}, base, extra);
}
