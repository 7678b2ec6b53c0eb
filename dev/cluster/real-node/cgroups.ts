/**
 * The real node's cgroup root. This machine kind mounts cgroup v1 hierarchies (plus an
 * empty v2 at /sys/fs/cgroup/unified); the kubelet uses the cgroupfs driver and puts
 * every pod under `<hierarchy>/<cgroupRoot>/kubepods`, so one node's pods never mix
 * with another node's or the machine's own processes, and clean-up is one subtree.
 */
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { mkdir, readFile, readdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sleep } from '../util.js';

const CGROUP_FS = '/sys/fs/cgroup';

/** Each mounted hierarchy (cpu, memory, …, systemd, unified): where a cgroup path exists. */
function hierarchies(): string[] {
  if (!existsSync(CGROUP_FS)) return [];
  return readdirSync(CGROUP_FS)
    .map((d) => join(CGROUP_FS, d))
    .filter((d) => {
      try {
        return lstatSync(d).isDirectory() && existsSync(join(d, 'cgroup.procs'));
      } catch {
        return false;
      }
    });
}

/** True when this machine has cgroup v1 controllers (the kubelet needs failCgroupV1: false then). */
export function usesCgroupV1(): boolean {
  return existsSync(join(CGROUP_FS, 'memory', 'memory.limit_in_bytes'));
}

/** Creates the node's cgroup root in every hierarchy (the kubelet refuses a root that does not exist). */
export async function ensureCgroupRoot(root: string): Promise<void> {
  for (const h of hierarchies()) {
    const dir = join(h, root);
    await mkdir(dir, { recursive: true });
    // A new cpuset cgroup starts with no CPUs and no memory nodes: give it its parent's.
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      if (!existsSync(join(dir, f))) continue;
      if ((await readFile(join(dir, f), 'utf8')).trim() === '') await writeFile(join(dir, f), await readFile(join(h, f), 'utf8'));
    }
  }
}

/**
 * Removes the node's cgroup subtree, deepest first. A cgroup can only go once no
 * process is in it, so this retries for a while: containers may still be exiting.
 */
export async function removeCgroupRoot(root: string, problems: string[], timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const h of hierarchies()) {
    const top = join(h, root);
    if (!existsSync(top)) continue;
    for (;;) {
      const left = await removeTree(top);
      if (left.length === 0) break;
      if (Date.now() > deadline) {
        problems.push(`cgroup ${left[0]} could not be removed (processes still in it?)`);
        break;
      }
      await sleep(200);
    }
  }
}

/** rmdir every cgroup under `dir`, children first; returns those that would not go. */
async function removeTree(dir: string): Promise<string[]> {
  const left: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) if (e.isDirectory()) left.push(...(await removeTree(join(dir, e.name))));
  try {
    await rmdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') left.push(dir);
  }
  return left;
}
