/**
 * The Debian packages development and tests use (scripts/install-system-deps.sh),
 * installed on first use: `npm test` and `npm run dev` call this first, so a fresh
 * machine needs no set-up step of its own. The script only checks when everything is
 * there (a few milliseconds), and installs what is missing with apt-get otherwise.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { repoRoot } from './cluster/config.js';

export async function ensureSystemDeps(log: (line: string) => void): Promise<void> {
  const script = join(repoRoot, 'scripts', 'install-system-deps.sh');
  const code = await new Promise<number>((resolve) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Whole lines, decoded across chunks (a line or a character split between two reads stays whole).
    for (const output of [child.stdout, child.stderr]) createInterface({ input: output }).on('line', (line) => line && log(line));
    child.on('error', () => resolve(127));
    child.on('close', (c) => resolve(c ?? 1));
  });
  if (code !== 0) throw new Error(`installing the Debian packages failed (exit ${code}): run bash ${script} as root and read its output`);
}
