/**
 * Retries an assertion until it passes or the time is up, then throws its last error.
 * For state that converges (pods scheduled, logs served), never for fixed sleeps.
 */
export async function eventually<T>(fn: () => Promise<T> | T, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
    }
  }
}

/** A short random suffix for names that must not collide between concurrent tests. */
export function uniqueSuffix(): string {
  return Math.random().toString(36).slice(2, 8);
}
