/** Running the host's own tools (ip, iptables, mount) for the real node, with errors that say what failed. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ClusterError } from '../util.js';

const exec = promisify(execFile);

/** Debian's sbin directories are not on every user's PATH; the real node's tools live there. */
export const HOST_PATH = [...new Set([...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin'])].join(':');

/** Runs a command and returns its stdout; throws a ClusterError naming the command on failure. */
export async function run(cmd: string, args: string[], hint = ''): Promise<string> {
  try {
    return (await exec(cmd, args, { env: { ...process.env, PATH: HOST_PATH }, maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new ClusterError(`${cmd} is not installed`, 'run scripts/install-system-deps.sh');
    throw new ClusterError(`${cmd} ${args.join(' ')} failed: ${(e.stderr || e.message).trim()}`, hint || 'read the message above');
  }
}

/** Like run(), but a failure is only reported (clean-up goes on with the next step). */
export async function attempt(cmd: string, args: string[], problems: string[]): Promise<string | undefined> {
  try {
    return await run(cmd, args);
  } catch (err) {
    problems.push((err as Error).message);
    return undefined;
  }
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}
