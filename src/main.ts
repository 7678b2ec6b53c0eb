/**
 * The V-Kube process: load the config, open the database (and migrate it), connect to
 * the cluster and fill the watch caches, start the reconcile loop, serve HTTP; on
 * SIGTERM/SIGINT stop taking requests, finish the ones in flight, stop the loop.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { buildApp } from './app.js';
import { KubeHttp } from './cluster/kube-http.js';
import { KubernetesGateway } from './cluster/kubernetes-gateway.js';
import { LeaderElector } from './cluster/leader-election.js';
import { type Leadership, soleWriter } from './domain/leadership.js';
import { ClusterSet } from './cluster/cluster-set.js';
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

  const { db, dialect, orderWrites } = openDatabase(config.databaseUrl, config.database);
  // PostgreSQL migrations get a connection of their own without the statement timeout:
  // building an index on a large table may take longer than any request should.
  const migrationDb = dialect === 'postgres' ? openDatabase(config.databaseUrl, { poolSize: 1, statementTimeoutMs: 0, connectTimeoutMs: config.database.connectTimeoutMs }).db : db;
  const applied = await migrateToLatest(migrationDb).finally(() => (migrationDb === db ? undefined : migrationDb.destroy()));
  log.info({ database: redactUrl(config.databaseUrl), applied }, 'database ready');
  const stores = sqlStores(db, orderWrites);
  const { store } = stores;

  // The replica's name in the API server's audit log: who wrote what, when.
  const connect = async (source: { kubeconfig: string | undefined; context?: string; name?: string }) => {
    const http = await KubeHttp.connect(source.kubeconfig, {
      userAgent: `vkube/${config.leaderElection.identity}`,
      sockets: { stream: config.kube.streamSockets },
      ...(source.context ? { context: source.context } : {}),
      ...(source.name ? { name: source.name } : {}),
    });
    const gateway = new KubernetesGateway({
      http,
      ...(source.name ? { name: source.name } : {}),
      regionLabel: config.regionLabel,
      heartbeatMs: config.kube.heartbeatMs,
      watchStallMs: config.kube.watchStallMs,
      log: (msg, err) => log.warn({ err: err instanceof Error ? err.message : err }, msg),
    });
    log.info({ cluster: gateway.name, server: http.server.origin, kubeconfig: source.kubeconfig ?? '(in-cluster)', ...(source.context ? { context: source.context } : {}) }, 'watching the cluster');
    return { http, gateway };
  };
  // One KUBECONFIG (the default), or several clusters, each a gateway of its own.
  const members = config.clusters.length > 0 ? await Promise.all(config.clusters.map((c) => connect(c))) : [await connect({ kubeconfig: config.kubeconfig })];
  const cluster = members.length === 1 && config.clusters.length === 0 ? members[0]!.gateway : new ClusterSet(members.map((m) => m.gateway), (msg) => log.error(msg));
  cluster.start();

  const apiServer = (await Promise.all(members.map((m) => addressesOf(m.http.server.hostname)))).flat();
  const registry = new OciRegistryClient({
    timeoutMs: config.registry.timeoutMs,
    insecureRegistries: config.registry.insecureRegistries,
    mirrors: config.registry.mirrors,
    privateRegistries: config.registry.privateRegistries,
    clusterAddresses: () => [...cluster.nodeAddresses(), ...apiServer],
    log: ({ message, image, detail }) => log.warn({ image, detail }, message),
  });
  if (Object.keys(config.registry.mirrors).length > 0) log.info({ mirrors: config.registry.mirrors }, 'image checks ask these registry mirrors');
  if (config.registry.privateRegistries.length > 0) log.info({ privateRegistries: config.registry.privateRegistries }, 'image checks may contact these private addresses');
  // One Lease per cluster, in that cluster: its holder alone writes there, so one
  // cluster's Lease trouble stops only that cluster's writes. This replica runs the
  // reconcile loop (and the other leader work) while it holds any of them.
  const electors = new Map<string, LeaderElector>();
  const leads = (name: string): Leadership => ({
    isLeader: () => electors.get(name)?.isLeader ?? false,
    writeWindowMs: () => electors.get(name)?.writeWindowMs() ?? 0,
    nextRenewal: (ms) => electors.get(name)?.nextRenewal(ms) ?? Promise.resolve(false),
  });
  const leadsAny: Leadership = {
    isLeader: () => [...electors.values()].some((e) => e.isLeader),
    writeWindowMs: () => Math.max(0, ...[...electors.values()].map((e) => e.writeWindowMs())),
  };
  const election = config.leaderElection.enabled;
  const services = await createServices({
    config,
    stores,
    cluster,
    registry,
    log: log.child({ component: 'reconciler' }),
    // Until the electors exist nothing leads; without election this process is the one writer.
    leadership: !election ? soleWriter : cluster instanceof ClusterSet ? leadsAny : leads(cluster.name),
    ...(election && cluster instanceof ClusterSet ? { clusterLeadership: leads } : {}),
  });

  const synced = await cluster.waitForSync(15_000);
  if (!synced) log.warn({ health: cluster.health() }, 'cluster caches not synced yet; serving anyway, /readyz says not ready');
  if (cluster instanceof ClusterSet) {
    // A region in two clusters could not be routed: refuse to start rather than guess.
    const { conflicts } = cluster.regionOwners();
    if (conflicts.size > 0) {
      const which = [...conflicts].map(([region, names]) => `region ${region} is in clusters ${names.join(' and ')}`).join('; ');
      console.error(`V-Kube cannot start: ${which}; each region must be in one cluster only (VKUBE_REGION_LABEL=${config.regionLabel})`);
      process.exit(2);
    }
    log.info({ regions: Object.fromEntries([...cluster.regionOwners().map].map(([r, c]) => [r, c.name])) }, 'regions by cluster');
  }

  // Every replica serves the API; only the leader runs the reconcile loop, records events, prunes the audit log, delivers notifications and samples usage.
  // The leader's work. The reconcile loop runs while this replica holds any cluster's
  // Lease (each cluster's writes fenced by its own). The work of the whole installation —
  // recording pod events, pruning the audit log, pod notices, delivering webhooks and
  // mail — runs where one replica alone does it: the leader, with one cluster; with
  // several, the holder of the first cluster (in VKUBE_KUBECONFIGS order) that answers,
  // so two replicas that lead different clusters do not both deliver a webhook, and a
  // dark first cluster hands it on to the next.
  const several = cluster instanceof ClusterSet && election;
  let closing = false;
  let reconciling = false;
  let shared = false;
  const holds = (name: string) => electors.get(name)?.isLeader ?? false;
  const settleNow = async () => {
    const any = !closing && (!election || [...electors.values()].some((e) => e.isLeader));
    const first = several ? members.find((m) => m.gateway.health().reachable) : undefined;
    const wantShared = !closing && (several ? first !== undefined && holds(first.gateway.name) : any);
    if (any && !reconciling) {
      reconciling = true;
      log.info({ identity: config.leaderElection.identity }, 'leading: running the reconcile loop');
      services.reconciler.start();
    }
    if (wantShared && !shared) {
      shared = true;
      if (several) log.info({ cluster: first?.gateway.name }, 'holding the first answering cluster: recording events, delivering notifications');
      services.eventRecorder.start();
      services.auditRetention.start();
      services.podNotices.start();
      services.notifier.start();
      services.usageHistory.start();
    }
    if (!any && reconciling) {
      reconciling = false;
      log.info({ identity: config.leaderElection.identity }, 'no longer leading: the reconcile loop stops');
      await services.reconciler.stop();
    }
    if (!wantShared && shared) {
      shared = false;
      await services.eventRecorder.stop();
      await services.auditRetention.stop();
      await services.podNotices.stop();
      await services.notifier.stop();
      await services.usageHistory.stop();
    }
  };
  let settling = Promise.resolve();
  const settle = () => (settling = settling.then(settleNow, settleNow));
  if (election) {
    for (const m of members) {
      const name = m.gateway.name;
      electors.set(
        name,
        new LeaderElector({
          http: m.http,
          namespace: config.leaderElection.namespace,
          // Per installation: replicas on one database share it; other V-Kubes on the cluster do not.
          name: `vkube-reconciler-${services.installation}`,
          identity: config.leaderElection.identity,
          leaseDurationSeconds: config.leaderElection.leaseSeconds,
          renewDeadlineSeconds: Math.max(2, Math.floor((config.leaderElection.leaseSeconds * 2) / 3)),
          retryPeriodSeconds: Math.max(1, Math.floor(config.leaderElection.leaseSeconds / 5)),
          onStartedLeading: () => {
            if (several) log.info({ cluster: name }, 'holding the Lease of this cluster: writing to it');
            void settle();
          },
          onStoppedLeading: async () => {
            if (several) log.warn({ cluster: name }, 'lost the Lease of this cluster: no more writes to it until it is held again');
            await settle();
          },
          log: (msg, err) => log.warn({ cluster: name, err: err instanceof Error ? err.message : err }, msg),
        }),
      );
    }
    for (const e of electors.values()) e.start();
  } else {
    await settle();
  }
  // Which cluster answers first changes without a Lease changing hands.
  const resettle = several ? setInterval(() => void settle(), 2000) : undefined;
  resettle?.unref();

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
    clearInterval(resettle);
    closing = true;
    if (electors.size) await Promise.all([...electors.values()].map((e) => e.stop()));
    await settle();
    await cluster.stop();
    await store.close();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** A host's addresses, resolved once (none when it does not resolve now): the API server's, which image checks must not reach. */
async function addressesOf(hostname: string): Promise<string[]> {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) return [host];
  return (await lookup(host, { all: true }).catch(() => [])).map((resolved) => resolved.address);
}

main().catch((err: unknown) => {
  console.error('V-Kube failed to start:', err);
  process.exit(1);
});
