/**
 * How orders look on the wire. The seed's `GET /k8s/order` and the original clients'
 * `GET /k8s/userService` each read their own fields; both are built from the same
 * record here so they never disagree.
 */
import type { Static } from 'typebox';
import type { UnitCatalogue } from '../config.js';
import type { OrderRecord } from '../domain/records.js';
import { isoSeconds } from '../kernel/clock.js';
import type { DeploySpec } from '../domain/deploy-spec.js';
import type { Order } from './schemas.js';
import { extended } from '../kernel/extended.js';

/** The seed's order on the wire: typed by its published schema, so a field the schema lacks cannot be added here. */
export type OrderView = Static<typeof Order>;

export function orderView(o: OrderRecord): OrderView {
  return {
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
    duration: o.durationHours,
    serviceExpiredDate: o.endAt === null ? '' : isoSeconds(o.endAt),
    amount: o.amount,
    amountPaid: o.amountPaid,
    serviceID: o.serviceID,
    service: o.service,
    serviceCategoryID: o.serviceCategoryID,
    provider: o.provider,
    address: o.address,
    recipient: o.recipient,
    id: o.id,
    serviceOptions: o.serviceOptions,
    status: o.orderStatus,
    publicKey: o.publicKey,
  };
}

export interface UserServiceView {
  id: string;
  status: string;
  serviceOptions: Record<string, string>;
  duration: number;
  serviceActivateTS: number;
  serviceRunningTS: number;
  serviceDoneTS: number;
  serviceAbortTS: number;
  endAt: number;
  email: string;
  createdAt: number;
  updatedAt: number;
  serviceID: string;
  region: string;
  /** What the order's units add up to, so a client can size its containers. */
  resources: { units: number; memoryBytes: number; cpuMillis: number; hostPorts: number; containers: number };
}

/** The original clients' view; absent times are 0, as those clients expect numbers. */
export function userServiceView(o: OrderRecord, unit: UnitCatalogue): UserServiceView {
  return {
    id: o.id,
    status: o.serviceStatus,
    serviceOptions: o.serviceOptions,
    duration: o.durationHours,
    serviceActivateTS: o.activatedAt ?? 0,
    serviceRunningTS: o.runningAt ?? 0,
    serviceDoneTS: o.doneAt ?? 0,
    serviceAbortTS: o.abortedAt ?? 0,
    endAt: o.endAt ?? 0,
    email: o.email,
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
    serviceID: o.serviceID,
    region: o.region,
    resources: {
      units: o.units,
      memoryBytes: o.units * unit.memoryBytes,
      cpuMillis: o.units * unit.cpuMillis,
      hostPorts: o.units * unit.hostPorts,
      containers: o.units * unit.containers,
    },
  };
}

/** What the provider's admin API shows of an order: both views and the service state. */
export function adminOrderView(o: OrderRecord): OrderView & Pick<OrderRecord, 'serviceStatus' | 'endAt' | 'region' | 'units'> {
  return extended(orderView(o), { serviceStatus: o.serviceStatus, endAt: o.endAt, region: o.region, units: o.units });
}

/**
 * `GET /k8s/deployment/info`: the deployed spec in the clients' body shape, with the
 * host ports as they are now (V-Kube's choice for random-port orders). Registry
 * passwords are never shown.
 */
export function deploymentInfoView(spec: DeploySpec, o: OrderRecord): Record<string, unknown> {
  return {
    serviceStatus: o.serviceStatus,
    nodeSelector: { region: spec.region },
    containers: spec.containers.map((c) => ({
      name: c.name,
      imageName: c.image,
      resourceUnit: c.units,
      resource: { memory: formatMemory(c.memoryBytes) },
      ports: c.ports.map((p) => ({ containerPort: p.containerPort, ...(p.hostPort !== undefined ? { hostPort: p.hostPort } : {}), protocol: p.protocol })),
      envs: c.env,
      command: c.command ?? [],
      args: c.args ?? [],
      ...(c.mountPath ? { mountPath: c.mountPath } : {}),
      ...(c.configFiles.length ? { configMap: Object.fromEntries(c.configFiles.map((f) => [f.path, f.content])) } : {}),
      ...(c.configFiles[0] ? { configMountPath: c.configFiles[0].path, config: c.configFiles[0].content } : {}),
      exposedPorts: c.exposedPorts,
      ...(c.probes ?? {}),
    })),
    pvtLogin: spec.registryLogins.map((l) => ({ username: l.username })),
  };
}

function formatMemory(bytes: number): string {
  return bytes % 2 ** 30 === 0 ? `${bytes / 2 ** 30}Gi` : `${Math.round(bytes / 2 ** 20)}Mi`;
}
