/**
 * Where a V8 CPU profile spent its time: the functions with the most self time, and
 * the most inclusive time, optionally only within one window of a bench run.
 *
 *   npx tsx bench/profile-summary.ts bench/out/profiles/CPU.*.cpuprofile
 *   npx tsx bench/profile-summary.ts <profile> --phase "status@5000"   # its windows, from bench/out/report.json
 *   npx tsx bench/profile-summary.ts <profile> --phase "deploys@100"   # a deploy round
 *   npx tsx bench/profile-summary.ts <profile> --phase "rest@5000"     # the 15 s without load after the reads
 *   npx tsx bench/profile-summary.ts <profile> --from <µs> --to <µs>     # monotonic clock, as in report.json
 *   npx tsx bench/profile-summary.ts <profile> --focus reconcileAll      # only stacks through that function
 *   npx tsx bench/profile-summary.ts <profile> --phase "status@5000" --blocks 10
 *                                # the tasks that held the event loop ≥ 10 ms, and in what
 *
 * Profiles come from `npm run bench -- --profile` (V-Kube runs with --cpu-prof).
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from '../dev/cluster/config.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function main(): void {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--') && !isFlagValue(args, a));
  if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [--phase "<phase>@<pods>" | --from <µs> --to <µs>] [--top 25] [--focus <function> | --blocks <ms>]');
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  let windows: Array<[number, number]> = [[Number(flag('--from') ?? -Infinity), Number(flag('--to') ?? Infinity)]];
  const phase = flag('--phase');
  if (phase) {
    const [name, pods] = phase.split('@');
    type W = { monoStartUs: number; monoEndUs: number };
    const report = JSON.parse(readFileSync(join(repoRoot, 'bench', 'out', 'report.json'), 'utf8')) as {
      scales: Array<{ pods: number; reads: Record<string, { windows: W[] }>; cpuAtRest?: { window: W } }>;
      deploys: Array<{ atPods: number; window: W }>;
    };
    const found: W[] | undefined =
      name === 'deploys'
        ? report.deploys.filter((d) => d.atPods === Number(pods)).map((d) => d.window)
        : name === 'rest'
          ? [report.scales.find((s) => s.pods === Number(pods))?.cpuAtRest?.window].filter((w): w is W => w !== undefined)
          : report.scales.find((s) => s.pods === Number(pods))?.reads[name!]?.windows;
    if (!found?.length) throw new Error(`no phase "${name}" at ${pods} pods in bench/out/report.json`);
    windows = found.map((w) => [w.monoStartUs, w.monoEndUs]);
  }
  const top = Number(flag('--top') ?? 25);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const blocks = flag('--blocks');
  if (blocks !== undefined) longBlocks(profile, windows, Number(blocks), top);
  else summarize(profile, windows, top, flag('--focus'));
}

function isFlagValue(args: string[], a: string): boolean {
  const i = args.indexOf(a);
  return i > 0 && args[i - 1]!.startsWith('--');
}

function summarize(profile: CpuProfile, windows: Array<[number, number]>, top: number, focus?: string): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let t = profile.startTime;
  let total = 0;
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (!windows.some(([from, to]) => t >= from && t <= to)) continue;
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const node = byId.get(profile.samples[i]!)!;
    if (focus && !onStack(node.id, focus, byId, parent)) continue;
    total += dt;
    const name = label(node);
    if (node.callFrame.functionName === '(idle)') idle += dt;
    self.set(name, (self.get(name) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const l = label(byId.get(id)!);
      if (seen.has(l)) continue;
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + dt);
    }
  }
  const busy = total - idle;
  console.log(`window ${(total / 1e6).toFixed(2)} s sampled, busy ${(busy / 1e6).toFixed(2)} s (${Math.round((busy / Math.max(total, 1)) * 100)}%)`);
  const print = (title: string, m: Map<string, number>) => {
    console.log(`\n${title} (% of busy time)`);
    for (const [name, us] of [...m].filter(([n]) => !/^\((idle|root|program)\)/.test(n)).sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${((us / Math.max(busy, 1)) * 100).toFixed(1).padStart(6)}%  ${name}`);
    }
  };
  print('self time', self);
  print('inclusive time', inclusive);
}

/**
 * The tasks that held the event loop for at least `minMs`: runs of consecutive samples
 * under the same child of the profile's root (one macrotask: a timer, an immediate, an
 * I/O callback, a garbage collection), with the deepest frame they all share, which names
 * what held the loop, and their hottest self frames. A loaded server's loop is never idle,
 * so busy time alone does not separate tasks; the stack's root does.
 */
function longBlocks(profile: CpuProfile, windows: Array<[number, number]>, minMs: number, top: number): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const rootId = profile.nodes[0]!.id;
  const path = (id: number) => {
    const out: number[] = [];
    for (let at: number | undefined = id; at !== undefined && at !== rootId; at = parent.get(at)) out.push(at);
    return out.reverse();
  };
  type Run = { startUs: number; us: number; paths: number[][] };
  const runs: Run[] = [];
  let current: Run | undefined;
  let currentTask: number | undefined;
  let t = profile.startTime;
  const close = () => {
    if (current && current.us >= minMs * 1000) runs.push(current);
    current = undefined;
    currentTask = undefined;
  };
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const p = path(profile.samples[i]!);
    const task = p[0];
    const name = task === undefined ? '' : byId.get(task)!.callFrame.functionName;
    if (!windows.some(([from, to]) => t >= from && t <= to) || task === undefined || name === '(idle)' || name === '(program)') {
      close();
      continue;
    }
    if (task !== currentTask) {
      close();
      current = { startUs: t, us: 0, paths: [] };
      currentTask = task;
    }
    current!.us += dt;
    current!.paths.push(p);
  }
  close();
  const total = runs.reduce((s, r) => s + r.us, 0);
  console.log(`${runs.length} tasks held the loop ≥ ${minMs} ms: ${(total / 1000).toFixed(1)} ms in all`);
  for (const r of runs.sort((a, b) => b.us - a.us).slice(0, top)) {
    let shared = r.paths[0]!;
    for (const p of r.paths) {
      let k = 0;
      while (k < shared.length && k < p.length && shared[k] === p[k]) k++;
      shared = shared.slice(0, k);
    }
    const selfMs = new Map<string, number>();
    for (const p of r.paths) {
      const l = label(byId.get(p[p.length - 1]!)!);
      selfMs.set(l, (selfMs.get(l) ?? 0) + r.us / r.paths.length);
    }
    const hot = [...selfMs].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([l, us]) => `${(us / 1000).toFixed(1)} ms ${l}`);
    console.log(`\n${(r.us / 1000).toFixed(1)} ms at ${((r.startUs - profile.startTime) / 1e6).toFixed(2)} s`);
    console.log(`  held by: ${shared.slice(-3).reverse().map((id) => label(byId.get(id)!)).join('  <  ') || '(several)'}`);
    for (const h of hot) console.log(`  self: ${h}`);
  }
}

function onStack(id: number, fn: string, byId: Map<number, ProfileNode>, parent: Map<number, number>): boolean {
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) if (byId.get(at)!.callFrame.functionName === fn) return true;
  return false;
}

function label(n: ProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame;
  if (!url) return `(${functionName.replace(/^\(|\)$/g, '') || 'anonymous'})`;
  const path = url.startsWith('file://') ? relative(repoRoot, new URL(url).pathname) : url;
  return `${functionName || '(anonymous)'}  ${path}:${lineNumber + 1}`;
}

main();
