/**
 * The domain's records: the order and what hangs off it (host-port leases, domains,
 * notices, pod events, access tokens, audit entries, queued work, deploy history, usage
 * samples), each defined once here. The store maps its rows to these (store/sql-*.ts);
 * the wire views are made from them in http/. Times are unix seconds unless a field
 * says otherwise.
 */
export type ServiceStatus = 'ServicePending' | 'ServiceRunning' | 'ServiceStop' | 'ServiceDone' | 'ServiceAbort';

export interface OrderRecord {
  id: string;
  secretHash: string;
  serviceID: string;
  service: string;
  serviceCategoryID: string;
  provider: string;
  address: string;
  recipient: string;
  amount: number;
  amountPaid: number;
  /** Hours of service bought (renewals add to it). */
  durationHours: number;
  /** Free-form options as the order was placed (resourceUnit, portSpecification, …). */
  serviceOptions: Record<string, string>;
  publicKey: string;
  email: string;
  /** The order record's own status; `OrderFiled` once recorded. */
  orderStatus: string;
  serviceStatus: ServiceStatus;
  region: string;
  units: number;
  createdAt: number;
  updatedAt: number;
  /** When the service first started (first successful deploy). */
  activatedAt: number | null;
  /** When it last entered ServiceRunning. */
  runningAt: number | null;
  stoppedAt: number | null;
  doneAt: number | null;
  abortedAt: number | null;
  /** Expiry: activatedAt + durationHours, set when the service first starts. */
  endAt: number | null;
  /** The desired workload, as the domain normalised it (JSON-serialisable). */
  spec: unknown;
  /** Bumped on every change of the desired state; the reconciler applies up to it. */
  specGeneration: number;
  /** Bumped by restart: a new pod is wanted even though the spec is the same. */
  restartGeneration: number;
  /** Set by the customer (`/k8s/deployment/metadata/annotation`), shown on its Deployment. */
  description: string;
  /** Set by the customer (`/k8s/deployment/metadata/label`), a label on its Deployment. */
  customLabel: string;
  /** The secret sealed to the order's public key (base58), for `GET /userService/{id}`; "" without a key. */
  magic: string;
  /**
   * Bumped by every change of what the cluster should hold: spec, restart, stop and start,
   * metadata, domains, the end of the order. Handlers answer with it; the leader applies it.
   */
  generation: number;
  /** The generation the reconcile leader last applied in full (every object of the set). */
  observedGeneration: number;
  /** When it did, unix milliseconds (0: never). */
  observedAt: number;
  /** Ended orders only: Terminating until the namespace is gone, then Done (its leases released in that same change). */
  teardown: Teardown | null;
  /**
   * Bumped by the database on every change of the order's record or of its custom domains,
   * whoever makes it: a copy read at the same version is current, its domains included.
   */
  version: number;
}

export type Teardown = 'Terminating' | 'Done';

export type NewOrder = Omit<
  OrderRecord,
  | 'activatedAt'
  | 'runningAt'
  | 'stoppedAt'
  | 'doneAt'
  | 'abortedAt'
  | 'endAt'
  | 'spec'
  | 'specGeneration'
  | 'restartGeneration'
  | 'description'
  | 'customLabel'
  | 'magic'
  | 'generation'
  | 'observedGeneration'
  | 'observedAt'
  | 'version'
  | 'teardown'
>;

export interface PortLease {
  region: string;
  port: number;
  protocol: 'TCP' | 'UDP';
  orderId: string;
}

export interface Page<T> {
  items: T[];
  total: number;
}

export interface DomainClaim {
  domain: string;
  orderId: string;
  containerPort: number;
  https: boolean;
}

export interface Notice {
  orderId: string;
  serviceID: string;
  address: string;
  noticeType: string;
  timestamp: number;
}

export interface PodEvent {
  orderId: string;
  /** Kubernetes' uid of the Event object: a repeated event updates its row. */
  uid: string;
  /** What it is about, e.g. `Pod/workload-7f9c-abcde`. */
  object: string;
  type: string;
  reason: string;
  message: string;
  count: number;
  firstSeen: number;
  lastSeen: number;
}

export interface ContainerRestarts {
  orderId: string;
  pod: string;
  container: string;
  restartCount: number;
  lastReason: string;
  lastExitCode: number | null;
  updatedAt: number;
}

export interface AccessToken {
  id: string;
  orderId: string;
  name: string;
  tokenHash: string;
  createdAt: number;
  expiresAt: number | null;
  active: boolean;
  lastUsedAt: number | null;
}

export interface AuditEntry {
  id: string;
  at: number;
  /** `admin`, `order:<id>` (its secret) or `token:<id>` (one of its access tokens), or `anonymous`. */
  actor: string;
  orderId: string | null;
  /** `METHOD /route/pattern`, never the body. */
  action: string;
  /** The HTTP status answered. */
  outcome: number;
  client: string;
  requestId: string;
  /** What the entry was about beyond the route (an exec's command, a session's container or port, why it ended); never output or credentials. */
  detail?: string | null;
}

/** One order's entry in the leader's work queue. */
export interface QueuedWork {
  orderId: string;
  /** Changes with every enqueue: completing an older stamp leaves a newer request queued. */
  stamp: number;
  /** Unix milliseconds. */
  dueAt: number;
  /** Failed attempts since it was last enqueued. */
  attempts: number;
  lastError: string;
  enqueuedAt: number;
}

/** A spec an order was deployed with: every recordDeploy writes one, the last DEPLOY_HISTORY_KEPT per order are kept. */
export interface DeployHistoryEntry {
  orderId: string;
  /** The order's generation that deploy recorded (what the deploy answered). */
  generation: number;
  /** Unix seconds. */
  createdAt: number;
  /** The DeploySpec as recorded (registry passwords sealed). */
  spec: unknown;
}

/** How many past specs an order keeps (its deploy history, and how far back it can roll back). */
export const DEPLOY_HISTORY_KEPT = 20;

/** One sample of an order's usage (see domain/usage-history.ts), stored as JSON. */
export interface UsageRow {
  orderId: string;
  /** Unix seconds. */
  at: number;
  sample: unknown;
}
