/**
 * The console talks to V-Kube only through the typed SDK (src/sdk), same origin.
 * `call()` turns every failure into a VkubeApiError whose message is what the
 * customer reads: the error envelope's message, or why the server could not be reached.
 */
import { createVkubeClient, unwrap, VkubeApiError, type VkubeClient, type paths } from '../../src/sdk/client.js';

export { VkubeApiError };
export type Api = VkubeClient;
export type { paths };

export function connect(secret: string): Api {
  return createVkubeClient({ baseUrl: location.origin, secret });
}

/** A public client (regions, image checks need no secret). */
export function anonymous(): Api {
  return createVkubeClient({ baseUrl: location.origin });
}

type Result<T> = { data?: T; error?: unknown; response: Response };

/** Awaits an SDK call and returns its data, or throws a VkubeApiError with a readable message. */
export async function call<T>(request: Promise<Result<T>>): Promise<T> {
  let result: Result<T>;
  try {
    result = await request;
  } catch (err) {
    throw asApiError(err);
  }
  return unwrap(result);
}

export function asApiError(err: unknown): VkubeApiError {
  if (err instanceof VkubeApiError) return err;
  if (err instanceof DOMException && err.name === 'AbortError') return new VkubeApiError(0, 'cancelled');
  if (err instanceof SyntaxError) return new VkubeApiError(0, 'V-Kube sent an answer the console cannot read');
  // fetch() rejects with a TypeError when the network fails.
  return new VkubeApiError(0, 'V-Kube cannot be reached: check your connection and try again');
}

/** The text to show for any failure. */
export function errorText(err: unknown): string {
  return asApiError(err).message;
}

export function isAbort(err: unknown): boolean {
  return (err instanceof DOMException && err.name === 'AbortError') || (err instanceof VkubeApiError && err.message === 'cancelled');
}

type Json<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  responses: { 200: { content: { 'application/json': infer R } } };
}
  ? R
  : never;

export type Order = Json<'/api/v1/k8s/order', 'get'>;
export type DeployResult = Json<'/api/v1/k8s/deploy', 'post'>;
export type CheckPortsResult = Json<'/api/v1/k8s/checkports', 'post'>;
export type Domains = Json<'/api/v1/k8s/pod/ingress', 'post'>['domains'];
export type EventsResult = Json<'/api/v1/k8s/events', 'get'>;

type SeedDeployBody = paths['/api/v1/k8s/deploy']['post']['requestBody']['content']['application/json'];
/**
 * The seed deploy body, plus `envs`: V-Kube accepts environment variables in the seed
 * shape too (the same container parser as the clients' shape), though the schema in
 * sdk/openapi.json does not list them yet.
 */
export type DeployBody = Omit<SeedDeployBody, 'containers'> & {
  containers: Array<SeedDeployBody['containers'][number] & { envs?: Array<{ name: string; value: string }> }>;
};
