/** Questions that change nothing: `regions`, `image check`, `ports check`, `order`. */
import type { Command } from 'commander';
import { Option } from 'commander';
import { connect } from '../api.js';
import { type CommonOptions, examples, intArg, withCommonOptions } from '../command-kit.js';
import { resolveLogin, resolveServer } from '../credentials.js';
import { splitImage } from '../deploy-file.js';
import { CliError, ExitCode, usageError } from '../errors.js';
import { type Output, absoluteTime, fields, relativeTime, table } from '../output.js';
import { portChoiceText, readUserService, serviceStatusText, unitsText } from '../user-service.js';

export function registerInfo(program: Command, out: Output): void {
  const regions = withCommonOptions(program.command('regions').description('list the regions that have Ready nodes'));
  examples(regions, ['vkube regions', 'vkube regions --json']);
  regions.action(async (opts: CommonOptions) => {
    const api = connect(await resolveServer(opts));
    const list = await api.call(api.client.GET('/api/v1/k8s/regions'));
    out.result(list, () => {
      if (list.length === 0) out.print('No regions: the cluster has no Ready nodes, or V-Kube cannot reach it now.');
      for (const r of list) out.print(r);
    });
  });

  const image = examples(program.command('image').description('container images'), ['vkube image check nginx:1.27']);
  const imageCheck = withCommonOptions(
    image
      .command('check')
      .description('check that an image exists in its registry (Docker Hub unless the name says otherwise)')
      .argument('<image[:tag]>', 'e.g. nginx, nginx:1.27, ghcr.io/org/app:v2 (the tag defaults to latest)')
      .option('--username <user>', 'registry user, for a private image')
      .addOption(new Option('--password <password>', 'registry password or access token').env('VKUBE_REGISTRY_PASSWORD')),
  );
  examples(imageCheck, ['vkube image check nginx:1.27', 'VKUBE_REGISTRY_PASSWORD=… vkube image check ghcr.io/org/private:v1 --username me']);
  imageCheck.action(async (ref: string, opts: CommonOptions & { username?: string; password?: string }) => {
    const parts = splitImage(ref);
    if (!parts) throw usageError(`${ref}: a digest reference cannot be checked by tag; check the image by a tag instead`);
    const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
    const header = {
      ...(opts.username ? { username: b64(opts.username) } : {}),
      ...(opts.password ? { password: b64(opts.password) } : {}),
    };
    const api = connect(await resolveServer(opts));
    const shown = `${parts.image}:${parts.tag}`;
    await api.call(api.client.GET('/api/v1/k8s/images', { params: { query: parts, header } })).catch((err: unknown) => {
      if (err instanceof CliError && err.httpStatus === 404) throw new CliError(`image ${shown} does not exist`, ExitCode.notFound, 404);
      throw err;
    });
    out.result({ image: parts.image, tag: parts.tag, exists: true }, () => out.print(`${shown} exists.`));
  });

  const ports = examples(program.command('ports').description('host ports'), ['vkube ports check --region ausrine 8080 8443']);
  const portsCheck = withCommonOptions(
    ports
      .command('check')
      .description('how these host ports stand in a region: free, yours, taken (by another order or a pod) or reserved')
      .requiredOption('--region <region>', 'the region to look in (see `vkube regions`)')
      .option('--exclude-mine', 'count the ports your own order holds as free (the default when you are logged in; kept for scripts)')
      .argument('<port...>', 'host ports, 1-65535', (value: string, prev: number[] = []) => [...prev, intArg(1, 65535)(value)]),
  );
  examples(portsCheck, ['vkube ports check --region ausrine 8080 8443', 'vkube ports check --region ausrine 8080 --json']);
  portsCheck.addHelpText(
    'after',
    `
States: free (you can have it), yours (your order holds it: a redeploy keeps it), taken (another
order or a pod holds it), reserved (the provider keeps it; no order may have it). The console
shows the same words. Without a login no port is "yours".
The exit status is 0 whether or not ports are taken: the table (or the JSON) is the answer.`,
  );
  portsCheck.action(async (list: number[], opts: CommonOptions & { region: string; excludeMine?: boolean }) => {
    // Logged in: the order's own ports are told apart as "yours". Not logged in: only the server is needed.
    const login = opts.excludeMine ? await resolveLogin(opts) : await resolveLogin(opts).catch(() => undefined);
    const api = login ? connect(login.server, { secret: login.secret }) : connect(await resolveServer(opts));
    const answer = await api.call(api.client.POST('/api/v1/k8s/ports/state', { body: { region: opts.region, ports: list } }));
    if (answer.status === 'NoResource') {
      // Only a hint for the message below: without it the unknown region is still reported.
      const known = await api.call(api.client.GET('/api/v1/k8s/regions')).catch(() => []);
      throw new CliError(`unknown region "${opts.region}"${known.length ? `; regions: ${known.join(', ')}` : ''}`, ExitCode.notFound);
    }
    if (answer.status === 'InternalErr') throw new CliError(`V-Kube at ${api.server} cannot read the cluster now; try again shortly`, ExitCode.unavailable);
    const occupied = answer.ports.filter((p) => p.state === 'taken' || p.state === 'reserved').map((p) => p.port);
    const free = answer.ports.filter((p) => p.state === 'free' || p.state === 'yours').map((p) => p.port);
    out.result({ region: opts.region, status: answer.status, occupied, free, ports: answer.ports }, () => {
      out.print(table(['PORT', 'STATE'], answer.ports.map((p) => [String(p.port), p.state])));
      out.print();
      out.print(occupied.length ? `${occupied.length} of ${answer.ports.length} cannot be had in ${opts.region}.` : `All can be had in ${opts.region}.`);
    });
  });

  const order = withCommonOptions(program.command('order').description('show your order: units, region, service status and when it expires'));
  examples(order, ['vkube order', 'vkube order --json']);
  order.action(async (opts: CommonOptions) => {
    const login = await resolveLogin(opts);
    const api = connect(login.server, { secret: login.secret });
    const [o, service] = await Promise.all([api.call(api.client.GET('/api/v1/k8s/order')), readUserService(api)]);
    const now = Date.now();
    const expiresIn = service.endAt ? service.endAt - Math.floor(now / 1000) : undefined;
    out.result({ order: o, service: service.raw, expiresInSeconds: expiresIn ?? null }, () => {
      const opt = o.serviceOptions;
      const expiry = service.endAt
        ? `${expiresIn! > 0 ? `in ${relativeTime(service.endAt, now).replace(/^in /, '')}` : `expired ${relativeTime(service.endAt, now)}`} (${absoluteTime(service.endAt)})`
        : `not started yet: the ${o.duration} h start at the first deploy`;
      out.print(
        fields([
          ['Order', o.id],
          ['Service', serviceStatusText(service.status)],
          ['Resources', unitsText(opt.resourceUnit)],
          ['Region', opt.region || service.region || 'any (chosen at the first deploy)'],
          ['Host ports', portChoiceText(opt.portSpecification)],
          ['Storage', opt.persistStorage ? (/^(yes|true)$/i.test(opt.persistStorage) ? 'persistent volume' : 'none') : undefined],
          ['Duration', `${o.duration} h`],
          ['Created', `${relativeTime(o.createdAt, now)} (${absoluteTime(o.createdAt)})`],
          ['Started', service.activateTS ? `${relativeTime(service.activateTS, now)} (${absoluteTime(service.activateTS)})` : undefined],
          ['Expires', expiry],
          ['Server', login.server],
        ]),
      );
    });
  });
}
