/** The console's production build (console/dist), rebuilt when its sources are newer: what the server serves to the browser suites. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../dev/cluster/config.js';

/** The newest modification time under the given files and folders. */
function newest(paths: string[]): number {
  let max = 0;
  for (const p of paths) {
    if (!existsSync(p)) continue;
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const f of readdirSync(p, { recursive: true })) max = Math.max(max, statSync(join(p, String(f))).mtimeMs);
    } else max = Math.max(max, st.mtimeMs);
  }
  return max;
}

/**
 * Two browser suites run side by side; vite empties console/dist before it writes, so
 * one build at a time (a lock directory; one left by a killed run is taken after 5 min).
 */
export async function ensureConsoleBuilt(): Promise<void> {
  const lock = join(repoRoot, 'console', '.dist-build.lock');
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 5 * 60_000) rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    await buildIfStale();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

async function buildIfStale(): Promise<void> {
  const index = join(repoRoot, 'console', 'dist', 'index.html');
  const sources = newest([join(repoRoot, 'console', 'src'), join(repoRoot, 'console', 'index.html'), join(repoRoot, 'console', 'vite.config.ts')]);
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  let output = '';
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'console/vite.config.ts'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.once('error', reject);
    child.once('close', (c) => resolve(c ?? 1));
  });
  assert.equal(code, 0, `vite build failed:\n${output}`);
  assert.ok(existsSync(index), `vite build wrote no ${index}:\n${output}`);
}

