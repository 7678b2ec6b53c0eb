/** Table types as Kysely sees them (snake_case columns, JSON kept as text). */
import type { ColumnType, Generated } from 'kysely';

export interface OrdersTable {
  id: string;
  secret_hash: string;
  service_id: string;
  service: string;
  service_category_id: string;
  provider: string;
  address: string;
  recipient: string;
  amount: number;
  amount_paid: number;
  duration_hours: number;
  service_options: string;
  public_key: string;
  email: string;
  order_status: string;
  service_status: string;
  region: string;
  units: number;
  created_at: number;
  updated_at: number;
  activated_at: number | null;
  running_at: number | null;
  stopped_at: number | null;
  done_at: number | null;
  aborted_at: number | null;
  end_at: number | null;
  spec: string | null;
  spec_generation: Generated<number>;
  restart_generation: Generated<number>;
  description: Generated<string>;
  custom_label: Generated<string>;
  magic: Generated<string>;
  generation: Generated<number>;
  observed_generation: Generated<number>;
  observed_at: Generated<number>;
  teardown: string | null;
  /** Bumped by the database (triggers of migration 010) on every change of the row or of the order's domains. */
  version: Generated<number>;
}

export interface DomainsTable {
  domain: string;
  order_id: string;
  container_port: number;
  https: number;
  created_at: number;
}

export interface NoticesTable {
  id: string;
  order_id: string;
  service_id: string;
  address: string;
  notice_type: string;
  timestamp: number;
}

export interface PortLeasesTable {
  region: string;
  port: number;
  protocol: string;
  order_id: string;
  created_at: number;
}

export interface SettingsTable {
  key: string;
  value: string;
}

export interface PodEventsTable {
  order_id: string;
  uid: string;
  object: string;
  type: string;
  reason: string;
  message: string;
  count: number;
  first_seen: number;
  last_seen: number;
}

export interface ContainerRestartsTable {
  order_id: string;
  pod: string;
  container: string;
  restart_count: number;
  last_reason: string;
  last_exit_code: number | null;
  updated_at: number;
}

export interface AccessTokensTable {
  id: string;
  order_id: string;
  name: string;
  token_hash: string;
  created_at: number;
  expires_at: number | null;
  active: number;
  last_used_at: number | null;
}

export interface AuditLogTable {
  id: string;
  at: number;
  actor: string;
  order_id: string | null;
  action: string;
  outcome: number;
  client: string;
  request_id: string;
  // Null when the route says it all (migration 007); absent from older inserts.
  detail: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface ReconcileQueueTable {
  order_id: string;
  stamp: number;
  /** Unix milliseconds: when the leader should take it next. */
  due_at: number;
  attempts: number;
  last_error: string;
  enqueued_at: number;
}

export interface ContactsTable {
  owner_kind: string;
  owner: string;
  type: string;
  contact: string;
  created_at: number;
}

export interface ContactCodesTable {
  owner_kind: string;
  owner: string;
  type: string;
  contact: string;
  code_hash: string;
  expires_at: number;
  attempts: number;
  sent_at: number;
}

export interface SeenSignaturesTable {
  signature_hash: string;
  expires_at: number;
}

export interface WebhooksTable {
  id: string;
  url: string;
  secret_sealed: string;
  events: string;
  created_at: number;
}

export interface OutboxTable {
  id: string;
  type: string;
  order_id: string | null;
  order_json: string | null;
  data_json: string;
  created_at: number;
  dispatched: number;
  dedupe_key: string | null;
}

export interface DeliveriesTable {
  id: string;
  event_id: string;
  channel: string;
  target: string;
  status: string;
  attempts: number;
  next_at: number;
  last_error: string;
  last_status: number | null;
  created_at: number;
  delivered_at: number | null;
}

export interface DeployHistoryTable {
  order_id: string;
  generation: number;
  created_at: number;
  /** The DeploySpec as recorded (registry passwords sealed), JSON. */
  spec: string;
}

export interface UsageSamplesTable {
  order_id: string;
  /** Unix seconds. */
  at: number;
  /** One UsageSample, JSON. */
  sample: string;
}

export interface Database {
  orders: OrdersTable;
  port_leases: PortLeasesTable;
  settings: SettingsTable;
  domains: DomainsTable;
  notices: NoticesTable;
  pod_events: PodEventsTable;
  container_restarts: ContainerRestartsTable;
  access_tokens: AccessTokensTable;
  audit_log: AuditLogTable;
  reconcile_queue: ReconcileQueueTable;
  contacts: ContactsTable;
  contact_codes: ContactCodesTable;
  seen_signatures: SeenSignaturesTable;
  webhooks: WebhooksTable;
  outbox: OutboxTable;
  deliveries: DeliveriesTable;
  deploy_history: DeployHistoryTable;
  usage_samples: UsageSamplesTable;
}
