/** Stop / start / restart, enabled only when the service's status allows them. */
import { call, errorText } from '../api.js';
import { confirmIn, h, messageBox } from '../dom.js';
import { allowedActions, statusLabel } from '../model.js';
import type { Session, Snapshot } from '../store.js';

type Verb = 'stop' | 'start' | 'restart';

const VERBS: Array<{ verb: Verb; label: string; busy: string; done: string }> = [
  { verb: 'stop', label: 'Stop', busy: 'Stopping…', done: 'Stopped. Your settings and host ports are kept; press Start to resume.' },
  { verb: 'start', label: 'Start', busy: 'Starting…', done: 'Started. Your pod is being scheduled; the status above says when it runs.' },
  { verb: 'restart', label: 'Restart', busy: 'Restarting…', done: 'Restarted: a new pod replaces the old one.' },
];

/** What is asked before a verb that interrupts the customer's app; start interrupts nothing. */
const CONFIRM: Partial<Record<Verb, { question: string; detail: string; yes: string }>> = {
  stop: { question: 'Stop your app?', detail: 'It stops answering until you press Start. Your settings and host ports are kept.', yes: 'Stop it' },
  restart: { question: 'Restart your app?', detail: 'A new pod replaces the running one; the app is unreachable for a moment and loses what it kept in memory.', yes: 'Restart it' },
};

export function actionsPanel(session: Session): { el: HTMLElement; dispose(): void } {
  const message = messageBox();
  let busy = false;
  const buttons = VERBS.map(({ verb, label, busy: busyText, done }) => {
    const button = h('button', { type: 'button', class: verb === 'stop' ? 'danger' : 'secondary', 'data-action': verb }, label);
    button.addEventListener('click', async () => {
      const ask = CONFIRM[verb];
      if (ask) {
        busy = true;
        paint(session.snapshot);
        const sure = await confirmIn(message, ask.question, ask.detail, ask.yes);
        busy = false;
        paint(session.snapshot);
        if (!sure) return button.focus();
      }
      busy = true;
      paint(session.snapshot);
      button.textContent = busyText;
      message.show('busy', busyText);
      try {
        await call(session.api.POST(`/api/v1/k8s/pod/${verb}`));
        message.show('ok', done);
        await session.refresh();
      } catch (err) {
        message.show('error', `${label} failed: ${errorText(err)}`);
      } finally {
        busy = false;
        button.textContent = label;
        paint(session.snapshot);
      }
    });
    return button;
  });
  const note = h('p', { class: 'hint' });

  function paint(s: Snapshot): void {
    const allowed = allowedActions(s.service.status);
    buttons.forEach((b) => {
      b.disabled = busy || !allowed[b.dataset.action as Verb];
    });
    note.textContent =
      s.service.status === 'ServicePending'
        ? 'Deploy first; then you can stop, start and restart.'
        : s.service.status === 'ServiceRunning'
          ? 'Stop scales the pod to zero and keeps your settings and host ports. Restart replaces the pod.'
          : s.service.status === 'ServiceStop'
            ? 'The service is stopped. Start resumes it on the same host ports.'
            : `The service is ${statusLabel(s.service.status).toLowerCase()}; it can no longer be controlled.`;
  }
  const unsubscribe = session.subscribe(paint);
  paint(session.snapshot);

  const el = h(
    'section',
    { class: 'card', 'aria-labelledby': 'actions-title' },
    h('h2', { id: 'actions-title' }, 'Controls'),
    h('div', { class: 'button-row' }, buttons),
    note,
    message.el,
  );
  return { el, dispose: unsubscribe };
}
