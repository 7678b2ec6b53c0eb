/** The parts of an order's `serviceOptions` that V-Kube acts on. */
import type { OrderRecord } from './records.js';

export const PORT_SPEC_USER = 'User Specified Service Port';
export const PORT_SPEC_RANDOM = 'System Random Map Port';

/** `"2-Unit-Resource"` → 2; undefined when the text is not of that form. */
export function parseResourceUnit(text: string): number | undefined {
  const m = /^(\d{1,4})-Unit-Resource$/.exec(text.trim());
  const n = Number(m?.[1]);
  return m && n >= 1 ? n : undefined;
}

export function unitOption(units: number): string {
  return `${units}-Unit-Resource`;
}

/** V-Kube chooses the host ports itself (and keeps them) for these orders. */
export function assignsRandomPorts(order: Pick<OrderRecord, 'serviceOptions'>): boolean {
  return order.serviceOptions.portSpecification === PORT_SPEC_RANDOM;
}

export function persistsStorage(order: Pick<OrderRecord, 'serviceOptions'>): boolean {
  return /^(yes|true)$/i.test(order.serviceOptions.persistStorage ?? '');
}
