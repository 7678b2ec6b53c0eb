/**
 * `vkube deploy -f`: which endpoint a file goes to and the body it becomes. The seed
 * and clients' bodies pass through untouched; a VKubefile is converted field by field,
 * its configuration files read from disk next to it.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hostPortsOf, imagesOf, loadDeployFile, parseDeployFile, splitImage } from '../../src/cli/deploy-file.js';
import { CliError, ExitCode } from '../../src/cli/errors.js';

const noFiles = { name: 'deploy.yaml', readRelative: (): string => assert.fail('reads no files') };

function parse(text: string, name = 'deploy.yaml') {
  return parseDeployFile(text, { ...noFiles, name });
}

/** The usage error (exit 2) a bad file gives, with its message. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CliError, `a CliError, not ${String(err)}`);
    assert.equal(err.exitCode, ExitCode.usage);
    return err.message;
  }
  return assert.fail('the file was accepted');
}

describe('vkube deploy -f: the seed deploy body', () => {
  const seedJson = {
    nodeSelector: { region: 'ausrine' },
    containers: [
      {
        name: 'container1',
        imageName: 'nginx',
        ports: [{ containerPort: 80, hostPort: 2999 }],
        resource: { memory: '100Mi' },
        command: '/bin/sh\n-c\ntail -f /dev/null',
        args: '--vm\n1',
      },
    ],
  };

  it('goes to POST /k8s/deploy unchanged, from JSON', () => {
    const plan = parse(JSON.stringify(seedJson), 'body.json');
    assert.equal(plan.kind, 'seed');
    assert.deepEqual(plan.body, seedJson);
    assert.deepEqual(plan.notes, []);
    assert.deepEqual(imagesOf(plan), [{ container: 'container1', image: 'nginx' }]);
    assert.deepEqual(hostPortsOf(plan), [{ container: 'container1', hostPort: 2999, protocol: 'TCP' }]);
  });

  it('reads the same body from YAML', () => {
    const yaml = `
nodeSelector:
  region: ausrine
containers:
  - name: container1
    imageName: nginx
    ports:
      - containerPort: 80
        hostPort: 2999
    resource:
      memory: 100Mi
    command: "/bin/sh\\n-c\\ntail -f /dev/null"
    args: "--vm\\n1"
`;
    const plan = parse(yaml);
    assert.equal(plan.kind, 'seed');
    assert.deepEqual(plan.body, seedJson);
  });

  it('leaves the region out when the file has none (the order or --region gives it)', () => {
    const plan = parse('containers: [{name: web, imageName: nginx, resource: {memory: 64Mi}}]');
    assert.equal(plan.kind, 'seed');
    assert.equal(plan.body.nodeSelector, undefined);
  });

  it('passes the bodies through as written: V-Kube checks them whole (POST …/validate) before the deploy', () => {
    const plan = parse('containers: [{name: Web, imageName: nginx, ports: [80], resource: {memory: 100}}]');
    assert.equal(plan.kind, 'seed');
    assert.deepEqual(plan.body.containers[0], { name: 'Web', imageName: 'nginx', ports: [80], resource: { memory: 100 } });
  });

  it('refuses a file that mixes resource.memory with resourceUnit', () => {
    assert.match(
      refusal(() => parse('containers: [{name: a, imageName: nginx, resource: {memory: 64Mi}}, {name: b, imageName: nginx, resourceUnit: 1}]')),
      /containers\[1\]\.resourceUnit: this file mixes/,
    );
  });
});

describe("vkube deploy -f: the original clients' deploy body", () => {
  const body = {
    containers: [
      {
        name: 'c1',
        imageName: 'nginx:latest',
        resourceUnit: 1,
        ports: [{ containerPort: 80, hostPort: 20001, protocol: 'TCP' }],
        envs: [{ name: 'K', value: 'V' }],
        mountPath: '/data',
        command: './start.sh',
        args: '-x',
        configMountPath: '/etc/app',
        config: 'a = 1\n',
        configMap: { '/etc/x.conf': 'x = 2\n' },
        exposedPorts: [{ path: '/api', rewrite: true, containerPort: 80 }],
      },
      { name: 'c2', imageName: 'registry.example.com/team/private:v2', command: ['run'], args: ['--fast'] },
    ],
    pvtLogin: [
      { username: '', password: '' },
      { username: 'alice', password: 'wonderland' },
    ],
  };

  it('goes to /k8s/deployment unchanged, both generations (string and array command)', () => {
    const plan = parse(JSON.stringify(body), 'clients.json');
    assert.equal(plan.kind, 'clients');
    assert.ok(plan.kind === 'clients');
    assert.equal(plan.from, 'clients-body');
    assert.deepEqual(plan.body, body);
    assert.equal(plan.vkubeToken, undefined);
  });

  it('pairs pvtLogin[i] with containers[i] for the image checks', () => {
    const plan = parse(JSON.stringify(body), 'clients.json');
    assert.deepEqual(imagesOf(plan), [
      { container: 'c1', image: 'nginx:latest' },
      { container: 'c2', image: 'registry.example.com/team/private:v2', login: { username: 'alice', password: 'wonderland' } },
    ]);
    assert.deepEqual(hostPortsOf(plan), [{ container: 'c1', hostPort: 20001, protocol: 'TCP' }]);
  });

  it('treats a body with neither resource nor resourceUnit as the clients\' (units default to 1)', () => {
    const plan = parse('containers:\n  - name: web\n    imageName: nginx\n');
    assert.equal(plan.kind, 'clients');
  });

  it('lists every place in the file that is not an object where one is needed', () => {
    const message = refusal(() => parse('containers: [nginx, 80]'));
    assert.match(message, /^deploy\.yaml has 2 mistakes; nothing was deployed:\n {2}containers\[0\]: must be an object such as \{name: web, imageName: nginx:1\.27\}, not "nginx"\n {2}containers\[1\]: .*not 80$/);
  });
});

describe('vkube deploy -f: VKubefile.yaml', () => {
  async function project(files: Record<string, string>): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'vkube-cli-file-'));
    for (const [name, text] of Object.entries(files)) {
      await mkdir(join(dir, name, '..'), { recursive: true });
      await writeFile(join(dir, name), text);
    }
    return dir;
  }

  const vkubefile = `
vkubeToken: 3yZeTokenFromTheMarket
imageRegistry: ghcr
containers:
  - imageName: myorg/web
    tag: v1.2
    build:
      dockerfile: ./Dockerfile
    deploy:
      containerName: web
      resourceUnit: 2
      command: ["/bin/sh", "-c"]
      args: ["exec nginx -g 'daemon off;'"]
      ports:
        - containerPort: 80
          hostPort: 20080
          path: /api
          rewrite: true
        - containerPort: 9000
      env:
        - name: MODE
          value: production
        - name: WORKERS
          value: 4
      configurations:
        ./conf/nginx.conf: /etc/nginx/nginx.conf
        app.ini: /etc/app/app.ini
      persistStorage: /data
  - imageName: redis
`;

  it("becomes the clients' body, with the configuration files read next to it", async () => {
    const dir = await project({
      'VKubefile.yaml': vkubefile,
      'conf/nginx.conf': 'worker_processes 1;\n',
      'app.ini': '[app]\nname = web\n',
    });
    const plan = await loadDeployFile(join(dir, 'VKubefile.yaml'));
    assert.ok(plan.kind === 'clients');
    assert.equal(plan.from, 'vkubefile');
    assert.equal(plan.vkubeToken, '3yZeTokenFromTheMarket');
    assert.deepEqual(plan.body, {
      containers: [
        {
          name: 'web',
          imageName: 'ghcr.io/myorg/web:v1.2',
          resourceUnit: 2,
          command: ['/bin/sh', '-c'],
          args: ["exec nginx -g 'daemon off;'"],
          ports: [{ containerPort: 80, hostPort: 20080 }, { containerPort: 9000 }],
          exposedPorts: [{ containerPort: 80, path: '/api', rewrite: true }],
          envs: [
            { name: 'MODE', value: 'production' },
            { name: 'WORKERS', value: '4' },
          ],
          configMap: { '/etc/nginx/nginx.conf': 'worker_processes 1;\n', '/etc/app/app.ini': '[app]\nname = web\n' },
          mountPath: '/data',
        },
        // No deploy section: the name comes from the image, the tag defaults to latest.
        { name: 'redis', imageName: 'ghcr.io/redis:latest' },
      ],
    });
    assert.equal(plan.notes.length, 1);
    assert.match(plan.notes[0]!, /containers\[0\]\.build: building images is not supported by this CLI; deploying ghcr\.io\/myorg\/web:v1\.2/);
  });

  it('uses Docker Hub names as written for imageRegistry docker (the default)', () => {
    const plan = parse('vkubeToken: t\ncontainers:\n  - imageName: nginx\n    tag: 1.27\n  - imageName: user/app:dev\n');
    assert.deepEqual(
      plan.body.containers.map((c) => [c.name, c.imageName]),
      [
        ['nginx', 'nginx:1.27'],
        ['app', 'user/app:dev'],
      ],
    );
  });

  it('says which configuration file it cannot read', async () => {
    const dir = await project({ 'VKubefile.yaml': 'containers:\n  - imageName: nginx\n    deploy:\n      configurations:\n        missing.conf: /etc/missing.conf\n' });
    await assert.rejects(loadDeployFile(join(dir, 'VKubefile.yaml')), (err: unknown) => {
      assert.ok(err instanceof CliError);
      assert.equal(err.exitCode, ExitCode.usage);
      assert.match(err.message, /containers\[0\]\.deploy\.configurations\["missing\.conf"\]: cannot read "missing\.conf" .*no such file/);
      return true;
    });
  });

  it('refuses wrong fields with their path, and notes unknown ones', () => {
    assert.match(refusal(() => parse('imageRegistry: quay\ncontainers: [{imageName: nginx}]')), /imageRegistry: must be "docker" or "ghcr"/);
    assert.match(refusal(() => parse('vkubeToken: t\ncontainers: [{tag: v1}]')), /containers\[0\]\.imageName: required/);
    assert.match(refusal(() => parse('vkubeToken: t\ncontainers: [{imageName: "nginx:1.27", tag: v2}]')), /already has a tag/);
    assert.match(refusal(() => parse('vkubeToken: t\ncontainers: [{imageName: nginx, deploy: {containerName: Web_1}}]')), /deploy\.containerName: must be lowercase/);
    assert.match(refusal(() => parse('vkubeToken: t\ncontainers: [{imageName: nginx, deploy: {resourceUnit: 0}}]')), /deploy\.resourceUnit: must be a whole number/);
    assert.match(refusal(() => parse('vkubeToken: t\ncontainers: [{imageName: nginx, deploy: {ports: [{containerPort: 99999}]}}]')), /deploy\.ports\[0\]\.containerPort: must be a port number/);
    assert.match(refusal(() => parse('vkubeToken: t\ncontainers: [{imageName: nginx, deploy: {persistStorage: data}}]')), /deploy\.persistStorage: must be the absolute path/);
    assert.match(refusal(() => parse('vkubeToken: t\ncontainers: [{imageName: nginx, deploy: {env: [{value: x}]}}]')), /deploy\.env\[0\]\.name: required/);
    // All at once: a customer fixes the file in one round.
    const all = refusal(() =>
      parse('imageRegistry: quay\ncontainers:\n  - imageName: nginx\n    deploy: {ports: [80, {containerPort: 99999}], env: {MODE: x}, resourceUnit: 0}\n  - tag: v1\n'),
    );
    assert.deepEqual(all.split('\n'), [
      'deploy.yaml has 6 mistakes; nothing was deployed:',
      '  imageRegistry: must be "docker" or "ghcr", not "quay"',
      '  containers[0].deploy.resourceUnit: must be a whole number of units, at least 1, not 0',
      '  containers[0].deploy.ports[0]: must be an object such as {containerPort: 80, hostPort: 8080}, not 80',
      '  containers[0].deploy.ports[1].containerPort: must be a port number from 1 to 65535, not 99999',
      '  containers[0].deploy.env: must be a list of {name, value}, e.g. [{name: MODE, value: production}]',
      '  containers[1].imageName: required (e.g. nginx or myorg/app)',
    ]);
    const plan = parse('vkubeToken: t\nextra: 1\ncontainers: [{imageName: nginx, deploy: {cpu: 2}}]');
    assert.deepEqual(plan.notes, ['extra: not a VKubefile field; ignored', 'containers[0].deploy.cpu: not a VKubefile field; ignored']);
  });

  it('gives two containers of the same image distinct names', () => {
    const plan = parse('vkubeToken: t\ncontainers: [{imageName: nginx}, {imageName: nginx, tag: alpine}]');
    assert.deepEqual(
      plan.body.containers.map((c) => c.name),
      ['nginx', 'nginx-2'],
    );
  });
});

describe('vkube deploy -f: files that are no deploy at all', () => {
  it('refuses broken JSON and YAML, several documents, and no containers', () => {
    assert.match(refusal(() => parse('{"containers": [', 'body.json')), /^body\.json: not valid JSON/);
    // The place in the file, and no dangling colon where yaml's message went on to quote the line.
    assert.match(refusal(() => parse('containers: [unclosed')), /^deploy\.yaml: not valid YAML or JSON: .* at line \d+, column \d+$/);
    assert.match(refusal(() => parse('containers: []\n---\ncontainers: []\n')), /not valid YAML or JSON/);
    assert.match(refusal(() => parse('- a\n- b\n')), /must hold an object with a "containers" list/);
    assert.match(refusal(() => parse('')), /must hold an object/);
    assert.match(refusal(() => parse('nodeSelector: {region: ausrine}')), /containers: required/);
    assert.match(refusal(() => parse('containers: []')), /containers: must be a non-empty list/);
    assert.match(refusal(() => parse('containers: [nginx]')), /^deploy\.yaml: containers\[0\]: must be an object such as/);
  });

  it('says when the file is missing', async () => {
    await assert.rejects(loadDeployFile(join(tmpdir(), 'no-such-vkube-file.yaml')), /cannot read .*no-such-vkube-file\.yaml: no such file/);
  });
});

describe('splitImage', () => {
  it('splits image and tag the way GET /k8s/images wants them', () => {
    assert.deepEqual(splitImage('nginx'), { image: 'nginx', tag: 'latest' });
    assert.deepEqual(splitImage('nginx:1.27'), { image: 'nginx', tag: '1.27' });
    assert.deepEqual(splitImage('localhost:5000/team/app'), { image: 'localhost:5000/team/app', tag: 'latest' });
    assert.deepEqual(splitImage('localhost:5000/team/app:v1'), { image: 'localhost:5000/team/app', tag: 'v1' });
    assert.equal(splitImage('ghcr.io/o/app@sha256:abc'), undefined);
  });
});

describe("V-Kube's problems with a converted VKubefile, in the VKubefile's own terms", () => {
  it('maps the clients-body paths back to what the customer wrote', async () => {
    const { vkubefilePath } = await import('../../src/cli/deploy-file.js');
    assert.equal(vkubefilePath('containers[0].name'), 'containers[0].deploy.containerName');
    assert.equal(vkubefilePath('containers[1].envs[2].name'), 'containers[1].deploy.env[2].name');
    assert.equal(vkubefilePath('containers[0].ports[1].hostPort'), 'containers[0].deploy.ports[1].hostPort');
    assert.equal(vkubefilePath('containers[0].livenessProbe.periodSeconds'), 'containers[0].deploy.livenessProbe.periodSeconds');
    assert.equal(vkubefilePath('containers[].resourceUnit'), 'containers[].deploy.resourceUnit');
    assert.equal(vkubefilePath('containers[0].imageName'), 'containers[0].imageName');
    assert.equal(vkubefilePath('nodeSelector.region'), 'nodeSelector.region');
  });
});
