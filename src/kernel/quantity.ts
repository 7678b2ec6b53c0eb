/**
 * Kubernetes resource quantities, the subset V-Kube accepts from customers and
 * providers: a decimal number with an optional binary (Ki, Mi, Gi, Ti) or decimal
 * (k, M, G, T) suffix for bytes, and millicores (`500m`) or cores for CPU.
 */

const BYTE_SUFFIX: Record<string, number> = {
  '': 1,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
};

const QUANTITY = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/;

/** Bytes in a memory quantity such as `100Mi` or `1.5Gi`; undefined when malformed. */
export function parseBytes(text: string): number | undefined {
  const m = QUANTITY.exec(text.trim());
  if (!m) return undefined;
  const bytes = Number(m[1]) * BYTE_SUFFIX[m[2] ?? '']!;
  return Number.isFinite(bytes) ? Math.round(bytes) : undefined;
}

/** Millicores in a CPU quantity such as `500m`, `0.5` or `2`; undefined when malformed. */
export function parseMillicores(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(m)?$/.exec(text.trim());
  if (!m) return undefined;
  const value = Number(m[1]);
  const milli = m[2] ? value : value * 1000;
  return Number.isFinite(milli) ? Math.round(milli) : undefined;
}

/** Bytes as the shortest exact Kubernetes quantity: 1073741824 → `1Gi`, 1500 → `1500`. */
export function formatBytes(bytes: number): string {
  for (const [suffix, size] of [['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${suffix}`;
  }
  return String(bytes);
}

export function formatMillicores(milli: number): string {
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}
