/**
 * Growing the population: orders created through the admin API and deployed with the
 * seed deploy call, `parallel` at a time, each holding its own host port; then wait
 * until every one of them has a Running pod.
 */
import type { PodWatch } from './kube.js';
import { type Order, type Vkube, createOrder, deploy } from './vkube.js';

/** Host ports of populated orders: 20000 + index (below the NodePort range). */
export const POPULATION_PORT_BASE = 20000;

export interface PopulateResult {
  created: number;
  deployMs: number;
  runningMs: number;
}

export async function populate(opts: {
  vk: Vkube;
  watch: PodWatch;
  orders: Order[];
  target: number;
  parallel: number;
  region: string;
  image: string;
  log: (line: string) => void;
}): Promise<PopulateResult> {
  const { vk, watch, orders, target } = opts;
  const from = orders.length;
  const namespaces = new Set(orders.map((o) => o.namespace));
  const started = performance.now();
  let next = from;
  let done = 0;
  let lastReport = performance.now();
  const worker = async () => {
    while (next < target) {
      const index = next++;
      const order = await retry(() => createOrder(vk, opts.region, POPULATION_PORT_BASE + index));
      await retry(() => deploy(vk, order, opts.region, opts.image));
      orders[index] = order;
      namespaces.add(order.namespace);
      done++;
      if (performance.now() - lastReport > 5000) {
        lastReport = performance.now();
        opts.log(`    deployed ${from + done}/${target} (${watch.countRunning(namespaces)} Running)`);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.parallel }, worker));
  const deployMs = performance.now() - started;
  opts.log(`    ${target - from} deploys accepted in ${(deployMs / 1000).toFixed(1)} s; waiting for Running pods`);

  await new Promise<void>((resolve, reject) => {
    let lastCount = -1;
    let lastProgress = performance.now();
    const check = () => {
      const running = watch.countRunning(namespaces);
      if (running >= target) {
        clearInterval(timer);
        resolve();
        return;
      }
      if (running !== lastCount) {
        lastCount = running;
        lastProgress = performance.now();
      } else if (performance.now() - lastProgress > 180_000) {
        clearInterval(timer);
        reject(new Error(`stuck at ${running}/${target} Running pods for 3 minutes`));
      }
      if (performance.now() - lastReport > 5000) {
        lastReport = performance.now();
        opts.log(`    ${running}/${target} Running`);
      }
    };
    const timer = setInterval(check, 250);
  });
  return { created: target - from, deployMs, runningMs: performance.now() - started };
}

/** The cluster is busy while thousands of pods start: retry a failed call a few times. */
async function retry<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 500 * i));
    }
  }
}
