/**
 * Who may write to Kubernetes: only the replica that holds the reconcile Lease, and only
 * while the Lease it last renewed cannot yet have lapsed for the others. The cluster's
 * leader election implements it; a process without election is its own leader.
 */
import { UnavailableError } from '../kernel/errors.js';

export interface Leadership {
  /** Whether this replica runs the reconcile work now. */
  isLeader(): boolean;
  /**
   * How long, in milliseconds, this replica may still write: 0 when it does not hold the
   * Lease (or its hold may have lapsed), Infinity when it is alone.
   */
  writeWindowMs(): number;
  /** Resolves at the next renewal of the hold (true) or after `timeoutMs` (false); absent when the hold never runs out. */
  nextRenewal?(timeoutMs: number): Promise<boolean>;
}

/** A process with leader election off: always the one writer. */
export const soleWriter: Leadership = { isLeader: () => true, writeWindowMs: () => Infinity };

/** A write refused because this replica no longer (surely) holds the Lease; the next leader does it. */
export class FencedOut extends UnavailableError {}
