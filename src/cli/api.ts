/**
 * The CLI's door to V-Kube: the typed SDK client plus one `call` that unwraps an
 * answer and turns any failure (envelope, network, timeout) into a CliError that
 * names the server.
 */
import { createVkubeClient, unwrap, type VkubeClient } from '../sdk/client.js';
import { RequestTimeout, toCliError } from './errors.js';

/** How long V-Kube may take to start answering (a deploy checks images first). */
const HEADERS_TIMEOUT_MS = 60_000;

export interface Api {
  server: string;
  client: VkubeClient;
  /** The data of a successful answer; a CliError otherwise. */
  call<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T>;
}

export function connect(server: string, auth: { secret?: string; adminToken?: string } = {}): Api {
  const client = createVkubeClient({ baseUrl: server, ...auth, fetch: fetchWithTimeout(HEADERS_TIMEOUT_MS) });
  return {
    server,
    client,
    async call<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
      try {
        return unwrap(await request);
      } catch (err) {
        throw toCliError(err, server, auth.adminToken !== undefined);
      }
    },
  };
}

/**
 * fetch that gives up when no response headers arrive in time. Only the wait for the
 * headers is bounded: a followed log (SSE) may then stream for as long as it likes.
 */
function fetchWithTimeout(ms: number): typeof fetch {
  return async (input, init) => {
    const timer = new AbortController();
    const handle = setTimeout(() => timer.abort(new RequestTimeout(ms / 1000)), ms);
    const own = input instanceof Request ? input.signal : init?.signal;
    try {
      return await fetch(input, { ...init, signal: own ? AbortSignal.any([own, timer.signal]) : timer.signal });
    } catch (err) {
      if (timer.signal.aborted) throw new RequestTimeout(ms / 1000);
      throw err;
    } finally {
      clearTimeout(handle);
    }
  };
}
