/**
 * kwok's configuration for the local cluster: its options, the stages in ./stages
 * (how nodes and pods behave), and the default log every pod serves.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const stagesDir = join(dirname(fileURLToPath(import.meta.url)), 'stages');

/** The text every pod's log shows unless a test gives the pod its own (see testing.ts). */
export const DEFAULT_LOG_LINES = [
  'vkube local cluster: container started',
  'vkube local cluster: this log is served by kwok through the Kubernetes log API',
  'vkube local cluster: ready',
];
export const DEFAULT_PREVIOUS_LOG_LINES = ['vkube local cluster: previous run of this container', 'vkube local cluster: exited with code 1'];

/** Formats lines as a CRI container log file, the format kwok reads. */
export function criLog(lines: string[], start = new Date('2026-01-01T00:00:00Z')): string {
  return lines.map((line, i) => `${new Date(start.getTime() + i * 1000).toISOString()} stdout F ${line}\n`).join('');
}

export interface KwokConfigInput {
  state: string;
  cidr: string;
}

/** Writes kwok.yaml and the default log files; returns the config path. */
export async function writeKwokConfig({ state, cidr }: KwokConfigInput): Promise<string> {
  const logs = join(state, 'pod-logs');
  await mkdir(logs, { recursive: true });
  const current = join(logs, 'default.log');
  const previous = join(logs, 'default-previous.log');
  await writeFile(current, criLog(DEFAULT_LOG_LINES));
  await writeFile(previous, criLog(DEFAULT_PREVIOUS_LOG_LINES));

  const options = `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  cidr: ${cidr}
  nodeLeaseDurationSeconds: 40
  nodeLeaseParallelism: 4
  enableDebuggingHandlers: true
  podPlayStageParallelism: 8
  nodePlayStageParallelism: 4
`;
  const clusterLogs = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: vkube-default-logs
spec:
  selector: {}
  logs:
  - logsFile: ${current}
    previousLogsFile: ${previous}
    follow: true
`;
  const stages = await Promise.all(['node.yaml', 'pod.yaml', 'metrics.yaml'].map((f) => readFile(join(stagesDir, f), 'utf8')));
  const path = join(state, 'kwok.yaml');
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, [options, clusterLogs, ...stages].join('\n---\n'));
  return path;
}
