/**
 * Into a running container on the real node, through V-Kube: a one-shot exec's round
 * trip (`POST /api/v1/k8s/pod/exec` running `true`, request sent → answer with its exit
 * code read) and an interactive session's first byte (WebSocket upgrade asked → the
 * shell's prompt on stdout, channel 1). Sequential, one at a time, on a warm container:
 * the time is V-Kube + kube-apiserver's WebSocket translation + kubelet + containerd +
 * runc starting a process, end to end. Target: p99 ≤ 1 s each.
 *
 * The container is an order of its own with half a unit's memory, so half a unit's CPU
 * (250m): an exec'd process runs in the container's cgroup, under its CPU limit, and so
 * does runc's init that starts it (a Go program: tens of milliseconds of CPU). In the
 * deploy benchmark's 64Mi container (31m of CPU) every exec takes about a second for
 * that alone; that is the customer's quota at work, not V-Kube's latency.
 */
import WebSocket from 'ws';
import { call } from './http.js';
import type { PodWatch } from './kube.js';
import { type LatencySummary, summarize } from './stats.js';
import { type Order, type Vkube, abortOrder, createOrder } from './vkube.js';

export interface ExecRound {
  region: string;
  /** The container's memory (of a 1Gi unit) and so its CPU share. */
  container: string;
  oneShot: LatencySummary;
  shellFirstByte: LatencySummary;
}

/** An order of its own on the real node, running `image` with 512Mi of its 1Gi unit (so 250m of CPU). */
export async function measureExecOnOwnOrder(vk: Vkube, watch: PodWatch, region: string, image: string, hostPort: number, count: number, log: (line: string) => void): Promise<ExecRound> {
  const order = await createOrder(vk, region, hostPort);
  try {
    const running = watch.running(order.namespace);
    await call(vk.control, 'POST', '/api/v1/k8s/deploy', {
      headers: { secret: order.secret },
      body: { nodeSelector: { region }, containers: [{ name: 'app', imageName: image, ports: [{ containerPort: 8080, hostPort }], resource: { memory: '512Mi' } }] },
      timeoutMs: 120_000,
    });
    await running;
    // Running is not yet ready for exec everywhere: wait until one goes through.
    for (let i = 0; ; i++) {
      try {
        await oneShot(vk, order);
        break;
      } catch (err) {
        if (i > 50) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    return { ...(await measureExec(vk, order, region, count, log)), container: '512Mi of a 1Gi unit: 250m CPU' };
  } finally {
    await abortOrder(vk, order);
  }
}

async function measureExec(vk: Vkube, order: Order, region: string, count: number, log: (line: string) => void): Promise<Omit<ExecRound, 'container'>> {
  // The first exec of a container pays for things later ones do not (the API server's first
  // connection to the kubelet): one of each, unmeasured.
  await oneShot(vk, order);
  await shellFirstByte(vk, order);
  const oneShots: number[] = [];
  const firstBytes: number[] = [];
  for (let i = 0; i < count; i++) {
    // Alternating, so a slow patch of the machine hits both alike.
    oneShots.push(await oneShot(vk, order));
    firstBytes.push(await shellFirstByte(vk, order));
  }
  const round = { region, oneShot: summarize(oneShots), shellFirstByte: summarize(firstBytes) };
  log(`  one-shot exec: p50 ${round.oneShot.p50Ms} ms, p99 ${round.oneShot.p99Ms} ms; interactive first byte: p50 ${round.shellFirstByte.p50Ms} ms, p99 ${round.shellFirstByte.p99Ms} ms (${count} each)`);
  return round;
}

async function oneShot(vk: Vkube, order: Order): Promise<number> {
  const started = performance.now();
  const res = await call<{ exitCode: number | null; message?: string }>(vk.control, 'POST', '/api/v1/k8s/pod/exec', { headers: { secret: order.secret }, body: { command: ['true'] } });
  const ms = performance.now() - started;
  if (res.exitCode !== 0) throw new Error(`one-shot exec answered exit code ${res.exitCode}: ${res.message ?? ''}`);
  return ms;
}

function shellFirstByte(vk: Vkube, order: Order): Promise<number> {
  const url = `${vk.url.replace(/^http/, 'ws')}/api/v1/k8s/pod/exec?command=sh&stdin=true&tty=true`;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const ws = new WebSocket(url, ['v5.channel.k8s.io'], { headers: { secret: order.secret }, perMessageDeflate: false });
    const timer = setTimeout(() => (ws.terminate(), reject(new Error('no output from the interactive session within 10 s'))), 10_000);
    ws.on('message', (m: Buffer) => {
      if (m[0] !== 1 || m.length < 2) return;
      const ms = performance.now() - started;
      clearTimeout(timer);
      // Leave the shell as a user would, with `exit`: a shell on a terminal does not end with its
      // input or its stream (see the README, "When a session ends"), and each left behind would
      // stay in the container for the rest of the run.
      ws.send(Buffer.from([0, ...Buffer.from('exit\r')]), () => ws.close());
      resolve(ms);
    });
    ws.on('unexpected-response', (_req, res) => (clearTimeout(timer), reject(new Error(`interactive exec refused: HTTP ${res.statusCode}`))));
    ws.on('error', (err) => (clearTimeout(timer), reject(err)));
  });
}
