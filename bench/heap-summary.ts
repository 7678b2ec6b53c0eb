/**
 * What a V8 heap snapshot holds, by constructor: count and shallow size, largest first.
 *
 *   npx tsx bench/heap-summary.ts bench/out/profiles/Heap.*.heapsnapshot [--top 30]
 *
 * Snapshots come from `npm run bench -- --profile` (taken at the largest scale).
 * Shallow sizes undercount what a structure retains, but show what fills the heap.
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] }; node_count: number };
  nodes: number[];
  strings: string[];
}

function main(): void {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) throw new Error('usage: heap-summary.ts <file.heapsnapshot> [--top 30]');
  const i = args.indexOf('--top');
  const top = i >= 0 ? Number(args[i + 1]) : 30;
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const groups = new Map<string, { count: number; bytes: number }>();
  let total = 0;
  for (let n = 0; n < snap.nodes.length; n += width) {
    const type = types[snap.nodes[n + typeAt]!] ?? '?';
    const name = type === 'object' || type === 'closure' || type === 'native' ? snap.strings[snap.nodes[n + nameAt]!]! : `(${type})`;
    const size = snap.nodes[n + sizeAt]!;
    total += size;
    const g = groups.get(name) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += size;
    groups.set(name, g);
  }
  console.log(`${(total / 2 ** 20).toFixed(1)} MiB in ${snap.snapshot.node_count} objects`);
  for (const [name, g] of [...groups].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top)) {
    console.log(`${(g.bytes / 2 ** 20).toFixed(1).padStart(8)} MiB ${String(g.count).padStart(9)}  ${name.slice(0, 100)}`);
  }
}

main();
