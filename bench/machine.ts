/** What the figures were measured on and with: machine, software versions, V-Kube's commit. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { repoRoot } from '../dev/cluster/config.js';
import { versions } from '../dev/cluster/versions.js';

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  kernel: string;
  node: string;
  /** 1-minute load average when the run started (other work on the machine shows here). */
  loadAverageAtStart: number;
}

export interface Versions {
  kubernetes: string;
  etcd: string;
  kwok: string;
  vkubeCommit: string;
  /** Files changed in the working tree against that commit (the run measures the tree). */
  vkubeUncommittedFiles: number;
  /** sha256 (12 hex) of `git diff HEAD`: tells two runs of the same dirty tree apart. */
  vkubeDiffDigest: string;
}

export function describeMachine(): Machine {
  let os = 'unknown';
  try {
    os = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os;
  } catch {
    // not Linux, or no os-release
  }
  return {
    cpuModel: cpuModel(),
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os,
    kernel: release(),
    node: process.version,
    loadAverageAtStart: Math.round(loadavg()[0]! * 100) / 100,
  };
}

/** `lscpu` names virtual CPUs better than /proc/cpuinfo does on some hypervisors. */
function cpuModel(): string {
  const fromOs = cpus()[0]?.model?.trim();
  if (fromOs) return fromOs;
  try {
    return /^Model name:\s+(.+)$/m.exec(execFileSync('lscpu', { encoding: 'utf8' }))?.[1]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function describeVersions(): Versions {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  // --no-optional-locks: a status that never refreshes (writes) the index.
  const status = git('--no-optional-locks', 'status', '--porcelain', '--untracked-files=no');
  return {
    kubernetes: versions.kubernetes,
    etcd: versions.etcd,
    kwok: versions.kwok,
    vkubeCommit: git('rev-parse', 'HEAD') || 'unknown',
    vkubeUncommittedFiles: status ? status.split('\n').length : 0,
    vkubeDiffDigest: createHash('sha256').update(git('--no-optional-locks', 'diff', 'HEAD')).digest('hex').slice(0, 12),
  };
}

export function loadAverageNow(): number {
  return Math.round(loadavg()[0]! * 100) / 100;
}
