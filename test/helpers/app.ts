/**
 * A real V-Kube for integration tests: real SQLite file (or the PostgreSQL named by
 * TEST_DATABASE_URL when asked), the real local cluster, the real registry client.
 * Each test file builds its own and calls it through `inject`.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../src/app.js';
import { KubeHttp } from '../../src/cluster/kube-http.js';
import { KubernetesGateway } from '../../src/cluster/kubernetes-gateway.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { Clock } from '../../src/kernel/clock.js';
import { OciRegistryClient, type OciRegistryClientOptions } from '../../src/registry/oci-client.js';
import type { ImageRegistry } from '../../src/registry/types.js';
import { type Services, createServices } from '../../src/services.js';
import { migrateToLatest, openDatabase } from '../../src/store/database.js';
import { sqlStores } from '../../src/store/stores.js';
import { vkubeKubeconfig } from '../../dev/cluster/testing.js';
import { OFFLINE_DOCKER_HUB, TEST_REGISTRIES } from './offline.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestApp {
  app: FastifyInstance;
  services: Services;
  config: Config;
  /** Creates an order through the admin API; returns its secret and id. */
  createOrder(body?: Record<string, unknown>): Promise<{ secret: string; id: string; token: string }>;
  /** Aborts every order this app created (their namespaces go, their ports free up) and closes everything. */
  close(): Promise<void>;
  tenant(secret: string): TenantClient;
  admin(method: string, url: string, payload?: unknown): Promise<LightMyRequestResponse>;
}

export interface TenantClient {
  get(url: string, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  post(url: string, payload?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  request(method: string, url: string, payload?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  clock?: Clock;
  registry?: ImageRegistry;
  /** Hears what the default registry client logs (refused checks, private registries' errors). */
  registryLog?: OciRegistryClientOptions['log'];
  /** Start the periodic reconcile passes (off by default: tests drive them). The work queue runs whenever the app leads. */
  reconcileLoop?: boolean;
  /** Whether this app is the reconcile leader (default) or a replica that only records and waits (another app leads). */
  leader?: boolean;
}

export async function startTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const dir = await mkdtemp(join(tmpdir(), 'vkube-test-'));
  const config = loadConfig({
    DATABASE_URL: `sqlite:${join(dir, 'vkube.db')}`,
    KUBECONFIG: await vkubeKubeconfig(),
    VKUBE_ADMIN_TOKEN: ADMIN_TOKEN,
    VKUBE_REGISTRY_TIMEOUT_MS: '2000',
    LOG_LEVEL: 'silent',
    // Tests drive hundreds of requests from one address; the limits have their own tests.
    VKUBE_RATE_LIMIT_RPS: '0',
    VKUBE_LOCKOUT_FAILURES: '0',
    VKUBE_REGISTRY_MIRRORS: OFFLINE_DOCKER_HUB,
    VKUBE_PRIVATE_REGISTRIES: TEST_REGISTRIES,
    ...opts.env,
  });
  const { db, orderWrites } = openDatabase(config.databaseUrl, config.database);
  await migrateToLatest(db);
  const stores = sqlStores(db, orderWrites);
  const { store } = stores;
  const cluster = new KubernetesGateway({
    http: await KubeHttp.connect(config.kubeconfig, { sockets: { stream: config.kube.streamSockets } }),
    regionLabel: config.regionLabel,
    heartbeatMs: config.kube.heartbeatMs,
    watchStallMs: config.kube.watchStallMs,
  });
  cluster.start();
  if (!(await cluster.waitForSync(30_000))) throw new Error(`cluster caches did not sync: ${JSON.stringify(cluster.health())}`);
  const registry =
    opts.registry ??
    new OciRegistryClient({
      timeoutMs: config.registry.timeoutMs,
      retries: 0,
      mirrors: config.registry.mirrors,
      privateRegistries: config.registry.privateRegistries,
      clusterAddresses: () => cluster.nodeAddresses(),
      ...(opts.registryLog ? { log: opts.registryLog } : {}),
    });
  const quiet = { info() {}, warn() {}, error() {} };
  const follower = { isLeader: () => false, writeWindowMs: () => 0 };
  const services = await createServices({ config, stores, cluster, registry, log: quiet, ...(opts.clock ? { clock: opts.clock } : {}), ...(opts.leader === false ? { leadership: follower } : {}) });
  if (opts.leader !== false) services.reconciler.start({ periodicPasses: opts.reconcileLoop ?? false });
  services.eventRecorder.start();
  const app = await buildApp(services);
  const created: string[] = [];

  const admin = (method: string, url: string, payload?: unknown) =>
    app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });

  return {
    app,
    services,
    config,
    admin,
    async createOrder(body = {}) {
      const res = await admin('POST', '/api/v1/admin/orders', { duration: 24, serviceOptions: { resourceUnit: '2-Unit-Resource' }, ...body });
      if (res.statusCode !== 201) throw new Error(`create order: ${res.statusCode} ${res.body}`);
      const json = res.json<{ secret: string; token: string; order: { id: string } }>();
      created.push(json.order.id);
      return { secret: json.secret, id: json.order.id, token: json.token };
    },
    tenant(secret: string): TenantClient {
      const request = (method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) =>
        app.inject({ method: method as 'GET', url, headers: { secret, ...headers }, ...(payload !== undefined ? { payload: payload as object } : {}) });
      return { request, get: (url, headers) => request('GET', url, undefined, headers), post: (url, payload, headers) => request('POST', url, payload ?? {}, headers) };
    },
    async close() {
      // Aborted while this app still leads, so its reconciler deletes their namespaces.
      for (const id of created) {
        // Cleanup: an order the test already ended answers 409, and the close must go on regardless.
        await admin('POST', `/api/v1/admin/orders/${id}/abort`).catch(() => {});
      }
      await services.reconciler.stop();
      await services.eventRecorder.stop();
      await app.close();
      await cluster.stop();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The seed's deploy body, with the given host port and memory. */
export function seedDeployBody(hostPort: number, memory = '100Mi', region = 'ausrine'): Record<string, unknown> {
  return {
    nodeSelector: { region },
    containers: [
      {
        name: 'container1',
        imageName: 'nginx',
        ports: [{ containerPort: 80, hostPort }],
        resource: { memory },
        command: '/bin/sh\n-c\ntail -f /dev/null',
        args: '--vm\n1',
      },
    ],
  };
}

/** The seed's deploy body of one container running `imageName`, on the given host port. */
export function seedDeployOfImage(imageName: string, hostPort: number): Record<string, unknown> {
  const body = seedDeployBody(hostPort) as { containers: Array<Record<string, unknown>> };
  body.containers[0]!.imageName = imageName;
  return body;
}
