/**
 * The load generator: a fixed number of requests in flight (each worker sends its
 * next request as soon as the previous one answers) for a warm-up, then for a
 * measured window. Every request that starts inside the window is timed; throughput
 * is the successful ones over the window. CPU use of the named processes is taken over
 * the window too, so a reader can tell which side was the bottleneck.
 *
 * A phase can be measured in several rounds (interleaved with other phases by the
 * caller, so that all phases see the same background); `combine` merges the rounds.
 */
import { CpuMeter } from './proc.js';
import { type LatencySummary, summarize } from './stats.js';

/** One request (or one logical read made of several). Throws when the answer is wrong. */
export type Operation = (seq: number) => Promise<void>;

export interface LoadOptions {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** Processes whose CPU use is reported, by name. */
  pids?: Record<string, number>;
  /** Called at the window's start; what its `end` returns goes into the result as `server`. */
  probe?: { start(): Promise<void>; end(): Promise<Record<string, number>> };
}

/**
 * A measured window: wall clock (epoch ms), and the monotonic clock in µs, which is the
 * clock V8's CPU profiles use (bench/profile-summary.ts cuts a profile to it).
 */
export interface Window {
  start: number;
  end: number;
  monoStartUs: number;
  monoEndUs: number;
}

/** One round, raw. */
export interface LoadRound {
  latencies: number[];
  errors: number;
  errorSamples: string[];
  windowMs: number;
  cpu: Record<string, number>;
  server: Record<string, number>;
  window: Window;
}

export interface LoadResult {
  requests: number;
  errors: number;
  /** First few distinct error messages. */
  errorSamples: string[];
  /** Measured time, all rounds together. */
  windowMs: number;
  rounds: number;
  throughput: number;
  latency: LatencySummary;
  /** % of one core over the windows, per process. */
  cpu: Record<string, number>;
  /** The server's own figures over the windows (event-loop lag, reconcile passes, …). */
  server: Record<string, number>;
  windows: Window[];
}

export const monoUs = (): number => Number(process.hrtime.bigint() / 1000n);

export async function runLoad(op: Operation, opts: LoadOptions): Promise<LoadRound> {
  const startedAt = performance.now();
  const windowStart = startedAt + opts.warmupMs;
  const windowEnd = windowStart + opts.durationMs;
  const latencies: number[] = [];
  const errorSamples = new Set<string>();
  let errors = 0;
  let seq = 0;
  let meter: CpuMeter | undefined;
  let cpu: Record<string, number> = {};
  // Window edges are marked by timers, so CPU is read at the window's start and end
  // even when a request is slow.
  let probeStarted: Promise<void> | undefined;
  let probeEnded: Promise<Record<string, number>> | undefined;
  const window: Window = { start: 0, end: 0, monoStartUs: 0, monoEndUs: 0 };
  const startTimer = setTimeout(() => {
    window.start = Date.now();
    window.monoStartUs = monoUs();
    meter = new CpuMeter(opts.pids ?? {});
    // The server-side probe is optional: without it the report has client-side figures only ({} below).
    probeStarted = opts.probe?.start().catch(() => {});
  }, Math.max(0, opts.warmupMs));
  const endTimer = setTimeout(() => {
    window.end = Date.now();
    window.monoEndUs = monoUs();
    cpu = meter?.read() ?? {};
    probeEnded = (probeStarted ?? Promise.resolve()).then(() => opts.probe?.end() ?? {}).catch(() => ({}));
  }, opts.warmupMs + opts.durationMs);

  const worker = async () => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= windowEnd) return;
      const measured = t0 >= windowStart;
      try {
        await op(seq++);
        if (measured) latencies.push(performance.now() - t0);
      } catch (err) {
        if (measured) {
          errors++;
          if (errorSamples.size < 5) errorSamples.add((err as Error).message.slice(0, 200));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  clearTimeout(startTimer);
  clearTimeout(endTimer);
  if (Object.keys(cpu).length === 0 && meter) cpu = meter.read();
  const server = (await probeEnded) ?? {};
  return { latencies, errors, errorSamples: [...errorSamples], windowMs: opts.durationMs, cpu, server, window };
}

/** Merges the rounds of one phase: all samples together, CPU weighted by time. */
export function combine(rounds: LoadRound[]): LoadResult {
  const latencies = rounds.flatMap((r) => r.latencies);
  const windowMs = rounds.reduce((s, r) => s + r.windowMs, 0);
  const errors = rounds.reduce((s, r) => s + r.errors, 0);
  const cpu: Record<string, number> = {};
  for (const r of rounds) for (const [k, v] of Object.entries(r.cpu)) cpu[k] = (cpu[k] ?? 0) + (v * r.windowMs) / windowMs;
  for (const k of Object.keys(cpu)) cpu[k] = Math.round(cpu[k]! * 10) / 10;
  const server: Record<string, number> = {};
  const all = (key: string) => rounds.map((r) => r.server[key]).filter((v): v is number => v !== undefined);
  const max = (key: string) => (all(key).length ? Math.max(...all(key)) : undefined);
  const sum = (key: string) => (all(key).length ? all(key).reduce((a, b) => a + b, 0) : undefined);
  const set = (key: string, v: number | undefined) => v !== undefined && (server[key] = v);
  set('eventLoopLagMaxMs', max('eventLoopLagMaxMs'));
  set('eventLoopLagP99Ms', max('eventLoopLagP99Ms'));
  set('reconcilePasses', sum('reconcilePasses'));
  set('majorGcMs', sum('majorGcMs'));
  for (const key of ['heapUsedMiB', 'heapTotalMiB', 'externalMiB']) set(key, all(key).at(-1));
  const passes = rounds.filter((r) => r.server.reconcilePasses);
  if (passes.length) {
    const n = passes.reduce((s, r) => s + r.server.reconcilePasses!, 0);
    set('reconcilePassMeanMs', Math.round(passes.reduce((s, r) => s + (r.server.reconcilePassMeanMs ?? 0) * r.server.reconcilePasses!, 0) / n));
    set('reconcilePassMaxMs', Math.max(...passes.map((r) => r.server.reconcilePassMeanMs ?? 0)));
  }
  return {
    requests: latencies.length + errors,
    errors,
    errorSamples: [...new Set(rounds.flatMap((r) => r.errorSamples))].slice(0, 5),
    windowMs,
    rounds: rounds.length,
    throughput: Math.round((latencies.length / windowMs) * 1000 * 10) / 10,
    latency: summarize(latencies),
    cpu,
    server,
    windows: rounds.map((r) => r.window),
  };
}
