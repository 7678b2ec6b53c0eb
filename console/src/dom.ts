/**
 * A tiny DOM toolkit: `h()` builds elements (text always goes in as text, never as
 * HTML), `field()` pairs an input with its label, hint and error, `announce()` speaks
 * through the page's polite live region.
 */

export type Child = Node | string | number | null | undefined | false;
type AttrValue = string | number | boolean | null | undefined | ((event: never) => void);
export type Attrs = Record<string, AttrValue>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Array<Child | Child[]>): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value as EventListener);
    } else if (key === 'class') {
      el.className = String(value);
    } else if (key === 'value' && 'value' in el) {
      (el as HTMLInputElement).value = String(value);
    } else if (key === 'checked' && el instanceof HTMLInputElement) {
      el.checked = value === true;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Array<Child | Child[]>): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** Replaces every child of `parent`. */
export function replaceChildren(parent: Element, ...children: Array<Child | Child[]>): void {
  parent.replaceChildren();
  append(parent, children);
}

let nextId = 0;
/** A document-unique id, for label/for and aria-describedby. */
export function uid(prefix: string): string {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

export interface Field<T extends HTMLElement> {
  /** The wrapper: label, control, hint, error. */
  el: HTMLDivElement;
  control: T;
  hint: HTMLParagraphElement;
  /** Shows (or clears, with "") an error under the control and marks it invalid. */
  setError(message: string): void;
  /** A status line under the control (image checks, port checks), with a tone. */
  setHint(message: string, tone?: Tone): void;
}

export type Tone = 'neutral' | 'ok' | 'warn' | 'error' | 'busy';

/** A labelled form control with a hint line and an error line, wired with aria-describedby. */
export function field<T extends HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(
  label: string,
  control: T,
  opts: { hint?: string; liveHint?: boolean; class?: string } = {},
): Field<T> {
  if (!control.id) control.id = uid('f');
  const hint = h('p', { class: 'hint', id: uid('hint'), 'aria-live': opts.liveHint ? 'polite' : null }, opts.hint ?? '');
  const error = h('p', { class: 'field-error', id: uid('err'), hidden: true });
  control.setAttribute('aria-describedby', `${hint.id} ${error.id}`);
  const el = h('div', { class: `field ${opts.class ?? ''}`.trim() }, h('label', { for: control.id }, label), control, hint, error);
  let errorText = '';
  let hintTone: Tone = 'neutral';
  const markValidity = () => {
    if (errorText || hintTone === 'error') control.setAttribute('aria-invalid', 'true');
    else control.removeAttribute('aria-invalid');
  };
  const setError = (message: string) => {
    errorText = message;
    error.textContent = message;
    error.hidden = message === '';
    markValidity();
  };
  // An error from the last submit goes away as soon as the customer edits the field.
  control.addEventListener('input', () => errorText && setError(''));
  return {
    el,
    control,
    hint,
    setError,
    setHint(message, tone = 'neutral') {
      hint.textContent = message;
      hint.dataset.tone = tone;
      hintTone = tone;
      markValidity();
    },
  };
}

/** Says something to screen-reader users without moving focus. */
export function announce(message: string): void {
  const region = document.getElementById('announcer');
  if (!region) return;
  // Clearing first makes a repeated message be spoken again.
  region.textContent = '';
  window.setTimeout(() => (region.textContent = message), 50);
}

/**
 * A message box: errors go into a role=alert region (spoken at once), everything else
 * into a role=status region. Both stay in the page while empty, so screen readers
 * notice what is put into them; an empty box takes no room.
 */
export function messageBox(): { el: HTMLDivElement; show(tone: Tone, ...content: Array<Child | Child[]>): void; clear(): void } {
  const live = h('div', { role: 'status' });
  const alert = h('div', { role: 'alert' });
  const el = h('div', { class: 'message' }, live, alert);
  return {
    el,
    show(tone, ...content) {
      el.dataset.tone = tone;
      replaceChildren(tone === 'error' ? alert : live, ...content);
      replaceChildren(tone === 'error' ? live : alert);
    },
    clear() {
      delete el.dataset.tone;
      live.replaceChildren();
      alert.replaceChildren();
    },
  };
}

/**
 * Asks in the page, in `box`, before something a customer cannot take back (stopping the
 * app, replacing the running pod): resolves true on `yes`, false on Cancel. Focus goes to
 * Cancel, the safe answer, so Enter never confirms by accident.
 */
export function confirmIn(box: ReturnType<typeof messageBox>, question: string, detail: string, yes: string): Promise<boolean> {
  return new Promise((resolve) => {
    const confirm = h('button', { type: 'button', class: 'danger small' }, yes);
    const cancel = h('button', { type: 'button', class: 'secondary small' }, 'Cancel');
    const done = (answer: boolean) => {
      box.clear();
      resolve(answer);
    };
    confirm.addEventListener('click', () => done(true));
    cancel.addEventListener('click', () => done(false));
    box.show('warn', h('p', null, h('strong', null, question), ' ', detail), h('div', { class: 'button-row' }, confirm, cancel));
    cancel.focus();
  });
}

/** Calls `fn` once input has paused for `ms`; `cancel()` drops a pending call. */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number): ((...args: A) => void) & { cancel(): void } {
  let timer: number | undefined;
  const wrapped = (...args: A) => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => window.clearTimeout(timer);
  return wrapped;
}
