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
