/** The events V-Kube tells providers (webhooks) and customers (e-mail) about. */

export const EVENT_TYPES = [
  'order.created',
  'deploy.accepted',
  'pod.running',
  'pod.crashloop',
  'pod.oomkilled',
  'order.expiring',
  'order.expired',
  'order.aborted',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** Events the customer is mailed about (at the addresses bound to the service and to its wallet). */
export const MAILED: ReadonlySet<string> = new Set<EventType>(['order.expiring', 'order.expired', 'order.aborted', 'pod.crashloop', 'pod.oomkilled']);

export function isEventType(text: unknown): text is EventType {
  return typeof text === 'string' && (EVENT_TYPES as readonly string[]).includes(text);
}
