/**
 * The pod's log: the last N lines (`GET /k8s/pod/log`), the previous container's log
 * after a crash, or followed live (`GET /k8s/pod/logs`, Server-Sent Events read from
 * a fetch() body, because EventSource cannot send the secret header). Leaving the
 * page or pressing Stop aborts the stream.
 */
import { call, errorText, isAbort } from '../api.js';
import { field, h, messageBox } from '../dom.js';
import { readEventStream } from '../sse.js';
import type { Snapshot } from '../store.js';
import type { View, ViewContext } from './view.js';

const MAX_LINES = 5000;

export function logsView({ session }: ViewContext): View {
  const container = field('Container', h('select', { name: 'container' }));
  const tail = field('Lines', h('input', { type: 'number', inputmode: 'numeric', min: 1, max: 100000, step: 1, value: 200, name: 'tailLines' }), { hint: 'How many of the last lines to show.' });
  const previous = h('input', { type: 'checkbox', id: 'log-previous', name: 'previous' });
  const timestamps = h('input', { type: 'checkbox', id: 'log-timestamps', name: 'timestamps' });
  const show = h('button', { type: 'submit' }, 'Show log');
  const follow = h('button', { type: 'button', class: 'secondary', 'aria-pressed': 'false' }, 'Follow');
  const clear = h('button', { type: 'button', class: 'secondary' }, 'Clear');
  const message = messageBox();
  const output = h('pre', { class: 'log', role: 'log', 'aria-live': 'off', tabindex: '0', 'aria-label': 'Log output' });
  const lineCount = h('p', { class: 'hint' });

  let lines = 0;
  let streaming: AbortController | undefined;

  const form = h(
    'form',
    { class: 'log-controls', novalidate: true, 'aria-label': 'Log options' },
    h('div', { class: 'grid2' }, container.el, tail.el),
    h('div', { class: 'check' }, previous, h('label', { for: previous.id }, 'Previous container (the run before its last restart)')),
    h('div', { class: 'check' }, timestamps, h('label', { for: timestamps.id }, 'Timestamps')),
    h('div', { class: 'button-row' }, show, follow, clear),
  );

  function paintContainers(s: Snapshot): void {
    const names = s.pod?.containers.map((c) => c.name) ?? [];
    const current = [...container.control.options].map((o) => o.value);
    if (names.length === 0 || JSON.stringify(names) === JSON.stringify(current)) return;
    const selected = container.control.value;
    container.control.replaceChildren(...names.map((n) => h('option', { value: n }, n)));
    if (names.includes(selected)) container.control.value = selected;
  }

  function query(): { container?: string; tailLines?: string; previous?: string; timestamps?: string } {
    const q: { container?: string; tailLines?: string; previous?: string; timestamps?: string } = {};
    if (container.control.value) q.container = container.control.value;
    const n = tail.control.value.trim();
    if (n) q.tailLines = n;
    if (previous.checked) q.previous = 'true';
    if (timestamps.checked) q.timestamps = 'true';
    return q;
  }

  function write(text: string, replace = false): void {
    const stick = output.scrollHeight - output.scrollTop - output.clientHeight < 40;
    if (replace) {
      output.textContent = '';
      lines = 0;
    }
    const added = text.split('\n');
    if (added.at(-1) === '') added.pop();
    for (const l of added) {
      output.append(`${l}\n`);
      lines += 1;
    }
    while (lines > MAX_LINES && output.firstChild) {
      output.firstChild.remove();
      lines -= 1;
    }
    lineCount.textContent = `${lines} line${lines === 1 ? '' : 's'}${lines >= MAX_LINES ? ` (the last ${MAX_LINES} are kept)` : ''}`;
    if (stick || replace) output.scrollTop = output.scrollHeight;
  }

  function who(): string {
    return container.control.value || 'the first container';
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    stopFollowing();
    const q = query();
    show.disabled = true;
    message.show('busy', `Loading the log of ${who()}…`);
    try {
      const text = await call(session.api.GET('/api/v1/k8s/pod/log', { params: { query: q } }));
      write(text, true);
      message.show('ok', `Showing ${q.tailLines ? `the last ${q.tailLines} lines` : 'the log'} of ${who()}${q.previous ? ' (previous container)' : ''}.`);
      if (!text) message.show('ok', `The log of ${who()} is empty.`);
    } catch (err) {
      message.show('error', `Could not load the log: ${errorText(err)}`);
    } finally {
      show.disabled = false;
    }
  });

  function setFollowing(on: boolean): void {
    follow.setAttribute('aria-pressed', String(on));
    follow.textContent = on ? 'Stop following' : 'Follow';
    previous.disabled = on;
  }

  function stopFollowing(): void {
    streaming?.abort();
    streaming = undefined;
    setFollowing(false);
  }

  async function startFollowing(): Promise<void> {
    const ctrl = new AbortController();
    streaming = ctrl;
    setFollowing(true);
    const { previous: _skip, ...q } = query();
    write('', true);
    message.show('busy', `Connecting to the log of ${who()}…`);
    try {
      const stream = await call(session.api.GET('/api/v1/k8s/pod/logs', { params: { query: q }, parseAs: 'stream', signal: ctrl.signal }));
      if (!stream) throw new Error('empty answer');
      message.show('ok', `Following the log of ${who()}. New lines appear as they are written.`);
      let ended = '';
      await readEventStream(stream, (e) => {
        if (e.event === 'message') write(e.data);
        else if (e.event === 'end') ended = `The stream ended: ${e.data}.`;
        else if (e.event === 'error') ended = `The stream broke off: ${e.data}.`;
      });
      if (streaming === ctrl) message.show(ended.startsWith('The stream broke') ? 'error' : 'ok', ended || 'The stream ended.');
    } catch (err) {
      if (!isAbort(err) && !ctrl.signal.aborted) message.show('error', `Could not follow the log: ${errorText(err)}`);
      else if (streaming === undefined) message.show('ok', 'Stopped following.');
    } finally {
      if (streaming === ctrl) {
        streaming = undefined;
        setFollowing(false);
      }
    }
  }

  follow.addEventListener('click', () => {
    if (streaming) stopFollowing();
    else void startFollowing();
  });
  clear.addEventListener('click', () => {
    write('', true);
    lineCount.textContent = '';
  });
  container.control.addEventListener('change', () => {
    // Switching container while following restarts the stream on the new one.
    if (streaming) {
      stopFollowing();
      void startFollowing();
    }
  });

  const unsubscribe = session.subscribe(paintContainers);
  paintContainers(session.snapshot);
  if (container.control.options.length === 0) container.control.append(h('option', { value: '' }, 'first container'));

  // Opened from the status page's "Show the log of the previous … run": that container, previous run, loaded at once.
  const asked = new URLSearchParams(location.search);
  const askedContainer = asked.get('container');
  if (askedContainer && [...container.control.options].some((o) => o.value === askedContainer)) container.control.value = askedContainer;
  if (asked.get('previous') === 'true') {
    previous.checked = true;
    queueMicrotask(() => form.requestSubmit());
  } else if (session.snapshot.pod) {
    // Opening the log means wanting to see it: follow it at once (the recent lines, then new ones as they come).
    queueMicrotask(() => void startFollowing());
  }

  const el = h('div', { class: 'view' }, h('h1', { tabindex: '-1' }, 'Logs'), h('section', { class: 'card' }, form, message.el), h('section', { class: 'card log-card', 'aria-label': 'Log' }, lineCount, output));
  return {
    el,
    dispose() {
      unsubscribe();
      streaming?.abort();
      streaming = undefined;
    },
  };
}
