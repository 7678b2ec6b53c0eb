/** What Linux says about a process: resident memory and CPU time, from /proc. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Memory {
  /** VmRSS: resident now, MiB. */
  rssMiB: number;
  /** VmHWM: the most resident so far, MiB. */
  peakMiB: number;
  /**
   * Resident in the C allocator's main heap (the `[heap]` mapping of /proc/<pid>/smaps), MiB:
   * what Node, SQLite and Buffers allocate on the main thread. It keeps the holes that freed
   * memory leaves between blocks still in use, where V8 compacts its own heap.
   */
  mallocHeapMiB?: number;
}

export function memoryOf(pid: number): Memory | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    const heap = mallocHeapKiB(pid);
    return { rssMiB: round1(kib('VmRSS') / 1024), peakMiB: round1(kib('VmHWM') / 1024), ...(heap !== undefined ? { mallocHeapMiB: round1(heap / 1024) } : {}) };
  } catch {
    return undefined;
  }
}

/** The Rss of the `[heap]` mapping, KiB (undefined where smaps cannot be read). */
function mallocHeapKiB(pid: number): number | undefined {
  try {
    const smaps = readFileSync(`/proc/${pid}/smaps`, 'utf8');
    const at = smaps.indexOf(' [heap]\n');
    if (at < 0) return 0;
    return Number(/^Rss:\s+(\d+) kB/m.exec(smaps.slice(at))?.[1] ?? NaN);
  } catch {
    return undefined;
  }
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU seconds a process has used so far (undefined when it is gone). */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return undefined;
  }
}

/** CPU seconds the whole machine has been busy (all cores, anything but idle and iowait). */
export function machineBusySeconds(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / clockTicks();
  } catch {
    return undefined;
  }
}

/**
 * CPU use of some processes over a stretch of time, in % of one core; plus `other`:
 * what the rest of the machine used meanwhile (other people's work on a shared host).
 */
export class CpuMeter {
  private readonly start = new Map<string, number>();
  private readonly startedAt = performance.now();
  private readonly selfStart = process.cpuUsage();
  private readonly machineStart = machineBusySeconds();

  constructor(private readonly pids: Record<string, number>) {
    for (const [name, pid] of Object.entries(pids)) {
      const s = cpuSecondsOf(pid);
      if (s !== undefined) this.start.set(name, s);
    }
  }

  /** `{ vkube: 93.1, 'kube-apiserver': 40.2, 'load generator': 61.0, other: 80.3, … }` */
  read(): Record<string, number> {
    const seconds = (performance.now() - this.startedAt) / 1000;
    return Object.fromEntries(Object.entries(this.usedSeconds()).map(([name, s]) => [name, round1((s / seconds) * 100)]));
  }

  /**
   * CPU seconds each process used since the meter started, the bench itself as
   * `load generator`, the rest of the machine as `other`. Linux counts in clock ticks
   * (10 ms): over a stretch of tens of ms, only a mean over many stretches means much.
   */
  usedSeconds(): Record<string, number> {
    const out: Record<string, number> = {};
    let ours = 0;
    for (const [name, pid] of Object.entries(this.pids)) {
      const before = this.start.get(name);
      const now = cpuSecondsOf(pid);
      if (before === undefined || now === undefined) continue;
      out[name] = now - before;
      ours += now - before;
    }
    const self = process.cpuUsage(this.selfStart);
    out['load generator'] = (self.user + self.system) / 1e6;
    ours += out['load generator'];
    const machineNow = machineBusySeconds();
    if (this.machineStart !== undefined && machineNow !== undefined) out.other = Math.max(0, machineNow - this.machineStart - ours);
    return out;
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
