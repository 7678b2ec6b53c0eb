/**
 * Deploy history on the status page: the specs this order ran, newest first, each with a
 * Roll back button that asks for confirmation in place before it redeploys that spec.
 */
import { type Api, call, errorText } from '../api.js';
import { h, messageBox, replaceChildren } from '../dom.js';
import type { Session } from '../store.js';

type HistoryView = Awaited<ReturnType<typeof load>>;
type Entry = HistoryView['entries'][number];

function load(api: Api) {
  return call(api.GET('/api/v1/k8s/deployment/history'));
}

export function historyPanel(session: Session): { el: HTMLElement; dispose(): void } {
  const list = h('ol', { class: 'history' });
  const note = h('p', { class: 'hint' });
  const message = messageBox();
  let stopped = false;
  let busy = false;
  let shown = '';

  async function refresh(): Promise<void> {
    try {
      const view = await load(session.api);
      if (!stopped) paint(view);
    } catch (err) {
      if (!stopped) note.textContent = `Could not load the history: ${errorText(err)}`;
    }
  }

  function paint(view: HistoryView): void {
    const key = JSON.stringify(view);
    if (key === shown) return;
    shown = key;
    note.textContent = view.entries.length ? `The last ${view.kept} deploys are kept. Rolling back deploys that spec again, checked like a new deploy.` : 'Nothing was deployed yet.';
    replaceChildren(list, view.entries.map(item));
  }

  function item(e: Entry): HTMLElement {
    const li = h('li', { class: 'history-entry', 'data-generation': e.generation });
    const head = h(
      'div',
      { class: 'history-head' },
      h('strong', null, `Generation ${e.generation}`),
      e.current ? h('span', { class: 'badge', 'data-tone': 'ok' }, 'current') : null,
      h('time', { datetime: e.time, class: 'hint' }, new Date(e.createdAt * 1000).toLocaleString()),
    );
    const summary = h('p', { class: 'history-summary' }, e.summary);
    const actions = h('div', { class: 'button-row' });
    if (!e.current) {
      const rollback = h('button', { type: 'button', class: 'secondary small', 'data-action': 'rollback' }, 'Roll back');
      rollback.addEventListener('click', () => confirmIn(actions, e, rollback));
      actions.append(rollback);
    }
    li.append(head, summary, actions);
    return li;
  }

  function confirmIn(actions: HTMLElement, e: Entry, rollback: HTMLButtonElement): void {
    const yes = h('button', { type: 'button', class: 'danger small', 'data-action': 'confirm-rollback' }, `Roll back to generation ${e.generation}`);
    const no = h('button', { type: 'button', class: 'secondary small' }, 'Cancel');
    const question = h('p', { class: 'confirm', role: 'alert' }, `Deploy generation ${e.generation} again? The running pod is replaced by one with: ${e.summary}.`);
    replaceChildren(actions, question, yes, no);
    yes.focus();
    no.addEventListener('click', () => {
      replaceChildren(actions, rollback);
      rollback.focus();
    });
    yes.addEventListener('click', async () => {
      if (busy) return;
      busy = true;
      yes.disabled = no.disabled = true;
      message.show('busy', `Rolling back to generation ${e.generation}…`);
      try {
        const result = await call(session.api.POST('/api/v1/k8s/deployment/rollback', { body: { generation: e.generation } }));
        message.show('ok', `Rolled back: generation ${e.generation} is deployed again as generation ${result.generation}.${result.warnings.length ? ` ${result.warnings.join(' ')}` : ''}`);
        await Promise.all([refresh(), session.refresh()]);
      } catch (err) {
        message.show('error', `Could not roll back to generation ${e.generation}: ${errorText(err)}`);
        replaceChildren(actions, rollback);
      } finally {
        busy = false;
      }
    });
  }

  void refresh();
  // A deploy from the form or the CLI adds an entry: follow the session's refreshes, cheaply.
  let lastGeneration = '';
  const unsubscribe = session.subscribe((s) => {
    const key = `${s.pod?.name ?? ''}`;
    if (key !== lastGeneration) {
      lastGeneration = key;
      void refresh();
    }
  });
  const el = h('section', { class: 'card', 'aria-labelledby': 'history-title' }, h('h2', { id: 'history-title' }, 'Deploy history'), note, list, message.el);
  return {
    el,
    dispose() {
      stopped = true;
      unsubscribe();
    },
  };
}
