/**
 * What the original clients' routes share (DESIGN.md section 3). Their market CLI and
 * `vkube` CLI read only the fields named there and treat any body with an `error` key
 * as a failure, so successes never carry one. Each route stands in its resource's file.
 */
import { Type } from 'typebox';
import type { ApplyOutcome } from '../domain/apply-waiter.js';
import { SecretHeader } from './auth.js';

export const Ok = Type.Object(
  {
    status: Type.String(),
    generation: Type.Optional(Type.Integer({ description: "the order's generation a change recorded (only the reconcile leader applies it; the answer waits up to VKUBE_APPLY_WAIT_MS for that)" })),
    applied: Type.Optional(Type.Boolean({ description: 'whether the cluster held that generation when the answer was sent; when false a warning says why' })),
    warnings: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: true },
);
export const AnyObject = Type.Object({}, { additionalProperties: true });

/** A route of the original clients' API: their tag, and the tenant's credential header. */
export const clientsDoc = (summary: string, extra: Record<string, unknown> = {}) => ({ schema: { summary, tags: ['clients'], headers: SecretHeader, ...extra } });

/** How far the cluster has taken a recorded change, as the answers carry it. */
export function appliedView(outcome: ApplyOutcome): { generation: number; applied: boolean; warnings: string[] } {
  return { generation: outcome.generation, applied: outcome.applied, warnings: outcome.warning ? [outcome.warning] : [] };
}
