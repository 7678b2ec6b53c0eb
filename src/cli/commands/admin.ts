/**
 * `vkube admin order …`: the provider's side, over the admin API. The admin token
 * comes from --admin-token or VKUBE_ADMIN_TOKEN only: it is never saved and never printed.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { type Api, connect } from '../api.js';
import { type CommonOptions, examples, intArg, withCommonOptions } from '../command-kit.js';
import { resolveServer } from '../credentials.js';
import { CliError, ExitCode } from '../errors.js';
import { type Output, absoluteTime, fields, relativeTime, table } from '../output.js';
import type { components } from '../../sdk/client.js';

type AdminOrder = components['schemas']['AdminOrder'];

interface AdminOptions extends CommonOptions {
  adminToken?: string;
}

const STATUSES = ['ServicePending', 'ServiceRunning', 'ServiceStop', 'ServiceDone', 'ServiceAbort'];

/** The options every admin command takes, after its own (so --help lists those first). */
function withAdminOptions(cmd: Command): Command {
  cmd.addOption(new Option('--admin-token <token>', "the provider's admin token (never saved)").env('VKUBE_ADMIN_TOKEN'));
  return withCommonOptions(cmd, { secret: false });
}

async function adminApi(opts: AdminOptions): Promise<Api> {
  if (!opts.adminToken) throw new CliError('no admin token: pass --admin-token or set VKUBE_ADMIN_TOKEN', ExitCode.auth);
  return connect(await resolveServer(opts), { adminToken: opts.adminToken });
}

export function registerAdmin(program: Command, out: Output): void {
  const admin = program.command('admin').description("the provider's commands (need the admin token: --admin-token or VKUBE_ADMIN_TOKEN)");
  examples(admin, ['export VKUBE_ADMIN_TOKEN=…', 'vkube admin order create --server https://vkube.example.com --duration 720 --units 2']);
  const order = admin.command('order').description('create, list, show, renew, abort orders and rotate their secrets');
  examples(order, ['vkube admin order create --duration 24', 'vkube admin order list --status ServiceRunning', 'vkube admin order renew <id> --hours 720', 'vkube admin order abort <id>']);

  const create = order
    .command('create')
    .description('create an order and print its secret (shown this once)')
    .requiredOption('--duration <hours>', 'hours the order runs once deployed', intArg(1))
    .option('--units <n>', 'resource units (1 unit: 1 container, 1 host port, 1Gi by default)', intArg(1, 1000), 1)
    .option('--region <region>', 'pin the order to a region (default: any)')
    .option('--random-ports', 'V-Kube chooses the host ports (System Random Map Port)')
    .option('--persist-storage', 'give the order a persistent volume')
    .option('--email <address>', "the customer's e-mail");
  withAdminOptions(create);
  examples(create, [
    'vkube admin order create --duration 720 --units 2 --region ausrine',
    "vkube admin order create --duration 24 --random-ports --json | jq -r .secret",
  ]);
  create.action(async (opts: AdminOptions & { duration: number; units: number; region?: string; randomPorts?: boolean; persistStorage?: boolean; email?: string }) => {
    const api = await adminApi(opts);
    const created = await api.call(
      api.client.POST('/api/v1/admin/orders', {
        body: {
          duration: opts.duration,
          serviceOptions: {
            resourceUnit: `${opts.units}-Unit-Resource`,
            portSpecification: opts.randomPorts ? 'System Random Map Port' : 'User Specified Service Port',
            persistStorage: opts.persistStorage ? 'Yes' : 'No',
            ...(opts.region ? { region: opts.region } : {}),
          },
          ...(opts.email ? { email: opts.email } : {}),
        },
      }),
    );
    out.result(created, () => {
      const o = created.order;
      out.print(`Order ${o.id} created: ${o.serviceOptions.resourceUnit}, ${o.duration} h${o.serviceOptions.region ? `, region ${o.serviceOptions.region}` : ''}.`);
      out.print();
      out.print(`  Secret:  ${created.secret}`);
      out.print(`  Token:   ${created.token}`);
      out.print();
      out.print('This is the only time the secret is shown: V-Kube keeps only a hash of it.');
      out.print('Give it to the customer, who logs in with:');
      out.print(`  vkube login --server ${api.server} --secret <secret>`);
      out.print('(the token is the same secret for the original clients; it also names the server)');
    });
  });

  const list = order
    .command('list')
    .description('list orders, newest first')
    .option('--status <status>', `only orders in this state: ${STATUSES.join(', ')}`)
    .option('--limit <n>', 'at most this many', intArg(1, 500), 50);
  withAdminOptions(list);
  examples(list, ['vkube admin order list', 'vkube admin order list --status ServiceRunning --json']);
  list.action(async (opts: AdminOptions & { status?: string; limit: number }) => {
    if (opts.status && !STATUSES.includes(opts.status)) throw new CliError(`--status must be one of ${STATUSES.join(', ')}`, ExitCode.usage);
    const api = await adminApi(opts);
    const page = await api.call(api.client.GET('/api/v1/admin/orders', { params: { query: { limit: String(opts.limit), ...(opts.status ? { status: opts.status } : {}) } } }));
    out.result(page, () => {
      const now = Date.now();
      out.print(
        table(
          ['ID', 'STATUS', 'UNITS', 'REGION', 'CREATED', 'EXPIRES'],
          page.items.map((o) => [o.id, o.serviceStatus, String(o.units), o.region || '-', relativeTime(o.createdAt, now), o.endAt ? relativeTime(o.endAt, now) : 'not started']),
        ),
      );
      out.print();
      out.print(`${page.items.length} of ${page.total} order${page.total === 1 ? '' : 's'}.`);
    });
  });

  const show = withAdminOptions(order.command('show').description('show one order').argument('<id>', 'the order id'));
  examples(show, ['vkube admin order show 5f0c…']);
  show.action(async (id: string, opts: AdminOptions) => {
    const api = await adminApi(opts);
    const o = await api.call(api.client.GET('/api/v1/admin/orders/{id}', { params: { path: { id } } }));
    out.result(o, () => printOrder(out, o));
  });

  const renew = order
    .command('renew')
    .description('add hours to an order (a running service keeps running)')
    .argument('<id>', 'the order id')
    .requiredOption('--hours <hours>', 'hours to add', intArg(1));
  withAdminOptions(renew);
  examples(renew, ['vkube admin order renew 5f0c… --hours 720']);
  renew.action(async (id: string, opts: AdminOptions & { hours: number }) => {
    const api = await adminApi(opts);
    const o = await api.call(api.client.POST('/api/v1/admin/orders/{id}/renew', { params: { path: { id } }, body: { duration: opts.hours } }));
    out.result(o, () => {
      out.print(`Order ${o.id} renewed by ${opts.hours} h.`);
      printOrder(out, o);
    });
  });

  const abort = withAdminOptions(order.command('abort').description('abort an order: its pod is torn down and its host ports freed').argument('<id>', 'the order id'));
  examples(abort, ['vkube admin order abort 5f0c…']);
  abort.action(async (id: string, opts: AdminOptions) => {
    const api = await adminApi(opts);
    const o = await api.call(api.client.POST('/api/v1/admin/orders/{id}/abort', { params: { path: { id } } }));
    out.result(o, () => out.print(`Order ${o.id} aborted (service ${o.serviceStatus}).`));
  });

  const clusters = withAdminOptions(admin.command('clusters').description('the clusters behind V-Kube: health, who holds each Lease, regions, nodes and room'));
  examples(clusters, ['vkube admin clusters', 'vkube admin clusters --json | jq ".clusters[] | {name, ready}"']);
  clusters.action(async (opts: AdminOptions) => {
    const api = await adminApi(opts);
    const view = await api.call(api.client.GET('/api/v1/admin/clusters'));
    out.result(view, () => {
      out.print(
        table(
          ['CLUSTER', 'READY', 'LEASE', 'REGION', 'NODES', 'CPU', 'MEMORY', 'FREE MEMORY'],
          view.clusters.flatMap((c) => {
            const head = [c.name, c.ready ? 'yes' : 'NO', c.leader ? 'held here' : '-'];
            if (c.regions.length === 0) return [[...head, '-', '-', '-', '-', '-']];
            return c.regions.map((r, i) => [
              ...(i === 0 ? head : ['', '', '']),
              r.region,
              `${r.readyNodes}/${r.nodes} Ready`,
              `${r.cpuMillis / 1000}`,
              gib(r.memoryBytes),
              gib(r.freeMemoryBytes),
            ]);
          }),
        ),
      );
      for (const c of view.clusters) if (c.detail) out.print(`\n${c.name}: ${c.detail}`);
      for (const conflict of view.conflicts) out.print(`\nconflict: ${conflict} (served by neither)`);
    });
  });

  const rotate = withAdminOptions(order.command('rotate-secret').description('give an order a new secret; the old one stops working at once').argument('<id>', 'the order id'));
  examples(rotate, ['vkube admin order rotate-secret 5f0c…']);
  rotate.action(async (id: string, opts: AdminOptions) => {
    const api = await adminApi(opts);
    const rotated = await api.call(api.client.POST('/api/v1/admin/orders/{id}/secret', { params: { path: { id } } }));
    out.result(rotated, () => {
      out.print(`Order ${rotated.order.id} has a new secret; the old one no longer works.`);
      out.print();
      out.print(`  Secret:  ${rotated.secret}`);
      out.print(`  Token:   ${rotated.token}`);
      out.print();
      out.print('This is the only time the secret is shown.');
    });
  });
}

function printOrder(out: Output, o: AdminOrder): void {
  const now = Date.now();
  out.print(
    fields([
      ['Order', o.id],
      ['Service', o.serviceStatus],
      ['Units', String(o.units)],
      ['Region', o.region || 'any'],
      ['Options', Object.entries(o.serviceOptions).map(([k, v]) => `${k}=${v}`).join(', ')],
      ['Duration', `${o.duration} h`],
      ['Created', `${relativeTime(o.createdAt, now)} (${absoluteTime(o.createdAt)})`],
      ['Expires', o.endAt ? `${relativeTime(o.endAt, now)} (${absoluteTime(o.endAt)})` : 'not started (the hours start at the first deploy)'],
    ]),
  );
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)}Gi`;
}
