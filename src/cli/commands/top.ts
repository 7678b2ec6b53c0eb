/** `vkube top`: what the containers use now, against their limits. */
import type { Command } from 'commander';
import { connect } from '../api.js';
import { type CommonOptions, examples, withCommonOptions } from '../command-kit.js';
import { resolveLogin } from '../credentials.js';
import { type Output, fields, table } from '../output.js';

interface MonitorAnswer {
  cpu?: Record<string, { value: number }>;
  memory?: Record<string, { value: number; limitValue: number }>;
  networkDownload?: { value: number };
  networkUpload?: { value: number };
  storage?: { value: number };
  unavailable?: string[];
}

export function registerTop(program: Command, out: Output): void {
  const top = withCommonOptions(program.command('top').description("show what the pod's containers use now: CPU, memory (with their limits), network and storage"));
  examples(top, ['vkube top', "vkube top --json | jq '.containers[0].memoryBytes'"]);
  top.addHelpText('after', '\nThe console draws the last 24 h of these figures (Status page, Usage).\n');
  top.action(async (opts: CommonOptions) => {
    const login = await resolveLogin(opts);
    const api = connect(login.server, { secret: login.secret });
    const [now, history] = await Promise.all([
      api.call(api.client.GET('/api/v1/monitor', { params: { query: { allTypes: 'True', allContainers: 'True' } } })) as Promise<MonitorAnswer>,
      // Only for the CPU limits; the figures themselves are read now.
      api.call(api.client.GET('/api/v1/k8s/monitor/history', { params: { query: { minutes: '1' } } })).catch(() => undefined),
    ]);
    const names = Object.keys(now.memory ?? now.cpu ?? {});
    const limits = new Map((history?.containers ?? []).map((c) => [c.name, c.limits]));
    const containers = names.map((name) => ({
      name,
      cpuCores: now.cpu?.[name]?.value ?? 0,
      cpuLimitCores: limits.get(name)?.cpu ?? null,
      memoryBytes: now.memory?.[name]?.value ?? 0,
      memoryLimitBytes: now.memory?.[name]?.limitValue ?? limits.get(name)?.memory ?? 0,
    }));
    const doc = {
      containers,
      networkDownloadBytesPerSecond: now.networkDownload?.value ?? 0,
      networkUploadBytesPerSecond: now.networkUpload?.value ?? 0,
      storageBytes: now.storage?.value ?? 0,
      unavailable: now.unavailable ?? [],
    };
    out.result(doc, () => {
      out.print(
        table(
          ['CONTAINER', 'CPU', 'MEMORY'],
          containers.map((c) => [
            c.name,
            `${millicores(c.cpuCores)}${c.cpuLimitCores ? ` of ${millicores(c.cpuLimitCores)} (${percent(c.cpuCores, c.cpuLimitCores)})` : ''}`,
            `${bytes(c.memoryBytes)}${c.memoryLimitBytes ? ` of ${bytes(c.memoryLimitBytes)} (${percent(c.memoryBytes, c.memoryLimitBytes)})` : ''}`,
          ]),
        ),
      );
      out.print();
      out.print(
        fields([
          ['Network', `${bytes(doc.networkDownloadBytesPerSecond)}/s in, ${bytes(doc.networkUploadBytesPerSecond)}/s out`],
          ['Storage', bytes(doc.storageBytes)],
        ]),
      );
      if (doc.unavailable.length) out.print(`Not measured just now (shown as 0): ${doc.unavailable.join(', ')}; the cluster has no sample yet, try again in a few seconds.`);
    });
  });
}

function millicores(cores: number): string {
  return `${Math.round(cores * 1000)}m`;
}

function percent(value: number, of: number): string {
  return `${Math.round((value / of) * 100)}%`;
}

function bytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${Math.round(n)} B`;
}
