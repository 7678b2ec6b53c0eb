import type { Session } from '../store.js';

/** One section of the console. `dispose` stops its timers and streams when the customer leaves it. */
export interface View {
  el: HTMLElement;
  dispose?(): void;
}

export interface ViewContext {
  session: Session;
  navigate(path: string): void;
}
