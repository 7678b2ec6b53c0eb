/**
 * SQLite in WAL mode copies the log back into the database file (a checkpoint) at the
 * commit that takes the log past 1,000 pages, on the connection that commits. With
 * better-sqlite3 that connection runs on V-Kube's event loop, and the copy and its fsync
 * held the loop 10–20 ms on a quiet machine and 20–75 ms under load: at 5,000 pods the
 * usage sampler's tick crossed the threshold several times every 30 s, and the requests
 * waiting behind it made the status route's p99.
 *
 * So the event loop's connection never checkpoints (`wal_autocheckpoint = 0`), and a
 * worker thread with a connection of its own does, every second, PASSIVE: it copies what
 * no reader still needs and never waits for, nor blocks, a reader or a writer. Writers
 * then restart the log from its beginning once it has been copied, so it stays small. If
 * the worker cannot run, the event loop's connection checkpoints again as SQLite does by
 * default: slower at times, never an unbounded log.
 */
import type SQLite from 'better-sqlite3';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** SQLite's own default: the log length at which a commit checkpoints. */
const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;
export const CHECKPOINT_EVERY_MS = 1000;

export interface WalCheckpointer {
  /** Stops the worker (after the checkpoint it may be running); resolves once it has exited. */
  stop(): Promise<void>;
  /** The next checkpoint that copied something new: the log's length and how much of it was copied, in pages. */
  checkpointed(): Promise<{ log: number; checkpointed: number }>;
}

interface WorkerInput {
  driver: string;
  file: string;
  everyMs: number;
}

/**
 * The worker's whole program, run from its source text (`eval`): a file of its own would
 * need the TypeScript loader in the worker when V-Kube runs through tsx. It may use only
 * what it is given: no imports, no closure.
 */
function checkpointLoop(require: NodeJS.Require, input: WorkerInput): void {
  const { parentPort } = require('node:worker_threads') as typeof import('node:worker_threads');
  const Database = require(input.driver) as typeof SQLite;
  const db = new Database(input.file, { fileMustExist: true });
  // Nothing to do (nor to tell) while the log is all copied and no other connection has
  // written since (data_version unchanged): an idle database costs one pragma a second.
  let seenVersion = -1;
  let allCopied = false;
  const timer = setInterval(() => {
    try {
      const version = db.pragma('data_version', { simple: true }) as number;
      if (allCopied && version === seenVersion) return;
      seenVersion = version;
      const [result] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number; checkpointed: number }>;
      allCopied = !!result && result.checkpointed === result.log;
      if (result && result.log > 0) parentPort!.postMessage(result);
    } catch {
      // A busy or locked database: the next tick tries again.
    }
  }, input.everyMs);
  parentPort!.on('message', (message) => {
    if (message !== 'stop') return;
    clearInterval(timer);
    db.close();
    parentPort!.close();
  });
}

export function startWalCheckpointer(database: SQLite.Database, file: string, everyMs = CHECKPOINT_EVERY_MS): WalCheckpointer {
  const input: WorkerInput = { driver: createRequire(import.meta.url).resolve('better-sqlite3'), file, everyMs };
  database.pragma('wal_autocheckpoint = 0');
  const worker = new Worker(`(${checkpointLoop.toString()})(require, require('node:worker_threads').workerData)`, {
    eval: true,
    workerData: input,
    // Its heap holds a timer and a connection.
    resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
  });
  // Never what keeps V-Kube (or a test) running.
  worker.unref();
  let stopping = false;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const fallBack = () => {
    if (database.open) database.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
  };
  // It failed (it could not open the file, say), or it went without being asked to.
  worker.on('error', fallBack);
  worker.once('exit', () => stopping || fallBack());
  return {
    stop() {
      if (!stopping) {
        stopping = true;
        // Whoever waits for it to exit keeps the process up meanwhile.
        worker.ref();
        worker.postMessage('stop');
      }
      return exited;
    },
    checkpointed: () =>
      new Promise((resolve) => {
        worker.ref();
        worker.once('message', (result: { log: number; checkpointed: number }) => {
          worker.unref();
          resolve(result);
        });
      }),
  };
}
