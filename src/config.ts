/**
 * V-Kube's configuration: one typed object, read from environment variables and an
 * optional file (`VKUBE_CONFIG`, JSON or YAML, same names in camelCase), validated at
 * start-up. A bad value stops the start with a message naming the setting.
 *
 * Precedence: environment variable > file > default.
 */
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { homedir, hostname } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseBytes, parseMillicores } from './kernel/quantity.js';
import { parsePrivateRegistries } from './registry/address-policy.js';
import { parseRegistryMirrors, type RegistryMirrors } from './registry/mirrors.js';

export interface UnitCatalogue {
  /** Memory of one resource unit, in bytes (default 1Gi). */
  memoryBytes: number;
  /** CPU share of one unit, in millicores (default 500m). */
  cpuMillis: number;
  /** Host ports one unit allows (default 1). */
  hostPorts: number;
  /** Containers one unit allows (default 1). */
  containers: number;
  /** Persistent storage per unit when the order has persistStorage, in bytes (default 5Gi). */
  storageBytes: number;
}

export interface Config {
  port: number;
  host: string;
  /** `sqlite:<path>` or `postgres://…`. */
  databaseUrl: string;
  /** Path of the kubeconfig to use, or undefined for in-cluster configuration. */
  kubeconfig: string | undefined;
  /**
   * Several clusters behind this one V-Kube (VKUBE_KUBECONFIGS, or `clusters:` in the
   * file), each owning the regions its nodes carry; empty: the one cluster of `kubeconfig`.
   */
  clusters: ClusterSource[];
  /** Bearer token of the provider's admin API; when unset the admin API refuses every call. */
  adminToken: string | undefined;
  /** Key for the keyed hash of secrets; when unset one is generated and kept in the database. */
  secretKey: string | undefined;
  regionLabel: string;
  units: UnitCatalogue;
  /** Host ports never leased: sorted, as inclusive ranges. */
  reservedPorts: Array<[number, number]>;
  registry: {
    timeoutMs: number;
    insecureRegistries: string[];
    /** Registry → the endpoints its images are checked at, in order (the nodes' containerd hosts.toml). */
    mirrors: RegistryMirrors;
    /** Hosts, host:port pairs and CIDRs image checks may contact although they are not public (loopback, private, link-local, the cluster's). */
    privateRegistries: string[];
  };
  reconcile: {
    /** How often the reconcile loop revisits every order even without a change. */
    intervalMs: number;
    /** How long after expiry an order's workload is kept before it is torn down. */
    expiryGraceSeconds: number;
    /** How long before expiry a notice is raised. */
    noticeAheadSeconds: number;
    /** How often the leader looks for work other replicas queued. */
    queuePollMs: number;
    /** How often each order's whole set is re-applied even when the caches show it in line (restores what no watch sees, such as Secrets). */
    resyncSeconds: number;
    /** How long a request that changed an order waits for the leader to apply it before it answers anyway (0: at once). */
    applyWaitMs: number;
  };
  ingress: {
    /** IngressClass of the provider's ingress controller, for custom domains. */
    className: string;
    /** cert-manager ClusterIssuer that signs certificates for HTTPS domains. */
    tlsIssuer: string;
  };
  /** StorageClass of an order's volume claim; undefined: the cluster's default class. */
  storageClass: string | undefined;
  /** Largest request body accepted, in bytes. */
  bodyLimit: number;
  /** Largest request head (all headers), in bytes. */
  headerLimit: number;
  limits: {
    /** Steady requests per second per client (0: off). */
    requestsPerSecond: number;
    burst: number;
    /** Bad secrets per minute that lock a client out (0: off). */
    failuresBeforeLockout: number;
    lockoutSeconds: number;
  };
  /** Use X-Forwarded-For for the client's address (only behind a proxy you run). */
  trustProxy: boolean;
  /** Origins allowed to call the API from a browser (CORS); the console is same-origin and needs none. */
  corsOrigins: string[];
  /** Bearer token that /metrics requires; unset: open (it holds counts, never secrets). */
  metricsToken: string | undefined;
  leaderElection: {
    enabled: boolean;
    namespace: string;
    leaseSeconds: number;
    /** This replica's name in the Lease (POD_NAME in a cluster). */
    identity: string;
  };
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Deadlines of database calls (PostgreSQL; SQLite has no statement timeout, it waits at most 5 s for a lock). */
  database: {
    /** A statement that runs longer is cancelled by the server; the caller gets 503. */
    statementTimeoutMs: number;
    /** Longest wait for a new connection. */
    connectTimeoutMs: number;
  };
  /** Audit rows older than this many days are deleted by the reconcile leader (0: kept for ever). */
  auditRetentionDays: number;
  /** Longest a request waits for an earlier change to the same order to be applied before it answers 503. */
  orderLockTimeoutMs: number;
  /** E-mail (codes and notices) and the provider's webhooks. */
  notify: {
    /** `smtp://user:pass@host:port` or `smtps://…`; unset: no e-mail (codes are refused with 503, notices go to webhooks only). */
    smtpUrl: string | undefined;
    /** The From of every mail. */
    mailFrom: string;
    /** Hosts, host:port pairs and CIDRs webhooks may be delivered to although they are not public (VKUBE_PRIVATE_REGISTRIES' grammar). */
    webhookPrivateTargets: string[];
    /** How long a webhook receiver (or the SMTP relay) may take to answer one delivery. */
    timeoutMs: number;
    /** The first retry waits this long; each next one twice as long (at most an hour). */
    retryBaseMs: number;
    /** A delivery that failed this many times is dead-lettered. */
    maxAttempts: number;
    /** How often the leader looks for events and due deliveries. */
    pollMs: number;
    /** How far a signed request's x-sdk-time may be from the server's clock. */
    signatureWindowSeconds: number;
    /** Delivered and dead-lettered deliveries, and their events, older than this are deleted by the leader (0: kept for ever). */
    retentionDays: number;
  };
  /** How V-Kube talks to the Kubernetes API (src/cluster/kube-http.ts budgets, the heartbeat, the watches). */
  kube: {
    /** Sockets for customers' streams (followed logs, exec, port-forward); more wait, within their deadline. */
    streamSockets: number;
    /** How often the API server is asked whether it is there (0: never; then only a silent watch tells). */
    heartbeatMs: number;
    /** A watch without event or bookmark for this long is re-opened and counts as down meanwhile. */
    watchStallMs: number;
  };
  /** Exec, interactive sessions and port-forward into a customer's pod, and the limits on every live stream of an order. */
  exec: ExecConfig;
  /** Region → the public host name or address customers reach its host ports at (VKUBE_PUBLIC_HOSTS); else a node's ExternalIP. */
  publicHosts: Record<string, string>;
  /** Usage history (GET /k8s/monitor/history): how often the leader samples every running pod, and how long samples are kept. */
  usage: { intervalSeconds: number; retentionHours: number };
}

export interface ExecConfig {
  /** false (VKUBE_EXEC=off): exec and port-forward answer 403; log streams are unaffected. */
  enabled: boolean;
  /** Live sessions and streams one order may hold at once on one replica (exec, interactive, port-forward, followed logs). */
  maxSessionsPerOrder: number;
  /** An interactive or port-forward session with no traffic either way for this long is closed. */
  idleSeconds: number;
  /** The longest an interactive or port-forward session may last, however busy. */
  maxSessionSeconds: number;
  /** Each of stdout and stderr of a one-shot exec is cut after this many bytes. */
  outputBytes: number;
  /** The longest timeoutSeconds a one-shot exec may ask for (the default is 30 s, or this when smaller). */
  maxTimeoutSeconds: number;
}

/** One cluster of several: where its kubeconfig is, which context, and the name V-Kube gives it. */
export interface ClusterSource {
  /** Names the cluster in /readyz, metrics, the admin API and messages; unique. */
  name: string;
  kubeconfig: string;
  /** The kubeconfig's context to use; undefined: its current context. */
  context?: string;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Kubelet, kube-proxy and control-plane ports, SSH, and the default NodePort range. */
export const DEFAULT_RESERVED_PORTS = '22,2379-2380,6443,10248-10260,30000-32767';

type Source = Record<string, unknown>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const file = readConfigFile(env.VKUBE_CONFIG, cwd);
  const get = new Settings(env, file);

  const units: UnitCatalogue = {
    memoryBytes: get.quantity('VKUBE_UNIT_MEMORY', 'unitMemory', '1Gi', parseBytes),
    cpuMillis: get.quantity('VKUBE_UNIT_CPU', 'unitCpu', '500m', parseMillicores),
    hostPorts: get.int('VKUBE_UNIT_HOST_PORTS', 'unitHostPorts', 1, 0, 1000),
    containers: get.int('VKUBE_UNIT_CONTAINERS', 'unitContainers', 1, 1, 100),
    storageBytes: get.quantity('VKUBE_UNIT_STORAGE', 'unitStorage', '5Gi', parseBytes),
  };

  const config: Config = {
    port: get.int('PORT', 'port', 8080, 0, 65535),
    host: get.string('HOST', 'host', '0.0.0.0'),
    databaseUrl: get.string('DATABASE_URL', 'databaseUrl', 'sqlite:.vkube/vkube.db'),
    kubeconfig: resolveKubeconfig(get.optionalString('KUBECONFIG', 'kubeconfig'), cwd, env),
    clusters: get.parsed('VKUBE_KUBECONFIGS', 'clusters', [] as ClusterSource[], (v) => parseClusters(v, cwd)),
    adminToken: get.optionalString('VKUBE_ADMIN_TOKEN', 'adminToken'),
    secretKey: get.optionalString('VKUBE_SECRET_KEY', 'secretKey'),
    regionLabel: get.string('VKUBE_REGION_LABEL', 'regionLabel', 'region'),
    units,
    reservedPorts: parsePortRanges(
      [DEFAULT_RESERVED_PORTS, get.optionalString('VKUBE_RESERVED_PORTS', 'reservedPorts') ?? ''].filter(Boolean).join(','),
      'VKUBE_RESERVED_PORTS',
    ),
    registry: {
      timeoutMs: get.int('VKUBE_REGISTRY_TIMEOUT_MS', 'registryTimeoutMs', 5000, 100, 120_000),
      insecureRegistries: get.list('VKUBE_INSECURE_REGISTRIES', 'insecureRegistries'),
      mirrors: get.parsed('VKUBE_REGISTRY_MIRRORS', 'registryMirrors', {}, parseRegistryMirrors),
      privateRegistries: get.parsed('VKUBE_PRIVATE_REGISTRIES', 'privateRegistries', [], parsePrivateRegistries),
    },
    reconcile: {
      intervalMs: get.int('VKUBE_RECONCILE_INTERVAL_MS', 'reconcileIntervalMs', 30_000, 100, 3_600_000),
      expiryGraceSeconds: get.int('VKUBE_EXPIRY_GRACE_SECONDS', 'expiryGraceSeconds', 0, 0, 30 * 86400),
      noticeAheadSeconds: get.int('VKUBE_NOTICE_AHEAD_SECONDS', 'noticeAheadSeconds', 86400, 0, 30 * 86400),
      queuePollMs: get.int('VKUBE_QUEUE_POLL_MS', 'queuePollMs', 250, 10, 60_000),
      resyncSeconds: get.int('VKUBE_RESYNC_SECONDS', 'resyncSeconds', 600, 0, 7 * 86400),
      applyWaitMs: get.int('VKUBE_APPLY_WAIT_MS', 'applyWaitMs', 5000, 0, 60_000),
    },
    ingress: {
      className: get.string('VKUBE_INGRESS_CLASS', 'ingressClass', 'nginx'),
      tlsIssuer: get.string('VKUBE_TLS_ISSUER', 'tlsIssuer', 'letsencrypt'),
    },
    storageClass: get.optionalString('VKUBE_STORAGE_CLASS', 'storageClass'),
    bodyLimit: get.int('VKUBE_BODY_LIMIT', 'bodyLimit', 1024 * 1024, 1024, 64 * 1024 * 1024),
    headerLimit: get.int('VKUBE_HEADER_LIMIT', 'headerLimit', 16 * 1024, 1024, 256 * 1024),
    limits: {
      requestsPerSecond: get.int('VKUBE_RATE_LIMIT_RPS', 'rateLimitRps', 100, 0, 1_000_000),
      burst: get.int('VKUBE_RATE_LIMIT_BURST', 'rateLimitBurst', 300, 1, 10_000_000),
      failuresBeforeLockout: get.int('VKUBE_LOCKOUT_FAILURES', 'lockoutFailures', 10, 0, 10_000),
      lockoutSeconds: get.int('VKUBE_LOCKOUT_SECONDS', 'lockoutSeconds', 60, 1, 86_400),
    },
    trustProxy: /^(1|true|yes)$/i.test(get.optionalString('VKUBE_TRUST_PROXY', 'trustProxy') ?? ''),
    corsOrigins: get.list('VKUBE_CORS_ORIGINS', 'corsOrigins'),
    metricsToken: get.optionalString('VKUBE_METRICS_TOKEN', 'metricsToken'),
    leaderElection: {
      enabled: !/^(0|false|no)$/i.test(get.optionalString('VKUBE_LEADER_ELECTION', 'leaderElection') ?? 'true'),
      namespace: get.string('VKUBE_LEADER_NAMESPACE', 'leaderNamespace', 'vkube-system'),
      leaseSeconds: get.int('VKUBE_LEADER_LEASE_SECONDS', 'leaderLeaseSeconds', 15, 3, 300),
      identity: get.string('POD_NAME', 'identity', `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`),
    },
    logLevel: get.oneOf('LOG_LEVEL', 'logLevel', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    database: {
      statementTimeoutMs: get.int('VKUBE_DB_STATEMENT_TIMEOUT_MS', 'dbStatementTimeoutMs', 15_000, 100, 600_000),
      connectTimeoutMs: get.int('VKUBE_DB_CONNECT_TIMEOUT_MS', 'dbConnectTimeoutMs', 5_000, 100, 120_000),
    },
    auditRetentionDays: get.int('VKUBE_AUDIT_RETENTION_DAYS', 'auditRetentionDays', 90, 0, 36_500),
    orderLockTimeoutMs: get.int('VKUBE_ORDER_LOCK_TIMEOUT_MS', 'orderLockTimeoutMs', 20_000, 100, 600_000),
    notify: {
      smtpUrl: get.optionalString('VKUBE_SMTP_URL', 'smtpUrl'),
      mailFrom: get.string('VKUBE_MAIL_FROM', 'mailFrom', 'V-Kube <no-reply@localhost>'),
      webhookPrivateTargets: get.parsed('VKUBE_WEBHOOK_PRIVATE_TARGETS', 'webhookPrivateTargets', [], parsePrivateRegistries),
      timeoutMs: get.int('VKUBE_NOTIFY_TIMEOUT_MS', 'notifyTimeoutMs', 10_000, 100, 120_000),
      retryBaseMs: get.int('VKUBE_NOTIFY_RETRY_BASE_MS', 'notifyRetryBaseMs', 5_000, 10, 3_600_000),
      maxAttempts: get.int('VKUBE_NOTIFY_MAX_ATTEMPTS', 'notifyMaxAttempts', 12, 1, 100),
      pollMs: get.int('VKUBE_NOTIFY_POLL_MS', 'notifyPollMs', 1_000, 10, 60_000),
      signatureWindowSeconds: get.int('VKUBE_SIGNATURE_WINDOW_SECONDS', 'signatureWindowSeconds', 300, 5, 86_400),
      retentionDays: get.int('VKUBE_NOTIFY_RETENTION_DAYS', 'notifyRetentionDays', 30, 0, 36_500),
    },
    kube: {
      streamSockets: get.int('VKUBE_KUBE_STREAM_SOCKETS', 'kubeStreamSockets', 256, 1, 100_000),
      heartbeatMs: get.int('VKUBE_KUBE_HEARTBEAT_MS', 'kubeHeartbeatMs', 3_000, 0, 600_000),
      watchStallMs: get.int('VKUBE_WATCH_STALL_SECONDS', 'watchStallSeconds', 90, 5, 3_600) * 1000,
    },
    exec: {
      enabled: get.oneOf('VKUBE_EXEC', 'exec', 'on', ['on', 'off'] as const) === 'on',
      maxSessionsPerOrder: get.int('VKUBE_SESSIONS_PER_ORDER', 'sessionsPerOrder', 8, 1, 1000),
      idleSeconds: get.int('VKUBE_SESSION_IDLE_SECONDS', 'sessionIdleSeconds', 900, 1, 7 * 86400),
      maxSessionSeconds: get.int('VKUBE_SESSION_MAX_SECONDS', 'sessionMaxSeconds', 4 * 3600, 1, 30 * 86400),
      outputBytes: get.int('VKUBE_EXEC_OUTPUT_BYTES', 'execOutputBytes', 1024 * 1024, 1024, 64 * 1024 * 1024),
      maxTimeoutSeconds: get.int('VKUBE_EXEC_MAX_TIMEOUT_SECONDS', 'execMaxTimeoutSeconds', 300, 1, 3600),
    },
    publicHosts: get.parsed('VKUBE_PUBLIC_HOSTS', 'publicHosts', {}, parsePublicHosts),
    usage: {
      intervalSeconds: get.int('VKUBE_USAGE_INTERVAL_SECONDS', 'usageIntervalSeconds', 30, 1, 30),
      retentionHours: get.int('VKUBE_USAGE_RETENTION_HOURS', 'usageRetentionHours', 24, 1, 168),
    },
  };

  if (!/^sqlite:.+|^postgres(ql)?:\/\/.+/.test(config.databaseUrl)) {
    throw new ConfigError(`DATABASE_URL=${redactUrl(config.databaseUrl)}: must be sqlite:<path> or postgres://…`);
  }
  if (!/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(config.regionLabel)) {
    throw new ConfigError(`VKUBE_REGION_LABEL=${config.regionLabel}: not a Kubernetes label key`);
  }
  if (config.storageClass !== undefined && !isDns1123Subdomain(config.storageClass)) {
    // Kubernetes would refuse the claim at apply time, order after order; refuse it here instead.
    throw new ConfigError(`VKUBE_STORAGE_CLASS=${config.storageClass}: not a StorageClass name (a DNS-1123 subdomain: lower-case letters, digits, '-' and '.', at most 253)`);
  }
  if (config.secretKey !== undefined && Buffer.byteLength(config.secretKey, 'utf8') < 32) {
    // It keys the secret hashes and seals registry passwords: a short one would be guessable.
    throw new ConfigError('VKUBE_SECRET_KEY: must be at least 32 bytes (e.g. openssl rand -hex 32)');
  }
  if (config.notify.smtpUrl !== undefined && !/^smtps?:\/\/[^/?#]+/.test(config.notify.smtpUrl)) {
    throw new ConfigError(`VKUBE_SMTP_URL=${redactUrl(config.notify.smtpUrl)}: must be smtp://[user:pass@]host[:port] or smtps://…`);
  }
  if (!/^[^\r\n]*@[^\r\n]*$/.test(config.notify.mailFrom)) {
    throw new ConfigError(`VKUBE_MAIL_FROM=${config.notify.mailFrom}: must be an address such as "V-Kube <no-reply@example.com>"`);
  }
  if (config.adminToken !== undefined && config.adminToken.length < 16) {
    throw new ConfigError('VKUBE_ADMIN_TOKEN: must be at least 16 characters');
  }
  return config;
}

/**
 * `VKUBE_PUBLIC_HOSTS`: `ausrine=ausrine.example.com,giltine=203.0.113.7` (in the file also
 * an object). Each value is a host name or an IP address, without scheme, port or path:
 * it is what customers are told to connect to.
 */
export function parsePublicHosts(value: unknown): Record<string, string> {
  const pairs: Array<[string, unknown]> =
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? Object.entries(value)
      : String(value)
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
          .map((entry) => {
            const eq = entry.indexOf('=');
            if (eq <= 0) throw new Error(`"${entry}" is not region=host`);
            return [entry.slice(0, eq).trim(), entry.slice(eq + 1).trim()];
          });
  const out: Record<string, string> = {};
  for (const [region, host] of pairs) {
    if (!/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(region)) throw new Error(`"${region}" is not a region name (a label value)`);
    const h = String(host).toLowerCase();
    const name = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;
    const ipv6 = /^\[?[0-9a-f:.]+\]?$/;
    if (!name.test(h) && !(h.includes(':') && ipv6.test(h))) throw new Error(`region ${region}: "${String(host)}" is not a host name or IP address (no scheme, port or path)`);
    if (out[region]) throw new Error(`region ${region} is given twice`);
    out[region] = h.replace(/^\[|\]$/g, '');
  }
  return out;
}

/** A Kubernetes object name such as a StorageClass's: lower-case alphanumeric labels joined by '.', at most 253 characters. */
function isDns1123Subdomain(name: string): boolean {
  return name.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name);
}

/**
 * KUBECONFIG when set; else the local cluster's `.vkube/cluster/kubeconfig` when it
 * exists; else in-cluster configuration when running in a pod; else `~/.kube/config`.
 */
function resolveKubeconfig(explicit: string | undefined, cwd: string, env: NodeJS.ProcessEnv): string | undefined {
  if (explicit) {
    const path = resolve(cwd, explicit.split(':')[0]!);
    if (!existsSync(path)) throw new ConfigError(`KUBECONFIG=${explicit}: no such file`);
    return path;
  }
  const local = join(cwd, '.vkube', 'cluster', 'kubeconfig');
  if (existsSync(local)) return local;
  if (env.KUBERNETES_SERVICE_HOST) return undefined;
  return join(homedir(), '.kube', 'config');
}

/** A cluster's name: a DNS-1123 label, so it fits a metric label, a Lease and a message alike. */
const CLUSTER_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * VKUBE_KUBECONFIGS: `[name=]path[#context]`, comma-separated; or the file's `clusters:`
 * list of `{name, kubeconfig, context?}`. Without a name a cluster is called by its
 * context, else by the file's name without extension; names must be unique.
 */
export function parseClusters(value: unknown, cwd: string): ClusterSource[] {
  const entries: Array<{ name?: string; kubeconfig: string; context?: string }> = [];
  if (Array.isArray(value)) {
    value.forEach((item: unknown, i) => {
      if (typeof item !== 'object' || item === null) throw new Error(`clusters[${i}]: must be an object with name, kubeconfig and optionally context`);
      const { name, kubeconfig, context } = item as Record<string, unknown>;
      if (typeof kubeconfig !== 'string' || !kubeconfig) throw new Error(`clusters[${i}].kubeconfig: must be the path of a kubeconfig file`);
      if (name !== undefined && typeof name !== 'string') throw new Error(`clusters[${i}].name: must be a string`);
      if (context !== undefined && typeof context !== 'string') throw new Error(`clusters[${i}].context: must be a string`);
      entries.push({ kubeconfig, ...(name ? { name } : {}), ...(context ? { context } : {}) });
    });
  } else if (typeof value === 'string') {
    for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
      const m = /^(?:([^=#]+)=)?([^#]+)(?:#(.+))?$/.exec(part);
      if (!m) throw new Error(`"${part}" is not [name=]path[#context]`);
      entries.push({ kubeconfig: m[2]!.trim(), ...(m[1] ? { name: m[1].trim() } : {}), ...(m[3] ? { context: m[3].trim() } : {}) });
    }
  } else {
    throw new Error('must be a comma-separated list of kubeconfig files, or a list of {name, kubeconfig, context}');
  }
  const seen = new Map<string, string>();
  return entries.map((e) => {
    const path = resolve(cwd, e.kubeconfig);
    if (!existsSync(path)) throw new Error(`${e.kubeconfig}: no such file`);
    const name = e.name ?? (e.context ?? basename(path).replace(/\.[^.]*$/, '')).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
    if (!CLUSTER_NAME.test(name)) throw new Error(`cluster name "${name}" (of ${e.kubeconfig}): must be a DNS-1123 label (a-z, 0-9, '-'); name it with name=path or clusters[].name`);
    const other = seen.get(name);
    if (other) throw new Error(`two clusters are named "${name}" (${other} and ${e.kubeconfig}): give each its own name`);
    seen.set(name, e.kubeconfig);
    return { name, kubeconfig: path, ...(e.context ? { context: e.context } : {}) };
  });
}

function readConfigFile(path: string | undefined, cwd: string): Source {
  if (!path) return {};
  const full = resolve(cwd, path);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch (err) {
    throw new ConfigError(`VKUBE_CONFIG=${path}: cannot read it (${(err as Error).message})`);
  }
  try {
    const parsed: unknown = parseYaml(text);
    if (parsed === null || parsed === undefined) return {};
    if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the file must hold an object');
    return parsed as Source;
  } catch (err) {
    throw new ConfigError(`VKUBE_CONFIG=${path}: ${(err as Error).message}`);
  }
}

export function parsePortRanges(text: string, name: string): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    const lo = Number(m?.[1]);
    const hi = Number(m?.[2] ?? m?.[1]);
    if (!m || lo < 1 || hi > 65535 || lo > hi) throw new ConfigError(`${name}: "${part}" is not a port or a range like 30000-32767`);
    ranges.push([lo, hi]);
  }
  return ranges.sort((a, b) => a[0] - b[0]);
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@');
}

/** Reads one setting from the environment, then the file, then the default. */
class Settings {
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly file: Source,
  ) {}

  private raw(envName: string, key: string): { value: unknown; from: string } | undefined {
    const fromEnv = this.env[envName];
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, from: envName };
    if (this.file[key] !== undefined && this.file[key] !== null) return { value: this.file[key], from: `${key} (in VKUBE_CONFIG)` };
    return undefined;
  }

  string(envName: string, key: string, fallback: string): string {
    return this.optionalString(envName, key) ?? fallback;
  }

  optionalString(envName: string, key: string): string | undefined {
    const r = this.raw(envName, key);
    if (!r) return undefined;
    if (typeof r.value !== 'string' && typeof r.value !== 'number') throw new ConfigError(`${r.from}: must be a string`);
    return String(r.value);
  }

  int(envName: string, key: string, fallback: number, min: number, max: number): number {
    const r = this.raw(envName, key);
    if (!r) return fallback;
    const n = typeof r.value === 'number' ? r.value : /^-?\d+$/.test(String(r.value).trim()) ? Number(r.value) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${r.from}=${String(r.value)}: must be an integer from ${min} to ${max}`);
    return n;
  }

  quantity(envName: string, key: string, fallback: string, parse: (s: string) => number | undefined): number {
    const r = this.raw(envName, key);
    const text = r ? String(r.value) : fallback;
    const n = parse(text);
    if (n === undefined || n <= 0) throw new ConfigError(`${r?.from ?? envName}=${text}: not a positive Kubernetes quantity`);
    return n;
  }

  list(envName: string, key: string): string[] {
    const r = this.raw(envName, key);
    if (!r) return [];
    if (Array.isArray(r.value)) return r.value.map(String);
    return String(r.value).split(',').map((s) => s.trim()).filter(Boolean);
  }

  /** A setting with a grammar of its own: `parse` throws an Error whose message names the bad part. */
  parsed<T>(envName: string, key: string, fallback: T, parse: (value: unknown) => T): T {
    const r = this.raw(envName, key);
    if (!r) return fallback;
    try {
      return parse(r.value);
    } catch (err) {
      const from = r.from === envName ? envName : `${envName} (${key} in VKUBE_CONFIG)`;
      throw new ConfigError(`${from}: ${(err as Error).message}`);
    }
  }

  oneOf<T extends string>(envName: string, key: string, fallback: T, allowed: readonly T[]): T {
    const r = this.raw(envName, key);
    if (!r) return fallback;
    if (!allowed.includes(r.value as T)) throw new ConfigError(`${r.from}=${String(r.value)}: must be one of ${allowed.join(', ')}`);
    return r.value as T;
  }
}
