/**
 * The layers of src/, read from the code's own imports: dependencies point one way, so
 * a newcomer can trust the README's picture. http → domain → the ports of cluster,
 * registry and store; the adapters implement ports and never reach up; the shared
 * kernel (src/kernel) stands under everything and imports nothing of ours.
 */
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const src = join(root, 'src');

interface Import {
  /** The importing file, from src/ (e.g. `http/auth.ts`). */
  from: string;
  /** The imported file, from src/ (e.g. `domain/records.ts`). */
  to: string;
}

/** Every relative import (static, dynamic, type-only and re-exports) between files of src/. */
async function importsOfSrc(): Promise<Import[]> {
  const files = (await readdir(src, { recursive: true })).filter((f) => f.endsWith('.ts')).map((f) => f.split(sep).join('/'));
  const found: Import[] = [];
  for (const file of files) {
    const text = await readFile(join(src, file), 'utf8');
    for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = relative(src, resolve(dirname(join(src, file)), m[1]!)).split(sep).join('/').replace(/\.js$/, '.ts');
      found.push({ from: file, to: target });
    }
  }
  return found;
}

const layer = (path: string): string => (path.includes('/') ? path.slice(0, path.indexOf('/')) : path);
const show = (bad: Import[]) => bad.map((i) => `${i.from} → ${i.to}`).join('\n');

describe('layering of src/', async () => {
  const imports = await importsOfSrc();

  it('reads the imports it judges', () => {
    assert.ok(imports.some((i) => i.from.startsWith('http/') && i.to.startsWith('domain/')), 'found no http → domain import: the reader is broken');
  });

  it('http depends on the domain, never on the store or the cluster', () => {
    const bad = imports.filter((i) => layer(i.from) === 'http' && ['store', 'cluster'].includes(layer(i.to)));
    assert.deepEqual(bad, [], `src/http imports past the domain:\n${show(bad)}`);
  });

  it('the kernel imports nothing of ours outside the kernel', () => {
    const bad = imports.filter((i) => layer(i.from) === 'kernel' && layer(i.to) !== 'kernel');
    assert.deepEqual(bad, [], `src/kernel must stay a leaf every layer may use:\n${show(bad)}`);
  });

  it('the domain reaches the outside only through ports: the cluster gateway, the registry types, its own store port', () => {
    const ports = new Set(['cluster/gateway.ts', 'registry/types.ts']);
    const bad = imports.filter((i) => layer(i.from) === 'domain' && ['http', 'store', 'cluster', 'registry', 'notify', 'cli', 'sdk'].includes(layer(i.to)) && !ports.has(i.to));
    assert.deepEqual(bad, [], `src/domain imports an adapter or the HTTP layer:\n${show(bad)}`);
  });

  it('the adapters never reach up into http, the CLI or the composition root', () => {
    const top = new Set(['app.ts', 'main.ts', 'services.ts']);
    const bad = imports.filter((i) => ['store', 'cluster', 'registry', 'notify'].includes(layer(i.from)) && (['http', 'cli', 'sdk'].includes(layer(i.to)) || top.has(i.to)));
    assert.deepEqual(bad, [], `an adapter imports a layer above it:\n${show(bad)}`);
  });

  it('the store and the cluster adapters take from the domain only its ports and records', () => {
    const allowed = /^domain\/(records|store-port|notify\/store-port)\.ts$/;
    const bad = imports.filter((i) => ['store', 'cluster'].includes(layer(i.from)) && layer(i.to) === 'domain' && !allowed.test(i.to));
    assert.deepEqual(bad, [], `an adapter imports domain logic:\n${show(bad)}`);
  });
});
