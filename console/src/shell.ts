/**
 * The signed-in page: header (order, status, sign out), section navigation, the
 * current view in <main>, and a line saying how fresh the data is. Sections have
 * their own URLs (/deploy, /status, /logs, /events); V-Kube answers any of them with
 * this page, so reloads and shared links work.
 */
import { h, replaceChildren } from './dom.js';
import { headerStatus } from './model.js';
import type { Session, Snapshot } from './store.js';
import { deployView } from './views/deploy.js';
import { eventsView } from './views/events.js';
import { logsView } from './views/logs.js';
import { overviewView } from './views/overview.js';
import { statusView } from './views/status.js';
import type { View, ViewContext } from './views/view.js';

interface Route {
  path: string;
  label: string;
  make: (ctx: ViewContext) => View;
}

const ROUTES: Route[] = [
  { path: '/', label: 'Overview', make: overviewView },
  { path: '/deploy', label: 'Deploy', make: deployView },
  { path: '/status', label: 'Status', make: statusView },
  { path: '/logs', label: 'Logs', make: logsView },
  { path: '/events', label: 'Events', make: eventsView },
];

function routeFor(path: string): Route {
  // A link may carry a query for its view (/logs?container=web&previous=true).
  const clean = path.split('?')[0]!.replace(/\/+$/, '') || '/';
  return ROUTES.find((r) => r.path === clean) ?? ROUTES[0]!;
}

export function mountShell(root: HTMLElement, session: Session, signOut: () => void): () => void {
  const statusBadge = h('span', { class: 'badge' });
  const orderId = h('code', { class: 'order-id' });
  const signOutButton = h('button', { type: 'button', class: 'secondary', onClick: signOut }, 'Sign out');
  const links = ROUTES.map((r) => h('a', { href: r.path, 'data-route': r.path }, r.label));
  const nav = h('nav', { 'aria-label': 'Console sections' }, h('ul', null, links.map((a) => h('li', null, a))));
  const main = h('main', { id: 'main', tabindex: '-1' });
  const banner = h('div', { class: 'banner', role: 'alert' });
  const freshness = h('p', { class: 'freshness' });

  replaceChildren(
    root,
    h(
      'header',
      { class: 'topbar' },
      h('div', { class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, '▣'), 'V-Kube'),
      h('p', { class: 'order-line' }, h('span', { class: 'visually-hidden' }, 'Order '), orderId, ' ', statusBadge),
      signOutButton,
    ),
    nav,
    banner,
    main,
    h('footer', null, freshness),
  );

  let current: View | undefined;
  const ctx: ViewContext = { session, navigate };

  function show(path: string, moveFocus: boolean): void {
    current?.dispose?.();
    const route = routeFor(path);
    if (route.path !== location.pathname) history.replaceState(null, '', route.path + location.search);
    for (const a of links) {
      if (a.dataset.route === route.path) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    document.title = `${route.label} · V-Kube console`;
    current = route.make(ctx);
    replaceChildren(main, current.el);
    if (moveFocus) (main.querySelector<HTMLElement>('h1') ?? main).focus();
  }

  function navigate(path: string): void {
    if (path !== location.pathname) history.pushState(null, '', path);
    show(path, true);
  }

  const onClick = (event: MouseEvent) => {
    const a = (event.target as Element | null)?.closest?.('a[data-route]');
    if (!(a instanceof HTMLAnchorElement) || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(a.getAttribute('href') ?? '/');
  };
  const onPop = () => show(location.pathname, true);
  root.addEventListener('click', onClick);
  window.addEventListener('popstate', onPop);

  const paint = (s: Snapshot) => {
    orderId.textContent = s.service.id;
    orderId.title = s.service.id;
    const shown = headerStatus(s.service.status, s.pod);
    statusBadge.textContent = shown.label;
    statusBadge.dataset.status = shown.tone;
    banner.textContent = s.refreshError ? `Could not refresh: ${s.refreshError}` : '';
    banner.hidden = !s.refreshError;
  };
  const tick = () => {
    const ago = Math.round((Date.now() - session.snapshot.updatedAt) / 1000);
    freshness.textContent = `Updated ${ago < 2 ? 'just now' : `${ago} s ago`} · refreshes every 4 s`;
  };
  const unsubscribe = session.subscribe(paint);
  paint(session.snapshot);
  tick();
  const ticker = window.setInterval(tick, 1000);
  session.startPolling();
  show(location.pathname, false);

  return () => {
    current?.dispose?.();
    unsubscribe();
    window.clearInterval(ticker);
    session.stopPolling();
    root.removeEventListener('click', onClick);
    window.removeEventListener('popstate', onPop);
  };
}
