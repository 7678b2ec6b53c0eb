/** The order at a glance: status, units, region, expiry countdown, restarts; and the controls. */
import { h } from '../dom.js';
import { formatDuration, statusLabel, totalRestarts, UNIT_MEMORY_MIB } from '../model.js';
import type { Snapshot } from '../store.js';
import { actionsPanel } from './actions.js';
import type { View, ViewContext } from './view.js';

export function overviewView({ session }: ViewContext): View {
  const status = h('span', { class: 'badge' });
  const units = h('dd');
  const region = h('dd');
  const ports = h('dd');
  const expiry = h('dd');
  const countdown = h('span', { class: 'countdown' });
  const expiryDate = h('time');
  expiry.append(countdown, h('br'), expiryDate);
  const restarts = h('dd');
  const pod = h('dd');
  const orderId = h('dd', null, h('code'));
  const duration = h('dd');
  const deployLink = h('p', { class: 'cta' }, h('a', { href: '/deploy', 'data-route': '/deploy', class: 'button' }, 'Deploy your container'));

  const row = (term: string, value: HTMLElement) => [h('dt', null, term), value];
  const details = h(
    'dl',
    { class: 'facts' },
    row('Status', h('dd', null, status)),
    row('Resource units', units),
    row('Region', region),
    row('Host ports', ports),
    row('Time left', expiry),
    row('Pod', pod),
    row('Restarts', restarts),
    row('Duration', duration),
    row('Order', orderId),
  );

  function paint(s: Snapshot): void {
    const svc = s.service;
    status.textContent = statusLabel(svc.status);
    status.dataset.status = svc.status;
    status.title = svc.status;
    const mib = svc.units * UNIT_MEMORY_MIB;
    units.textContent = `${svc.units} (${mib >= 1024 ? `${mib / 1024} GiB` : `${mib} MiB`} memory, up to ${svc.units} container${svc.units === 1 ? '' : 's'})`;
    region.textContent = svc.region || 'chosen at your first deploy';
    ports.textContent = svc.randomPorts ? 'assigned by V-Kube' : 'you choose them';
    duration.textContent = `${svc.duration} h`;
    orderId.firstElementChild!.textContent = svc.id;
    pod.textContent = s.pod ? `${s.pod.phase}${s.pod.nodeName ? ` on ${s.pod.nodeName}` : ''}` : 'none running';
    restarts.textContent = s.pod ? String(totalRestarts(s.pod)) : '—';
    if (svc.endAt > 0) {
      const end = new Date(svc.endAt * 1000);
      expiryDate.dateTime = end.toISOString();
      expiryDate.textContent = `ends ${end.toLocaleString()}`;
    } else {
      expiryDate.removeAttribute('datetime');
      expiryDate.textContent = '';
    }
    deployLink.hidden = svc.status !== 'ServicePending';
    tick();
  }

  function tick(): void {
    const { endAt, status: st, duration: hours } = session.snapshot.service;
    if (endAt <= 0) countdown.textContent = `${hours} h, counted from your first deploy`;
    else {
      const left = endAt - Date.now() / 1000;
      countdown.textContent = left > 0 && st !== 'ServiceDone' && st !== 'ServiceAbort' ? `${formatDuration(left)} left` : 'expired';
    }
  }

  const actions = actionsPanel(session);
  const unsubscribe = session.subscribe(paint);
  paint(session.snapshot);
  const ticker = window.setInterval(tick, 1000);

  const el = h(
    'div',
    { class: 'view' },
    h('h1', { tabindex: '-1' }, 'Overview'),
    deployLink,
    h('section', { class: 'card', 'aria-labelledby': 'order-title' }, h('h2', { id: 'order-title' }, 'Your order'), details),
    actions.el,
  );
  return {
    el,
    dispose() {
      unsubscribe();
      actions.dispose();
      window.clearInterval(ticker);
    },
  };
}
