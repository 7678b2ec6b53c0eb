/** Waiting for the pod from the command line: the live fetch and the progress lines around pod-view's waiter. */
import type { Api } from './api.js';
import { CliError, ExitCode } from './errors.js';
import type { Output } from './output.js';
import { type PodStatusResponse, type PodView, waitForRunning } from './pod-view.js';

/** The live pod, or undefined when there is none (404). */
export async function fetchPodStatus(api: Api): Promise<PodStatusResponse | undefined> {
  try {
    return await api.call(api.client.GET('/api/v1/k8s/pod/status'));
  } catch (err) {
    if (err instanceof CliError && err.exitCode === ExitCode.notFound) return undefined;
    throw err;
  }
}

/** The longest one waiting request lasts: progress lines come at least this often. */
const WAIT_SLICE_SECONDS = 10;

/**
 * The pod once it is Running and Ready, as soon as it cannot get there, or after
 * `seconds`: `GET /k8s/pod/status?wait=Ready`, answered by V-Kube from its pod watch the
 * moment the pod changes (no polling); undefined while there is no pod (404).
 */
async function waitForPodStatus(api: Api, seconds: number): Promise<PodStatusResponse | undefined> {
  try {
    return await api.call(api.client.GET('/api/v1/k8s/pod/status', { params: { query: { wait: 'Ready', timeout: String(seconds) } } }));
  } catch (err) {
    if (err instanceof CliError && err.exitCode === ExitCode.notFound) return undefined;
    throw err;
  }
}

/**
 * Waits until the pod runs, a slice at a time (each answered by V-Kube the moment the pod
 * changes); prints phase changes on stderr. A failure (crash loop, unschedulable, timeout)
 * is a CliError with exit code 8 that says why.
 */
export async function waitWithProgress(api: Api, out: Output, opts: { timeoutMs: number; replacing?: string; what?: string }): Promise<PodView> {
  const started = Date.now();
  let unavailable = false;
  // A request that itself waited needs no pause before the next; one answered at once does.
  let lastWaitedMs = 0;
  const result = await waitForRunning(
    {
      fetchPod: async () => {
        const asked = Date.now();
        const left = Math.ceil((opts.timeoutMs - (asked - started)) / 1000);
        try {
          return await waitForPodStatus(api, Math.max(1, Math.min(WAIT_SLICE_SECONDS, left)));
        } catch (err) {
          // V-Kube briefly unable to read the cluster is worth waiting out, not failing for.
          if (err instanceof CliError && err.exitCode === ExitCode.unavailable) {
            if (!unavailable) out.progress(`(${err.message}; still waiting)`);
            unavailable = true;
            return undefined;
          }
          throw err;
        } finally {
          lastWaitedMs = Date.now() - asked;
        }
      },
      sleep: (ms) => (lastWaitedMs >= ms ? Promise.resolve() : new Promise((r) => setTimeout(r, ms))),
      now: () => Date.now(),
      report: (line) => out.progress(line),
    },
    { timeoutMs: opts.timeoutMs, ...(opts.replacing ? { replacing: opts.replacing } : {}) },
  );
  if (!result.ok) {
    const hint = result.timedOut ? ' (wait longer with --timeout, or look with `vkube status`)' : '; see `vkube status` and `vkube logs --previous`';
    throw new CliError(`${opts.what ?? 'the pod'} did not reach Running: ${result.reason}${hint}`, ExitCode.deployFailed);
  }
  out.progress(`running and ready after ${Math.max(1, Math.round((Date.now() - started) / 1000))} s`);
  return result.pod;
}
