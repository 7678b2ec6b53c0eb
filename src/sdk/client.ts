/**
 * The typed V-Kube client: openapi-fetch over the types generated from the OpenAPI
 * document, plus the two ways to authenticate. Used by the `vkube` CLI and the console.
 *
 *   const api = createVkubeClient({ baseUrl: 'http://localhost:8080', secret });
 *   const order = unwrap(await api.GET('/api/v1/k8s/order'));
 */
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './api-types.js';

export type { components, paths };
export type VkubeClient = Client<paths>;
export type ErrorEnvelope = components['schemas']['ErrorEnvelope'];

export interface VkubeClientOptions {
  /** Where V-Kube listens, e.g. http://localhost:8080 (no /api/v1). */
  baseUrl: string;
  /** An order's secret, or the original clients' token. */
  secret?: string;
  /** The provider's VKUBE_ADMIN_TOKEN. */
  adminToken?: string;
  fetch?: typeof fetch;
}

export function createVkubeClient(opts: VkubeClientOptions): VkubeClient {
  const headers: Record<string, string> = {};
  if (opts.secret) headers.secret = opts.secret;
  if (opts.adminToken) headers.authorization = `Bearer ${opts.adminToken}`;
  return createClient<paths>({ baseUrl: opts.baseUrl.replace(/\/+$/, ''), headers, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
}

/** A V-Kube error answer: the HTTP status and the envelope's message. */
export class VkubeApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'VkubeApiError';
  }
}

/** The data of a successful call, or a VkubeApiError carrying the envelope's message. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok) {
    const envelope = result.error as Partial<ErrorEnvelope> | undefined;
    throw new VkubeApiError(result.response.status, envelope?.error?.message ?? `HTTP ${result.response.status}`);
  }
  return result.data as T;
}
