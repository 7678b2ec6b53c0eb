/**
 * Why an order's volume claim is not ready, in words a customer understands.
 *
 * A pod whose claim cannot bind waits in Pending with no word of its own; Kubernetes
 * says why elsewhere: the claim's phase, the events the volume controllers raise about
 * the claim (`ProvisioningFailed`, `FailedBinding`, `ExternalProvisioning`,
 * `WaitForFirstConsumer`, …) and the scheduler's `PodScheduled` condition on the pod.
 * This reads those (as the watch caches hold them) and turns them into one sentence,
 * keeping Kubernetes' own reason and words alongside for whoever has to fix it. Pure.
 */
import type { EventJson, PersistentVolumeClaimJson, PodJson } from '../cluster/gateway.js';

export type ClaimPhase = 'Pending' | 'Bound' | 'Lost';

export interface StorageStatusView {
  /** The claim's name in the order's namespace. */
  claim: string;
  /** The claim's phase as Kubernetes reports it; Pending while the claim does not exist yet. */
  phase: ClaimPhase;
  /** What is going on, in plain words. */
  message: string;
  /** Kubernetes' reason the message was drawn from: an event's (e.g. ProvisioningFailed) or the scheduler's (Unschedulable). */
  reason?: string;
  /** Kubernetes' own words for it: the event's message or the scheduler's. */
  detail?: string;
}

/** Kubernetes' word for something, and its message. */
interface Said {
  reason: string;
  message: string;
}

/** The name of the volume claim the pod mounts, if it mounts one. */
export function claimMountedBy(pod: PodJson): string | undefined {
  const volumes = pod.spec.volumes;
  if (!Array.isArray(volumes)) return undefined;
  for (const v of volumes as Array<{ persistentVolumeClaim?: { claimName?: unknown } }>) {
    const name = v?.persistentVolumeClaim?.claimName;
    if (typeof name === 'string' && name) return name;
  }
  return undefined;
}

export function describeStorage(claimName: string, claim: PersistentVolumeClaimJson | undefined, events: readonly EventJson[], pod: PodJson): StorageStatusView {
  const view = (phase: ClaimPhase, message: string, said?: Said): StorageStatusView => ({
    claim: claimName,
    phase,
    message,
    ...(said ? { reason: said.reason, detail: said.message } : {}),
  });
  const scheduling = unscheduled(pod);

  if (!claim) {
    return view('Pending', 'Your storage volume has not been requested from the cluster yet; your container starts once it exists.', scheduling);
  }
  if (claim.metadata.deletionTimestamp) {
    return view(phaseOf(claim), 'Your storage volume is being deleted.');
  }
  const phase = phaseOf(claim);
  if (phase === 'Bound') {
    const size = claim.status?.capacity?.storage;
    return view('Bound', `Your storage volume${size ? ` (${size})` : ''} is ready.`);
  }
  if (phase === 'Lost') {
    const volume = claim.spec?.volumeName;
    return view('Lost', 'Your storage volume is lost: the disk behind it no longer exists, so your container cannot start with it. Tell your provider.', {
      reason: 'ClaimLost',
      message: `the volume${volume ? ` ${volume}` : ''} the claim was bound to no longer exists`,
    });
  }
  const { message, said } = whyPending(newest(events), scheduling);
  return view('Pending', message, said);
}

/** A claim still waiting: what the newest event about it says, or else what the scheduler says about the pod; and which of the two it drew on. */
function whyPending(event: EventJson | undefined, scheduling: Said | undefined): { message: string; said: Said | undefined } {
  const fromEvent = (message: string) => ({ message, said: event ? { reason: event.reason ?? '', message: event.message ?? '' } : undefined });
  const fromScheduler = (message: string) => ({ message, said: scheduling });
  const text = event?.message ?? '';
  const missingClass = /storageclass(?:\.storage\.k8s\.io)? "([^"]+)" not found/i.exec(text)?.[1];
  if (missingClass !== undefined) {
    return fromEvent(
      `Your storage volume cannot be created: the cluster has no storage class named "${missingClass}". Your provider has to create it or change V-Kube's storage class; your container waits until then.`,
    );
  }
  switch (event?.reason) {
    case 'FailedBinding':
      if (/no storage class is set/i.test(text)) {
        return fromEvent(
          "Your storage volume cannot be created: the cluster has no default storage class, and V-Kube's setting names none. Your provider has to set one up; your container waits until then.",
        );
      }
      return fromEvent('Your storage volume could not be matched to a disk yet; the cluster keeps trying, and your container waits until it succeeds.');
    case 'ProvisioningFailed':
      return fromEvent(
        'Creating your storage volume failed; the cluster keeps trying, and your container waits until it succeeds. If this lasts, tell your provider: their storage provisioner reports an error.',
      );
    case 'ExternalProvisioning': {
      const provisioner = /provisioner "([^"]+)"|provisioner '([^']+)'/.exec(text);
      const who = provisioner ? ` (${provisioner[1] ?? provisioner[2]})` : '';
      return fromEvent(
        `Your storage volume is waiting for the cluster's storage provisioner${who} to create it; your container starts once it is ready. If this lasts more than a few minutes, tell your provider: the provisioner may not be running.`,
      );
    }
    case 'Provisioning':
      return fromEvent('Your storage volume is being created; your container starts once it is ready.');
    case 'ProvisioningSucceeded':
      return fromEvent('Your storage volume was created and is being attached; your container starts once it is ready.');
    case 'WaitForFirstConsumer':
      if (scheduling && blamesStorage(scheduling.message)) {
        return fromScheduler(
          'Your storage volume is created on the node your container runs on, and no node in your region can provide it now. Tell your provider; your container waits until a node can.',
        );
      }
      if (scheduling) return fromScheduler('Your storage volume is created once your container is placed on a node, and your container cannot be placed yet.');
      return fromEvent('Your storage volume will be created on the node your container is placed on; your container starts once it is ready.');
  }
  if (scheduling && blamesStorage(scheduling.message)) {
    return fromScheduler('Your storage volume is not ready, and your container cannot start without it. The cluster has not said why yet.');
  }
  if (event) return fromEvent('Your storage volume is waiting to be created; your container starts once it is ready.');
  return fromScheduler('Your storage volume is waiting to be created; your container starts once it is ready.');
}

/** The scheduler's verdicts that are about volumes (unbound claims, no node with a fitting volume, volume on another node, no room). */
function blamesStorage(message: string): boolean {
  return /unbound immediate PersistentVolumeClaims|persistentvolumeclaim|persistent volumes? to bind|volume node affinity|free storage|storage capacity/i.test(message);
}

function phaseOf(claim: PersistentVolumeClaimJson): ClaimPhase {
  const phase = claim.status?.phase;
  return phase === 'Bound' || phase === 'Lost' ? phase : 'Pending';
}

/** The scheduler's reason and message while it cannot place the pod. */
function unscheduled(pod: PodJson): Said | undefined {
  const c = pod.status?.conditions?.find((x) => x.type === 'PodScheduled');
  if (!c || c.status !== 'False' || !c.message) return undefined;
  return { reason: c.reason ?? 'Unschedulable', message: c.message };
}

/** The most recent event (a warning first when two share a second: it says more). */
function newest(events: readonly EventJson[]): EventJson | undefined {
  let best: EventJson | undefined;
  for (const e of events) {
    if (!best) {
      best = e;
      continue;
    }
    const d = seenAt(e) - seenAt(best);
    if (d > 0 || (d === 0 && e.type === 'Warning' && best.type !== 'Warning')) best = e;
  }
  return best;
}

function seenAt(e: EventJson): number {
  const t = Date.parse(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? '');
  return Number.isFinite(t) ? t : 0;
}
