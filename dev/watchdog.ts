/**
 * Clean-up that survives this process: a `sh` reading a pipe from us runs `script`
 * when the pipe closes — however this process ended, SIGKILL included, when no exit
 * hook runs. The test servers (registry, PostgreSQL) use it so no process or temp
 * directory outlives a killed test run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';

export function spawnWatchdog(script: string, args: string[], opts: { detached?: boolean } = {}): ChildProcess {
  const watchdog = spawn('/bin/sh', ['-c', `read -r _ 2>/dev/null\n${script}`, ...args], { stdio: ['pipe', 'ignore', 'ignore'], detached: opts.detached ?? false });
  watchdog.unref();
  (watchdog.stdin as Socket | null)?.unref();
  watchdog.on('error', () => {
    // No /bin/sh: only the crash-time clean-up is lost.
  });
  return watchdog;
}
