/** Deploy history and rollback: `vkube history`, `vkube rollback <generation>`. */
import type { Command } from 'commander';
import { connect } from '../api.js';
import { type CommonOptions, durationArg, examples, intArg, withCommonOptions } from '../command-kit.js';
import { resolveLogin } from '../credentials.js';
import { type Output, containersTable, relativeTime, table } from '../output.js';
import type { PodView } from '../pod-view.js';
import { fetchPodStatus, waitWithProgress } from '../waiting.js';
import { printEndpoints } from './pod.js';

interface RollbackOptions extends CommonOptions {
  wait: boolean;
  timeout: number;
}

export function registerHistory(program: Command, out: Output): void {
  const history = withCommonOptions(program.command('history').description('list the specs this order was deployed with, newest first (generation, time, images, ports)'));
  examples(history, ['vkube history', "vkube history --json | jq '.entries[0].generation'"]);
  history.action(async (opts: CommonOptions) => {
    const login = await resolveLogin(opts);
    const api = connect(login.server, { secret: login.secret });
    const view = await api.call(api.client.GET('/api/v1/k8s/deployment/history'));
    out.result(view, () => {
      if (!view.entries.length) {
        out.print('Nothing was deployed yet (`vkube deploy -f VKubefile.yaml`).');
        return;
      }
      const now = Date.now();
      out.print(
        table(
          ['GENERATION', 'DEPLOYED', 'CONTAINERS'],
          view.entries.map((e) => [`${e.generation}${e.current ? ' (current)' : ''}`, relativeTime(e.createdAt, now), e.summary]),
        ),
      );
      out.print();
      out.print(`The last ${view.kept} are kept. Deploy one again with \`vkube rollback <generation>\`.`);
    });
  });

  const rollback = withCommonOptions(
    program
      .command('rollback')
      .description('deploy the spec of an earlier generation again (checked like a deploy), and wait for its pod')
      .argument('<generation>', 'a generation `vkube history` lists', intArg(1))
      .option('--timeout <duration>', 'how long to wait for Running, e.g. 120, 90s, 5m', durationArg, 120)
      .option('--no-wait', 'return once V-Kube has accepted it'),
  );
  examples(rollback, ['vkube history', 'vkube rollback 3', 'vkube rollback 3 --no-wait --json']);
  rollback.addHelpText('after', '\nExit status 4 when the history holds no such generation, 5 when a host port of that spec is taken now, 8 when the pod does not reach Running.\n');
  rollback.action(async (generation: number, opts: RollbackOptions) => {
    const login = await resolveLogin(opts);
    const api = connect(login.server, { secret: login.secret });
    const before = opts.wait ? await fetchPodStatus(api).catch(() => undefined) : undefined;
    const result = await api.call(api.client.POST('/api/v1/k8s/deployment/rollback', { body: { generation } }));
    result.warnings.forEach((w) => out.warn(w));
    out.progress(`Rolled back to generation ${generation}: recorded as generation ${result.generation}.`);
    let pod: PodView | undefined;
    if (opts.wait) pod = await waitWithProgress(api, out, { timeoutMs: opts.timeout * 1000, what: 'the rollback', ...(before ? { replacing: before.name } : {}) });
    out.result({ rollback: result, pod: pod ?? null }, () => {
      out.print(containersTable(result.containers));
      out.print();
      if (pod) {
        out.print(`Running: pod ${pod.name}${pod.node ? ` on ${pod.node}` : ''}.`);
        printEndpoints(out, pod);
      } else {
        out.print('Rollback accepted; not waiting for the pod (see `vkube status`).');
      }
    });
  });
}
