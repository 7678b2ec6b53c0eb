/**
 * The deploy form (`POST /k8s/deploy`, the seed body). As the customer types it
 * checks images in their registries and host ports in the region, keeps a running
 * memory total against the order's units, and refuses to submit while a host port
 * is taken. Server errors name a field (`containers[0].ports[0].hostPort: …`): the
 * message goes next to that field and in the form's alert.
 */
import { anonymous, call, type DeployBody, type DeployResult, errorText, VkubeApiError } from '../api.js';
import { confirmIn, debounce, field, h, messageBox, replaceChildren } from '../dom.js';
import { allowedActions, isRecord, lines, UNIT_MEMORY_MIB } from '../model.js';
import type { Snapshot } from '../store.js';
import { type ContainerDraft, ContainerEditor, EMPTY_CONTAINER, type PortRow } from './deploy-container.js';
import type { View, ViewContext } from './view.js';

interface Settable {
  setError(message: string): void;
  control?: HTMLElement;
}

export function deployView({ session, navigate }: ViewContext): View {
  const heading = h('h1', { tabindex: '-1' }, 'Deploy');
  const body = h('div', { class: 'stack' }, h('p', { class: 'loading', role: 'status' }, 'Loading regions and your current settings…'));
  const el = h('div', { class: 'view' }, heading, body);
  let disposed = false;
  let disposeForm: () => void = () => {};

  void Promise.allSettled([call(anonymous().GET('/api/v1/k8s/regions')), call(session.api.GET('/api/v1/k8s/deployment/info'))]).then(([regions, info]) => {
    if (disposed) return;
    const drafts = info.status === 'fulfilled' ? draftsFromInfo(info.value) : null;
    const form = deployForm({ session, navigate }, regions.status === 'fulfilled' ? regions.value : null, regions.status === 'rejected' ? errorText(regions.reason) : '', drafts);
    replaceChildren(body, form.el);
    disposeForm = form.dispose;
  });

  return {
    el,
    dispose() {
      disposed = true;
      disposeForm();
    },
  };
}

function deployForm({ session }: ViewContext, regions: string[] | null, regionsError: string, drafts: ContainerDraft[] | null): { el: HTMLElement; dispose(): void } {
  const service = () => session.snapshot.service;
  const editors: ContainerEditor[] = [];
  let submitting = false;
  let portTicket = 0;
  let portsChecking = false;

  // Region
  const region = field('Region', h('select', { name: 'region', required: true }), { liveHint: true });
  function paintRegions(): void {
    const bound = service().region;
    const choices = bound ? [bound] : (regions ?? []);
    const current = region.control.value;
    region.control.replaceChildren(
      ...(bound || choices.length === 1 ? [] : [h('option', { value: '' }, 'Choose a region')]),
      ...choices.map((r) => h('option', { value: r }, r)),
    );
    region.control.value = bound || (choices.includes(current) ? current : choices.length === 1 ? choices[0]! : '');
    if (bound) region.setHint(`Your order runs in ${bound}.`);
    else if (regionsError) region.setHint(`Could not load the regions: ${regionsError}`, 'error');
    else if (choices.length === 0) region.setHint('No region has a ready node right now. Try again in a moment.', 'error');
    else region.setHint('Where your pod runs. It stays there for the whole order.');
  }
  paintRegions();
  region.control.addEventListener('change', () => portsChanged());

  // Containers
  const containerList = h('div', { class: 'stack' });
  const addContainer = h('button', { type: 'button', class: 'secondary' }, 'Add container');
  const containerHint = h('p', { class: 'hint' });
  addContainer.addEventListener('click', () => {
    const editor = addEditor({ ...EMPTY_CONTAINER, ports: [{ containerPort: '', hostPort: '', protocol: 'TCP' }], memoryMiB: '128' });
    editor.name.control.focus();
    changed('memory');
  });
  function addEditor(draft: ContainerDraft): ContainerEditor {
    const editor = new ContainerEditor(draft, {
      api: session.api,
      randomPorts: service().randomPorts,
      onChange: changed,
      onRemove(e) {
        e.dispose();
        editors.splice(editors.indexOf(e), 1);
        e.el.remove();
        renumber();
        addContainer.focus();
        changed('ports');
      },
    });
    editors.push(editor);
    containerList.append(editor.el);
    renumber();
    return editor;
  }
  function renumber(): void {
    editors.forEach((e, i) => e.setIndex(i, editors.length > 1));
    const max = service().units;
    addContainer.disabled = editors.length >= max;
    containerHint.textContent = `Your order allows up to ${max} container${max === 1 ? '' : 's'}.`;
  }

  // Memory total
  const memoryText = h('p', { id: 'memory-total', class: 'memory-total' });
  const memoryMeter = h('meter', { min: 0, 'aria-labelledby': 'memory-total' });
  const memoryBox = h('div', { class: 'memory', 'aria-live': 'polite' }, memoryText, memoryMeter);
  function memoryTotals(): { used: number; allowed: number; unknown: boolean } {
    const allowed = service().units * UNIT_MEMORY_MIB;
    const values = editors.map((e) => e.memoryMiB());
    return { used: values.reduce((s, v) => s + (Number.isFinite(v) ? v : 0), 0), allowed, unknown: values.some((v) => !Number.isFinite(v)) };
  }
  function paintMemory(): void {
    const { used, allowed } = memoryTotals();
    memoryMeter.max = allowed;
    memoryMeter.value = Math.min(used, allowed);
    memoryMeter.high = allowed * 0.9;
    memoryMeter.optimum = allowed / 2;
    const over = used > allowed;
    memoryText.dataset.tone = over ? 'error' : 'neutral';
    memoryText.textContent = over
      ? `Memory: ${used} MiB of ${allowed} MiB: ${used - allowed} MiB more than your ${service().units} unit(s) allow.`
      : `Memory: ${used} MiB of ${allowed} MiB (${service().units} unit${service().units === 1 ? '' : 's'} × ${UNIT_MEMORY_MIB} MiB).`;
  }

  // Submit
  const submit = h('button', { type: 'submit', 'aria-describedby': 'submit-blocker' }, 'Deploy');
  const blocker = h('p', { id: 'submit-blocker', class: 'hint', role: 'status' });
  const message = messageBox();
  const replaceNote = h('p', { class: 'hint' });

  function blockers(): string {
    const svc = service();
    if (!allowedActions(svc.status).deploy) return `This order has ended (${svc.status}); it can no longer deploy.`;
    if (submitting) return 'Deploying…';
    if (!region.control.value) return 'Choose a region.';
    const { used, allowed } = memoryTotals();
    if (used > allowed) return `Lower the memory: ${used} MiB asked, ${allowed} MiB allowed.`;
    const rows = allRows();
    const taken = rows.filter((r) => r.state.kind === 'taken' || r.state.kind === 'reserved').map((r) => r.read().hostPort);
    if (taken.length) return `Host port${taken.length > 1 ? 's' : ''} ${taken.join(', ')} ${taken.length > 1 ? 'are' : 'is'} taken in ${region.control.value}: choose another.`;
    if (rows.some((r) => r.state.kind === 'invalid')) return 'Fix the host ports marked above.';
    if (portsChecking) return 'Checking host ports…';
    return '';
  }
  function paintSubmit(): void {
    const reason = blockers();
    submit.disabled = reason !== '';
    blocker.textContent = reason;
    replaceNote.textContent = service().status === 'ServicePending' ? '' : 'Deploying again replaces the running pod.';
  }

  function allRows(): PortRow[] {
    return editors.flatMap((e) => e.ports);
  }

  // Host ports: validate locally at once, ask V-Kube after a pause.
  const checkPortsSoon = debounce(() => void checkPorts(), 500);
  function portsChanged(): void {
    portTicket += 1;
    const rows = allRows().filter((r) => !r.hostPort.el.hidden);
    const counts = new Map<string, number>();
    for (const r of rows) {
      const d = r.read();
      if (d.hostPort !== '') counts.set(`${d.hostPort}/${d.protocol}`, (counts.get(`${d.hostPort}/${d.protocol}`) ?? 0) + 1);
    }
    let toCheck = 0;
    for (const r of rows) {
      const d = r.read();
      const n = Number(d.hostPort);
      if (d.hostPort === '') r.setHostState({ kind: 'empty' });
      else if (!/^\d+$/.test(d.hostPort) || n < 1 || n > 65535) r.setHostState({ kind: 'invalid', message: 'A host port is a whole number from 1 to 65535.' });
      else if ((counts.get(`${d.hostPort}/${d.protocol}`) ?? 0) > 1) r.setHostState({ kind: 'invalid', message: `Port ${d.hostPort} is used twice in this form.` });
      else if (!region.control.value) r.setHostState({ kind: 'unchecked', message: 'Choose a region to check whether this port is free.' });
      else {
        r.setHostState({ kind: 'checking' });
        toCheck += 1;
      }
    }
    portsChecking = toCheck > 0;
    if (portsChecking) checkPortsSoon();
    else checkPortsSoon.cancel();
    paintSubmit();
  }

  async function checkPorts(): Promise<void> {
    const ticket = portTicket;
    const where = region.control.value;
    const rows = allRows().filter((r) => r.state.kind === 'checking');
    const ports = [...new Set(rows.map((r) => Number(r.read().hostPort)))];
    if (ports.length === 0) return;
    let apply: (r: PortRow) => void;
    try {
      // The same four words as `vkube ports check`: free, yours, taken, reserved.
      const result = await call(session.api.POST('/api/v1/k8s/ports/state', { body: { region: where, ports } }));
      if (result.status === 'NoResource') apply = (r) => r.setHostState({ kind: 'unchecked', message: `Region ${where} has no nodes; choose another region.` });
      else if (result.status === 'InternalErr') apply = (r) => r.setHostState({ kind: 'unchecked', message: 'Could not check this port right now; V-Kube checks it again when you deploy.' });
      else {
        const states = new Map(result.ports.map((p) => [p.port, p.state]));
        apply = (r) => {
          const state = states.get(Number(r.read().hostPort)) ?? 'free';
          r.setHostState(state === 'reserved' ? { kind: 'reserved' } : { kind: state, region: where });
        };
      }
    } catch (err) {
      const text = errorText(err);
      apply = (r) => r.setHostState({ kind: 'unchecked', message: `Could not check this port: ${text}` });
    }
    if (ticket !== portTicket) return; // the form changed meanwhile; a newer check is on its way
    rows.forEach(apply);
    portsChecking = false;
    paintSubmit();
  }

  function changed(kind: 'ports' | 'memory' | 'other'): void {
    if (kind === 'ports') portsChanged();
    if (kind === 'memory') paintMemory();
    paintSubmit();
    validateSoon();
  }

  // The server's own rules as the customer types: the body is checked whole
  // (POST /k8s/deploy/validate) and each problem is shown at its field, in the server's
  // words. A field shows its problem once the customer has left it (or after a submit),
  // so an empty form is not red before anything was typed; a fixed field clears at once.
  let validateTicket = 0;
  let showAll = false;
  let formError = false;
  const touched = new Set<EventTarget>();
  const shownErrors = new Set<Settable>();
  const validateSoon = debounce(() => void validateNow(), 500);

  async function validateNow(): Promise<Array<{ target: Settable; text: string }> | undefined> {
    const ticket = ++validateTicket;
    const { body, fields, problems: empties } = build();
    let answer: { problems: Array<{ field: string; message: string; conflict?: boolean }> };
    try {
      answer = await call(session.api.POST('/api/v1/k8s/deploy/validate', { body }));
    } catch {
      return undefined; // only a help while typing: the deploy checks again, and says so if it fails
    }
    if (ticket !== validateTicket) return undefined;
    // An empty field's own words ("Required: a name…") win over the server's for the same field.
    const found = [...empties];
    for (const p of answer.problems) {
      if (p.conflict) continue; // a host port someone holds: the port check says it beside the port
      const target = fieldFor(fields, p.field);
      if (target && !found.some((f) => f.target === target)) found.push({ target, text: sentence(p.message) });
    }
    paintProblems(found);
    return found;
  }

  function paintProblems(found: Array<{ target: Settable; text: string }>): void {
    for (const f of shownErrors) f.setError('');
    shownErrors.clear();
    for (const p of found) {
      if (!showAll && !(p.target.control && touched.has(p.target.control))) continue;
      p.target.setError(p.text);
      shownErrors.add(p.target);
    }
    // The message of an earlier refused submit goes as soon as nothing is left to fix.
    if (formError && shownErrors.size === 0) {
      message.clear();
      formError = false;
    }
  }

  // Build the body, remembering which control each field path belongs to.
  function build(): { body: DeployBody; fields: Map<string, Settable>; problems: Array<{ target: Settable; text: string }> } {
    const fields = new Map<string, Settable>([['nodeSelector.region', region]]);
    const problems: Array<{ target: Settable; text: string }> = [];
    const containers = editors.map((e, i) => {
      const at = `containers[${i}]`;
      const d = e.read();
      fields.set(`${at}.name`, e.name);
      fields.set(`${at}.imageName`, e.image);
      fields.set(`${at}.resource.memory`, e.memory);
      fields.set(`${at}.resource`, e.memory);
      fields.set(`${at}.command`, e.command);
      fields.set(`${at}.args`, e.args);
      if (!d.name) problems.push({ target: e.name, text: 'Required: a name for this container, e.g. web.' });
      if (!d.image) problems.push({ target: e.image, text: 'Required: the image to run, e.g. nginx:1.27.' });
      if (!Number.isFinite(e.memoryMiB())) problems.push({ target: e.memory, text: 'Required: memory in MiB, e.g. 256.' });
      const rows = e.ports.filter((r) => !r.isEmpty());
      const ports = rows.map((r, j) => {
        const p = r.read();
        fields.set(`${at}.ports[${j}].containerPort`, r.containerPort);
        fields.set(`${at}.ports[${j}].hostPort`, r.hostPort);
        fields.set(`${at}.ports[${j}].protocol`, r.protocol);
        fields.set(`${at}.ports[${j}]`, r.containerPort);
        if (p.containerPort === '') problems.push({ target: r.containerPort, text: 'Required: the port your container listens on.' });
        return { containerPort: Number(p.containerPort), ...(p.hostPort !== '' ? { hostPort: Number(p.hostPort) } : {}), protocol: p.protocol };
      });
      const envs = e.filledEnvs().map((env, k) => {
        fields.set(`${at}.envs[${k}].name`, env.name);
        fields.set(`${at}.envs[${k}].value`, env.valueField);
        fields.set(`${at}.envs[${k}]`, env.name);
        return env.value;
      });
      const command = lines(d.command);
      const args = lines(d.args);
      return {
        name: d.name,
        imageName: d.image,
        ports,
        resource: { memory: d.memoryMiB === '' ? '' : `${d.memoryMiB}Mi` },
        ...(command.length ? { command: command.join('\n') } : {}),
        ...(args.length ? { args: args.join('\n') } : {}),
        ...(envs.length ? { envs } : {}),
      };
    });
    return { body: { nodeSelector: { region: region.control.value }, containers }, fields, problems };
  }

  function fieldFor(fields: Map<string, Settable>, path: string): Settable | undefined {
    for (let p = path; p; p = p.replace(/(\.[^.[\]]+|\[\d*\])$/, '')) {
      const f = fields.get(p);
      if (f) return f;
      if (!/(\.[^.[\]]+|\[\d*\])$/.test(p)) break;
    }
    return undefined;
  }

  const form = h('form', { class: 'deploy-form', novalidate: true, 'aria-label': 'Deploy your pod' });
  form.addEventListener('focusout', (event) => {
    if (event.target) touched.add(event.target);
    validateSoon();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    showAll = true;
    validateSoon.cancel();
    const problems = (await validateNow()) ?? build().problems;
    if (problems.length) {
      paintProblems(problems);
      // The message sits under the button, the fields above it.
      message.show('error', `Fix ${problems.length === 1 ? 'the field' : `the ${problems.length} fields`} marked above; nothing was deployed.`);
      formError = true;
      problems[0]!.target.control?.focus();
      return;
    }
    const { body, fields } = build();
    if (service().status === 'ServiceRunning') {
      const sure = await confirmIn(message, 'Replace the running pod?', 'Your app restarts with these settings and is unreachable for a moment.', 'Deploy and replace');
      if (!sure) return submit.focus();
    }
    submitting = true;
    submit.textContent = 'Deploying…';
    form.setAttribute('aria-busy', 'true');
    paintSubmit();
    message.show('busy', 'Deploying: checking images and ports, then starting your pod…');
    try {
      const result = await call(session.api.POST('/api/v1/k8s/deploy', { body }));
      showResult(result);
      void session.refreshWhenRunning();
    } catch (err) {
      const text = errorText(err);
      const match = /^([A-Za-z][\w.[\]]*): ([\s\S]*)$/.exec(text);
      const target = match ? fieldFor(fields, match[1]!) : undefined;
      target?.setError(match![2]!);
      // The server's words, without its status code: what failed and why is in the text.
      message.show('error', `Deploy failed: ${match ? `${match[2]}` : text}`);
      formError = true;
      if (err instanceof VkubeApiError && err.status === 409) portsChanged();
      target?.control?.focus();
    } finally {
      submitting = false;
      submit.textContent = 'Deploy';
      form.removeAttribute('aria-busy');
      paintSubmit();
    }
  });

  function showResult(result: DeployResult): void {
    const ports = result.containers.flatMap((c) => c.ports.filter((p) => p.hostPort).map((p) => `${c.name}: host port ${p.hostPort} → ${p.containerPort}/${p.protocol}`));
    // data-route: the shell turns the click into in-page navigation.
    const statusLink = h('a', { href: '/status', 'data-route': '/status' }, 'Watch its status');
    message.show(
      result.warnings.length ? 'warn' : 'ok',
      h('p', null, h('strong', null, `Deployed to ${result.region}.`), ' ', result.containers.map((c) => `${c.name} (${c.image})`).join(', '), '.'),
      ports.length ? h('ul', null, ports.map((p) => h('li', null, p))) : null,
      result.warnings.length ? h('div', { class: 'warnings' }, h('p', null, 'Warnings:'), h('ul', null, result.warnings.map((w) => h('li', null, `⚠ ${w}`)))) : null,
      h('p', null, statusLink),
    );
  }

  for (const d of drafts && drafts.length ? drafts : [{ ...EMPTY_CONTAINER, name: 'web' }]) addEditor(d);

  replaceChildren(
    form,
    h('p', { class: 'lead' }, 'Describe the containers of your pod. Images and host ports are checked as you type.'),
    h('div', { class: 'card' }, region.el),
    containerList,
    h('div', { class: 'button-row' }, addContainer),
    containerHint,
    memoryBox,
    h('div', { class: 'submit-row' }, submit, blocker),
    replaceNote,
    message.el,
  );

  let lastRegion = service().region;
  let lastStatus = service().status;
  const unsubscribe = session.subscribe((s: Snapshot) => {
    if (s.service.region !== lastRegion) {
      lastRegion = s.service.region;
      paintRegions();
      portsChanged();
    }
    if (s.service.status !== lastStatus) {
      lastStatus = s.service.status;
      paintSubmit();
    }
  });
  paintMemory();
  portsChanged();

  return {
    el: form,
    dispose() {
      unsubscribe();
      checkPortsSoon.cancel();
      validateSoon.cancel();
      validateTicket += 1;
      portTicket += 1;
      editors.forEach((e) => e.dispose());
    },
  };
}

/** `must be …` → `Must be ….`: a server message read as a sentence beside its field. */
function sentence(text: string): string {
  const t = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

/** The deployed configuration (`GET /k8s/deployment/info`) as form drafts; null when none or unreadable. */
function draftsFromInfo(info: Record<string, unknown>): ContainerDraft[] | null {
  if (!Array.isArray(info.containers)) return null;
  return info.containers.filter(isRecord).map((c) => {
    const resource = isRecord(c.resource) ? c.resource : {};
    const mib = typeof resource.memory === 'string' ? quantityToMiB(resource.memory) : typeof c.resourceUnit === 'number' ? c.resourceUnit * UNIT_MEMORY_MIB : NaN;
    const text = (v: unknown) => (Array.isArray(v) ? v.map(String).join('\n') : typeof v === 'string' ? v : '');
    return {
      name: typeof c.name === 'string' ? c.name : '',
      image: typeof c.imageName === 'string' ? c.imageName : '',
      memoryMiB: Number.isFinite(mib) ? String(Math.round(mib)) : '',
      ports: (Array.isArray(c.ports) ? c.ports.filter(isRecord) : []).map((p) => ({
        containerPort: typeof p.containerPort === 'number' ? String(p.containerPort) : '',
        hostPort: typeof p.hostPort === 'number' ? String(p.hostPort) : '',
        protocol: p.protocol === 'UDP' ? ('UDP' as const) : ('TCP' as const),
      })),
      command: text(c.command),
      args: text(c.args),
      envs: (Array.isArray(c.envs) ? c.envs.filter(isRecord) : []).map((e) => ({ name: String(e.name ?? ''), value: String(e.value ?? '') })),
    };
  });
}

const FACTORS: Record<string, number> = { '': 1 / 2 ** 20, Ki: 1 / 1024, Mi: 1, Gi: 1024, Ti: 1024 * 1024, k: 1000 / 2 ** 20, M: 1e6 / 2 ** 20, G: 1e9 / 2 ** 20, T: 1e12 / 2 ** 20 };
function quantityToMiB(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q.trim());
  return m ? Number(m[1]) * FACTORS[m[2] ?? '']! : NaN;
}
