/**
 * `vkube deploy -f <file>`: check the images and host ports first (so a typo or a taken
 * port is named before anything changes), deploy through the endpoint that fits the
 * file, then follow the pod until it runs or clearly will not.
 */
import type { Command } from 'commander';
import { type Api, connect } from '../api.js';
import { type CommonOptions, durationArg, examples, withCommonOptions } from '../command-kit.js';
import { resolveLogin } from '../credentials.js';
import { type DeployPlan, type HostPortUse, type ImageToCheck, hostPortsOf, imagesOf, loadDeployFile, mistakesError, splitImage, vkubefilePath } from '../deploy-file.js';
import { CliError, ExitCode, usageError } from '../errors.js';
import { type Output, containersTable, plural } from '../output.js';
import { type PodView, podMatches } from '../pod-view.js';
import { randomPorts, readUserService } from '../user-service.js';
import { fetchPodStatus, waitWithProgress } from '../waiting.js';
import { printEndpoints } from './pod.js';

interface DeployOptions extends CommonOptions {
  file: string;
  region?: string;
  timeout: number;
  wait: boolean;
  imageCheck: boolean;
}

export function registerDeploy(program: Command, out: Output): void {
  const deploy = withCommonOptions(
    program
      .command('deploy')
      .description('deploy (or redeploy) your pod from a file, then wait until it runs')
      .requiredOption('-f, --file <file>', 'VKubefile.yaml, or a deploy body in JSON or YAML')
      .option('--region <region>', "deploy to this region (overrides the file's nodeSelector)")
      .option('--timeout <duration>', 'how long to wait for Running, e.g. 120, 90s, 5m', durationArg, 120)
      .option('--no-wait', 'return once V-Kube has accepted the deploy')
      .option('--no-image-check', 'skip checking the images in their registries first'),
  );
  examples(deploy, [
    'vkube deploy -f VKubefile.yaml',
    'vkube deploy -f deploy.yaml --timeout 5m',
    'vkube deploy -f body.json --no-wait --json',
  ]);
  deploy.addHelpText(
    'after',
    `
Files it accepts (JSON or YAML):
  VKubefile.yaml      the original vkube CLI's file: vkubeToken, imageRegistry, containers[] with
                      imageName, tag and deploy {containerName, resourceUnit, command, args, ports,
                      env, configurations {<local file>: <path in container>}, persistStorage}.
                      Its vkubeToken is used when no --secret/VKUBE_SECRET is given.
  seed deploy body    {nodeSelector: {region}, containers: [{name, imageName, ports,
                      resource: {memory: 256Mi}, command, args}]}  → POST /api/v1/k8s/deploy
  clients' body       {containers: [{name, imageName, resourceUnit, ports, envs, configMap, …}],
                      pvtLogin}  → POST /api/v1/k8s/deployment (first) or /deployment/update

Exit status 5 when a host port is taken, 4 when an image does not exist, 8 when the pod
does not reach Running (crash loop, image pull failure, unschedulable, timeout).
`,
  );
  deploy.action(async (opts: DeployOptions) => {
    const plan = await loadDeployFile(opts.file);
    const warnings: string[] = [];
    const warn = (text: string) => {
      warnings.push(text);
      out.warn(text);
    };
    plan.notes.forEach(warn);

    const login = await resolveLogin(opts, process.env, plan.kind === 'clients' ? plan.vkubeToken : undefined);
    if (login.source === 'VKubefile') out.progress(`Using the vkubeToken of ${opts.file}.`);
    const api = connect(login.server, { secret: login.secret });
    const service = await readUserService(api);

    if (opts.region) plan.body.nodeSelector = { region: opts.region };
    const region = plan.body.nodeSelector?.region || service.region || undefined;
    if (plan.kind === 'seed' && !region) throw usageError(`${opts.file}: nodeSelector.region: required, as the order names no region (or pass --region; see \`vkube regions\`)`);

    await validateWhole(api, out, plan, opts.file, region);
    if (opts.imageCheck) await checkImages(api, out, imagesOf(plan), warn);
    if (randomPorts(service)) {
      if (hostPortsOf(plan).length) out.progress('This order has V-Kube choose the host ports; the hostPort values of the file are ignored.');
    } else {
      await checkHostPorts(api, out, region, hostPortsOf(plan), service.id, warn);
    }

    // What runs now, to tell the new pod from the old one while waiting; unknown (no pod
    // yet, or the read failed) only means any Running pod counts, and the deploy goes on.
    const before = service.status === 'ServiceRunning' && opts.wait ? await fetchPodStatus(api).catch(() => undefined) : undefined;
    const { result, endpoint } = await send(api, plan, region, service.status);
    result.warnings.forEach(warn);
    out.progress(`Deployed to region ${result.region} (order ${result.id}).`);

    let pod: PodView | undefined;
    if (opts.wait) {
      const replacing = before && !podMatches(before, plan.body.containers) ? before.name : undefined;
      pod = await waitWithProgress(api, out, { timeoutMs: opts.timeout * 1000, what: 'the deploy', ...(replacing ? { replacing } : {}) });
    }

    out.result({ deploy: result, endpoint, file: opts.file, kind: plan.kind === 'seed' ? 'seed' : plan.from, warnings, pod: pod ?? null }, () => {
      out.print(containersTable(result.containers));
      out.print();
      if (pod) {
        out.print(`Running: pod ${pod.name}${pod.node ? ` on ${pod.node}` : ''}${pod.hostIP ? ` (host IP ${pod.hostIP})` : ''}.`);
        printEndpoints(out, pod);
      } else {
        out.print('Deploy accepted; not waiting for the pod (see `vkube status`).');
      }
    });
  });
}

/**
 * V-Kube checks the body whole, as the deploy would, and every problem is listed at once
 * with its place in the file; nothing is deployed. Images are checked next, on their own.
 */
async function validateWhole(api: Api, out: Output, plan: DeployPlan, file: string, region: string | undefined): Promise<void> {
  out.progress('Checking the file…');
  const answer =
    plan.kind === 'seed'
      ? await api.call(api.client.POST('/api/v1/k8s/deploy/validate', { body: { ...plan.body, nodeSelector: { region: region! } } }))
      : await api.call(api.client.POST('/api/v1/k8s/deployment/validate', { body: plan.body }));
  if (answer.valid) return;
  // Only host ports others hold: the port check next says so, with its own exit status (5).
  if (answer.problems.every((p) => p.conflict)) return;
  const where = (field: string) => (plan.kind === 'clients' && plan.from === 'vkubefile' ? vkubefilePath(field) : field);
  const lines = answer.problems.map((p) => (p.field ? `${where(p.field)}: ${p.message}` : p.message));
  const error = mistakesError(file, lines);
  throw new CliError(error.message, ExitCode.invalid, 400);
}

/** Every image at once; the first refusal in container order wins, an unreachable registry only warns. */
async function checkImages(api: Api, out: Output, images: ImageToCheck[], warn: (t: string) => void): Promise<void> {
  out.progress(`Checking ${plural(images.length, 'image')}…`);
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  const outcomes = await Promise.all(
    images.map(async (img): Promise<CliError | undefined> => {
      const parts = splitImage(img.image);
      if (!parts) {
        warn(`image ${img.image} (container ${img.container}) not checked: a digest reference cannot be checked by tag`);
        return undefined;
      }
      const header = img.login ? { username: b64(img.login.username ?? ''), password: b64(img.login.password ?? '') } : {};
      try {
        await api.call(api.client.GET('/api/v1/k8s/images', { params: { query: parts, header } }));
        return undefined;
      } catch (err) {
        if (!(err instanceof CliError)) throw err;
        const what = `image ${img.image} (container ${img.container})`;
        switch (err.httpStatus) {
          case 404:
            return new CliError(`${what} does not exist in its registry; nothing was deployed`, ExitCode.notFound, 404);
          case 400:
            // A malformed reference, or a registry V-Kube may not contact: its words say which.
            return new CliError(`${what} was refused (${err.message}); nothing was deployed`, ExitCode.invalid, 400);
          case 403:
            return new CliError(`the registry refused the credentials for ${what}; nothing was deployed`, ExitCode.auth, 403);
        }
        if (err.exitCode === ExitCode.unavailable && err.httpStatus) {
          // The registry cannot be asked now: V-Kube asks again while deploying, goes ahead
          // and says so in its warnings, printed once below.
          return undefined;
        }
        return err;
      }
    }),
  );
  const refused = outcomes.find((o) => o !== undefined);
  if (refused) throw refused;
}

async function checkHostPorts(api: Api, out: Output, region: string | undefined, uses: HostPortUse[], orderId: string, warn: (t: string) => void): Promise<void> {
  if (uses.length === 0) return;
  if (!region) {
    warn('host ports not checked first: the order names no region and the file none; V-Kube picks the region');
    return;
  }
  const ports = [...new Set(uses.map((u) => u.hostPort))];
  out.progress(`Checking ${plural(ports.length, 'host port')} in ${region}…`);
  // userServiceID (with our secret) leaves out the ports this order already holds: a redeploy keeps them.
  const answer = await api.call(api.client.POST('/api/v1/k8s/checkports', { body: { region, ports, userServiceID: orderId } }));
  if (answer.status === 'PortsOccupied') {
    const taken = uses.filter((u) => answer.occupied.includes(u.hostPort));
    const list = taken.map((u) => `${u.hostPort} (container ${u.container})`).join(', ');
    throw new CliError(`host port${taken.length > 1 ? 's' : ''} ${list} ${taken.length > 1 ? 'are' : 'is'} already taken in region ${region}; nothing was deployed`, ExitCode.conflict, 409);
  }
  if (answer.status === 'NoResource') {
    // Only a hint for the message below: without it the unknown region is still reported.
    const known = await api.call(api.client.GET('/api/v1/k8s/regions')).catch(() => []);
    throw new CliError(`unknown region "${region}"${known.length ? `; regions: ${known.join(', ')}` : ''}; nothing was deployed`, ExitCode.invalid);
  }
  if (answer.status === 'InternalErr') warn('host ports not checked first: V-Kube cannot read the cluster now');
}

/** The seed body → /k8s/deploy; the clients' body → /k8s/deployment the first time, /update after. */
async function send(api: Api, plan: DeployPlan, region: string | undefined, status: string) {
  if (plan.kind === 'seed') {
    const body = { ...plan.body, nodeSelector: { region: region! } };
    return { result: await api.call(api.client.POST('/api/v1/k8s/deploy', { body })), endpoint: 'POST /api/v1/k8s/deploy' };
  }
  if (status === 'ServicePending') {
    return { result: await api.call(api.client.POST('/api/v1/k8s/deployment', { body: plan.body })), endpoint: 'POST /api/v1/k8s/deployment' };
  }
  return { result: await api.call(api.client.POST('/api/v1/k8s/deployment/update', { body: plan.body })), endpoint: 'POST /api/v1/k8s/deployment/update' };
}
