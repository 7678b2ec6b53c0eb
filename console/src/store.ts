/**
 * The signed-in session: the client for one secret and the latest service and pod
 * state, refreshed every few seconds while the console is open. Views subscribe and
 * redraw; status changes are announced once, here, for every view.
 */
import { type Api, call, errorText, VkubeApiError } from './api.js';
import { announce } from './dom.js';
import { type Pod, readPod, readService, type Service, statusLabel } from './model.js';

export interface Snapshot {
  service: Service;
  /** The live pod; null when none runs (not deployed, stopped, starting). */
  pod: Pod | null;
  /** Why there is no pod, or why it could not be read. */
  podNote: string;
  /** Set when the last refresh failed (the rest is then the previous state). */
  refreshError: string;
  /** Date.now() of the last successful refresh. */
  updatedAt: number;
}

export class Session {
  snapshot: Snapshot;
  private listeners = new Set<(s: Snapshot) => void>();
  private timer: number | undefined;
  private inFlight: Promise<void> | undefined;
  private onSignedOut: () => void = () => {};

  private constructor(
    readonly api: Api,
    service: Service,
  ) {
    this.snapshot = { service, pod: null, podNote: '', refreshError: '', updatedAt: Date.now() };
  }

  /** Opens a session: the secret is checked by reading the service it belongs to. */
  static async open(api: Api): Promise<Session> {
    const raw = await call(api.GET('/api/v1/k8s/userService'));
    const session = new Session(api, readService(raw));
    await session.refresh();
    return session;
  }

  subscribe(listener: (s: Snapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called when the secret stops working (rotated, order removed): back to sign-in. */
  whenSignedOut(fn: () => void): void {
    this.onSignedOut = fn;
  }

  startPolling(everyMs = 4000): void {
    this.stopPolling();
    this.timer = window.setInterval(() => {
      if (document.visibilityState === 'visible') void this.refresh();
    }, everyMs);
  }

  stopPolling(): void {
    window.clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * After a deploy: refreshes at once, then again the moment the new pod is Running (or
   * cannot get there, or after 30 s) — V-Kube answers `?wait=Running` from its pod watch, so
   * the page needs no faster polling to show it.
   */
  async refreshWhenRunning(): Promise<void> {
    await this.refresh();
    try {
      await call(this.api.GET('/api/v1/k8s/pod/status', { params: { query: { wait: 'Running', timeout: '30' } } }));
    } catch {
      // No pod yet, or not running: the refresh below shows what there is.
    }
    await this.refresh();
  }

  /** Reads the service and the pod again; concurrent calls share one round trip. */
  refresh(): Promise<void> {
    this.inFlight ??= this.load().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async load(): Promise<void> {
    const previous = this.snapshot;
    const [service, pod] = await Promise.allSettled([call(this.api.GET('/api/v1/k8s/userService')), call(this.api.GET('/api/v1/k8s/pod/status'))]);
    const next: Snapshot = { ...previous, refreshError: '' };
    if (service.status === 'fulfilled') {
      next.service = readService(service.value);
    } else {
      if (service.reason instanceof VkubeApiError && service.reason.status === 401) {
        this.stopPolling();
        this.onSignedOut();
        return;
      }
      next.refreshError = errorText(service.reason);
    }
    if (pod.status === 'fulfilled') {
      next.pod = readPod(pod.value);
      next.podNote = '';
    } else if (pod.reason instanceof VkubeApiError && pod.reason.status === 404) {
      next.pod = null;
      next.podNote = pod.reason.message;
    } else {
      next.podNote = errorText(pod.reason);
      next.refreshError ||= next.podNote;
    }
    if (!next.refreshError) next.updatedAt = Date.now();
    this.snapshot = next;
    this.announceChanges(previous, next);
    for (const listener of this.listeners) listener(next);
  }

  private announceChanges(before: Snapshot, after: Snapshot): void {
    const said: string[] = [];
    if (before.service.status !== after.service.status) said.push(`Service is now ${statusLabel(after.service.status)}.`);
    if ((before.pod?.phase ?? 'none') !== (after.pod?.phase ?? 'none')) said.push(after.pod ? `Pod is ${after.pod.phase}.` : 'No pod is running.');
    if (said.length) announce(said.join(' '));
  }
}
