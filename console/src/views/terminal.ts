/**
 * The status page's terminal: a shell in a container of the pod, as `vkube exec -it -- sh`.
 * This part is small and always loaded; the terminal (xterm.js) is fetched the first
 * time it is opened (terminal-session.ts).
 *
 * When a session ends the panel says why (the shell's exit status, idle too long, the
 * order stopped, the pod replaced, the connection lost) and offers to reconnect. A
 * browser cannot read why an upgrade was refused, so then the same URL is asked as a
 * plain GET, which answers the refusal in words (or 426 when nothing stood in the way).
 */
import { call, errorText, VkubeApiError } from '../api.js';
import { field, h, messageBox } from '../dom.js';
import type { Pod } from '../model.js';
import { savedSecret } from '../session.js';
import type { Session } from '../store.js';
import type { TerminalEnd, TerminalHandle } from './terminal-session.js';
import './terminal.css';

export function terminalPanel(session: Session): { el: HTMLElement; paint(pod: Pod | null): void; dispose(): void } {
  const container = field('Container', h('select', { name: 'terminal-container' }));
  const open = h('button', { type: 'button' }, 'Open terminal');
  const close = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Close');
  const message = messageBox();
  const screen = h('div', { class: 'terminal-screen', hidden: true, 'aria-label': 'Terminal', role: 'group' });
  let handle: TerminalHandle | undefined;
  let live = false;
  let disposed = false;
  let hasPod = false;

  function setLive(on: boolean): void {
    live = on;
    close.hidden = !on;
    open.hidden = on;
    container.control.disabled = on;
  }

  async function start(): Promise<void> {
    const secret = savedSecret();
    if (!secret) {
      message.show('error', 'The terminal needs your secret again: sign out and sign in.');
      return;
    }
    const name = container.control.value || undefined;
    open.disabled = true;
    message.show('busy', `Connecting to ${name ?? 'the first container'}…`);
    try {
      if (!handle) {
        const { createTerminal } = await import('./terminal-session.js');
        if (disposed) return;
        screen.hidden = false;
        handle = createTerminal(screen, { onOpen: () => opened(name), onEnd: (end) => void ended(end, name) });
      }
      screen.hidden = false;
      setLive(true);
      handle.connect({ secret, ...(name ? { container: name } : {}) });
    } catch (err) {
      setLive(false);
      message.show('error', `The terminal could not load: ${errorText(err)}`);
    } finally {
      open.disabled = !hasPod;
    }
  }

  function opened(name: string | undefined): void {
    message.show('ok', `Connected to ${name ?? 'the first container'}. Type exit or press Ctrl-D to end the shell. It closes after a while without typing.`);
  }

  async function ended(end: TerminalEnd, name: string | undefined): Promise<void> {
    setLive(false);
    open.textContent = 'Reconnect';
    if (end.kind !== 'refused') {
      message.show(end.kind === 'exit' && end.exitCode === 0 ? 'ok' : 'warn', end.text, ' ', 'Reconnect to start a new shell.');
      return;
    }
    // Why was it refused? The plain GET answers the refusal an upgrade would get.
    try {
      await call(session.api.GET('/api/v1/k8s/pod/exec', { params: { query: { command: 'sh', ...(name ? { container: name } : {}) } } }));
      message.show('error', 'V-Kube did not open the terminal.');
    } catch (err) {
      const why = err instanceof VkubeApiError && err.status === 426 ? 'the connection failed; try again' : errorText(err);
      message.show('error', `The terminal could not open: ${why}`);
    }
  }

  open.addEventListener('click', () => void start());
  close.addEventListener('click', () => handle?.close());

  function paint(pod: Pod | null): void {
    hasPod = pod !== null;
    const names = pod?.containers.map((c) => c.name) ?? [];
    const current = [...container.control.options].map((o) => o.value);
    if (names.length && JSON.stringify(names) !== JSON.stringify(current)) {
      const selected = container.control.value;
      container.control.replaceChildren(...names.map((n) => h('option', { value: n }, n)));
      if (names.includes(selected)) container.control.value = selected;
    }
    open.disabled = !hasPod;
    if (!live) container.el.hidden = names.length < 2;
  }

  const el = h(
    'section',
    { class: 'card terminal-card', 'aria-labelledby': 'terminal-title' },
    h('h2', { id: 'terminal-title' }, 'Terminal'),
    h('p', { class: 'hint' }, 'A shell (sh) in a container of your pod. Keys go to the container, Ctrl-C included.'),
    container.el,
    h('div', { class: 'button-row' }, open, close),
    message.el,
    screen,
  );
  return {
    el,
    paint,
    dispose() {
      disposed = true;
      handle?.dispose();
      handle = undefined;
    },
  };
}
