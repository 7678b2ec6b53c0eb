/**
 * `npm test`: starts what the tests need (the local Kubernetes control plane and a
 * throwaway PostgreSQL server, handed over as KUBECONFIG and TEST_POSTGRES_URL), runs
 * every `test/**\/*.test.ts` with node's test runner, and stops what it started.
 *
 *   npm test                      all suites
 *   npm test -- test/unit         only the files under a path (or a single file)
 *
 * The runner's own summary is the last thing printed.
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { ensureCluster } from '../dev/cluster/testing.js';
import { repoRoot } from '../dev/cluster/config.js';
import { ensureSharedPostgres, type SharedPostgres } from '../dev/postgres/testing.js';

async function testFiles(filters: string[]): Promise<string[]> {
  const all = (await readdir(join(repoRoot, 'test'), { recursive: true }))
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join('test', f))
    .sort();
  if (filters.length === 0) return all;
  const wanted = filters.map((f) => relative(repoRoot, resolve(f)));
  return all.filter((f) => wanted.some((w) => f === w || f.startsWith(`${w}/`)));
}

async function main(): Promise<number> {
  const files = await testFiles(process.argv.slice(2).filter((a) => !a.startsWith('-')));
  if (files.length === 0) {
    console.error('no test files match');
    return 1;
  }
  const say = (line: string) => console.error(`[test setup] ${line}`);
  say('local Kubernetes control plane…');
  const cluster = await ensureCluster(say);
  let postgres: SharedPostgres | undefined;
  let code = 1;
  try {
    postgres = await ensureSharedPostgres(say);
    const env = { ...process.env, KUBECONFIG: cluster.kubeconfig, TEST_POSTGRES_URL: postgres.url };
    code = await new Promise<number>((done) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`, ...files],
        { cwd: repoRoot, stdio: 'inherit', env },
      );
      child.on('close', (c) => done(c ?? 1));
    });
  } finally {
    await postgres?.stop();
    await cluster.stop();
  }
  return code;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error && 'fix' in err ? `error: ${err.message}\nfix: ${String(err.fix)}` : err);
    process.exit(1);
  },
);
