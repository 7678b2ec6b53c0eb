/**
 * Kernel settings the real node changes on the machine: the kubelet sets the tunables
 * it expects (vm.overcommit_memory, kernel.panic_on_oops, …) and CNI's bridge plugin
 * turns on IPv4 forwarding. They are saved before the node first starts and put back
 * when it is taken down, so `cluster:down` leaves the machine as it found it.
 */
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const TOUCHED_SYSCTLS = [
  'vm/overcommit_memory',
  'vm/panic_on_oom',
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
  'net/ipv4/ip_forward',
] as const;

function savedFile(nodeDir: string): string {
  return join(nodeDir, 'sysctls-before.json');
}

/** Records the current values, once: a restart of the node must not record its own changes. */
export async function saveSysctls(nodeDir: string): Promise<void> {
  if (existsSync(savedFile(nodeDir))) return;
  const values: Record<string, string> = {};
  for (const key of TOUCHED_SYSCTLS) {
    const value = await readFile(`/proc/sys/${key}`, 'utf8').catch(() => undefined);
    if (value !== undefined) values[key] = value.trim();
  }
  await writeFile(savedFile(nodeDir), JSON.stringify(values, null, 2));
}

export async function restoreSysctls(nodeDir: string, problems: string[]): Promise<void> {
  const file = savedFile(nodeDir);
  if (!existsSync(file)) return;
  const values = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
  for (const [key, value] of Object.entries(values)) {
    try {
      if ((await readFile(`/proc/sys/${key}`, 'utf8')).trim() !== value) await writeFile(`/proc/sys/${key}`, value);
    } catch (err) {
      problems.push(`cannot restore ${key.replace(/\//g, '.')}=${value}: ${(err as Error).message}`);
    }
  }
  await rm(file, { force: true });
}
