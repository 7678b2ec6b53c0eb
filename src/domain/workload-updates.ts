/**
 * Changes to a deployed workload that the original clients make without sending a
 * whole deploy body: configuration files and environment (`PUT /k8s/pod/update`),
 * images (`PATCH /k8s/pod/images`), and the Deployment's description and label.
 * Each builds the next spec from the current one and commits it like a deploy.
 */
import type { OrderStore } from './store-port.js';
import type { OrderRecord } from './records.js';
import type { ApplyOutcome, ApplyWaiter } from './apply-waiter.js';
import type { Clock } from '../kernel/clock.js';
import { assertActive, type DeployService, onLatest } from './deploy.js';
import type { DeploySpec } from './deploy-spec.js';
import { ConflictError, InputError, NotFoundError } from '../kernel/errors.js';

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
export const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export class WorkloadUpdateService {
  constructor(
    private readonly deploys: DeployService,
    private readonly store: OrderStore,
    private readonly waiter: Pick<ApplyWaiter, 'waitFor'>,
    private readonly clock: Clock,
    private readonly isValidImage: (ref: string) => boolean,
  ) {}

  /** `GET /k8s/pod/configmap`: each container's configuration text. */
  configFiles(order: OrderRecord): Record<string, string> {
    const spec = this.requireSpec(order);
    const out: Record<string, string> = {};
    for (const c of spec.containers) if (c.configFiles[0]) out[c.name] = c.configFiles[0].content;
    return out;
  }

  /**
   * `PUT /k8s/pod/update`: `{"config":{"<container>":"<text>"},"environment":{"<container>":{"K":"V"}}}`.
   * New text replaces the container's configuration file; variables are set (added or
   * overwritten). The pod restarts with them. A change another request made meanwhile is
   * kept: this one is redone on top of it.
   */
  updateConfig(order: OrderRecord, body: unknown): Promise<{ spec: DeploySpec; outcome: ApplyOutcome }> {
    return onLatest(this.store, order, (latest) => this.updateConfigOf(latest, body));
  }

  private async updateConfigOf(order: OrderRecord, body: unknown): Promise<{ spec: DeploySpec; outcome: ApplyOutcome }> {
    const spec = this.requireSpec(order);
    const b = asObject(body, 'body');
    const config = b.config === undefined || b.config === null ? {} : asObject(b.config, 'config');
    const environment = b.environment === undefined || b.environment === null ? {} : asObject(b.environment, 'environment');
    if (Object.keys(config).length === 0 && Object.keys(environment).length === 0) throw new InputError('nothing to update: give config and/or environment', 'body');
    for (const [name, text] of Object.entries(config)) {
      const c = this.container(spec, name, `config.${name}`);
      if (typeof text !== 'string') throw new InputError('must be the text of the configuration file', `config.${name}`);
      if (!c.configFiles[0]) throw new InputError(`container "${name}" has no configuration file; deploy it with configMountPath first`, `config.${name}`);
      c.configFiles[0] = { ...c.configFiles[0], content: text };
    }
    for (const [name, vars] of Object.entries(environment)) {
      const c = this.container(spec, name, `environment.${name}`);
      for (const [key, value] of Object.entries(asObject(vars, `environment.${name}`))) {
        if (!ENV_NAME.test(key)) throw new InputError('not a valid environment variable name', `environment.${name}.${key}`);
        if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') throw new InputError('must be a string', `environment.${name}.${key}`);
        const existing = c.env.find((e) => e.name === key);
        if (existing) existing.value = String(value);
        else c.env.push({ name: key, value: String(value) });
      }
    }
    return { spec, outcome: await this.commit(order, spec) };
  }

  /**
   * `PATCH /k8s/pod/images`: `[{"image":"name:tag","login":{"username","password"}}]`, one
   * entry per container in order. Every image is checked in its registry before rollout.
   */
  updateImages(order: OrderRecord, body: unknown): Promise<{ spec: DeploySpec; warnings: string[]; outcome: ApplyOutcome }> {
    return onLatest(this.store, order, (latest) => this.updateImagesOf(latest, body));
  }

  private async updateImagesOf(order: OrderRecord, body: unknown): Promise<{ spec: DeploySpec; warnings: string[]; outcome: ApplyOutcome }> {
    const spec = this.requireSpec(order);
    if (!Array.isArray(body) || body.length === 0) throw new InputError('must be a non-empty array of {"image": "name:tag"}', 'body');
    if (body.length > spec.containers.length) throw new InputError(`${body.length} images for ${spec.containers.length} containers`, 'body');
    body.forEach((raw, i) => {
      const entry = asObject(raw, `[${i}]`);
      const image = entry.image;
      if (typeof image !== 'string' || !this.isValidImage(image.trim())) throw new InputError('must be an image reference such as nginx:1.27', `[${i}].image`);
      const container = spec.containers[i]!;
      container.image = image.trim();
      if (entry.login !== undefined && entry.login !== null) {
        const login = asObject(entry.login, `[${i}].login`);
        const username = login.username === undefined || login.username === null ? '' : login.username;
        const password = login.password === undefined || login.password === null ? '' : login.password;
        if (typeof username !== 'string') throw new InputError('must be a string', `[${i}].login.username`);
        if (typeof password !== 'string') throw new InputError('must be a string', `[${i}].login.password`);
        while (spec.registryLogins.length <= i) spec.registryLogins.push({ username: '', password: '' });
        spec.registryLogins[i] = { username, password };
        if (username || password) container.loginIndex = i;
        else delete container.loginIndex;
      }
    });
    const warnings = await this.deploys.checkImages(spec);
    const outcome = await this.commit(order, spec);
    return { spec, warnings: [...warnings, ...(outcome.warning ? [outcome.warning] : [])], outcome };
  }

  async setDescription(order: OrderRecord, body: unknown): Promise<OrderRecord> {
    const b = asObject(body, 'body');
    if (typeof b.description !== 'string') throw new InputError(b.description === undefined ? 'required' : 'must be a string', 'description');
    if (b.description.length > 1024) throw new InputError('at most 1024 characters', 'description');
    return this.setMetadata(order, { description: b.description });
  }

  async setLabel(order: OrderRecord, body: unknown): Promise<OrderRecord> {
    const b = asObject(body, 'body');
    const label = b.customizedLabel;
    if (typeof label !== 'string') throw new InputError(label === undefined ? 'required' : 'must be a string', 'customizedLabel');
    if (label.length > 63 || !LABEL_VALUE.test(label)) throw new InputError('must be a Kubernetes label value: at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit', 'customizedLabel');
    return this.setMetadata(order, { customLabel: label });
  }

  private async setMetadata(order: OrderRecord, fields: { description?: string; customLabel?: string }): Promise<OrderRecord> {
    assertActive(order, this.clock.now());
    const next = await this.store.setMetadata(order.id, fields, this.clock.now());
    // Its own columns: no other change can be lost. Answered whether or not the Deployment has it yet.
    if (next.spec) await this.waiter.waitFor(order.id, next.generation);
    return next;
  }

  private requireSpec(order: OrderRecord): DeploySpec {
    assertActive(order, this.clock.now());
    const spec = this.deploys.currentSpec(order);
    if (!spec) throw new NotFoundError('nothing is deployed for this order yet');
    return structuredClone(spec);
  }

  private container(spec: DeploySpec, name: string, field: string): DeploySpec['containers'][number] {
    const c = spec.containers.find((x) => x.name === name);
    if (!c) throw new InputError(`no container "${name}"; the pod has ${spec.containers.map((x) => x.name).join(', ')}`, field);
    return c;
  }

  private async commit(order: OrderRecord, spec: DeploySpec): Promise<ApplyOutcome> {
    if (order.serviceStatus !== 'ServiceRunning' && order.serviceStatus !== 'ServiceStop') throw new ConflictError(`the service is ${order.serviceStatus}`);
    return this.deploys.commit(order, spec, { allowedFrom: ['ServiceRunning', 'ServiceStop'], status: order.serviceStatus });
  }
}

function asObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InputError(value === undefined ? 'required' : 'must be an object', field);
  return value as Record<string, unknown>;
}
