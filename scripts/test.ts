/**
 * `npm test`: starts what the tests need (the local Kubernetes control plane and a
 * throwaway PostgreSQL server, handed over as KUBECONFIG and TEST_POSTGRES_URL), runs
 * every `test/**\/*.test.ts` with node's test runner, and stops what it started.
 *
 *   npm test                      all suites
 *   npm test -- test/unit         only the files under a path (or a single file)
 *   npm run test:faults           only the fault-injection suites (test/faults)
 *
 * Two phases: the ordinary suites run side by side; then the fault suites, which stop
 * cluster components and kill processes, run one at a time so they disturb nobody.
 * The last line printed is the total: `N passed, N failed`.
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { ensureCluster } from '../dev/cluster/testing.js';
import { repoRoot } from '../dev/cluster/config.js';
import { ensureSharedPostgres, type SharedPostgres } from '../dev/postgres/testing.js';
import { ensureSystemDeps } from '../dev/system-deps.js';

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
  await ensureSystemDeps(say);
  say('local Kubernetes control plane…');
  const cluster = await ensureCluster(say);
  let postgres: SharedPostgres | undefined;
  let code = 1;
  let finalLine: string | undefined;
  try {
    postgres = await ensureSharedPostgres(say);
    const env = { ...process.env, KUBECONFIG: cluster.kubeconfig, TEST_POSTGRES_URL: postgres.url };
    const isFault = (f: string) => f.startsWith(`test${sep}faults${sep}`);
    const phases = [
      { files: files.filter((f) => !isFault(f)), concurrency: Number(process.env.TEST_CONCURRENCY ?? 2) },
      { files: files.filter(isFault), concurrency: 1 },
    ].filter((p) => p.files.length > 0);
    const total = { passed: 0, failed: 0 };
    code = 0;
    for (const phase of phases) {
      const result = await runPhase(phase.files, phase.concurrency, env);
      total.passed += result.passed;
      total.failed += result.failed;
      if (result.code !== 0) code = result.code;
    }
    finalLine = `${total.passed} passed, ${total.failed} failed`;
  } finally {
    await postgres?.stop();
    await cluster.stop();
  }
  if (finalLine) console.log(finalLine);
  return code;
}

/** Longer than the slowest file takes (about 4 minutes, the fault suites), far shorter than CI's limit. */
const FILE_TIMEOUT_MS = 15 * 60_000;

/** One node --test run; its output goes through unchanged while its summary is counted. */
function runPhase(files: string[], concurrency: number, env: NodeJS.ProcessEnv): Promise<{ code: number; passed: number; failed: number }> {
  return new Promise((done) => {
    const args = [
      ...['--import', 'tsx', '--import', './test/helpers/assert-messages.ts'],
      ...['--test', '--test-reporter=spec', `--test-concurrency=${concurrency}`],
      // A file (or a test without its own timeout) that runs this long is hung: fail it and go on.
      `--test-timeout=${FILE_TIMEOUT_MS}`,
      ...files,
    ];
    const child = spawn(process.execPath, args, {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
      env,
    });
    const counts = { pass: 0, fail: 0, cancelled: 0 };
    let partial = '';
    // Decodes across chunks: a character split between two reads stays whole.
    const decoder = new StringDecoder('utf8');
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      const lines = (partial + decoder.write(chunk)).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^ℹ (pass|fail|cancelled) (\d+)/.exec(line);
        if (m) counts[m[1] as keyof typeof counts] = Number(m[2]);
      }
    });
    child.on('close', (c) => done({ code: c ?? 1, passed: counts.pass, failed: counts.fail + counts.cancelled }));
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error && 'fix' in err ? `error: ${err.message}\nfix: ${String(err.fix)}` : err);
    process.exit(1);
  },
);
