/**
 * One container of the deploy form: name, image (checked in its registry as the
 * customer types), memory, ports, command, args and environment. The form reads it
 * with `read()`; host-port availability is painted onto its port rows by the form.
 */
import { type Api, errorText } from '../api.js';
import { debounce, type Field, field, h } from '../dom.js';
import { splitImage } from '../model.js';

export interface PortDraft {
  containerPort: string;
  hostPort: string;
  protocol: 'TCP' | 'UDP';
}

export interface ContainerDraft {
  name: string;
  image: string;
  memoryMiB: string;
  ports: PortDraft[];
  command: string;
  args: string;
  envs: Array<{ name: string; value: string }>;
}

export const EMPTY_CONTAINER: ContainerDraft = { name: '', image: '', memoryMiB: '256', ports: [{ containerPort: '', hostPort: '', protocol: 'TCP' }], command: '', args: '', envs: [] };

/** What the form knows about a host port. */
export type HostPortState =
  | { kind: 'empty' }
  | { kind: 'invalid'; message: string }
  | { kind: 'checking' }
  | { kind: 'free'; region: string }
  | { kind: 'taken'; region: string }
  | { kind: 'yours'; region: string }
  | { kind: 'reserved' }
  | { kind: 'unchecked'; message: string };

export class PortRow {
  readonly el: HTMLFieldSetElement;
  readonly containerPort: Field<HTMLInputElement>;
  readonly hostPort: Field<HTMLInputElement>;
  readonly protocol: Field<HTMLSelectElement>;
  private readonly legend: HTMLLegendElement;
  private readonly removeButton: HTMLButtonElement;
  state: HostPortState = { kind: 'empty' };

  constructor(initial: PortDraft, randomPorts: boolean, onChange: () => void, onRemove: (row: PortRow) => void) {
    this.containerPort = field('Container port', h('input', { type: 'number', inputmode: 'numeric', min: 1, max: 65535, step: 1, value: initial.containerPort, placeholder: 'e.g. 80' }));
    this.hostPort = field(
      'Host port',
      h('input', { type: 'number', inputmode: 'numeric', min: 1, max: 65535, step: 1, value: initial.hostPort, placeholder: 'none', class: 'host-port' }),
      { liveHint: true },
    );
    this.protocol = field('Protocol', h('select', null, h('option', { value: 'TCP' }, 'TCP'), h('option', { value: 'UDP' }, 'UDP')));
    this.protocol.control.value = initial.protocol;
    this.removeButton = h('button', { type: 'button', class: 'link-button' }, 'Remove port');
    this.removeButton.addEventListener('click', () => onRemove(this));
    this.legend = h('legend');
    this.hostPort.el.hidden = randomPorts;
    this.el = h('fieldset', { class: 'port-row' }, this.legend, h('div', { class: 'grid3' }, this.containerPort.el, this.hostPort.el, this.protocol.el), this.removeButton);
    for (const control of [this.containerPort.control, this.hostPort.control, this.protocol.control]) control.addEventListener('input', onChange);
  }

  number(n: number, container: string): void {
    this.legend.textContent = `Port ${n}`;
    this.removeButton.setAttribute('aria-label', `Remove port ${n} of ${container}`);
  }

  read(): PortDraft {
    return { containerPort: this.containerPort.control.value.trim(), hostPort: this.hostPort.el.hidden ? '' : this.hostPort.control.value.trim(), protocol: this.protocol.control.value === 'UDP' ? 'UDP' : 'TCP' };
  }

  isEmpty(): boolean {
    const d = this.read();
    return d.containerPort === '' && d.hostPort === '';
  }

  setHostState(state: HostPortState): void {
    this.state = state;
    const f = this.hostPort;
    switch (state.kind) {
      case 'empty':
        return f.setHint(this.hostPort.el.hidden ? '' : 'Optional: the port on the node, reachable from outside.');
      case 'invalid':
        return f.setHint(state.message, 'error');
      case 'checking':
        return f.setHint('Checking whether this port is free…', 'busy');
      case 'free':
        return f.setHint(`✓ Free in ${state.region}.`, 'ok');
      case 'taken':
        return f.setHint(`✗ Port ${this.read().hostPort} is taken in ${state.region} by someone else: choose another.`, 'error');
      case 'yours':
        return f.setHint(`✓ Yours: your order already holds it in ${state.region}, and keeps it.`, 'ok');
      case 'reserved':
        return f.setHint(`✗ Port ${this.read().hostPort} is reserved by the provider: no order can have it. Choose another.`, 'error');
      case 'unchecked':
        return f.setHint(state.message, 'warn');
    }
  }
}

class EnvRow {
  readonly el: HTMLFieldSetElement;
  readonly name: Field<HTMLInputElement>;
  readonly value: Field<HTMLInputElement>;
  private readonly legend: HTMLLegendElement;
  private readonly removeButton: HTMLButtonElement;

  constructor(initial: { name: string; value: string }, onRemove: (row: EnvRow) => void) {
    this.name = field('Variable name', h('input', { type: 'text', value: initial.name, autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none', placeholder: 'e.g. LOG_LEVEL' }));
    this.value = field('Value', h('input', { type: 'text', value: initial.value, autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none' }));
    this.removeButton = h('button', { type: 'button', class: 'link-button' }, 'Remove variable');
    this.removeButton.addEventListener('click', () => onRemove(this));
    this.legend = h('legend');
    this.el = h('fieldset', { class: 'env-row' }, this.legend, h('div', { class: 'grid2' }, this.name.el, this.value.el), this.removeButton);
  }

  number(n: number, container: string): void {
    this.legend.textContent = `Variable ${n}`;
    this.removeButton.setAttribute('aria-label', `Remove variable ${n} of ${container}`);
  }

  read(): { name: string; value: string } {
    return { name: this.name.control.value.trim(), value: this.value.control.value };
  }
}

export interface ContainerEditorOptions {
  api: Api;
  randomPorts: boolean;
  /** Something changed: `kind` says what, so the form re-checks only what it must. */
  onChange(kind: 'ports' | 'memory' | 'other'): void;
  onRemove(editor: ContainerEditor): void;
}

export class ContainerEditor {
  readonly el: HTMLFieldSetElement;
  readonly name: Field<HTMLInputElement>;
  readonly image: Field<HTMLInputElement>;
  readonly memory: Field<HTMLInputElement>;
  readonly command: Field<HTMLTextAreaElement>;
  readonly args: Field<HTMLTextAreaElement>;
  readonly ports: PortRow[] = [];
  readonly envs: EnvRow[] = [];
  private readonly legend: HTMLLegendElement;
  private readonly removeButton: HTMLButtonElement;
  private readonly portList: HTMLDivElement;
  private readonly envList: HTMLDivElement;
  private readonly addPortButton: HTMLButtonElement;
  private imageCheck = 0;
  private readonly checkImageSoon: ReturnType<typeof debounce<[]>>;
  private index = 0;

  constructor(
    initial: ContainerDraft,
    private readonly opts: ContainerEditorOptions,
  ) {
    this.name = field('Name', h('input', { type: 'text', value: initial.name, required: true, autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none', maxlength: 63, placeholder: 'e.g. web' }), {
      hint: 'Lowercase letters, digits and "-".',
    });
    this.image = field('Image', h('input', { type: 'text', value: initial.image, required: true, autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none', placeholder: 'e.g. nginx:1.27', class: 'image' }), {
      hint: 'e.g. nginx, nginx:1.27, ghcr.io/owner/app:tag',
      liveHint: true,
    });
    this.memory = field('Memory (MiB)', h('input', { type: 'number', inputmode: 'numeric', min: 4, step: 1, value: initial.memoryMiB, required: true, class: 'memory' }));
    this.command = field('Command', h('textarea', { rows: 3, spellcheck: 'false', autocapitalize: 'none' }), { hint: 'Optional. One argument per line; empty keeps the image’s entrypoint.' });
    this.command.control.value = initial.command;
    this.args = field('Arguments', h('textarea', { rows: 3, spellcheck: 'false', autocapitalize: 'none' }), { hint: 'Optional. One argument per line.' });
    this.args.control.value = initial.args;

    this.checkImageSoon = debounce(() => void this.checkImage(), 600);
    this.image.control.addEventListener('input', () => {
      this.image.setHint(this.image.control.value.trim() ? 'Checking soon…' : 'e.g. nginx, nginx:1.27, ghcr.io/owner/app:tag', 'neutral');
      this.checkImageSoon();
    });
    this.memory.control.addEventListener('input', () => opts.onChange('memory'));
    this.name.control.addEventListener('input', () => {
      this.renumber();
      opts.onChange('other');
    });

    this.portList = h('div', { class: 'rows' });
    this.envList = h('div', { class: 'rows' });
    this.addPortButton = h('button', { type: 'button', class: 'secondary small' }, 'Add port');
    this.addPortButton.addEventListener('click', () => {
      this.addPort({ containerPort: '', hostPort: '', protocol: 'TCP' }).containerPort.control.focus();
      opts.onChange('ports');
    });
    const addEnvButton = h('button', { type: 'button', class: 'secondary small' }, 'Add variable');
    addEnvButton.addEventListener('click', () => {
      this.addEnv({ name: '', value: '' }).name.control.focus();
    });
    this.removeButton = h('button', { type: 'button', class: 'danger small' }, 'Remove container');
    this.removeButton.addEventListener('click', () => opts.onRemove(this));
    this.legend = h('legend');
    for (const p of initial.ports) this.addPort(p);
    for (const e of initial.envs) this.addEnv(e);
    this.el = h(
      'fieldset',
      { class: 'container card' },
      this.legend,
      h('div', { class: 'grid2' }, this.name.el, this.memory.el),
      this.image.el,
      h('fieldset', { class: 'group' }, h('legend', null, 'Ports'), this.portList, this.addPortButton),
      h('div', { class: 'grid2' }, this.command.el, this.args.el),
      h('fieldset', { class: 'group' }, h('legend', null, 'Environment variables'), this.envList, addEnvButton),
      this.removeButton,
    );
    this.renumber();
    if (initial.image.trim()) void this.checkImage();
  }

  /** Position in the form (0-based); `removable` is false for the only container. */
  setIndex(index: number, removable: boolean): void {
    this.index = index;
    this.removeButton.hidden = !removable;
    this.renumber();
  }

  private label(): string {
    const name = this.name.control.value.trim();
    return `container ${this.index + 1}${name ? ` (${name})` : ''}`;
  }

  private renumber(): void {
    const label = this.label();
    this.legend.textContent = label.charAt(0).toUpperCase() + label.slice(1);
    this.removeButton.setAttribute('aria-label', `Remove ${label}`);
    this.ports.forEach((p, i) => p.number(i + 1, label));
    this.envs.forEach((e, i) => e.number(i + 1, label));
  }

  private addPort(initial: PortDraft): PortRow {
    const row = new PortRow(
      initial,
      this.opts.randomPorts,
      () => this.opts.onChange('ports'),
      (r) => {
        this.ports.splice(this.ports.indexOf(r), 1);
        r.el.remove();
        this.renumber();
        this.addPortButton.focus();
        this.opts.onChange('ports');
      },
    );
    this.ports.push(row);
    this.portList.append(row.el);
    row.setHostState({ kind: 'empty' });
    this.renumber();
    return row;
  }

  private addEnv(initial: { name: string; value: string }): EnvRow {
    const row = new EnvRow(initial, (r) => {
      this.envs.splice(this.envs.indexOf(r), 1);
      r.el.remove();
      this.renumber();
    });
    this.envs.push(row);
    this.envList.append(row.el);
    this.renumber();
    return row;
  }

  read(): ContainerDraft {
    return {
      name: this.name.control.value.trim(),
      image: this.image.control.value.trim(),
      memoryMiB: this.memory.control.value.trim(),
      ports: this.ports.map((p) => p.read()),
      command: this.command.control.value,
      args: this.args.control.value,
      envs: this.envs.map((e) => e.read()),
    };
  }

  /** The env rows that are not blank, with their fields (the server's envs[k] index follows this order). */
  filledEnvs(): Array<{ value: { name: string; value: string }; name: Field<HTMLInputElement>; valueField: Field<HTMLInputElement> }> {
    return this.envs.filter((e) => e.read().name !== '' || e.read().value !== '').map((e) => ({ value: e.read(), name: e.name, valueField: e.value }));
  }

  /** Memory in MiB, or NaN when the field is not a number. */
  memoryMiB(): number {
    const v = this.memory.control.value.trim();
    return v === '' ? NaN : Number(v);
  }

  dispose(): void {
    this.checkImageSoon.cancel();
    this.imageCheck += 1;
  }

  /** Asks V-Kube whether the image exists; a registry that cannot be reached is a warning, not a failure. */
  private async checkImage(): Promise<void> {
    const ref = this.image.control.value.trim();
    const ticket = ++this.imageCheck;
    if (!ref) return;
    const { image, tag, digest } = splitImage(ref);
    if (digest) {
      this.image.setHint('Pinned by digest: checked when you deploy.', 'neutral');
      return;
    }
    const shown = `${image}:${tag}`;
    this.image.setHint(`Checking ${shown}…`, 'busy');
    let tone: 'ok' | 'warn' | 'error';
    let text: string;
    try {
      const result = await this.opts.api.GET('/api/v1/k8s/images', { params: { query: { image, tag } } });
      if (result.response.ok) {
        tone = 'ok';
        text = `✓ ${shown} exists.`;
      } else {
        const message = (result.error as { error?: { message?: string } } | undefined)?.error?.message ?? `HTTP ${result.response.status}`;
        const status = result.response.status;
        if (status === 404) {
          tone = 'error';
          text = `✗ ${shown} does not exist in its registry. Check the name and tag.`;
        } else if (status === 502 || status === 503 || status === 504) {
          tone = 'warn';
          text = `⚠ ${shown} was not checked: ${message}. You can still deploy; the node pulls the image when the pod starts.`;
        } else {
          tone = status === 400 ? 'error' : 'warn';
          text = status === 400 ? `✗ ${message}` : `⚠ Could not check ${shown}: ${message}`;
        }
      }
    } catch (err) {
      tone = 'warn';
      text = `⚠ Could not check ${shown}: ${errorText(err)}`;
    }
    if (ticket === this.imageCheck) this.image.setHint(text, tone);
  }
}
