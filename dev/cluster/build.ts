/**
 * `npm run cluster:build`: builds etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler, kwok and metrics-server (and the real node's kubelet, containerd,
 * runc, CNI plugins, crictl, local-path-provisioner and kube-router) from the Go
 * module proxy into the cache
 * (see versions.ts). Idempotent: a component whose directory is complete is skipped.
 *
 * Kubernetes cannot be `go install`ed directly: k8s.io/kubernetes replaces its
 * staging modules (k8s.io/api, …) with local paths at v0.0.0. We build from a small
 * wrapper module that replaces each of them with its published v0.<minor>.<patch>.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { access, constants, copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheRoot, type Component, components, goCacheDirs, PAUSE_SOURCE } from './versions.js';
import { ClusterError, formatDuration } from './util.js';

const MIN_GO = [1, 26];

/** What a finished build leaves in `<component dir>/.complete`. */
interface Marker {
  version: string;
  /** Size in bytes of every binary and file, to catch a truncated or replaced cache. */
  sizes: Record<string, number>;
}

/**
 * Why the component's cached build cannot be used, or undefined when it can: every
 * binary and file must be there with the size recorded when the build finished.
 */
export async function cacheProblem(c: Component): Promise<string | undefined> {
  let marker: Marker;
  try {
    marker = JSON.parse(await readFile(join(c.dir, '.complete'), 'utf8')) as Marker;
  } catch {
    return existsSync(c.dir) ? 'incomplete (an earlier build did not finish)' : undefined;
  }
  if (marker.version !== c.version) return `built for ${marker.version}, not ${c.version}`;
  for (const f of [...c.binaries, ...(c.files ?? [])]) {
    const path = join(c.dir, f);
    try {
      await access(path, c.binaries.includes(f) ? constants.X_OK : constants.R_OK);
    } catch {
      return `${f} is missing`;
    }
    if ((await stat(path)).size !== marker.sizes[f]) return `${f} is damaged (its size changed since it was built)`;
  }
  return undefined;
}

export async function isBuilt(c: Component): Promise<boolean> {
  return existsSync(join(c.dir, '.complete')) && (await cacheProblem(c)) === undefined;
}

export async function checkGo(): Promise<string> {
  const go = process.env.GO || 'go';
  let out: string;
  try {
    out = await capture(go, ['version'], {});
  } catch {
    throw new ClusterError(
      `the Go toolchain was not found ("${go} version" failed)`,
      `install Go ${MIN_GO.join('.')} or newer (e.g. apt-get install golang-go, or from go.dev) and put it on PATH, or set GO=/path/to/go`,
    );
  }
  const m = /go(\d+)\.(\d+)/.exec(out);
  const major = Number(m?.[1] ?? 0);
  const minor = Number(m?.[2] ?? 0);
  if (major < MIN_GO[0]! || (major === MIN_GO[0] && minor < MIN_GO[1]!)) {
    throw new ClusterError(
      `Go ${MIN_GO.join('.')} or newer is needed to build the control plane, found: ${out.trim()}`,
      'install a newer Go toolchain and put it first on PATH, or set GO=/path/to/go',
    );
  }
  return go;
}

export async function build(opts: { quiet?: boolean } = {}): Promise<void> {
  if ((await missing()).length === 0) {
    if (!opts.quiet) console.log(`control plane binaries are built (${join(cacheRoot(), 'cluster')})`);
    return;
  }
  // Two checkouts (or CI and a developer) on one machine share the cache: one builds, the other waits for it.
  const release = await buildLock();
  try {
    await buildMissing();
  } finally {
    await release();
  }
}

async function missing(): Promise<Component[]> {
  const out: Component[] = [];
  for (const c of components()) if (!(await isBuilt(c))) out.push(c);
  return out;
}

/**
 * An exclusive lock on the cache, held by this process while it builds. A lock left by a
 * process that is gone (killed, crashed) is taken over.
 */
async function buildLock(): Promise<() => Promise<void>> {
  const path = join(cacheRoot(), 'cluster', '.build.lock');
  await mkdir(join(cacheRoot(), 'cluster'), { recursive: true });
  let said = false;
  for (;;) {
    try {
      await writeFile(path, String(process.pid), { flag: 'wx' });
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (!holder || !alive(holder)) {
      await rm(path, { force: true });
      continue;
    }
    if (!said) console.log(`another build (pid ${holder}) is filling ${join(cacheRoot(), 'cluster')}; waiting for it`);
    said = true;
    await new Promise((r) => setTimeout(r, 5_000));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function buildMissing(): Promise<void> {
  const all = components();
  const todo: Component[] = [];
  for (const c of all) {
    if (await isBuilt(c)) continue;
    const problem = await cacheProblem(c);
    if (problem) console.log(`the cached ${c.name} in ${c.dir} is ${problem}: rebuilding it`);
    todo.push(c);
  }
  // Another process may have built everything while this one waited for the lock.
  if (todo.length === 0) return;
  const go = await checkGo();
  const started = Date.now();
  console.log(`building ${todo.map((c) => `${c.name} ${c.version}`).join(', ')} into ${join(cacheRoot(), 'cluster')}`);
  console.log('a cold build downloads ~2 GB of Go modules and takes 10-30 minutes on 2 cores; later runs reuse it');
  for (const [i, c] of todo.entries()) {
    await buildOne(go, c, `[${i + 1}/${todo.length}]`);
  }
  console.log(`control plane built in ${formatDuration(Date.now() - started)}`);
}

async function buildOne(go: string, c: Component, step: string): Promise<void> {
  const work = join(cacheRoot(), 'cluster', '.work', `${c.name}-${c.version}`);
  const logFile = join(cacheRoot(), 'cluster', 'logs', `${c.name}-${c.version}.log`);
  await mkdir(join(cacheRoot(), 'cluster', 'logs'), { recursive: true });
  // A half-built directory (killed build, disk full) is discarded, never trusted.
  await rm(c.dir, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  await mkdir(c.dir, { recursive: true });

  const started = Date.now();
  const ticker = setInterval(() => {
    console.log(`${step} ${c.name} ${c.version}: still building (${formatDuration(Date.now() - started)}, log: ${logFile})`);
  }, 60_000);
  console.log(`${step} ${c.name} ${c.version}: building (log: ${logFile})`);
  const log = createWriteStream(logFile);
  try {
    // `go install` writes to GOBIN: the component's own directory.
    const env = { ...goEnv(), GOBIN: c.dir, ...(c.name === 'runc' ? { CGO_ENABLED: '1' } : {}) };
    for (const { what, args, cmd = go } of await recipe(go, c, work, env)) {
      log.write(`\n$ ${cmd} ${args.join(' ')}\n`);
      const code = await run(cmd, args, { cwd: work, env }, log);
      if (code !== 0) {
        throw new ClusterError(
          `building ${c.name} ${c.version} failed at "${what}" (exit ${code})`,
          `read the log: ${logFile}` +
            (await tail(logFile)) +
            '\nIf the Go module cache is damaged, remove it: rm -rf ' + goCacheDirs().mod,
        );
      }
    }
    if (c.files) await copyModuleFiles(go, c, env);
    for (const b of c.binaries) {
      if (!existsSync(join(c.dir, b))) {
        throw new ClusterError(`building ${c.name} produced no ${b}`, `read the log: ${logFile}`);
      }
    }
    const sizes: Record<string, number> = {};
    for (const f of [...c.binaries, ...(c.files ?? [])]) sizes[f] = (await stat(join(c.dir, f))).size;
    await writeFile(join(c.dir, '.complete'), JSON.stringify({ version: c.version, sizes } satisfies Marker, null, 2));
    await rm(work, { recursive: true, force: true });
    const size = (await Promise.all(c.binaries.map((b) => stat(join(c.dir, b))))).reduce((s, st) => s + st.size, 0);
    console.log(`${step} ${c.name} ${c.version}: done in ${formatDuration(Date.now() - started)} (${(size / 2 ** 20).toFixed(0)} MiB)`);
  } finally {
    clearInterval(ticker);
    log.end();
  }
}

/** One command of a recipe: `go` unless `cmd` says otherwise. */
interface Step {
  what: string;
  args: string[];
  cmd?: string;
}

const step = (what: string, args: string[], cmd?: string): Step => ({ what, args, ...(cmd ? { cmd } : {}) });

/** The -X flags that stamp Kubernetes binaries with their version (else they say v0.0.0-master). */
function kubernetesStamp(version: string): string {
  const minor = version.replace(/^v1\.(\d+)\..*$/, '$1');
  return [
    `-X k8s.io/component-base/version.gitVersion=${version}`,
    '-X k8s.io/component-base/version.gitMajor=1',
    `-X k8s.io/component-base/version.gitMinor=${minor}`,
    `-X k8s.io/client-go/pkg/version.gitVersion=${version}`,
    '-X k8s.io/component-base/version.gitTreeState=clean',
  ].join(' ');
}

/** The commands that build one component inside its work directory (a wrapper module where one is needed). */
async function recipe(go: string, c: Component, work: string, env: NodeJS.ProcessEnv): Promise<Step[]> {
  const out = c.dir + '/';
  const install = (what: string, packages: string[], tags: string[] = []) =>
    step(what, ['install', '-trimpath', ...(tags.length ? ['-tags', tags.join(' ')] : []), '-ldflags=-s -w', ...packages.map((p) => `${p}@${c.version}`)]);
  switch (c.name) {
    case 'etcd': {
      await writeFile(join(work, 'go.mod'), `module vkube.local/build/etcd\n\ngo 1.26\n\nrequire go.etcd.io/etcd/server/v3 ${c.version}\n`);
      return [
        step('resolve modules', ['mod', 'download', `go.etcd.io/etcd/server/v3@${c.version}`]),
        step('go build etcd', ['build', '-mod=mod', '-trimpath', '-ldflags=-s -w', '-o', join(c.dir, 'etcd'), 'go.etcd.io/etcd/server/v3']),
      ];
    }
    case 'kubernetes':
    case 'kubelet': {
      await writeFile(join(work, 'go.mod'), await kubernetesWrapperGoMod(go, c.version, env));
      const commands = c.name === 'kubelet' ? ['kubelet'] : ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];
      return [
        step('resolve modules', ['mod', 'download', `k8s.io/kubernetes@${c.version}`]),
        step(`go build ${commands.join(', ')}`, [
          'build', '-mod=mod', '-trimpath', `-ldflags=-s -w ${kubernetesStamp(c.version)}`, '-o', out,
          ...commands.map((cmd) => `k8s.io/kubernetes/cmd/${cmd}`),
        ]),
      ];
    }
    case 'kwok':
      return [install('go install kwok', ['sigs.k8s.io/kwok/cmd/kwok'])];
    case 'metrics-server':
      return [install('go install metrics-server', ['sigs.k8s.io/metrics-server/cmd/metrics-server'])];
    case 'containerd':
      // Without cgo: the btrfs, devmapper and zfs snapshotters need it, and the node uses overlayfs.
      return [
        install(
          'go install containerd, containerd-shim-runc-v2, ctr',
          ['containerd', 'containerd-shim-runc-v2', 'ctr'].map((cmd) => `github.com/containerd/containerd/v2/cmd/${cmd}`),
          ['no_btrfs', 'no_devmapper', 'no_zfs'],
        ),
      ];
    case 'runc':
      // cgo and libseccomp (Debian's libseccomp-dev): the RuntimeDefault seccomp profile every V-Kube pod runs under.
      return [install('go install runc (cgo, seccomp)', ['github.com/opencontainers/runc'], ['seccomp', 'urfave_cli_no_docs'])];
    case 'cni-plugins': {
      const paths: Record<string, string> = { bridge: 'main/bridge', loopback: 'main/loopback', 'host-local': 'ipam/host-local', portmap: 'meta/portmap' };
      return [install('go install CNI plugins', c.binaries.map((b) => `github.com/containernetworking/plugins/plugins/${paths[b]!}`))];
    }
    case 'cri-tools':
      return [install('go install crictl', ['sigs.k8s.io/cri-tools/cmd/crictl'])];
    case 'local-path-provisioner':
      return [install('go install local-path-provisioner', ['github.com/rancher/local-path-provisioner'])];
    case 'kube-router':
      // One binary for routing, service proxy and network policy; the real node runs only the last (network-policy.ts).
      return [install('go install kube-router', ['github.com/cloudnativelabs/kube-router/v2/cmd/kube-router'])];
    case 'pause':
      return [step('gcc pause.c', ['-static', '-Os', '-s', '-o', join(c.dir, 'pause'), PAUSE_SOURCE], process.env.CC || 'gcc')];
    default:
      throw new Error(`no recipe for ${c.name}`);
  }
}

/**
 * go.mod of the wrapper that builds Kubernetes: require k8s.io/kubernetes and replace
 * every staging module it points at ./staging with the published module of the
 * matching v0 version. The list comes from k8s.io/kubernetes's own go.mod.
 */
async function kubernetesWrapperGoMod(go: string, version: string, env: NodeJS.ProcessEnv): Promise<string> {
  const info = JSON.parse(await capture(go, ['mod', 'download', '-json', `k8s.io/kubernetes@${version}`], env)) as { GoMod?: string; Error?: string };
  if (!info.GoMod) throw new ClusterError(`could not download k8s.io/kubernetes@${version}: ${info.Error ?? 'no go.mod'}`, 'check that the Go module proxy is reachable (go env GOPROXY)');
  const upstream = await readFile(info.GoMod, 'utf8');
  const staging = [...upstream.matchAll(/^\s*(k8s\.io\/[\w.-]+)\s*=>\s*\.\/staging\//gm)].map((m) => m[1]!);
  if (staging.length < 10) throw new ClusterError(`unexpected go.mod of k8s.io/kubernetes@${version}: only ${staging.length} staging modules`, 'pick another Kubernetes version in dev/cluster/versions.ts');
  const v0 = version.replace(/^v1\./, 'v0.');
  const replaces = staging.map((m) => `\t${m} => ${m} ${v0}`).join('\n');
  return `module vkube.local/build/kubernetes\n\ngo 1.26\n\nrequire k8s.io/kubernetes ${version}\n\nreplace (\n${replaces}\n)\n`;
}

/** Copies the non-Go files a component needs (kwok's CRDs) from its downloaded module. */
async function copyModuleFiles(go: string, c: Component, env: NodeJS.ProcessEnv): Promise<void> {
  const modulePath = c.name === 'kwok' ? 'sigs.k8s.io/kwok' : undefined;
  if (!modulePath) throw new Error(`no module files for ${c.name}`);
  const info = JSON.parse(await capture(go, ['mod', 'download', '-json', `${modulePath}@${c.version}`], env)) as { Dir?: string };
  if (!info.Dir) throw new ClusterError(`could not download ${modulePath}@${c.version}`, 'check that the Go module proxy is reachable (go env GOPROXY)');
  await mkdir(join(c.dir, 'crds'), { recursive: true });
  for (const f of c.files ?? []) {
    await copyFile(join(info.Dir, 'kustomize', 'crd', 'bases', f.replace(/^crds\//, '')), join(c.dir, f));
  }
}

function goEnv(): NodeJS.ProcessEnv {
  const { mod, build } = goCacheDirs();
  return {
    ...process.env,
    GOMODCACHE: mod,
    GOCACHE: build,
    GOFLAGS: '-buildvcs=false',
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
    GOWORK: 'off',
  };
}

function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }, log: NodeJS.WritableStream): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.on('error', (err) => {
      log.write(`${String(err)}\n`);
      resolve(127);
    });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

function capture(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    // setEncoding decodes across chunks: a character split between two reads stays whole.
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: ${err || out}`))));
  });
}

async function tail(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const lines = text.trimEnd().split('\n').slice(-15);
  return lines.length ? `\nlast lines:\n  ${lines.join('\n  ')}` : '';
}
