/**
 * The V-Kube process: load the config, open the database (and migrate it), connect to
 * the cluster and fill the watch caches, start the reconcile loop, serve HTTP; on
 * SIGTERM/SIGINT stop taking requests, finish the ones in flight, stop the loop.
 */
import { buildApp } from './app.js';
import { KubeHttp, loadKubeConfig } from './cluster/kube-http.js';
import { KubernetesGateway } from './cluster/kubernetes-gateway.js';
import { ConfigError, loadConfig, redactUrl } from './config.js';
import { createLogger } from './logging.js';
import { OciRegistryClient } from './registry/oci-client.js';
import { createServices } from './services.js';
import { migrateToLatest, openDatabase } from './store/database.js';
import { sqlStores } from './store/stores.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`V-Kube cannot start: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  if (!config.adminToken) log.warn('VKUBE_ADMIN_TOKEN is not set: the admin API refuses every call');

  const { db } = openDatabase(config.databaseUrl);
  const applied = await migrateToLatest(db);
  log.info({ database: redactUrl(config.databaseUrl), applied }, 'database ready');
  const stores = sqlStores(db);
  const { store } = stores;

  const kc = loadKubeConfig(config.kubeconfig);
  const http = await KubeHttp.fromKubeConfig(kc);
  const cluster = new KubernetesGateway({
    http,
    regionLabel: config.regionLabel,
    log: (msg, err) => log.warn({ err: err instanceof Error ? err.message : err }, msg),
  });
  cluster.start();
  log.info({ cluster: cluster.name, server: http.server.origin, kubeconfig: config.kubeconfig ?? '(in-cluster)' }, 'watching the cluster');

  const registry = new OciRegistryClient({ timeoutMs: config.registry.timeoutMs, insecureRegistries: config.registry.insecureRegistries });
  const services = await createServices({ config, stores, cluster, registry, log: log.child({ component: 'reconciler' }) });

  const synced = await cluster.waitForSync(15_000);
  if (!synced) log.warn({ health: cluster.health() }, 'cluster caches not synced yet; serving anyway, /readyz says not ready');
  services.reconciler.start();
  services.eventRecorder.start();

  const app = await buildApp(services, { logger: log });
  await app.listen({ port: config.port, host: config.host });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: finishing requests in flight');
    const force = setTimeout(() => {
      log.error('shutdown took longer than 25 s; exiting');
      process.exit(1);
    }, 25_000);
    force.unref();
    await app.close();
    await services.reconciler.stop();
    await services.eventRecorder.stop();
    await cluster.stop();
    await store.close();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  console.error('V-Kube failed to start:', err);
  process.exit(1);
});
