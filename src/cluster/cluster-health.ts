/**
 * One cluster's health from the health of each of its sources (the watch caches and the
 * API heartbeat). Only the essential sources decide whether the cluster can be read and
 * written; an optional one that is down is reported as `degraded` and stops nothing.
 */
import type { ClusterHealth, SourceHealth } from './gateway.js';

export function summarizeHealth(cluster: string, sources: Record<string, SourceHealth>): ClusterHealth {
  const entries = Object.entries(sources);
  const essential = entries.filter(([, s]) => s.essential);
  const broken = essential.filter(([, s]) => !s.live);
  const optionalDown = entries.filter(([, s]) => !s.essential && !s.live);
  const why = (list: Array<[string, SourceHealth]>) => list.map(([n, s]) => `${n}: ${s.lastError ?? (s.synced ? 'watch reconnecting' : 'not synced yet')}`).join('; ');
  return {
    reachable: broken.length === 0,
    synced: essential.every(([, s]) => s.synced),
    ...(broken.length ? { detail: `cluster ${cluster}: ${why(broken)}` } : {}),
    ...(optionalDown.length ? { degraded: `cluster ${cluster}: ${why(optionalDown)}` } : {}),
    sources,
  };
}
