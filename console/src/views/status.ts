/** The live pod: phase, node, addresses, its storage, each container's state, host ports, custom domains. */
import { call, errorText } from '../api.js';
import { field, h, messageBox, replaceChildren } from '../dom.js';
import { type ContainerState, type Domain, type Pod, type Storage, terminationText } from '../model.js';
import type { Session, Snapshot } from '../store.js';
import { actionsPanel } from './actions.js';
import { endpointsList } from './endpoints.js';
import { historyPanel } from './history.js';
import { usagePanel } from './usage.js';
import { terminalPanel } from './terminal.js';
import type { View, ViewContext } from './view.js';

export function statusView({ session }: ViewContext): View {
  const podSection = h('section', { class: 'card', 'aria-labelledby': 'pod-title' });
  const containersSection = h('section', { class: 'card', 'aria-labelledby': 'containers-title' });
  const domains = domainsPanel(session);
  const actions = actionsPanel(session);
  const usage = usagePanel(session);
  const history = historyPanel(session);
  const terminal = terminalPanel(session);
  let lastPod = '';

  function paint(s: Snapshot): void {
    const key = JSON.stringify([s.pod, s.podNote]);
    if (key === lastPod) return;
    lastPod = key;
    paintPod(podSection, s.pod, s.podNote);
    paintContainers(containersSection, s.pod);
    domains.paint(s.pod);
    terminal.paint(s.pod);
  }
  const unsubscribe = session.subscribe(paint);
  paint(session.snapshot);
  // Show fresh data as soon as the page opens rather than at the next poll.
  void session.refresh();

  const el = h('div', { class: 'view' }, h('h1', { tabindex: '-1' }, 'Status'), podSection, containersSection, usage.el, terminal.el, domains.el, history.el, actions.el);
  return {
    el,
    dispose() {
      unsubscribe();
      actions.dispose();
      usage.dispose();
      history.dispose();
      terminal.dispose();
    },
  };
}

function paintPod(section: HTMLElement, pod: Pod | null, note: string): void {
  const title = h('h2', { id: 'pod-title' }, 'Pod');
  if (!pod) {
    replaceChildren(section, title, h('p', { class: 'pod-phase', 'data-phase': 'none' }, 'No pod is running.'), note ? h('p', { class: 'hint' }, note) : null);
    return;
  }
  const row = (term: string, value: string | Node) => [h('dt', null, term), h('dd', null, value || '—')];
  const ports = pod.ports.filter((p) => p.hostPort);
  replaceChildren(
    section,
    title,
    pod.storage ? storageNotice(pod.storage) : null,
    h(
      'dl',
      { class: 'facts' },
      row('Reach it at', endpointsList(pod)),
      row('Phase', h('span', { class: 'badge pod-phase', 'data-phase': pod.phase }, pod.phase)),
      row('Node', pod.nodeName),
      row('Host IP', pod.hostIP),
      row('Pod IP', pod.podIP),
      row('Started', pod.startTime ? new Date(pod.startTime).toLocaleString() : ''),
      row('Name', h('code', null, pod.name)),
      pod.reason || pod.message ? row('Reason', `${pod.reason} ${pod.message}`.trim()) : [],
      pod.storage ? row('Storage', h('span', { class: 'storage-state', 'data-storage-phase': pod.storage.phase }, pod.storage.phase === 'Bound' ? 'ready' : 'not ready')) : [],
      row(
        'Host ports',
        ports.length
          ? h('ul', { class: 'plain' }, ports.map((p) => h('li', null, h('code', null, `${pod.hostIP || 'node'}:${p.hostPort}`), ` → ${p.container} ${p.containerPort}/${p.protocol}`)))
          : 'none',
      ),
    ),
  );
}

/**
 * Why the pod waits when its volume is not ready, in the server's plain words, above
 * everything else: it is the one thing the customer needs to know then.
 */
function storageNotice(storage: Storage): HTMLElement | null {
  if (storage.phase === 'Bound') return null;
  return h(
    'div',
    { class: 'message storage-note', 'data-tone': storage.phase === 'Lost' ? 'error' : 'warn', role: 'note', 'aria-label': 'Storage' },
    h('p', null, h('strong', null, storage.phase === 'Lost' ? 'Your storage volume is lost.' : 'Your container is waiting for its storage volume.')),
    h('p', null, storage.message),
  );
}

function paintContainers(section: HTMLElement, pod: Pod | null): void {
  const title = h('h2', { id: 'containers-title' }, 'Containers');
  if (!pod || pod.containers.length === 0) {
    replaceChildren(section, title, h('p', { class: 'hint' }, 'Containers appear here while the pod runs.'));
    return;
  }
  replaceChildren(
    section,
    title,
    h(
      'ul',
      { class: 'containers' },
      pod.containers.map((c) => {
        const state =
          c.state === 'running'
            ? `running${c.since ? ` since ${new Date(c.since).toLocaleTimeString()}` : ''}`
            : c.state === 'waiting'
              ? `waiting: ${c.reason || 'starting'}`
              : c.state === 'terminated'
                ? `terminated: ${c.reason || 'exited'}`
                : 'no status yet';
        return h(
          'li',
          { class: 'container-status', 'data-container': c.name },
          h('h3', null, c.name),
          h(
            'dl',
            { class: 'facts compact' },
            h('dt', null, 'Image'),
            h('dd', null, h('code', null, c.image)),
            h('dt', null, 'Ready'),
            h('dd', null, h('span', { class: 'badge', 'data-ready': String(c.ready) }, c.ready ? 'ready' : 'not ready')),
            h('dt', null, 'Restarts'),
            h('dd', { class: 'restarts' }, String(c.restartCount)),
            h('dt', null, 'State'),
            h(
              'dd',
              { class: 'state', 'data-state': c.state },
              state,
              c.crashLoop ? [' ', h('span', { class: 'badge crash-loop', 'data-tone': 'error' }, 'crash loop')] : null,
              c.message ? h('span', { class: 'hint block' }, c.message) : null,
            ),
            c.lastTermination ? [h('dt', null, 'Last stopped'), h('dd', { class: 'last-termination', 'data-reason': c.lastTermination.reason }, lastStopped(c.lastTermination))] : [],
          ),
          whyNote(c),
        );
      }),
    ),
  );
}

/** "Error (exit code 3), 12:03:04": how and when the previous run ended. */
function lastStopped(t: NonNullable<ContainerState['lastTermination']>): string {
  return `${terminationText(t)}${t.finishedAt ? `, ${new Date(t.finishedAt).toLocaleTimeString()}` : ''}`;
}

/**
 * Why the container stopped or is not ready, in the server's words, and a way to the
 * log of the run that ended (the Logs page opens with "Previous container" chosen).
 */
function whyNote(c: ContainerState): HTMLElement | null {
  const healthy = c.state === 'running' && c.ready && c.restartCount === 0;
  if (healthy || (!c.summary && !c.hasPreviousLog)) return null;
  const link = c.hasPreviousLog
    ? h('a', { href: `/logs?container=${encodeURIComponent(c.name)}&previous=true`, 'data-route': '/logs', class: 'previous-log' }, `Show the log of the previous ${c.name} run`)
    : null;
  return h('div', { class: 'why', 'aria-label': `Why ${c.name} stopped` }, c.summary ? h('p', { class: 'summary' }, c.summary) : null, link);
}

/** Custom domains routed to a container port; shown from the pod's status, added and removed here. */
function domainsPanel(session: Session): { el: HTMLElement; paint(pod: Pod | null): void } {
  const list = h('ul', { class: 'domains' });
  const message = messageBox();
  const domain = field('Domain', h('input', { type: 'text', inputmode: 'url', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none', placeholder: 'shop.example.com', required: true }));
  const port = field('Container port', h('select', { required: true }));
  const https = h('input', { type: 'checkbox', id: 'domain-https' });
  const submit = h('button', { type: 'submit' }, 'Add domain');
  const form = h(
    'form',
    { class: 'domain-form', novalidate: true, 'aria-label': 'Add a custom domain' },
    h('div', { class: 'grid2' }, domain.el, port.el),
    h('div', { class: 'check' }, https, h('label', { for: https.id }, 'HTTPS with a Let’s Encrypt certificate')),
    submit,
  );
  const note = h('p', { class: 'hint' });
  let shown = '';

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const name = domain.control.value.trim().toLowerCase();
    domain.setError('');
    if (!name) {
      domain.setError('Enter a domain name, e.g. shop.example.com.');
      domain.control.focus();
      return;
    }
    submit.disabled = true;
    message.show('busy', `Adding ${name}…`);
    try {
      await call(session.api.POST('/api/v1/k8s/pod/ingress', { body: { domain: name, containerPort: Number(port.control.value), isLetsencrypt: https.checked } }));
      message.show('ok', `${name} now routes to port ${port.control.value}. Point its DNS at the node’s address.`);
      domain.control.value = '';
      await session.refresh();
    } catch (err) {
      const text = errorText(err);
      domain.setError(text);
      message.show('error', `Could not add ${name}: ${text}`);
      domain.control.focus();
    } finally {
      submit.disabled = false;
    }
  });

  async function remove(d: Domain, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    message.show('busy', `Removing ${d.domain}…`);
    try {
      await call(session.api.PATCH('/api/v1/k8s/pod/ingress', { body: { action: 'Del', domains: [d.domain] } }));
      message.show('ok', `${d.domain} was removed.`);
      await session.refresh();
      domain.control.focus();
    } catch (err) {
      button.disabled = false;
      message.show('error', `Could not remove ${d.domain}: ${errorText(err)}`);
    }
  }

  function paint(pod: Pod | null): void {
    const key = JSON.stringify(pod ? [pod.domains, pod.ports] : null);
    if (key === shown) return;
    shown = key;
    form.hidden = !pod;
    if (!pod) {
      note.textContent = 'Custom domains are shown and managed while the pod runs.';
      list.replaceChildren();
      return;
    }
    const tcp = [...new Set(pod.ports.filter((p) => p.protocol === 'TCP').map((p) => p.containerPort))];
    const selected = port.control.value;
    port.control.replaceChildren(...tcp.map((p) => h('option', { value: p }, String(p))));
    if (tcp.map(String).includes(selected)) port.control.value = selected;
    submit.disabled = tcp.length === 0;
    note.textContent = tcp.length ? '' : 'Add a TCP container port in the deploy form to route a domain to it.';
    replaceChildren(
      list,
      pod.domains.length
        ? pod.domains.map((d) => {
            const button = h('button', { type: 'button', class: 'danger small', 'aria-label': `Remove ${d.domain}` }, 'Remove');
            button.addEventListener('click', () => void remove(d, button));
            return h('li', null, h('span', null, h('code', null, d.domain), ` → port ${d.containerPort}${d.isHttps ? ' (HTTPS)' : ''}`), button);
          })
        : h('li', { class: 'hint' }, 'No custom domains yet.'),
    );
  }

  const el = h('section', { class: 'card', 'aria-labelledby': 'domains-title' }, h('h2', { id: 'domains-title' }, 'Custom domains'), list, note, form, message.el);
  return { el, paint };
}
