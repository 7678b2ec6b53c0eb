/** Random deploy bodies for property tests: mostly well-formed, now and then wrong in any field. */
import fc from 'fast-check';

// Values that are sometimes right and now and then wrong, in every type a JSON body can hold.
const junk = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.double(), fc.string(), fc.array(fc.integer(), { maxLength: 3 }), fc.object({ maxDepth: 1 }));
const mostly = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: junk });
/** An optional field: often absent, usually right when present. */
const maybe = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 10, arbitrary: fc.constant(undefined) }, { weight: 8, arbitrary: valid }, { weight: 1, arbitrary: junk });
const hostPort = mostly(fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1024, max: 29999 }) }, { weight: 1, arbitrary: fc.constantFrom(22, 10250, 30080, 0, -1, 65536, 80.5, '8080') }));
const containerPort = mostly(fc.oneof({ weight: 8, arbitrary: fc.constantFrom(80, 443, 8080, 5432, 9000) }, { weight: 1, arbitrary: fc.constantFrom(0, 70000, 1.5, '80') }));
const name = mostly(fc.oneof({ weight: 6, arbitrary: fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/) }, { weight: 1, arbitrary: fc.constantFrom('c1', 'Bad_Name', '') }));
const image = mostly(fc.oneof({ weight: 8, arbitrary: fc.constantFrom('nginx', 'nginx:1.27', 'user/app:tag', 'ghcr.io/o/app', `ghcr.io/o/app@sha256:${'a'.repeat(64)}`, 'localhost:5000/x/y:v1') }, { weight: 1, arbitrary: fc.constantFrom('Nope:::', '', 'a b') }));
const memory = mostly(fc.oneof({ weight: 6, arbitrary: fc.constantFrom('100Mi', '256Mi', '512Mi', '1Gi') }, { weight: 1, arbitrary: fc.constantFrom('2Gi', '3Gi', '4Mi', '1Mi', '1.5Gi', '1000M', 'lots') }));
const argv = maybe(fc.oneof(fc.string({ maxLength: 20 }), fc.array(fc.string({ maxLength: 10 }), { maxLength: 4 })));
const portSpec = fc.record({
  containerPort,
  hostPort: maybe(hostPort),
  protocol: maybe(fc.oneof({ weight: 6, arbitrary: fc.constantFrom('TCP', 'UDP', 'udp') }, { weight: 1, arbitrary: fc.constantFrom('SCTP', '') })),
});

// Probes: rare enough that bodies stay mostly acceptable (a container has three of
// them), usually one handler with bounded timing; now and then none, two, or a value
// out of bounds, so refusals are exercised too.
const rarely = <T>(valid: fc.Arbitrary<T>, wrong: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 40, arbitrary: fc.constant(undefined) }, { weight: 12, arbitrary: valid }, { weight: 1, arbitrary: wrong });
const probeSeconds = (min: number, max: number) => rarely(fc.integer({ min, max }), fc.constantFrom(min - 1, max + 1, 1.5, '5'));
const probePort = fc.constantFrom(80, 443, 8080, 5432, 9000);
const probeHandler = fc.oneof(
  { weight: 10, arbitrary: fc.record({ httpGet: fc.record({ path: rarely(fc.constantFrom('/', '/healthz', '/a?b=c'), fc.constantFrom('no-slash', '/a b')), port: probePort, scheme: rarely(fc.constantFrom('HTTP', 'HTTPS', 'https'), fc.constant('FTP')) }) }) },
  { weight: 10, arbitrary: fc.record({ tcpSocket: fc.record({ port: probePort }) }) },
  { weight: 10, arbitrary: fc.record({ exec: fc.record({ command: fc.oneof(fc.array(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 3 }), fc.constant('sh\n-c\ntrue')) }) }) },
  { weight: 1, arbitrary: fc.constantFrom({}, { tcpSocket: { port: 80 }, exec: { command: ['true'] } }, { httpGet: { port: 0 } }, { exec: { command: [] } }) },
);
const probe = fc
  .tuple(
    probeHandler,
    fc.record({
      initialDelaySeconds: probeSeconds(0, 3600),
      periodSeconds: probeSeconds(1, 300),
      timeoutSeconds: probeSeconds(1, 60),
      failureThreshold: probeSeconds(1, 100),
      successThreshold: probeSeconds(1, 10),
    }),
  )
  .map(([handler, timing]) => ({ ...handler, ...timing }));
const maybeProbe = rarely(probe, junk);

const container = fc.record({
  name,
  imageName: image,
  ports: maybe(fc.array(portSpec, { maxLength: 3 })),
  resource: mostly(fc.record({ memory })),
  resourceUnit: maybe(fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 2 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 5, 1.5) })),
  command: argv,
  args: argv,
  envs: maybe(fc.array(fc.record({ name: mostly(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,8}$/)), value: mostly(fc.string({ maxLength: 10 })) }), { maxLength: 3 })),
  mountPath: maybe(fc.oneof({ weight: 4, arbitrary: fc.constant('/data') }, { weight: 1, arbitrary: fc.constantFrom('/', '/a/../b', 'relative') })),
  configMountPath: maybe(fc.constantFrom('/etc/app.conf', '/etc/x')),
  config: maybe(fc.string({ maxLength: 40 })),
  configMap: maybe(fc.dictionary(fc.oneof({ weight: 4, arbitrary: fc.constantFrom('/etc/a', '/etc/b') }, { weight: 1, arbitrary: fc.constantFrom('rel', '/') }), fc.string({ maxLength: 20 }), { maxKeys: 2 })),
  exposedPorts: maybe(fc.array(fc.record({ path: mostly(fc.constantFrom('/', '/api', 'x')), rewrite: maybe(fc.boolean()), containerPort }), { maxLength: 2 })),
  startupProbe: maybeProbe,
  readinessProbe: maybeProbe,
  livenessProbe: maybeProbe,
});

export const deployBody = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record(
      {
        nodeSelector: mostly(fc.record({ region: mostly(fc.oneof({ weight: 8, arbitrary: fc.constantFrom('ausrine', 'giltine') }, { weight: 1, arbitrary: fc.constant('atlantis') })) })),
        containers: mostly(fc.array(container, { minLength: 1, maxLength: 3 })),
        pvtLogin: maybe(fc.array(fc.record({ username: fc.string({ maxLength: 8 }), password: fc.string({ maxLength: 8 }) }), { maxLength: 3 })),
      },
      { requiredKeys: ['nodeSelector', 'containers'] },
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue() },
);

