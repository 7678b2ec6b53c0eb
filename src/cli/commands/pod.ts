/** Your running pod: `status`, `logs`, `stop`, `start`, `restart`. */
import type { Command } from 'commander';
import { type Api, connect } from '../api.js';
import { type CommonOptions, durationArg, examples, intArg, withCommonOptions } from '../command-kit.js';
import { resolveLogin } from '../credentials.js';
import { CliError, ExitCode } from '../errors.js';
import { type Output, fields, formatDuration, relativeTime, table } from '../output.js';
import { type ContainerView, type PodView, endpointLines, endpointNote, podView } from '../pod-view.js';
import { SseParser } from '../sse.js';
import { type UserService, readUserService, serviceStatusText } from '../user-service.js';
import { fetchPodStatus, waitWithProgress } from '../waiting.js';

async function tenantApi(opts: CommonOptions): Promise<Api> {
  const login = await resolveLogin(opts);
  return connect(login.server, { secret: login.secret });
}

export function registerPod(program: Command, out: Output): void {
  registerStatus(program, out);
  registerLogs(program, out);
  registerActions(program, out);
}

function registerStatus(program: Command, out: Output): void {
  const status = withCommonOptions(program.command('status').description('show the pod: phase, node, host IP, ports, containers, domains'));
  examples(status, ['vkube status', "vkube status --json | jq -r '.pod.phase'"]);
  status.action(async (opts: CommonOptions) => {
    const api = await tenantApi(opts);
    const [service, raw] = await Promise.all([readUserService(api), fetchPodStatus(api)]);
    const pod = raw ? podView(raw) : undefined;
    out.result({ service: { id: service.id, status: service.status, region: service.region }, pod: pod ?? null, raw: raw ?? null }, () => {
      out.print(fields([['Service', `${serviceStatusText(service.status)} (order ${service.id}${service.region ? `, region ${service.region}` : ''})`]]));
      if (!pod) {
        out.print(noPodReason(service));
        return;
      }
      printPod(out, pod);
    });
  });
}

function noPodReason(service: UserService): string {
  switch (service.status) {
    case 'ServicePending':
      return 'Nothing is deployed yet (`vkube deploy -f VKubefile.yaml`).';
    case 'ServiceStop':
      return 'No pod: the service is stopped (`vkube start` resumes it).';
    case 'ServiceDone':
      return 'No pod: the order has expired.';
    case 'ServiceAbort':
      return 'No pod: the order was aborted.';
    default:
      return 'No pod right now: it may be starting or being replaced; try again in a moment.';
  }
}

function printPod(out: Output, pod: PodView): void {
  const now = Date.now();
  const since = (iso: string | undefined) => (iso ? relativeTime(Date.parse(iso) / 1000, now) : undefined);
  out.print(
    fields([
      ['Pod', pod.name],
      ['Phase', `${pod.phase}${pod.ready ? ', ready' : pod.phase === 'Running' ? ', not ready' : ''}`],
      ['Scheduling', pod.unschedulable ? `cannot be scheduled: ${pod.unschedulable}` : undefined],
      ['Reason', pod.reason ? `${pod.reason}${pod.message ? `: ${pod.message}` : ''}` : undefined],
      ['Node', pod.node],
      ['Host IP', pod.hostIP],
      ['Pod IP', pod.podIP],
      ['Started', since(pod.startedAt)],
      ['Ports', pod.ports.map((p) => `${p.containerPort}/${p.protocol}${p.hostPort ? ` → ${pod.hostIP ?? 'host'}:${p.hostPort}` : ''} (${p.container})`).join(', ') || 'none'],
      ['Domains', pod.domains.map((d) => `${d.isHttps ? 'https' : 'http'}://${d.domain} → ${d.containerPort}`).join(', ') || undefined],
    ]),
  );
  printEndpoints(out, pod);
  out.print();
  out.print(table(['CONTAINER', 'READY', 'RESTARTS', 'STATE', 'IMAGE'], pod.containers.map((c) => [c.name, c.ready ? 'yes' : 'no', String(c.restarts), stateText(c, now), c.image ?? ''])));
  // Why a container stopped, restarts or is not ready, in the server's words, with where to look next.
  const explained = pod.containers.filter((c) => c.why && !(c.state === 'running' && c.ready && c.restarts === 0));
  if (explained.length) {
    out.print();
    for (const c of explained) {
      const hint = c.hasPreviousLog ? ` (previous run: vkube logs --previous -c ${c.name})` : '';
      out.print(`${c.name}: ${c.why}${hint}`);
    }
  }
}

/** Where the app is reached, under `Reach it at`; shared by `status` and `deploy`. */
export function printEndpoints(out: Output, pod: PodView): void {
  const lines = endpointLines(pod.endpoints);
  if (!lines.length) return;
  out.print();
  out.print('Reach it at:');
  for (const line of lines) out.print(`  ${line}`);
  const note = endpointNote(pod.endpoints);
  if (note) out.print(`  (${note})`);
}

function stateText(c: ContainerView, now: number): string {
  const age = c.since ? formatDuration(now / 1000 - Date.parse(c.since) / 1000) : undefined;
  let text: string = c.state;
  if (c.state === 'running') text = age ? `running for ${age}` : 'running';
  else if (c.state === 'waiting') text = `waiting: ${c.reason ?? '?'}`;
  else if (c.state === 'terminated') text = `terminated: ${c.reason ?? '?'}${c.exitCode !== undefined ? ` (exit ${c.exitCode})` : ''}`;
  const when = c.lastTerminationAt ? ` ${relativeTime(Date.parse(c.lastTerminationAt) / 1000, now)}` : '';
  return c.lastTermination && c.restarts ? `${text}; last: ${c.lastTermination}${when}` : text;
}

interface LogOptions extends CommonOptions {
  follow?: boolean;
  tail?: number;
  previous?: boolean;
  container?: string;
  timestamps?: boolean;
  since?: number;
}

function registerLogs(program: Command, out: Output): void {
  const logs = withCommonOptions(
    program
      .command('logs')
      .description("print the pod's log, or follow it with -f")
      .option('-f, --follow', 'keep printing new lines (Ctrl-C stops)')
      .option('--tail <lines>', 'only the last N lines', intArg(0))
      .option('--previous', 'the log of the previous run of the container (before its last restart: a crash, an OOM kill, a failed liveness probe)')
      .option('-c, --container <name>', 'which container (default: the first)')
      .option('--timestamps', 'prefix each line with its time')
      .option('--since <duration>', 'only lines newer than this, e.g. 10m', durationArg),
  );
  examples(logs, ['vkube logs', 'vkube logs --tail 50 --timestamps', 'vkube logs -f --tail 10 -c web', 'vkube logs --previous']);
  logs.addHelpText('after', '\nWith --json: one {"log": …} document; with -f --json, one {"line": …} object per line (JSON Lines).\n');
  logs.action(async (opts: LogOptions) => {
    const api = await tenantApi(opts);
    const query = {
      ...(opts.container ? { container: opts.container } : {}),
      ...(opts.tail !== undefined ? { tailLines: String(opts.tail) } : {}),
      ...(opts.previous ? { previous: 'true' } : {}),
      ...(opts.timestamps ? { timestamps: 'true' } : {}),
      ...(opts.since ? { sinceSeconds: String(opts.since) } : {}),
    };
    if (!opts.follow) {
      const text = await api.call(api.client.GET('/api/v1/k8s/pod/log', { params: { query } }));
      out.result({ log: text }, () => out.text(text));
      return;
    }
    await follow(api, out, query);
  });
}

/** Streams `GET /k8s/pod/logs` (SSE) until the container stops, the stream breaks, or Ctrl-C. */
async function follow(api: Api, out: Output, query: Record<string, string>): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const stream = await api.call(api.client.GET('/api/v1/k8s/pod/logs', { params: { query }, parseAs: 'stream', signal: stop.signal }));
    if (!stream) return;
    const reader = stream.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser();
    const emit = (events: ReturnType<SseParser['push']>): boolean => {
      for (const e of events) {
        if (e.event === 'message') {
          if (out.json) out.jsonLine({ line: e.data });
          else out.text(`${e.data}\n`);
        } else if (e.event === 'end') {
          out.progress(`(${e.data || 'the log ended'})`);
          return true;
        } else if (e.event === 'error') {
          throw new CliError(`the log stream broke: ${e.data}`, ExitCode.unavailable);
        }
      }
      return false;
    };
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        emit(parser.end());
        return;
      }
      if (emit(parser.push(decoder.decode(value, { stream: true })))) {
        // The log ended: cancelling only frees the connection, and one already gone has nothing to free.
        await reader.cancel().catch(() => {});
        return;
      }
    }
  } catch (err) {
    // Ctrl-C (or SIGTERM) is how a follow normally ends: no error, exit 0.
    if (stop.signal.aborted) return;
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

interface ActionOptions extends CommonOptions {
  wait?: boolean;
  timeout: number;
}

function registerActions(program: Command, out: Output): void {
  const verbs = [
    { name: 'stop', description: 'stop the pod (scale to zero); its spec and host ports are kept', done: 'Stopped', wait: false },
    { name: 'start', description: 'start a stopped service again, on the same host ports', done: 'Started', wait: true },
    { name: 'restart', description: 'replace the pod with a new one (same spec and host ports)', done: 'Restarted', wait: true },
  ] as const;
  for (const verb of verbs) {
    const cmd = withCommonOptions(program.command(verb.name).description(verb.description));
    if (verb.wait) {
      // Like deploy: the command ends when the pod runs (or clearly will not), unless told not to wait.
      cmd.option('--no-wait', 'return once V-Kube has accepted it').option('--wait', 'wait until the pod runs (the default)').option('--timeout <duration>', 'how long to wait for Running, e.g. 120, 5m', durationArg, 120);
      examples(cmd, [`vkube ${verb.name}`, `vkube ${verb.name} --timeout 2m`, `vkube ${verb.name} --no-wait`]);
    } else {
      examples(cmd, [`vkube ${verb.name}`, `vkube ${verb.name} --json`]);
    }
    cmd.action(async (opts: ActionOptions) => {
      const api = await tenantApi(opts);
      // To tell the new pod from the old one; unknown only means any Running pod counts, and the restart goes on.
      const before = verb.name === 'restart' && opts.wait ? await fetchPodStatus(api).catch(() => undefined) : undefined;
      const path = `/api/v1/k8s/pod/${verb.name}` as const;
      const answer = await api.call(api.client.POST(path));
      let pod: PodView | undefined;
      if (opts.wait) {
        pod = await waitWithProgress(api, out, { timeoutMs: opts.timeout * 1000, what: `the ${verb.name}`, ...(before ? { replacing: before.name } : {}) });
      }
      const serviceStatus = typeof answer.serviceStatus === 'string' ? answer.serviceStatus : undefined;
      out.result({ ...answer, pod: pod ?? null }, () => {
        const tail = verb.name === 'stop' ? ' Its spec and host ports are kept; `vkube start` resumes it.' : pod ? ` Pod ${pod.name} is running.` : ' See `vkube status`.';
        out.print(`${verb.done}${serviceStatus ? ` (the service is ${serviceStatusText(serviceStatus)})` : ''}.${tail}`);
      });
    });
  }
}
