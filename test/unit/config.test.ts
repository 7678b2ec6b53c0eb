import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

const cwd = tmpdir();

describe('config', () => {
  it('has embedded defaults: port 8080, SQLite under .vkube, one unit = 1Gi / 500m / 1 port / 1 container', () => {
    const c = loadConfig({}, cwd);
    assert.equal(c.port, 8080);
    assert.equal(c.databaseUrl, 'sqlite:.vkube/vkube.db');
    assert.equal(c.regionLabel, 'region');
    assert.deepEqual(c.units, { memoryBytes: 2 ** 30, cpuMillis: 500, hostPorts: 1, containers: 1, storageBytes: 5 * 2 ** 30 });
    assert.ok(c.reservedPorts.some(([lo, hi]) => lo <= 22 && hi >= 22));
    assert.ok(c.reservedPorts.some(([lo, hi]) => lo <= 30000 && hi >= 32767), 'the NodePort range');
    assert.ok(c.reservedPorts.some(([lo, hi]) => lo <= 10250 && hi >= 10250), "the kubelet's port");
    assert.equal(c.adminToken, undefined);
    assert.equal(c.storageClass, undefined, "no storage class: claims get the cluster's default class");
  });

  it('exec and sessions: on, 8 per order, 15 min idle, 4 h at most, 1 MiB of output, 300 s timeout at most; VKUBE_EXEC=off; bad values refused', () => {
    assert.deepEqual(loadConfig({}, cwd).exec, { enabled: true, maxSessionsPerOrder: 8, idleSeconds: 900, maxSessionSeconds: 14_400, outputBytes: 1_048_576, maxTimeoutSeconds: 300 });
    const c = loadConfig({ VKUBE_EXEC: 'off', VKUBE_SESSIONS_PER_ORDER: '2', VKUBE_SESSION_IDLE_SECONDS: '60', VKUBE_SESSION_MAX_SECONDS: '600', VKUBE_EXEC_OUTPUT_BYTES: '4096', VKUBE_EXEC_MAX_TIMEOUT_SECONDS: '10' }, cwd);
    assert.deepEqual(c.exec, { enabled: false, maxSessionsPerOrder: 2, idleSeconds: 60, maxSessionSeconds: 600, outputBytes: 4096, maxTimeoutSeconds: 10 });
    assert.throws(() => loadConfig({ VKUBE_EXEC: 'no' }, cwd), (err: Error) => err instanceof ConfigError && /VKUBE_EXEC=no: must be one of on, off/.test(err.message));
    assert.throws(() => loadConfig({ VKUBE_SESSIONS_PER_ORDER: '0' }, cwd), /VKUBE_SESSIONS_PER_ORDER=0/);
  });

  it('reads the storage class of order volumes from VKUBE_STORAGE_CLASS, or storageClass in the file', async () => {
    assert.equal(loadConfig({ VKUBE_STORAGE_CLASS: 'fast-ssd' }, cwd).storageClass, 'fast-ssd');
    assert.equal(loadConfig({ VKUBE_STORAGE_CLASS: 'ebs.csi.aws.com' }, cwd).storageClass, 'ebs.csi.aws.com', 'dots are allowed (a DNS-1123 subdomain)');
    const dir = await mkdtemp(join(tmpdir(), 'vkube-config-'));
    await writeFile(join(dir, 'vkube.yaml'), 'storageClass: local-path\n');
    assert.equal(loadConfig({ VKUBE_CONFIG: 'vkube.yaml' }, dir).storageClass, 'local-path');
    assert.equal(loadConfig({ VKUBE_CONFIG: 'vkube.yaml', VKUBE_STORAGE_CLASS: 'fast-ssd' }, dir).storageClass, 'fast-ssd', 'the environment wins over the file');
    const longest = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    assert.equal(loadConfig({ VKUBE_STORAGE_CLASS: longest }, cwd).storageClass, longest, '253 characters is the longest name Kubernetes takes');
    assert.throws(
      () => loadConfig({ VKUBE_STORAGE_CLASS: `${longest}e` }, cwd),
      (err: unknown) => err instanceof ConfigError && /^VKUBE_STORAGE_CLASS=a+\.b+\.c+\.d+e: not a StorageClass name/.test(err.message),
      'one more is refused',
    );
  });

  it('reads the environment, and a config file under it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vkube-config-'));
    await writeFile(join(dir, 'vkube.yaml'), 'port: 9000\nunitMemory: 2Gi\nreservedPorts: "8080,9000-9100"\nregionLabel: topology.example.com/region\n');
    const c = loadConfig({ VKUBE_CONFIG: 'vkube.yaml', PORT: '9100', VKUBE_UNIT_CPU: '1' }, dir);
    assert.equal(c.port, 9100, 'the environment wins over the file');
    assert.equal(c.units.memoryBytes, 2 * 2 ** 30);
    assert.equal(c.units.cpuMillis, 1000);
    assert.equal(c.regionLabel, 'topology.example.com/region');
    assert.ok(c.reservedPorts.some(([lo, hi]) => lo === 9000 && hi === 9100));
  });

  it('several clusters: none by default; VKUBE_KUBECONFIGS ([name=]path[#context]) and clusters: in the file; names unique, files present', async () => {
    assert.deepEqual(loadConfig({}, cwd).clusters, [], 'one KUBECONFIG stays the default');
    const dir = await mkdtemp(join(tmpdir(), 'vkube-config-'));
    await writeFile(join(dir, 'east.kubeconfig'), 'apiVersion: v1\n');
    await writeFile(join(dir, 'west.yaml'), 'apiVersion: v1\n');
    const env = loadConfig({ VKUBE_KUBECONFIGS: 'east.kubeconfig, city2=west.yaml#admin@west' }, dir).clusters;
    assert.deepEqual(env, [
      { name: 'east', kubeconfig: join(dir, 'east.kubeconfig') },
      { name: 'city2', kubeconfig: join(dir, 'west.yaml'), context: 'admin@west' },
    ]);
    assert.deepEqual(loadConfig({ VKUBE_KUBECONFIGS: 'west.yaml#Admin@West' }, dir).clusters[0]!.name, 'admin-west', 'unnamed: its context, made a DNS label');
    await writeFile(join(dir, 'vkube.yaml'), 'clusters:\n  - name: vilnius\n    kubeconfig: east.kubeconfig\n  - name: kaunas\n    kubeconfig: west.yaml\n    context: k\n');
    assert.deepEqual(
      loadConfig({ VKUBE_CONFIG: 'vkube.yaml' }, dir).clusters.map((c) => [c.name, c.context]),
      [
        ['vilnius', undefined],
        ['kaunas', 'k'],
      ],
    );
    const refused = (value: string, pattern: RegExp) =>
      assert.throws(
        () => loadConfig({ VKUBE_KUBECONFIGS: value }, dir),
        (err: unknown) => err instanceof ConfigError && pattern.test(err.message),
        value,
      );
    refused('east.kubeconfig,x/east.kubeconfig', /^VKUBE_KUBECONFIGS: x\/east.kubeconfig: no such file/);
    refused('a=east.kubeconfig,a=west.yaml', /^VKUBE_KUBECONFIGS: two clusters are named "a" \(east.kubeconfig and west.yaml\)/);
    refused('Bad_Name=east.kubeconfig', /cluster name "Bad_Name".*DNS-1123 label/);
    await writeFile(join(dir, 'bad.yaml'), 'clusters:\n  - name: x\n');
    assert.throws(
      () => loadConfig({ VKUBE_CONFIG: 'bad.yaml' }, dir),
      (err: unknown) => err instanceof ConfigError && /^VKUBE_KUBECONFIGS \(clusters in VKUBE_CONFIG\): clusters\[0\]\.kubeconfig: must be the path/.test(err.message),
    );
  });

  it('registry mirrors: none by default; the environment form, the file form, and the environment wins', async () => {
    assert.deepEqual(loadConfig({}, cwd).registry.mirrors, {});
    const fromEnv = loadConfig({ VKUBE_REGISTRY_MIRRORS: 'index.docker.io=http://127.0.0.1:5000|https://registry-1.docker.io,ghcr.io=https://ghcr-mirror.example' }, cwd);
    assert.deepEqual(fromEnv.registry.mirrors, {
      'docker.io': ['http://127.0.0.1:5000', 'https://registry-1.docker.io'],
      'ghcr.io': ['https://ghcr-mirror.example'],
    });

    const dir = await mkdtemp(join(tmpdir(), 'vkube-config-'));
    await writeFile(join(dir, 'vkube.yaml'), 'registryMirrors:\n  docker.io:\n    - http://127.0.0.1:5000\n    - https://registry-1.docker.io\n  ghcr.io: [https://ghcr-mirror.example]\n');
    await writeFile(join(dir, 'vkube.json'), JSON.stringify({ registryMirrors: 'docker.io=http://127.0.0.1:5001' }));
    assert.deepEqual(loadConfig({ VKUBE_CONFIG: 'vkube.yaml' }, dir).registry.mirrors, fromEnv.registry.mirrors);
    assert.deepEqual(loadConfig({ VKUBE_CONFIG: 'vkube.json' }, dir).registry.mirrors, { 'docker.io': ['http://127.0.0.1:5001'] });
    assert.deepEqual(loadConfig({ VKUBE_CONFIG: 'vkube.yaml', VKUBE_REGISTRY_MIRRORS: 'quay.io=https://quay-mirror.example' }, dir).registry.mirrors, {
      'quay.io': ['https://quay-mirror.example'],
    });
  });

  it('a bad registry mirror in the config file is refused naming VKUBE_REGISTRY_MIRRORS, the file key and the bad part', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vkube-config-'));
    await writeFile(join(dir, 'vkube.yaml'), 'registryMirrors:\n  docker.io: [ "http://127.0.0.1:5000/v2" ]\n');
    assert.throws(
      () => loadConfig({ VKUBE_CONFIG: 'vkube.yaml' }, dir),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message === 'VKUBE_REGISTRY_MIRRORS (registryMirrors in VKUBE_CONFIG): endpoint "http://127.0.0.1:5000/v2" of "docker.io" must not have a path (give http(s)://host[:port])',
    );
  });

  for (const [env, message] of [
    [{ PORT: 'abc' }, /^PORT=abc: must be an integer from 0 to 65535/],
    [{ PORT: '70000' }, /^PORT=70000/],
    [{ DATABASE_URL: 'mysql://x' }, /^DATABASE_URL=mysql:\/\/x: must be sqlite:<path> or postgres/],
    [{ VKUBE_UNIT_MEMORY: 'lots' }, /^VKUBE_UNIT_MEMORY=lots: not a positive Kubernetes quantity/],
    [{ VKUBE_RESERVED_PORTS: '80-70' }, /^VKUBE_RESERVED_PORTS: "80-70" is not a port or a range/],
    [{ VKUBE_ADMIN_TOKEN: 'short' }, /^VKUBE_ADMIN_TOKEN: must be at least 16 characters/],
    [{ VKUBE_SECRET_KEY: 'too-short-to-key-hashes' }, /^VKUBE_SECRET_KEY: must be at least 32 bytes/],
    [{ KUBECONFIG: '/nonexistent/kubeconfig' }, /^KUBECONFIG=\/nonexistent\/kubeconfig: no such file/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL=loud: must be one of/],
    [{ VKUBE_CONFIG: '/nonexistent.yaml' }, /^VKUBE_CONFIG=\/nonexistent\.yaml: cannot read it/],
    [{ VKUBE_REGION_LABEL: 'not a label' }, /^VKUBE_REGION_LABEL=not a label: not a Kubernetes label key/],
    [{ VKUBE_REGISTRY_MIRRORS: 'docker.io=ftp://mirror.example' }, /^VKUBE_REGISTRY_MIRRORS: endpoint "ftp:\/\/mirror\.example" of "docker\.io" must start with http:\/\/ or https:\/\//],
    [{ VKUBE_REGISTRY_MIRRORS: 'docker.io=http://u:p@mirror.example' }, /^VKUBE_REGISTRY_MIRRORS: endpoint "http:\/\/u:p@mirror\.example" of "docker\.io" must not carry credentials/],
    [{ VKUBE_REGISTRY_MIRRORS: 'docker.io=http://mirror.example?x=1' }, /^VKUBE_REGISTRY_MIRRORS: endpoint "http:\/\/mirror\.example\?x=1" of "docker\.io" must not have a query/],
    [{ VKUBE_REGISTRY_MIRRORS: 'dockerhub=http://mirror.example' }, /^VKUBE_REGISTRY_MIRRORS: "dockerhub" is not a registry host/],
    [{ VKUBE_REGISTRY_MIRRORS: 'docker.io' }, /^VKUBE_REGISTRY_MIRRORS: "docker\.io" is not registry=endpoint\|endpoint/],
    [{ VKUBE_STORAGE_CLASS: 'Fast_SSD' }, /^VKUBE_STORAGE_CLASS=Fast_SSD: not a StorageClass name/],
    [{ VKUBE_STORAGE_CLASS: 'ends-with-dash-' }, /^VKUBE_STORAGE_CLASS=ends-with-dash-: not a StorageClass name/],
  ] as const) {
    it(`refuses ${JSON.stringify(env)} naming the setting`, () => {
      assert.throws(() => loadConfig(env, cwd), (err: unknown) => err instanceof ConfigError && message.test(err.message));
    });
  }

  it('a bad value stops `npm start` with a message naming it', async () => {
    const out = await new Promise<{ code: number; stderr: string }>((resolve) => {
      // The bound only keeps a server that did start from hanging the run: tsx compiling
      // src/ on a loaded 2-core machine has taken past 30 s before it reached the check.
      execFile(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: { ...process.env, PORT: 'eighty' }, timeout: 120_000 }, (err, _stdout, stderr) =>
        resolve({ code: (err as { code?: number } | null)?.code ?? 0, stderr }),
      );
    });
    assert.equal(out.code, 2);
    assert.match(out.stderr, /V-Kube cannot start: PORT=eighty: must be an integer/);
  });
});
