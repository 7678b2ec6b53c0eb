/** Where the app is reached, as links: host ports at their public address, custom domains. */
import { h } from '../dom.js';
import type { Pod } from '../model.js';

export function endpointsList(pod: Pod): HTMLElement {
  if (pod.endpoints.length === 0) return h('p', { class: 'hint' }, 'Nothing is published: add a host port (or a custom domain) to reach the app from outside.');
  const note = pod.endpoints.find((e) => e.host === null && e.note)?.note;
  return h(
    'div',
    null,
    h(
      'ul',
      { class: 'plain endpoints' },
      pod.endpoints.map((e) => {
        const target = ` → ${e.container ? `${e.container} ` : ''}${e.containerPort}/${e.protocol}`;
        const where = e.url
          ? h('a', { href: e.url, target: '_blank', rel: 'noopener noreferrer', class: 'endpoint-link' }, e.url)
          : e.host
            ? h('code', null, `${e.host}:${e.hostPort} (${e.protocol})`)
            : h('span', { class: 'no-public' }, `port ${e.hostPort}/${e.protocol}: no public address${e.internalHost ? ` (internal only: ${e.internalHost}:${e.hostPort})` : ''}`);
        return h('li', { 'data-source': e.source }, where, target);
      }),
    ),
    note ? h('p', { class: 'hint' }, `${note[0]!.toUpperCase()}${note.slice(1)}.`) : null,
  );
}
