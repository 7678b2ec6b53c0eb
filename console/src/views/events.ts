/**
 * What happened to the pod (`GET /k8s/events`): Kubernetes events kept by V-Kube
 * after Kubernetes drops them, and restart counts per container. If the server does
 * not offer the endpoint (an older V-Kube answers 404), the page says so.
 */
import { call, errorText, type EventsResult, VkubeApiError } from '../api.js';
import { h, messageBox, replaceChildren } from '../dom.js';
import { eventSentence } from '../model.js';
import type { View, ViewContext } from './view.js';

export function eventsView({ session }: ViewContext): View {
  const message = messageBox();
  const restarts = h('section', { class: 'card', 'aria-labelledby': 'restarts-title' }, h('h2', { id: 'restarts-title' }, 'Restarts'));
  const events = h('section', { class: 'card', 'aria-labelledby': 'events-title' }, h('h2', { id: 'events-title' }, 'Events'));
  const refresh = h('button', { type: 'button', class: 'secondary' }, 'Refresh');
  let disposed = false;
  let shown = '';

  async function load(announce: boolean): Promise<void> {
    refresh.disabled = true;
    try {
      const result = await call(session.api.GET('/api/v1/k8s/events', { params: { query: { limit: '100' } } }));
      if (disposed) return;
      const key = JSON.stringify(result);
      if (key !== shown) {
        shown = key;
        paint(result);
      }
      if (announce) message.show('ok', `${result.events.length} event${result.events.length === 1 ? '' : 's'} loaded.`);
      else if (message.el.dataset.tone === 'error') message.clear();
    } catch (err) {
      if (disposed) return;
      const missing = err instanceof VkubeApiError && err.status === 404 && /no route/i.test(err.message);
      message.show(missing ? 'warn' : 'error', missing ? 'This V-Kube does not keep an event history yet.' : `Could not load the events: ${errorText(err)}`);
    } finally {
      refresh.disabled = false;
    }
  }

  function paint(result: EventsResult): void {
    replaceChildren(
      restarts,
      h('h2', { id: 'restarts-title' }, 'Restarts'),
      result.restarts.length
        ? h(
            'ul',
            { class: 'plain' },
            result.restarts.map((r) =>
              h(
                'li',
                null,
                h('strong', null, r.container),
                ` restarted ${r.restartCount} time${r.restartCount === 1 ? '' : 's'}`,
                r.lastReason ? `, last because of ${r.lastReason}` : '',
                r.lastExitCode !== null ? ` (exit code ${r.lastExitCode})` : '',
                h('span', { class: 'hint block' }, `${r.pod}, ${new Date(r.updatedAt * 1000).toLocaleString()}`),
              ),
            ),
          )
        : h('p', { class: 'hint' }, 'No container has restarted.'),
    );
    replaceChildren(
      events,
      h('h2', { id: 'events-title' }, 'Events'),
      result.events.length
        ? h(
            'ol',
            { class: 'events' },
            result.events.map((e) =>
              h(
                'li',
                { 'data-type': e.type },
                h('p', null, e.type === 'Warning' ? [h('span', { class: 'badge', 'data-type': e.type }, 'Problem'), ' '] : null, h('strong', null, eventSentence(e)), e.count > 1 ? ` (${e.count} times)` : ''),
                h('p', { class: 'hint' }, h('time', { datetime: new Date(e.time * 1000).toISOString() }, new Date(e.time * 1000).toLocaleString())),
                // Kubernetes' own words, for whoever wants them (and for support).
                h('details', null, h('summary', null, 'Details'), h('p', null, h('code', null, e.reason), ' ', e.message), h('p', { class: 'hint' }, e.object)),
              ),
            ),
          )
        : h('p', { class: 'hint' }, 'No events yet. They appear once you deploy.'),
    );
  }

  refresh.addEventListener('click', () => void load(true));
  void load(false);
  const timer = window.setInterval(() => document.visibilityState === 'visible' && void load(false), 10_000);

  const el = h(
    'div',
    { class: 'view' },
    h('h1', { tabindex: '-1' }, 'Events'),
    h('div', { class: 'button-row' }, refresh),
    message.el,
    restarts,
    events,
  );
  return {
    el,
    dispose() {
      disposed = true;
      window.clearInterval(timer);
    },
  };
}
