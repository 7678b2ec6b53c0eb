/**
 * What the real-node suites share: the node (or why there is none), the test app
 * image they run on it, plain HTTP to a host port, and what containerd says is there.
 */
import { request } from 'node:http';
import { crictl } from '../../dev/cluster/real-node/node.js';
import { pushTestImage, realNode, type RealNodeHandle, type TestImageSpec } from '../../dev/cluster/testing.js';
import type { TestApp } from './app.js';
import { eventually } from './eventually.js';

export type { RealNodeHandle };

/** The node, or a reason to skip that names what is missing. */
export async function realNodeOrSkip(): Promise<{ node?: RealNodeHandle; skip?: string }> {
  const node = await realNode();
  return node ? { node } : { skip: 'the local cluster has no real node (its config has no "real" region, or it runs without root)' };
}

/**
 * The app every real-node test runs: it says what it sees (its token, environment,
 * files it was asked to show, how often it started on its data volume), serves that at
 * "/" over HTTP, logs each request, and stops at once on SIGTERM.
 */
export const APP_SCRIPT = `#!/bin/sh
set -e
TOKEN="\${1:-$APP_TOKEN}"
PORT="\${PORT:-80}"
mkdir -p /www
echo "token=$TOKEN" > /www/index.html
if [ -n "$DATA_DIR" ]; then
  mkdir -p "$DATA_DIR"
  n=$(cat "$DATA_DIR/starts" 2>/dev/null || echo 0)
  n=$((n + 1))
  echo "$n" > "$DATA_DIR/starts"
  echo "starts=$n" >> /www/index.html
fi
for f in $SHOW_FILES; do
  echo "file $f: $(cat "$f" | tr '\\n' '|')" | tee -a /www/index.html
done
env | grep '^APP_' | sort | sed 's/^/env /' | tee -a /www/index.html
echo "started $TOKEN, serving on $PORT"
trap 'echo "stopping $TOKEN"; exit 0' TERM INT
httpd -f -vv -p "$PORT" -h /www &
wait
`;

/** A tag no other test run uses. */
function uniqueTag(): string {
  return `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** Pushes a test image (busybox plus `spec`) to the node's registry under a tag of its own. */
export async function pushTestImageFor(node: RealNodeHandle, repository: string, spec: TestImageSpec, tag = uniqueTag()) {
  return { ...(await pushTestImage(node.registry, repository, tag, spec)), repository, tag };
}

/** Pushes the app image to the local registry under a tag of its own; returns what to deploy. */
export function pushAppImage(node: RealNodeHandle, repository = 'vkube-test/app', tag = uniqueTag()) {
  return pushTestImageFor(node, repository, { files: { 'app/serve.sh': APP_SCRIPT }, config: { Entrypoint: ['/app/serve.sh'], ExposedPorts: { '80/tcp': {} } } }, tag);
}

/** One GET over a fresh connection; resolves the status and body, or rejects (refused, timeout). */
export function httpGet(url: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      // setEncoding decodes across chunks: a character split between two reads stays whole.
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** The body served at the node's host port, once the container answers there. */
export function served(node: RealNodeHandle, hostPort: number, expect: RegExp, timeoutMs = 60_000): Promise<string> {
  return eventually(
    async () => {
      const res = await httpGet(`http://${node.ip}:${hostPort}/`);
      if (res.status !== 200 || !expect.test(res.body)) throw new Error(`http://${node.ip}:${hostPort}/ answered ${res.status}: ${res.body}`);
      return res.body;
    },
    { timeoutMs, intervalMs: 300 },
  );
}

/** Container ids containerd holds for a namespace's pods: all of them, or only those running. */
export async function containersIn(node: RealNodeHandle, namespace: string, which: 'all' | 'running' = 'all'): Promise<string[]> {
  const out = await crictl(node.layout, ['ps', which === 'all' ? '--all' : '--state=Running', '--quiet', '--label', `io.kubernetes.pod.namespace=${namespace}`]);
  return out.split('\n').filter(Boolean);
}

/** Pod sandboxes containerd holds for a namespace. */
export async function sandboxesIn(node: RealNodeHandle, namespace: string): Promise<string[]> {
  const out = await crictl(node.layout, ['pods', '--quiet', '--namespace', namespace]);
  return out.split('\n').filter(Boolean);
}

/** A host port for a test: distinct per call in this process, clear of reserved and well-known ports. */
let nextPort = 41000 + Math.floor(Math.random() * 8000);
export function testHostPort(): number {
  return nextPort++;
}

/**
 * Orders a test makes and aborts as soon as it is done (their pods go, their host ports
 * free up): the real node's two cores are shared with the other suites running beside.
 */
export function testOrders(app: () => TestApp) {
  const ids: string[] = [];
  return {
    async create(body: Record<string, unknown>) {
      const order = await app().createOrder(body);
      ids.push(order.id);
      return order;
    },
    async abortAll() {
      for (const id of ids.splice(0)) await app().admin('POST', `/api/v1/admin/orders/${id}/abort`);
    },
  };
}
