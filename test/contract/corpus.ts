/**
 * Bodies for every write endpoint, each with what the contract says of it:
 * - `accept`: the published schema accepts it and so does the server;
 * - `refuse`: the schema refuses it, and the server answers 400 naming `field`;
 * - `rule`: a rule no JSON Schema can say (it needs the order, the cluster or the
 *   provider's settings, or it compares fields) — the schema accepts the body, its
 *   description names the rule, and the server answers 400 naming `field`.
 * Boundaries of every numeric and length constraint are here on both sides.
 */

export type Verdict = 'accept' | 'refuse' | 'rule';

/** What a case's body may depend on: the orders and names made for the run. */
export interface Fixtures {
  /** A generation in the deployed order's history. */
  generation: number;
  /** A domain name no other case uses. */
  domain(): string;
}

export interface Case {
  what: string;
  verdict: Verdict;
  body: unknown | ((f: Fixtures) => unknown);
  /** The field the 400 names first (refuse and rule). */
  field?: string;
}

const c = (verdict: Verdict, what: string, body: unknown, field?: string): Case => ({ what, verdict, body, ...(field !== undefined ? { field } : {}) });

// ---- the deploy bodies ----

type Json = Record<string, unknown>;

const seedContainer = (o: Json = {}): Json => ({ name: 'web', imageName: 'nginx:1.27', ports: [{ containerPort: 80, hostPort: 4601 }], resource: { memory: '100Mi' }, ...o });
const seed = (container: Json = {}, extra: Json = {}): Json => ({ nodeSelector: { region: 'ausrine' }, containers: [seedContainer(container)], ...extra });
const seedPorts = (...ports: unknown[]): Json => seed({ ports });
const seedProbe = (kind: string, probe: unknown): Json => seed({ [kind]: probe });

/** Corpus of the fields both shapes share; `wrap` puts one container's fields into a whole body of the shape. */
function sharedCases(wrap: (container: Json, extra?: Json) => Json): Case[] {
  const ports = (...p: unknown[]) => wrap({ ports: p });
  const probe = (kind: string, p: unknown) => wrap({ [kind]: p });
  const tcp = (o: Json) => ({ tcpSocket: { port: 80 }, ...o });
  const at = 'containers[0]';
  return [
    // protocol: capitals, as Kubernetes writes it; absent, null or "" is TCP
    c('accept', 'protocol UDP', ports({ containerPort: 53, hostPort: 4602, protocol: 'UDP' })),
    c('accept', 'protocol TCP', ports({ containerPort: 80, hostPort: 4601, protocol: 'TCP' })),
    c('accept', 'protocol "" (a Go client\'s zero value) is TCP', ports({ containerPort: 80, hostPort: 4601, protocol: '' })),
    c('accept', 'protocol null is TCP', ports({ containerPort: 80, hostPort: 4601, protocol: null })),
    c('refuse', 'protocol "udp" (Kubernetes refuses it too)', ports({ containerPort: 80, protocol: 'udp' }), `${at}.ports[0].protocol`),
    c('refuse', 'protocol "Tcp"', ports({ containerPort: 80, protocol: 'Tcp' }), `${at}.ports[0].protocol`),
    c('refuse', 'protocol SCTP', ports({ containerPort: 80, protocol: 'SCTP' }), `${at}.ports[0].protocol`),
    c('refuse', 'protocol as a number', ports({ containerPort: 80, protocol: 6 }), `${at}.ports[0].protocol`),
    // hostPort: 0, null or absent is none; else 1–65535
    c('accept', 'hostPort 0 means no host port', ports({ containerPort: 80, hostPort: 0 })),
    c('accept', 'hostPort null means no host port', ports({ containerPort: 80, hostPort: null })),
    c('accept', 'no hostPort', ports({ containerPort: 80 })),
    c('accept', 'hostPort 1 (lower bound)', ports({ containerPort: 80, hostPort: 1 })),
    c('accept', 'hostPort 65535 (upper bound)', ports({ containerPort: 80, hostPort: 65535 })),
    c('refuse', 'hostPort -1', ports({ containerPort: 80, hostPort: -1 }), `${at}.ports[0].hostPort`),
    c('refuse', 'hostPort 65536', ports({ containerPort: 80, hostPort: 65536 }), `${at}.ports[0].hostPort`),
    c('refuse', 'hostPort 4601.5', ports({ containerPort: 80, hostPort: 4601.5 }), `${at}.ports[0].hostPort`),
    c('refuse', 'hostPort as a string', ports({ containerPort: 80, hostPort: '4601' }), `${at}.ports[0].hostPort`),
    c('rule', 'a reserved hostPort (22)', ports({ containerPort: 80, hostPort: 22 }), `${at}.ports[0].hostPort`),
    c('rule', 'a reserved hostPort (30000, the NodePort range)', ports({ containerPort: 80, hostPort: 30000 }), `${at}.ports[0].hostPort`),
    c('rule', 'the same hostPort twice', ports({ containerPort: 80, hostPort: 4601 }, { containerPort: 81, hostPort: 4601 }), `${at}.ports[1].hostPort`),
    // containerPort
    c('accept', 'containerPort 1 and 65535', ports({ containerPort: 1 }, { containerPort: 65535 })),
    c('refuse', 'containerPort 0', ports({ containerPort: 0 }), `${at}.ports[0].containerPort`),
    c('refuse', 'containerPort 65536', ports({ containerPort: 65536 }), `${at}.ports[0].containerPort`),
    c('refuse', 'containerPort as a string', ports({ containerPort: '80' }), `${at}.ports[0].containerPort`),
    c('refuse', 'a port without containerPort', ports({ hostPort: 4601 }), `${at}.ports[0].containerPort`),
    c('refuse', 'a port that is a number', ports(80), `${at}.ports[0]`),
    c('rule', 'the same containerPort twice', ports({ containerPort: 80 }, { containerPort: 80 }), `${at}.ports[1].containerPort`),
    c('accept', 'ports null', wrap({ ports: null })),
    c('refuse', 'ports as an object', wrap({ ports: { containerPort: 80 } }), `${at}.ports`),
    // name: a DNS label, at most 63
    c('accept', 'a name of 63 characters', wrap({ name: 'a'.repeat(63) })),
    c('accept', 'a name of 1 character', wrap({ name: 'a' })),
    c('refuse', 'a name of 64 characters', wrap({ name: 'a'.repeat(64) }), `${at}.name`),
    c('refuse', 'a name with capitals and "_"', wrap({ name: 'My_Container' }), `${at}.name`),
    c('refuse', 'a name starting with "-"', wrap({ name: '-web' }), `${at}.name`),
    c('refuse', 'a name ending with "-"', wrap({ name: 'web-' }), `${at}.name`),
    c('refuse', 'an empty name', wrap({ name: '' }), `${at}.name`),
    c('refuse', 'no name', wrap({ name: undefined }), `${at}.name`),
    // imageName
    c('accept', 'an image with a registry and a tag', wrap({ imageName: 'nginx:1.27' })),
    c('refuse', 'an empty image', wrap({ imageName: '' }), `${at}.imageName`),
    c('refuse', 'an image as a number', wrap({ imageName: 5 }), `${at}.imageName`),
    c('refuse', 'no image', wrap({ imageName: undefined }), `${at}.imageName`),
    c('rule', 'an image that is no reference', wrap({ imageName: 'Nginx:::latest' }), `${at}.imageName`),
    // command and args
    c('accept', 'command and args as newline-separated strings', wrap({ command: '/bin/sh\n-c\ntail -f /dev/null', args: '--vm\n1' })),
    c('accept', 'command and args as lists', wrap({ command: ['/bin/sh', '-c', 'sleep 1'], args: [] })),
    c('accept', 'command "" and args null', wrap({ command: '', args: null })),
    c('accept', 'args of 64 KiB', wrap({ args: 'x'.repeat(64 * 1024) })),
    c('refuse', 'args of 64 KiB and one byte', wrap({ args: 'x'.repeat(64 * 1024 + 1) }), `${at}.args`),
    c('refuse', 'a command that is an object', wrap({ command: { run: 'x' } }), `${at}.command`),
    c('refuse', 'args with a number', wrap({ args: ['--x', 1] }), `${at}.args[1]`),
    // environment
    c('accept', 'envs with a number, a boolean and a null value', wrap({ envs: [{ name: 'A', value: 1 }, { name: 'B', value: true }, { name: 'C', value: null }, { name: 'D' }] })),
    c('accept', 'env (a VKubefile\'s spelling)', wrap({ env: [{ name: 'MODE', value: 'production' }] })),
    c('accept', 'envs null', wrap({ envs: null })),
    c('accept', 'an env name of 256 characters', wrap({ envs: [{ name: 'A'.repeat(256), value: 'x' }] })),
    c('refuse', 'an env name of 257 characters', wrap({ envs: [{ name: 'A'.repeat(257), value: 'x' }] }), `${at}.envs[0].name`),
    c('refuse', 'an env name starting with a digit', wrap({ envs: [{ name: '1A', value: 'x' }] }), `${at}.envs[0].name`),
    c('refuse', 'an env without name', wrap({ envs: [{ value: 'x' }] }), `${at}.envs[0].name`),
    c('refuse', 'an env value that is an object', wrap({ envs: [{ name: 'A', value: {} }] }), `${at}.envs[0].value`),
    c('refuse', 'envs as a string', wrap({ envs: 'A=1' }), `${at}.envs`),
    c('rule', 'the same env name twice', wrap({ envs: [{ name: 'A', value: '1' }, { name: 'A', value: '2' }] }), `${at}.envs[1].name`),
    // files and paths
    c('accept', 'config with configMountPath, and a configMap', wrap({ config: 'a = 1\n', configMountPath: '/etc/app/app.conf', configMap: { '/etc/x.conf': 'x' } })),
    c('accept', 'mountPath "" and configMountPath "" (none)', wrap({ mountPath: '', configMountPath: '' })),
    c('accept', 'a configMap path of 512 characters', wrap({ configMap: { [`/${'a'.repeat(511)}`]: 'x' } })),
    c('refuse', 'a configMap path of 513 characters', wrap({ configMap: { [`/${'a'.repeat(512)}`]: 'x' } }), `${at}.configMap["/aaaa`),
    c('refuse', 'a relative mountPath', wrap({ mountPath: 'data' }), `${at}.mountPath`),
    c('refuse', 'a mountPath "/"', wrap({ mountPath: '/' }), `${at}.mountPath`),
    c('refuse', 'a configMountPath with ".."', wrap({ config: 'x', configMountPath: '/etc/../x' }), `${at}.configMountPath`),
    c('refuse', 'a configMap key that is relative', wrap({ configMap: { 'etc/x': 'a' } }), `${at}.configMap["etc/x"]`),
    c('refuse', 'a configMap value that is a number', wrap({ configMap: { '/etc/x': 1 } }), `${at}.configMap["/etc/x"]`),
    c('rule', 'config without configMountPath', wrap({ config: 'a = 1' }), `${at}.configMountPath`),
    c('rule', 'a mountPath on an order without persistent storage', wrap({ mountPath: '/data' }), `${at}.mountPath`),
    // exposedPorts
    c('accept', 'an exposed port with a path of 256 characters', wrap({ exposedPorts: [{ path: `/${'a'.repeat(255)}`, rewrite: true, containerPort: 80 }] })),
    c('refuse', 'an exposed path of 257 characters', wrap({ exposedPorts: [{ path: `/${'a'.repeat(256)}`, containerPort: 80 }] }), `${at}.exposedPorts[0].path`),
    c('refuse', 'an exposed path without "/"', wrap({ exposedPorts: [{ path: 'api', containerPort: 80 }] }), `${at}.exposedPorts[0].path`),
    c('refuse', 'rewrite "yes"', wrap({ exposedPorts: [{ path: '/', rewrite: 'yes', containerPort: 80 }] }), `${at}.exposedPorts[0].rewrite`),
    c('rule', "an exposed port that is not one of the container's TCP ports", wrap({ exposedPorts: [{ path: '/', containerPort: 81 }] }), `${at}.exposedPorts[0].containerPort`),
    // probes
    c('accept', 'probes at their lower bounds', probe('readinessProbe', { httpGet: { path: '', port: 1, scheme: '' }, initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 1, successThreshold: 1 })),
    c('accept', 'probes at their upper bounds', probe('readinessProbe', { httpGet: { path: `/${'a'.repeat(1023)}`, port: 65535, scheme: 'HTTPS' }, initialDelaySeconds: 3600, periodSeconds: 300, timeoutSeconds: 60, failureThreshold: 100, successThreshold: 10 })),
    c('accept', 'an exec probe of 64 items, and null fields', probe('livenessProbe', { exec: { command: Array.from({ length: 64 }, () => 'true') }, httpGet: null, periodSeconds: null })),
    c('accept', 'an exec probe as a newline-separated string', probe('startupProbe', { exec: { command: 'cat\n/tmp/ready' } })),
    c('accept', 'a null probe is none', probe('livenessProbe', null)),
    c('refuse', 'periodSeconds 0', probe('livenessProbe', tcp({ periodSeconds: 0 })), `${at}.livenessProbe.periodSeconds`),
    c('refuse', 'periodSeconds 301', probe('livenessProbe', tcp({ periodSeconds: 301 })), `${at}.livenessProbe.periodSeconds`),
    c('refuse', 'initialDelaySeconds -1', probe('livenessProbe', tcp({ initialDelaySeconds: -1 })), `${at}.livenessProbe.initialDelaySeconds`),
    c('refuse', 'initialDelaySeconds 3601', probe('livenessProbe', tcp({ initialDelaySeconds: 3601 })), `${at}.livenessProbe.initialDelaySeconds`),
    c('refuse', 'timeoutSeconds 61', probe('livenessProbe', tcp({ timeoutSeconds: 61 })), `${at}.livenessProbe.timeoutSeconds`),
    c('refuse', 'failureThreshold 101', probe('livenessProbe', tcp({ failureThreshold: 101 })), `${at}.livenessProbe.failureThreshold`),
    c('refuse', 'successThreshold 11', probe('readinessProbe', tcp({ successThreshold: 11 })), `${at}.readinessProbe.successThreshold`),
    c('refuse', 'a probe port as a string', probe('readinessProbe', { httpGet: { port: '80' } }), `${at}.readinessProbe.httpGet.port`),
    c('refuse', 'a probe port 0', probe('readinessProbe', { tcpSocket: { port: 0 } }), `${at}.readinessProbe.tcpSocket.port`),
    c('refuse', 'scheme "https"', probe('readinessProbe', { httpGet: { port: 80, scheme: 'https' } }), `${at}.readinessProbe.httpGet.scheme`),
    c('refuse', 'a probe path without "/"', probe('readinessProbe', { httpGet: { path: 'healthz', port: 80 } }), `${at}.readinessProbe.httpGet.path`),
    c('refuse', 'a probe path of 1025 characters', probe('readinessProbe', { httpGet: { path: `/${'a'.repeat(1024)}`, port: 80 } }), `${at}.readinessProbe.httpGet.path`),
    c('refuse', 'an exec probe of 65 items', probe('livenessProbe', { exec: { command: Array.from({ length: 65 }, () => 'true') } }), `${at}.livenessProbe.exec.command`),
    c('refuse', 'an exec probe without command', probe('startupProbe', { exec: { command: [] } }), `${at}.startupProbe.exec.command`),
    c('refuse', 'a probe that is a string', probe('livenessProbe', 'curl'), `${at}.livenessProbe`),
    c('rule', 'a probe without a handler', probe('livenessProbe', { periodSeconds: 5 }), `${at}.livenessProbe`),
    c('rule', 'a probe with two handlers', probe('readinessProbe', { httpGet: { port: 80 }, tcpSocket: { port: 80 } }), `${at}.readinessProbe`),
    c('rule', 'a liveness probe asking for 2 successes', probe('livenessProbe', tcp({ successThreshold: 2 })), `${at}.livenessProbe.successThreshold`),
    c('rule', 'an exec probe naming no program', probe('livenessProbe', { exec: { command: [''] } }), `${at}.livenessProbe.exec.command`),
    // registry credentials
    c('accept', 'pvtLogin with a null entry, and empty credentials', wrap({}, { pvtLogin: [{ username: '', password: '' }] })),
    c('accept', 'pvtLogin null', wrap({}, { pvtLogin: null })),
    c('accept', 'pvtLogin [null]', wrap({}, { pvtLogin: [null] })),
    c('refuse', 'pvtLogin as a string', wrap({}, { pvtLogin: 'u:p' }), 'pvtLogin'),
    c('refuse', 'a pvtLogin username that is a number', wrap({}, { pvtLogin: [{ username: 5, password: 'p' }] }), 'pvtLogin[0].username'),
    c('rule', 'more pvtLogin entries than containers', wrap({}, { pvtLogin: [null, null] }), 'pvtLogin'),
    // the body as a whole
    c('accept', 'unknown fields are ignored', wrap({ shinyNewField: true }, { alsoNew: 1 })),
    c('refuse', 'a JSON array as the body', [1, 2, 3], 'body'),
    c('refuse', 'a JSON string as the body', 'deploy please', 'body'),
    c('refuse', 'containers []', { ...wrap({}), containers: [] }, 'containers'),
    c('refuse', 'containers as an object', { ...wrap({}), containers: { name: 'web' } }, 'containers'),
    c('refuse', 'no containers', { ...wrap({}), containers: undefined }, 'containers'),
    c('refuse', '21 containers (more than any order may have)', { ...wrap({}), containers: Array.from({ length: 21 }, (_, i) => ({ ...(wrap({}).containers as Json[])[0], name: `c${i}`, ports: [] })) }, 'containers'),
    c('refuse', 'a container that is a string', { ...wrap({}), containers: ['web'] }, 'containers[0]'),
    c('rule', 'two containers of the same name', { ...wrap({}), containers: [(wrap({}).containers as Json[])[0], { ...(wrap({}).containers as Json[])[0], ports: [] }] }, 'containers[1].name'),
    c('rule', 'more containers than the order\'s units allow (4)', { ...wrap({}), containers: Array.from({ length: 5 }, (_, i) => ({ ...(wrap({}).containers as Json[])[0], name: `c${i}`, ports: [] })) }, 'containers'),
    c('rule', 'more host ports than the order\'s units allow (4)', ports(...[4601, 4602, 4603, 4604, 4605].map((h, i) => ({ containerPort: 80 + i, hostPort: h }))), 'containers[].ports'),
    c('refuse', 'nodeSelector null', { ...wrap({}), nodeSelector: null }, 'nodeSelector'),
    c('refuse', 'a region that is a number', { ...wrap({}), nodeSelector: { region: 5 } }, 'nodeSelector.region'),
    c('accept', 'region "" (the order\'s)', { ...wrap({}), nodeSelector: { region: '' } }),
    c('accept', 'region null (the order\'s)', { ...wrap({}), nodeSelector: { region: null } }),
    c('rule', 'an unknown region', { ...wrap({}), nodeSelector: { region: 'atlantis' } }, 'nodeSelector.region'),
  ];
}

/** `POST /k8s/deploy` and its validate twin. */
export const seedCases: Case[] = [
  c('accept', "the seed's example body", {
    nodeSelector: { region: 'ausrine' },
    containers: [{ name: 'container1', imageName: 'nginx', ports: [{ containerPort: 80, hostPort: 4601 }], resource: { memory: '100Mi' }, command: '/bin/sh\n-c\ntail -f /dev/null', args: '--vm\n1' }],
  }),
  ...sharedCases((container, extra = {}) => seed(container, extra)),
  c('accept', 'memory 4Mi (the least)', seed({ resource: { memory: '4Mi' } })),
  c('accept', 'memory 4Gi (the order\'s 4 units)', seed({ resource: { memory: '4Gi' } })),
  c('accept', 'memory with spaces and a decimal suffix', seed({ resource: { memory: ' 100M ' } })),
  c('refuse', 'memory "lots"', seed({ resource: { memory: 'lots' } }), 'containers[0].resource.memory'),
  c('refuse', 'memory "100 Mi"', seed({ resource: { memory: '100 Mi' } }), 'containers[0].resource.memory'),
  c('refuse', 'memory as a number', seed({ resource: { memory: 100 } }), 'containers[0].resource.memory'),
  c('refuse', 'no resource', seed({ resource: undefined }), 'containers[0].resource'),
  c('refuse', 'no memory', seed({ resource: {} }), 'containers[0].resource.memory'),
  c('rule', 'memory 3Mi (below 4Mi)', seed({ resource: { memory: '3Mi' } }), 'containers[0].resource.memory'),
  c('rule', "memory beyond the order's units", seed({ resource: { memory: '5Gi' } }), 'containers[].resource.memory'),
  c('accept', "no nodeSelector: the order's region", { containers: [seedContainer()] }),
  c('accept', 'protocol in a second port with hostPort 0 as the original seed clients send', seedPorts({ containerPort: 80, hostPort: 4601, protocol: 'TCP' }, { containerPort: 81, hostPort: 0, protocol: '' })),
  c('accept', 'a liveness probe as the README shows it', seedProbe('livenessProbe', { httpGet: { path: '/healthz', port: 80 }, periodSeconds: 5, failureThreshold: 3 })),
];

const clientContainer = (o: Json = {}): Json => ({ name: 'web', imageName: 'nginx:latest', resourceUnit: 1, ports: [{ containerPort: 80, hostPort: 4611, protocol: 'TCP' }], ...o });
const client = (container: Json = {}, extra: Json = {}): Json => ({ containers: [clientContainer(container)], ...extra });

/** `POST /k8s/deployment/update` and its validate twin (the order is deployed, no region of its own). */
export const clientCases: Case[] = [
  c('accept', "DESIGN.md's body of the original clients (string command)", {
    containers: [
      {
        name: 'c1',
        imageName: 'nginx:latest',
        resourceUnit: 1,
        ports: [{ containerPort: 80, hostPort: 4611, protocol: 'TCP' }],
        envs: [{ name: 'K', value: 'V' }],
        command: './start.sh',
        args: '-x',
        configMountPath: '/etc/app',
        config: '<file text>',
        configMap: { '/etc/x.conf': '<file text>' },
        exposedPorts: [{ path: '/api', rewrite: true, containerPort: 80 }],
      },
    ],
    pvtLogin: [{ username: '', password: '' }],
  }),
  c('accept', 'the second generation (list command), as a Go client sends it: nulls, hostPort 0, protocol ""', {
    nodeSelector: { region: '' },
    containers: [{ name: 'c1', imageName: 'nginx:latest', resourceUnit: 1, ports: [{ containerPort: 80, hostPort: 0, protocol: '' }], envs: null, command: ['./start.sh'], args: null, mountPath: '', configMountPath: '', config: '', configMap: null, exposedPorts: null }],
    pvtLogin: null,
  }),
  ...sharedCases((container, extra = {}) => client(container, extra)),
  c('accept', 'resourceUnit 1 (the least)', client({ resourceUnit: 1 })),
  c('accept', 'resourceUnit 4 (the order\'s units)', client({ resourceUnit: 4 })),
  c('accept', 'no resourceUnit (1)', client({ resourceUnit: undefined })),
  c('refuse', 'resourceUnit 0', client({ resourceUnit: 0 }), 'containers[0].resourceUnit'),
  c('refuse', 'resourceUnit 1.5', client({ resourceUnit: 1.5 }), 'containers[0].resourceUnit'),
  c('refuse', 'resourceUnit "1"', client({ resourceUnit: '1' }), 'containers[0].resourceUnit'),
  c('refuse', 'resourceUnit null', client({ resourceUnit: null }), 'containers[0].resourceUnit'),
  c('rule', "resourceUnit beyond the order's units", client({ resourceUnit: 5 }), 'containers[0].resourceUnit'),
  c('rule', "resource units summed beyond the order's", { containers: [clientContainer({ resourceUnit: 3 }), clientContainer({ name: 'db', resourceUnit: 2, ports: [] })] }, 'containers[].resourceUnit'),
];

/** `POST /k8s/deployment` (first deploy): each accepted case gets an order of its own. */
export const firstDeployCases: Case[] = [
  c('accept', "the original clients' body", client({ ports: [{ containerPort: 80, hostPort: 4631, protocol: 'TCP' }] })),
  c('accept', 'hostPort 0 and protocol ""', client({ ports: [{ containerPort: 80, hostPort: 0, protocol: '' }] })),
  c('refuse', 'protocol "udp"', client({ ports: [{ containerPort: 80, protocol: 'udp' }] }), 'containers[0].ports[0].protocol'),
  c('refuse', 'a name of 64 characters', client({ name: 'a'.repeat(64) }), 'containers[0].name'),
  c('refuse', 'resourceUnit 0', client({ resourceUnit: 0 }), 'containers[0].resourceUnit'),
  c('rule', 'a reserved hostPort', client({ ports: [{ containerPort: 80, hostPort: 22 }] }), 'containers[0].ports[0].hostPort'),
];

// ---- the other write bodies ----

const portsCases = (withUserServiceID: boolean): Case[] => [
  c('accept', "the seed's example", { region: 'ausrine', ports: [22, 3306, 1234] }),
  c('accept', 'ports 1 and 65535', { region: 'ausrine', ports: [1, 65535] }),
  c('accept', '1000 ports (the most)', { region: 'ausrine', ports: Array.from({ length: 1000 }, (_, i) => 5000 + i) }),
  c('accept', 'an unknown region (NoResource)', { region: 'atlantis', ports: [80] }),
  ...(withUserServiceID ? [c('accept', 'userServiceID null', { region: 'ausrine', ports: [80], userServiceID: null })] : []),
  c('refuse', '1001 ports', { region: 'ausrine', ports: Array.from({ length: 1001 }, (_, i) => 5000 + i) }, 'ports'),
  c('refuse', 'port 0', { region: 'ausrine', ports: [0] }, 'ports[0]'),
  c('refuse', 'port 65536', { region: 'ausrine', ports: [65536] }, 'ports[0]'),
  c('refuse', 'port "3306"', { region: 'ausrine', ports: ['3306'] }, 'ports[0]'),
  c('refuse', 'port 1.5', { region: 'ausrine', ports: [1.5] }, 'ports[0]'),
  c('refuse', 'ports []', { region: 'ausrine', ports: [] }, ''),
  c('refuse', 'region ""', { region: '', ports: [80] }, ''),
  c('refuse', 'no region', { ports: [80] }, ''),
  c('refuse', 'region as a number', { region: 5, ports: [80] }, 'region'),
  c('refuse', 'ports as a number', { region: 'ausrine', ports: 80 }, 'ports'),
  c('refuse', 'an empty body', {}, ''),
];

export const otherCases: Record<string, Case[]> = {
  'POST /api/v1/k8s/checkports': portsCases(true),
  'POST /api/v1/k8s/ports/state': portsCases(false),
  'POST /api/v1/admin/orders': [
    c('accept', 'duration 1 (the least), nothing else', { duration: 1 }),
    c('accept', 'duration 87600 (ten years)', { duration: 87600, serviceOptions: { region: 'ausrine', resourceUnit: '1000-Unit-Resource', portSpecification: 'System Random Map Port', persistStorage: 'Yes', note: 7 } }),
    c('accept', 'every field, nulls for the optional ones', { duration: 24, serviceID: null, service: 'Container Service', serviceCategoryID: 'x'.repeat(128), provider: 'p'.repeat(256), address: null, recipient: null, amount: 0, amountPaid: null, serviceOptions: null, publicKey: null, email: 'a@example.com' }),
    c('accept', 'resourceUnit 1 written with spaces', { duration: 1, serviceOptions: { resourceUnit: ' 1-Unit-Resource ' } }),
    c('refuse', 'duration 0', { duration: 0 }, 'duration'),
    c('refuse', 'duration 87601', { duration: 87601 }, 'duration'),
    c('refuse', 'duration "24"', { duration: '24' }, 'duration'),
    c('refuse', 'no duration', {}, 'duration'),
    c('refuse', 'resourceUnit 0', { duration: 1, serviceOptions: { resourceUnit: '0-Unit-Resource' } }, 'serviceOptions.resourceUnit'),
    c('refuse', 'resourceUnit 1001', { duration: 1, serviceOptions: { resourceUnit: '1001-Unit-Resource' } }, 'serviceOptions.resourceUnit'),
    c('refuse', 'resourceUnit as a number', { duration: 1, serviceOptions: { resourceUnit: 2 } }, 'serviceOptions.resourceUnit'),
    c('refuse', 'portSpecification "random"', { duration: 1, serviceOptions: { portSpecification: 'random' } }, 'serviceOptions.portSpecification'),
    c('refuse', 'persistStorage "yes"', { duration: 1, serviceOptions: { persistStorage: 'yes' } }, 'serviceOptions.persistStorage'),
    c('refuse', 'an option that is an object', { duration: 1, serviceOptions: { extra: {} } }, 'serviceOptions.extra'),
    c('refuse', 'serviceID of 129 characters', { duration: 1, serviceID: 'x'.repeat(129) }, 'serviceID'),
    c('refuse', 'email of 321 characters', { duration: 1, email: 'x'.repeat(321) }, 'email'),
    c('refuse', 'amount -1', { duration: 1, amount: -1 }, 'amount'),
    c('rule', 'an unknown region', { duration: 1, serviceOptions: { region: 'atlantis' } }, 'serviceOptions.region'),
    c('rule', 'a publicKey that is no Curve25519 key', { duration: 1, publicKey: 'abc' }, 'publicKey'),
  ],
  'POST /api/v1/admin/orders/{id}/renew': [
    c('accept', 'duration 1', { duration: 1 }),
    c('accept', 'duration 87600', { duration: 87600 }),
    c('refuse', 'duration 0', { duration: 0 }, 'duration'),
    c('refuse', 'duration 87601', { duration: 87601 }, 'duration'),
    c('refuse', 'duration null', { duration: null }, 'duration'),
    c('refuse', 'no duration', {}, 'duration'),
  ],
  'POST /api/v1/admin/webhooks': [
    c('accept', 'a URL on loopback (allowed here), a 16-character secret, two events', { url: 'http://127.0.0.1:9/hook', secret: 's'.repeat(16), events: ['order.created', 'pod.crashloop'] }),
    c('accept', 'a 256-character secret, no events', { url: 'HTTP://127.0.0.1:9/hook', secret: 's'.repeat(256) }),
    c('refuse', 'a 15-character secret', { url: 'http://127.0.0.1:9/hook', secret: 's'.repeat(15) }, 'secret'),
    c('refuse', 'a 257-character secret', { url: 'http://127.0.0.1:9/hook', secret: 's'.repeat(257) }, 'secret'),
    c('refuse', 'an ftp URL', { url: 'ftp://127.0.0.1/hook', secret: 's'.repeat(16) }, 'url'),
    c('refuse', 'a URL of 2049 characters', { url: `http://127.0.0.1:9/${'a'.repeat(2049 - 19)}`, secret: 's'.repeat(16) }, 'url'),
    c('refuse', 'an unknown event', { url: 'http://127.0.0.1:9/hook', secret: 's'.repeat(16), events: ['order.sold'] }, 'events[0]'),
    c('refuse', 'events null', { url: 'http://127.0.0.1:9/hook', secret: 's'.repeat(16), events: null }, 'events'),
    c('rule', 'a URL with credentials', { url: 'http://u:p@127.0.0.1:9/hook', secret: 's'.repeat(16) }, 'url'),
    c('rule', 'a private address not allowed here', { url: 'http://10.0.0.1/hook', secret: 's'.repeat(16) }, 'url'),
  ],
  'POST /api/v1/k8s/tokens': [
    c('accept', 'nothing', {}),
    c('accept', 'a name of 100 characters, expiring in 1 hour', { name: 'n'.repeat(100), expiresInHours: 1 }),
    c('accept', 'nulls', { name: null, expiresInHours: null }),
    c('accept', 'expiring in 87600 hours', { expiresInHours: 87600 }),
    c('refuse', 'a name of 101 characters', { name: 'n'.repeat(101) }, 'name'),
    c('refuse', 'expiresInHours 0', { expiresInHours: 0 }, 'expiresInHours'),
    c('refuse', 'expiresInHours 87601', { expiresInHours: 87601 }, 'expiresInHours'),
    c('refuse', 'a name that is a number', { name: 5 }, 'name'),
  ],
  'POST /api/v1/k8s/deployment/rollback': [
    c('accept', 'a generation the history holds', (f: Fixtures) => ({ generation: f.generation })),
    c('refuse', 'generation 0', { generation: 0 }, 'generation'),
    c('refuse', 'generation 2^31 + 1', { generation: 2 ** 31 + 1 }, 'generation'),
    c('refuse', 'generation "1"', { generation: '1' }, 'generation'),
    c('refuse', 'no generation', {}, 'generation'),
  ],
  'PUT /api/v1/k8s/pod/update': [
    c('accept', 'environment with a string, a number and a boolean', { environment: { web: { MODE: 'production', N: 2, ON: true } } }),
    c('accept', 'new config text, environment null', { config: { web: 'a = 2\n' }, environment: null }),
    c('refuse', 'config text that is a number', { config: { web: 5 } }, 'config.web'),
    c('refuse', 'an environment variable name with "="', { environment: { web: { 'A=B': 'x' } } }, 'environment.web["A=B"]'),
    c('refuse', 'environment as a list', { environment: [] }, 'environment'),
    c('rule', 'nothing to update', {}, 'body'),
    c('rule', 'a container the pod does not have', { environment: { nope: { A: '1' } } }, 'environment.nope'),
  ],
  'PATCH /api/v1/k8s/pod/images': [
    c('accept', 'one image with a login', [{ image: 'nginx:1.27', login: { username: 'u', password: 'p' } }]),
    c('accept', 'one image, login null', [{ image: 'nginx:latest', login: null }]),
    c('refuse', '[]', [], 'body'),
    c('refuse', 'an object', { image: 'nginx' }, 'body'),
    c('refuse', 'an image of ""', [{ image: '' }], '[0].image'),
    c('refuse', 'a login password that is a number', [{ image: 'nginx', login: { username: 'u', password: 1 } }], '[0].login.password'),
    c('rule', 'an image that is no reference', [{ image: 'Nginx:::x' }], '[0].image'),
    c('rule', 'more images than containers', [{ image: 'nginx' }, { image: 'nginx' }], 'body'),
  ],
  'POST /api/v1/k8s/pod/ingress': [
    c('accept', 'a domain and a port', (f: Fixtures) => ({ domain: f.domain(), containerPort: 80 })),
    c('accept', 'a domain in capitals with a trailing dot, no port (the only one), isEncryByself false', (f: Fixtures) => ({ domain: `${f.domain().toUpperCase()}.`, isLetsencrypt: false, isEncryByself: false })),
    c('refuse', 'a domain that is no name', { domain: 'not a domain', containerPort: 80 }, 'domain'),
    c('refuse', 'a domain of one label', { domain: 'localhost', containerPort: 80 }, 'domain'),
    c('refuse', 'containerPort 0', { domain: 'zero.example.com', containerPort: 0 }, 'containerPort'),
    c('refuse', 'isEncryByself true', { domain: 'own.example.com', containerPort: 80, isEncryByself: true }, 'isEncryByself'),
    c('refuse', 'isLetsencrypt "yes"', { domain: 'le.example.com', containerPort: 80, isLetsencrypt: 'yes' }, 'isLetsencrypt'),
    c('rule', "a port that is not one of the pod's TCP ports", { domain: 'other.example.com', containerPort: 81 }, 'containerPort'),
  ],
  'PATCH /api/v1/k8s/pod/ingress': [
    c('accept', 'Add a domain', (f: Fixtures) => ({ action: 'Add', domains: [f.domain()] })),
    c('accept', 'Del a domain', { action: 'Del', domains: ['gone.example.com'] }),
    c('refuse', 'action "add"', { action: 'add', domains: ['a.example.com'] }, 'action'),
    c('refuse', 'domains []', { action: 'Add', domains: [] }, 'domains'),
    c('refuse', 'a domain that is no name', { action: 'Add', domains: ['x y'] }, 'domains[0]'),
  ],
  'POST /api/v1/k8s/deployment/metadata/annotation': [
    c('accept', 'a description of 1024 characters', { description: 'd'.repeat(1024) }),
    c('accept', 'an empty description', { description: '' }),
    c('refuse', 'a description of 1025 characters', { description: 'd'.repeat(1025) }, 'description'),
    c('refuse', 'no description', {}, 'description'),
  ],
  'POST /api/v1/k8s/deployment/metadata/label': [
    c('accept', 'a label of 63 characters', { customizedLabel: 'l'.repeat(63) }),
    c('accept', 'an empty label', { customizedLabel: '' }),
    c('refuse', 'a label of 64 characters', { customizedLabel: 'l'.repeat(64) }, 'customizedLabel'),
    c('refuse', 'a label ending with "-"', { customizedLabel: 'shop-' }, 'customizedLabel'),
    c('refuse', 'a label that is a number', { customizedLabel: 5 }, 'customizedLabel'),
  ],
  'POST /api/v1/k8s/pod/exec': [
    c('accept', 'a command, a container, stdin, timeoutSeconds 1', { command: ['sh', '-c', 'true'], container: 'web', stdin: '', timeoutSeconds: 1 }),
    c('accept', 'a command of 1024 arguments', { command: Array.from({ length: 1024 }, () => 'x') }),
    c('refuse', 'a command of 1025 arguments', { command: Array.from({ length: 1025 }, () => 'x') }, 'command'),
    c('refuse', 'command []', { command: [] }, 'command'),
    c('refuse', 'command as a string', { command: 'ls' }, 'command'),
    c('refuse', 'an argument with a NUL', { command: ['echo', 'a\u0000b'] }, 'command[1]'),
    c('refuse', 'timeoutSeconds 0', { command: ['true'], timeoutSeconds: 0 }, 'timeoutSeconds'),
    c('refuse', 'timeoutSeconds "5"', { command: ['true'], timeoutSeconds: '5' }, 'timeoutSeconds'),
    c('rule', 'an argument list naming no program', { command: [''] }, 'command[0]'),
    c('rule', 'timeoutSeconds beyond VKUBE_EXEC_MAX_TIMEOUT_SECONDS (300)', { command: ['true'], timeoutSeconds: 301 }, 'timeoutSeconds'),
  ],
  'POST /api/v1/contact/userServiceContact/bind/sendCode': contactCases(),
  'POST /api/v1/contact/addressContact/bind/sendCode': contactCases(),
  'POST /api/v1/contact/userServiceContact/bind/verifyCode': verifyCases(),
  'POST /api/v1/contact/addressContact/bind/verifyCode': verifyCases(),
};

function contactCases(): Case[] {
  return [
    c('accept', 'an e-mail address', { type: 'email', contact: 'owner@example.com' }),
    c('accept', 'an address of 254 characters', { type: 'email', contact: `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com` }),
    c('refuse', 'an address of 255 characters', { type: 'email', contact: `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(58)}.com` }, 'contact'),
    c('refuse', 'type "sms"', { type: 'sms', contact: 'owner@example.com' }, 'type'),
    c('refuse', 'an address with a display name', { type: 'email', contact: 'Owner <owner@example.com>' }, 'contact'),
    c('refuse', 'an address without a domain dot', { type: 'email', contact: 'owner@localhost' }, 'contact'),
  ];
}

function verifyCases(): Case[] {
  return [
    c('accept', 'a 6-digit code', { type: 'email', contact: 'owner@example.com', code: '000123' }),
    c('accept', 'the code as a number', { type: 'email', contact: 'owner@example.com', code: 123 }),
    c('refuse', 'a 5-digit code', { type: 'email', contact: 'owner@example.com', code: '12345' }, 'code'),
    c('refuse', 'a code with letters', { type: 'email', contact: 'owner@example.com', code: '12ab56' }, 'code'),
    c('refuse', 'a code of 1000000', { type: 'email', contact: 'owner@example.com', code: 1000000 }, 'code'),
    c('refuse', 'no contact', { type: 'email', code: '123456' }, 'contact'),
  ];
}
