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

/**
 * Polls until the pod runs; prints phase changes on stderr. A failure (crash loop,
 * unschedulable, timeout) is a CliError with exit code 8 that says why.
 */
export async function waitWithProgress(api: Api, out: Output, opts: { timeoutMs: number; replacing?: string; what?: string }): Promise<PodView> {
  const started = Date.now();
  let unavailable = false;
  const result = await waitForRunning(
    {
      fetchPod: async () => {
        try {
          return await fetchPodStatus(api);
        } catch (err) {
          // V-Kube briefly unable to read the cluster is worth waiting out, not failing for.
          if (err instanceof CliError && err.exitCode === ExitCode.unavailable) {
            if (!unavailable) out.progress(`(${err.message}; still waiting)`);
            unavailable = true;
            return undefined;
          }
          throw err;
        }
      },
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
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
