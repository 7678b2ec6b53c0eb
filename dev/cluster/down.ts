/**
 * `npm run cluster:down`: stops every process `cluster:up` started (by its recorded
 * pid), checks that their ports are free again, and removes the state directory
 * unless `--keep` is given.
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Ports, stateDir } from './config.js';
import { portIsFree, readRecords, stopProcess } from './processes.js';
import { PROCESS_ORDER } from './up.js';
import { ClusterError, sleep } from './util.js';

export async function down(opts: { keep?: boolean; log?: (line: string) => void } = {}): Promise<void> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const state = stateDir();
  if (!existsSync(state)) {
    log('no local cluster here (nothing to stop)');
    return;
  }
  const saved = await readFile(join(state, 'cluster.json'), 'utf8')
    .then((t) => (JSON.parse(t) as { ports: Ports }).ports)
    .catch(() => undefined);
  const records = await readRecords(state);
  const rank = (name: string) => PROCESS_ORDER.indexOf(name as (typeof PROCESS_ORDER)[number]);
  // Stop in reverse start order: kwok and the controllers before the apiserver, etcd last.
  records.sort((a, b) => rank(b.name) - rank(a.name));
  for (const rec of records) {
    await stopProcess(state, rec);
    log(`stopped ${rec.name} (pid ${rec.pid})`);
  }
  if (saved) {
    const busy: number[] = [];
    for (const port of Object.values(saved)) {
      let free = await portIsFree(port);
      for (let i = 0; !free && i < 50; i++) {
        await sleep(100);
        free = await portIsFree(port);
      }
      if (!free) busy.push(port);
    }
    if (busy.length) throw new ClusterError(`ports still in use after stopping the cluster: ${busy.join(', ')}`, `find the owner with ss -ltnp and stop it`);
  }
  if (!opts.keep) {
    await rm(state, { recursive: true, force: true });
    log(`removed ${state}`);
  }
}
