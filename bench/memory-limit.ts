/**
 * V-Kube under the memory limit of its own Kubernetes manifest, as a provider runs it.
 *
 * Node sizes V8's heap from the memory the process may use: under the manifest's 512 MiB
 * limit, a 256 MiB old generation allowed to grow by at most 1.3× between full
 * collections and a young generation of 2 × 1 MiB; on a 24 GiB machine without a limit,
 * a 4 GiB heap that may grow 4× and a young generation of 2 × 16 MiB. The same V-Kube
 * then holds some 60 MiB more at 5,000 pods, none of it data: memory figures taken
 * without the limit are not what the provider sees.
 *
 * The limit is a memory cgroup around V-Kube (cgroup v1 or v2, below the bench's own
 * cgroup), so Node reads it as it would in its pod and the kernel enforces it. Where no
 * cgroup can be made, V-Kube gets the V8 flags Node derives from that limit instead
 * (`--max-old-space-size`, `--max-semi-space-size`), and the report says which.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../dev/cluster/config.js';

const MiB = 2 ** 20;

export interface MemoryLimit {
  bytes: number;
  /** How it is imposed, for the report: "cgroup v1 …" or "V8 flags …". */
  how: string;
  /** Node's flags (empty under a cgroup: Node reads the limit itself). */
  nodeFlags: string[];
  /** The command to run instead of `argv`: under a cgroup, a shell that joins it and execs `argv` (same pid). */
  wrap(argv: string[]): string[];
  /** Removes the cgroup once V-Kube has exited. */
  release(): void;
}

const MANIFEST = join(repoRoot, 'deploy/kubernetes/vkube.yaml');

/** The memory limit of V-Kube's container in deploy/kubernetes/vkube.yaml, in bytes. */
export function manifestMemoryLimit(file = MANIFEST): number {
  const m = /limits:\s*\{[^}]*memory:\s*(\d+)(Mi|Gi)/.exec(readFileSync(file, 'utf8'));
  if (!m) throw new Error(`no memory limit found in ${file}`);
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1) * MiB;
}

/** The node flags V-Kube's container gets there (its NODE_OPTIONS), as a list. */
export function manifestNodeOptions(file = MANIFEST): string[] {
  const m = /- name: NODE_OPTIONS\s*\n\s*value:\s*(.+)/.exec(readFileSync(file, 'utf8'));
  return m ? m[1]!.trim().replace(/^["']|["']$/g, '').split(/\s+/) : [];
}

export function memoryLimit(bytes: number, name: string): MemoryLimit {
  const dir = makeCgroup(bytes, name);
  if (dir) {
    return {
      bytes,
      how: `a memory cgroup of ${bytes / MiB} MiB (${dir.version})`,
      nodeFlags: [],
      wrap: (argv) => ['/bin/sh', '-c', 'echo $$ > "$0" && exec "$@"', join(dir.path, 'cgroup.procs'), ...argv],
      release: () => {
        try {
          rmdirSync(dir.path);
        } catch {
          // still in use, or already gone: the next run's name differs
        }
      },
    };
  }
  const { oldMiB, semiMiB } = v8HeapFor(bytes);
  return {
    bytes,
    how: `the V8 flags Node derives from ${bytes / MiB} MiB (no memory cgroup could be made here)`,
    nodeFlags: [`--max-old-space-size=${oldMiB}`, `--max-semi-space-size=${semiMiB}`],
    wrap: (argv) => argv,
    release: () => {},
  };
}

/**
 * What V8 makes of a memory limit (Heap::HeapSizeFromPhysicalMemory, 64-bit, no pointer
 * compression, as Node 20 builds it): half of it for the old generation (at least
 * 256 MiB), a semi-space of 1/256 of that up to 256 MiB and 1/128 above, within 1–16 MiB.
 * Checked here: under a 512 MiB cgroup and with these flags, the heap limit is 259 MiB.
 */
export function v8HeapFor(bytes: number): { oldMiB: number; semiMiB: number } {
  const oldMiB = Math.max(256, Math.floor(bytes / MiB / 2));
  const semiMiB = Math.min(16, Math.max(1, Math.floor(oldMiB / (oldMiB <= 256 ? 256 : 128))));
  return { oldMiB, semiMiB };
}

/** A memory cgroup below this process's own, limited to `bytes`; undefined when none can be made. */
function makeCgroup(bytes: number, name: string): { path: string; version: string } | undefined {
  let own: string;
  try {
    own = readFileSync('/proc/self/cgroup', 'utf8');
  } catch {
    return undefined;
  }
  const v1 = /^\d+:(?:[^:]*,)?memory(?:,[^:]*)?:(.*)$/m.exec(own)?.[1];
  const v2 = /^0::(.*)$/m.exec(own)?.[1];
  const attempts: Array<{ base: string; limitFile: string; value: string; version: string }> = [];
  if (v1 !== undefined) attempts.push({ base: join('/sys/fs/cgroup/memory', v1), limitFile: 'memory.limit_in_bytes', value: String(bytes), version: 'cgroup v1' });
  if (v2 !== undefined && existsSync('/sys/fs/cgroup/cgroup.controllers')) attempts.push({ base: join('/sys/fs/cgroup', v2), limitFile: 'memory.max', value: String(bytes), version: 'cgroup v2' });
  for (const a of attempts) {
    const path = join(a.base, name);
    try {
      mkdirSync(path);
    } catch {
      continue;
    }
    try {
      writeFileSync(join(path, a.limitFile), a.value);
      return { path, version: a.version };
    } catch {
      try {
        rmdirSync(path);
      } catch {
        // leave it
      }
    }
  }
  return undefined;
}
