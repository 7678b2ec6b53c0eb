/**
 * The composition root: builds the domain services from the adapters. `main.ts` uses
 * it with the real cluster, registry and database; tests use it the same way, with
 * their own config, store file and clock.
 */
import { randomBytes } from 'node:crypto';
import { ClusterSet } from './cluster/cluster-set.js';
import type { ClusterGateway, ClusterReader, ClusterWriter } from './cluster/gateway.js';
import { ApplyEvents, ApplyWaiter } from './domain/apply-waiter.js';
import { FencedWriter } from './domain/fenced-writer.js';
import { type Leadership, soleWriter } from './domain/leadership.js';
import type { Config } from './config.js';
import { AuditRetention } from './domain/audit-retention.js';
import { Authenticator } from './domain/authenticator.js';
import { type Clock, systemClock } from './kernel/clock.js';
import { ClusterService } from './domain/clusters.js';
import { Readiness } from './domain/readiness.js';
import { CredentialBox } from './domain/credential-box.js';
import { DeployService } from './domain/deploy.js';
import { DomainService } from './domain/custom-domains.js';
import { DeployHistoryService } from './domain/deploy-history.js';
import { EndpointService } from './domain/endpoints.js';
import { UsageHistoryService } from './domain/usage-history.js';
import { EventRecorder } from './domain/event-recorder.js';
import { ExecService } from './domain/exec.js';
import { MonitorService } from './domain/monitor.js';
import { NetworkRates } from './domain/pod-usage.js';
import { ContactService } from './domain/notify/contacts.js';
import { OutboxDispatcher } from './domain/notify/dispatcher.js';
import { PodNotices } from './domain/notify/pod-notices.js';
import type { Mailer, WebhookSender } from './domain/notify/ports.js';
import { WebhookService } from './domain/notify/webhooks.js';
import { SmtpMailer } from './notify/smtp-mailer.js';
import { HttpWebhookSender } from './notify/webhook-sender.js';
import { WorkloadUpdateService } from './domain/workload-updates.js';
import { OrderService } from './domain/orders.js';
import { PortService } from './domain/ports.js';
import { Reconciler, type ReconcilerDeps } from './domain/reconciler.js';
import { SecretHasher } from './domain/secrets.js';
import { WorkloadService } from './domain/workload.js';
import { VkubeMetrics } from './http/metrics.js';
import { activeLogStreams } from './http/routes/pod-log.js';
import { parseReference } from './registry/reference.js';
import type { ImageRegistry } from './registry/types.js';
import type { Stores } from './store/stores.js';
import type { Store } from './domain/store-port.js';

export interface Services extends Stores {
  config: Config;
  /** This installation's id (shared by replicas on one database). */
  installation: string;
  auth: Authenticator;
  metrics: VkubeMetrics;
  eventRecorder: EventRecorder;
  /** Prunes audit entries past their retention; run by the reconcile leader. */
  auditRetention: AuditRetention;
  /** Reads only: requests never write to the cluster (the reconciler holds the only, fenced, writer). */
  cluster: ClusterReader;
  registry: ImageRegistry;
  clock: Clock;
  orders: OrderService;
  ports: PortService;
  deploys: DeployService;
  workloads: WorkloadService;
  updates: WorkloadUpdateService;
  domainService: DomainService;
  monitor: MonitorService;
  /** Where the app is reached: host ports at the node's public address, custom domains. */
  endpoints: EndpointService;
  /** The specs each order was deployed with, and rollback to one. */
  deployHistory: DeployHistoryService;
  /** Usage samples for the graphs; sampled by the reconcile leader, served by every replica. */
  usageHistory: UsageHistoryService;
  /** Exec, interactive sessions, port-forward, and the registry of every live session and stream. */
  exec: ExecService;
  reconciler: Reconciler;
  /** E-mail contacts of services and wallets (the original clients' contact API). */
  contacts: ContactService;
  webhooks: WebhookService;
  /** Delivers the outbox (webhooks, notice mails); run by the reconcile leader. */
  notifier: OutboxDispatcher;
  /** Records pod.running / crashloop / oomkilled from the pod watch; run by the reconcile leader. */
  podNotices: PodNotices;
  /** The clusters behind this V-Kube, for the provider. */
  clusters: ClusterService;
  /** Database and cluster checks behind /readyz. */
  readiness: Readiness;
}

export interface ServiceInputs {
  config: Config;
  stores: Stores;
  cluster: ClusterGateway;
  registry: ImageRegistry;
  log: ReconcilerDeps['log'];
  clock?: Clock;
  /** Whether this replica leads and may write to the cluster now (leader election); default: always, it is alone. */
  leadership?: Leadership;
  /**
   * Several clusters (`cluster` a ClusterSet): each one's own Lease, which alone fences
   * the writes to that cluster; `leadership` then says whether this replica leads any.
   */
  clusterLeadership?: (cluster: string) => Leadership;
  /** The SMTP relay (default: from VKUBE_SMTP_URL, none when unset). */
  mailer?: Mailer;
  /** How webhooks are POSTed (default: HTTP held to the address policy). */
  webhookSender?: WebhookSender;
}

export async function createServices(inputs: ServiceInputs): Promise<Services> {
  const { config, cluster, registry, log } = inputs;
  const { store, domains, notices, events, tokens, audit, notifications, history, usage } = inputs.stores;
  const clock = inputs.clock ?? systemClock;
  const secretKey = await installationSecretKey(config, store);
  const installation = await store.setSettingOnce('installation_id', randomBytes(8).toString('hex'));
  const credentials = new CredentialBox(secretKey);
  const leadership = inputs.leadership ?? soleWriter;
  const metrics = new VkubeMetrics({
    cacheSizes: () => cluster.cacheSizes(),
    clusters: () => (cluster.members?.() ?? [cluster]).map((c) => ({
      name: c.name,
      cacheSizes: c.cacheSizes(),
      budgets: c.connectionBudgets(),
      sources: c.health().sources ?? {},
      leader: inputs.clusterLeadership ? inputs.clusterLeadership(c.name).isLeader() : leadership.isLeader(),
    })),
    portLeases: () => store.countLeases(),
    logStreams: activeLogStreams,
    sessions: () => exec.sessions.counts(),
    isLeader: () => leadership.isLeader(),
    eventQueue: () => eventRecorder.queued,
    queueDepth: () => store.queueDepth(),
    connectionBudgets: () => cluster.connectionBudgets(),
    clusterSources: () => cluster.health().sources ?? {},
  });
  const applyEvents = new ApplyEvents();
  // Only the reconciler gets a way to write to Kubernetes, and only through the fence:
  // with several clusters, each cluster's writes through its own Lease's fence.
  const writer: ClusterWriter = fencedWriter(cluster, leadership, inputs.clusterLeadership, () => metrics.fencedWrites.inc());
  const reconciler = new Reconciler({
    store,
    domains,
    notices,
    cluster,
    writer,
    events: applyEvents,
    config,
    clock,
    credentials,
    installation,
    log,
    onPass: (ms, failures) => {
      metrics.reconcileDuration.observe(ms / 1000);
      metrics.reconcileErrors.inc(failures);
    },
    onAttempt: (outcome, ms) => {
      metrics.queueAttempts.observe({ outcome }, ms / 1000);
      if (outcome === 'failed') metrics.queueRetries.inc();
    },
  });
  const waiter = new ApplyWaiter({ store, events: applyEvents, wake: () => reconciler.queue.wake(), waitMs: config.reconcile.applyWaitMs });
  const ports = new PortService(cluster, store, config);
  const hasher = new SecretHasher(secretKey);
  const orders = new OrderService(store, hasher, clock, waiter, () => cluster.regions());
  const auth = new Authenticator(store, tokens, hasher, clock);
  const deploys = new DeployService({ store, cluster, ports, waiter, registry, credentials, clock, config, isValidImage });
  const workloads = new WorkloadService(cluster, store, waiter, clock);
  const updates = new WorkloadUpdateService(deploys, store, waiter, clock, isValidImage);
  const domainService = new DomainService(domains, store, deploys, waiter, clock);
  // One memory of each pod's network counters: /monitor answers at once for pods the sampler has seen.
  const podNetworkRates = new NetworkRates();
  const monitor = new MonitorService(cluster, workloads, podNetworkRates, (order) => usageHistory.latestRate(order.id));
  const endpoints = new EndpointService(cluster, config.publicHosts);
  const deployHistory = new DeployHistoryService(history, deploys, credentials);
  const usageHistory = new UsageHistoryService({ cluster, usage, clock, intervalSeconds: config.usage.intervalSeconds, retentionHours: config.usage.retentionHours, log, rates: podNetworkRates });
  const exec = new ExecService({ cluster, workloads, orders: store, audit, clock, config: config.exec, log: (msg, err) => log.warn({ err }, msg) });
  const eventRecorder = new EventRecorder(cluster, events, log, { onDrop: () => metrics.eventRecordsDropped.inc() });
  const auditRetention = new AuditRetention({ audit, clock, retentionDays: config.auditRetentionDays, log });
  const mailer = inputs.mailer ?? (config.notify.smtpUrl ? new SmtpMailer(config.notify.smtpUrl, config.notify.mailFrom, config.notify.timeoutMs) : undefined);
  const webhookSender = inputs.webhookSender ?? new HttpWebhookSender({ privateTargets: config.notify.webhookPrivateTargets, clusterAddresses: () => cluster.nodeAddresses() });
  const contacts = new ContactService(notifications, hasher, clock, mailer);
  const webhooks = new WebhookService(notifications, credentials, webhookSender, clock);
  const notifier = new OutboxDispatcher({
    store: notifications,
    sender: webhookSender,
    mailer,
    credentials,
    timeoutMs: config.notify.timeoutMs,
    retryBaseMs: config.notify.retryBaseMs,
    maxAttempts: config.notify.maxAttempts,
    pollMs: config.notify.pollMs,
    retentionDays: config.notify.retentionDays,
    log,
  });
  const podNotices = new PodNotices(cluster, notifications, log);
  const clusters = new ClusterService(cluster, (name) => (inputs.clusterLeadership ? inputs.clusterLeadership(name).isLeader() : leadership.isLeader()));
  const readiness = new Readiness(store, cluster);
  return { clusters, readiness, config, installation, store, domains, notices, events, tokens, audit, auth, metrics, eventRecorder, auditRetention, cluster, registry, clock, orders, ports, deploys, workloads, updates, domainService, monitor, endpoints, deployHistory, usageHistory, history, usage, exec, reconciler, notifications, contacts, webhooks, notifier, podNotices };
}

function fencedWriter(cluster: ClusterGateway, leadership: Leadership, perCluster: ((name: string) => Leadership) | undefined, onRefused: () => void): ClusterWriter {
  if (!(cluster instanceof ClusterSet)) return new FencedWriter(cluster, leadership, onRefused);
  cluster.fenceWrites((member) => new FencedWriter(member, perCluster ? perCluster(member.name) : leadership, onRefused));
  return cluster;
}

/**
 * The key behind secret hashes and sealed registry passwords: VKUBE_SECRET_KEY when
 * set (keeps it out of the database), else one generated on first start and kept in
 * the database so every replica shares it.
 */
async function installationSecretKey(config: Config, store: Store): Promise<Buffer> {
  // loadConfig refuses a VKUBE_SECRET_KEY shorter than 32 bytes.
  if (config.secretKey) return Buffer.from(config.secretKey, 'utf8');
  return Buffer.from(await store.setSettingOnce('secret_key', randomBytes(32).toString('base64')), 'base64');
}

function isValidImage(ref: string): boolean {
  try {
    parseReference(ref);
    return true;
  } catch {
    return false;
  }
}
