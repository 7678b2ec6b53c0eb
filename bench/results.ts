/** The shape of a run's results: what report.json holds and report.md is rendered from. */
import type { TwoClusterRound } from './two-clusters.js';
import type { ExecRound } from './exec.js';
import type { DeployRound } from './deploys.js';
import type { LoadResult, Window } from './load.js';
import type { Machine, Versions } from './machine.js';
import type { Params } from './params.js';
import type { Memory } from './proc.js';
import type { ReadPhase } from './reads.js';

export interface ScaleResult {
  /** Running bench pods (one per order) during the read phases. */
  pods: number;
  /** Orders in V-Kube's database then (the population, plus aborted ones of deploy rounds). */
  ordersInDatabase: number;
  populate: { created: number; deploySeconds: number; runningSeconds: number };
  reads: Record<ReadPhase, LoadResult>;
  /** V-Kube's memory once the population was Running, and after the read phases. */
  memoryAfterPopulate: Memory | undefined;
  memoryAfterReads: Memory | undefined;
  /**
   * And after REST_MS of no load: what it holds for the population, once V8 has collected
   * (its memory reducer runs when allocation stops); the difference is garbage-collector slack.
   */
  memoryAtRest?: Memory | undefined;
  /**
   * CPU over those REST_MS without load (% of one core, per process): what the population
   * costs V-Kube in the background (reconcile passes, resyncs, watch events), which every
   * read phase's "server CPU per request" carries too. Its window cuts a CPU profile to it.
   */
  cpuAtRest?: { cpu: Record<string, number>; window: Window } | undefined;
}

export interface TargetResult {
  id: string;
  target: string;
  measured: string;
  met: boolean;
  /** How far from the target: "+12% over", "3.1× the allowed", … */
  margin: string;
}

export interface RunResult {
  mode: Params['mode'];
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  /** Seconds spent per stage (cluster up, V-Kube start, each scale, deploy rounds, …). */
  stages: Record<string, number>;
  machine: Machine & { loadAverageAtEnd: number };
  versions: Versions;
  parameters: Params & { image: string; vkubeStartSeconds: number; clusterUpSeconds: number };
  /** V-Kube's memory once ready, before any order existed. */
  memoryAtStart: Memory | undefined;
  scales: ScaleResult[];
  deploys: DeployRound[];
  /** Deploys of real containers on the real node (absent when the cluster has none). */
  realDeploys?: DeployRound;
  /** Exec into the real node's container: one-shot round trip, interactive first byte. */
  exec?: ExecRound;
  /** The reads with one cluster and with two behind V-Kube, on the last scale's population. */
  twoClusters?: TwoClusterRound;
  targets: TargetResult[];
  notes: string[];
}
