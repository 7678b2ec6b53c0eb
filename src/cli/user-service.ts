/**
 * `GET /k8s/userService` (the clients' view of the order's service). The SDK types its
 * answer as an open object, so the fields the CLI reads are checked here, once.
 */
import type { Api } from './api.js';

export type ServiceStatus = 'ServicePending' | 'ServiceRunning' | 'ServiceStop' | 'ServiceDone' | 'ServiceAbort';

export interface UserService {
  id: string;
  status: ServiceStatus | string;
  region: string;
  serviceOptions: Record<string, string>;
  /** Unix seconds; 0 when it has not happened. */
  activateTS: number;
  runningTS: number;
  endAt: number;
  /** The answer as V-Kube sent it (for --json). */
  raw: Record<string, unknown>;
}

export async function readUserService(api: Api): Promise<UserService> {
  const raw = await api.call(api.client.GET('/api/v1/k8s/userService'));
  const str = (k: string) => (typeof raw[k] === 'string' ? (raw[k] as string) : '');
  const num = (k: string) => (typeof raw[k] === 'number' ? (raw[k] as number) : 0);
  const options = typeof raw.serviceOptions === 'object' && raw.serviceOptions !== null ? (raw.serviceOptions as Record<string, unknown>) : {};
  return {
    id: str('id'),
    status: str('status'),
    region: str('region'),
    serviceOptions: Object.fromEntries(Object.entries(options).filter((e): e is [string, string] => typeof e[1] === 'string')),
    activateTS: num('serviceActivateTS'),
    runningTS: num('serviceRunningTS'),
    endAt: num('endAt'),
    raw,
  };
}

/** V-Kube chooses the host ports itself for these orders (and ignores the file's). */
export function randomPorts(service: UserService): boolean {
  return service.serviceOptions.portSpecification === 'System Random Map Port';
}

const STATUS_TEXT: Record<string, string> = {
  ServicePending: 'not deployed yet',
  ServiceRunning: 'running',
  ServiceStop: 'stopped',
  ServiceDone: 'expired',
  ServiceAbort: 'cancelled',
};

/** `ServiceRunning` → "running": the words the console uses too. Unknown values are shown as they are. */
export function serviceStatusText(status: string): string {
  return STATUS_TEXT[status] ?? status;
}

/** `2-Unit-Resource` → "2 units"; anything else as it is. */
export function unitsText(resourceUnit: string | undefined): string | undefined {
  const n = /^(\d+)-Unit-Resource$/.exec(resourceUnit ?? '')?.[1];
  return n ? `${n} unit${n === '1' ? '' : 's'}` : resourceUnit;
}

/** The order's `portSpecification` in words. */
export function portChoiceText(spec: string | undefined): string | undefined {
  if (spec === 'System Random Map Port') return 'chosen by V-Kube';
  if (spec === 'User Specified Service Port') return 'chosen by you (in the deploy file)';
  return spec;
}
