/** Stop / start / restart, enabled only when the service's status allows them. */
import { call, errorText } from '../api.js';
import { h, messageBox } from '../dom.js';
import { allowedActions, statusLabel } from '../model.js';
import type { Session, Snapshot } from '../store.js';

type Verb = 'stop' | 'start' | 'restart';

const VERBS: Array<{ verb: Verb; label: string; busy: string; done: string }> = [
  { verb: 'stop', label: 'Stop', busy: 'Stopping…', done: 'Stopped. Your settings and host ports are kept; press Start to resume.' },
  { verb: 'start', label: 'Start', busy: 'Starting…', done: 'Started. The pod is being scheduled.' },
  { verb: 'restart', label: 'Restart', busy: 'Restarting…', done: 'Restarted: a new pod replaces the old one.' },
];

export function actionsPanel(session: Session): { el: HTMLElement; dispose(): void } {
  const message = messageBox();
  let busy = false;
  const buttons = VERBS.map(({ verb, label, busy: busyText, done }) => {
    const button = h('button', { type: 'button', class: verb === 'stop' ? 'danger' : 'secondary', 'data-action': verb }, label);
    button.addEventListener('click', async () => {
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
