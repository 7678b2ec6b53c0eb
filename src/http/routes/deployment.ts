/**
 * The deployment: deploy and check a body (the seed's `/k8s/deploy`, the original
 * clients' `/k8s/deployment`), what is deployed, its description and label, and its
 * history with rollback. All behind the order's secret.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Authenticator } from '../../domain/authenticator.js';
import type { DeployHistoryService } from '../../domain/deploy-history.js';
import type { DeployService } from '../../domain/deploy.js';
import { DEPLOY_HISTORY_KEPT } from '../../domain/records.js';
import type { WorkloadUpdateService } from '../../domain/workload-updates.js';
import type { FieldProblem } from '../../kernel/errors.js';
import { NotFoundError } from '../../kernel/errors.js';
import { SecretHeader, orderOf, tenantOnly } from '../auth.js';
import type { ClientLimiter } from '../client-limiter.js';
import { AnyObject, Ok, clientsDoc as doc } from '../clients-api.js';
import { deploymentInfoView } from '../order-views.js';
import { withSchemaProblems } from '../body-contract.js';
import { AnnotationBody, LabelBody } from '../body-schemas.js';
import { ClientDeployBody, DeployResult, DeployValidation, SeedDeployBody, errorResponses, validatedByDomain } from '../schemas.js';

export interface DeploymentRouteDeps {
  auth: Authenticator;
  limiter: ClientLimiter;
  deploys: DeployService;
  updates: WorkloadUpdateService;
  deployHistory: DeployHistoryService;
}

const Port = Type.Object({ containerPort: Type.Integer(), hostPort: Type.Optional(Type.Integer()), protocol: Type.String() });

const DeployHistory = Type.Object(
  {
    kept: Type.Integer({ description: 'how many past specs an order keeps' }),
    entries: Type.Array(
      Type.Object({
        generation: Type.Integer({ description: 'the generation the deploy recorded (what its answer said); roll back with it' }),
        createdAt: Type.Integer({ description: 'unix seconds' }),
        time: Type.String({ format: 'date-time' }),
        region: Type.String(),
        current: Type.Boolean({ description: 'the spec deployed now' }),
        containers: Type.Array(Type.Object({ name: Type.String(), image: Type.String(), ports: Type.Array(Port), memoryBytes: Type.Integer() })),
        summary: Type.String({ description: 'one line: each container with its image and ports, e.g. "web: nginx:1.27, 80→41234/TCP"' }),
      }),
      { description: 'newest first' },
    ),
  },
  { $id: 'DeployHistory' },
);

const RollbackBody = Type.Object({ generation: Type.Integer({ minimum: 1, maximum: 2 ** 31, description: 'a generation GET /k8s/deployment/history lists' }) }, { $id: 'RollbackBody' });
const RollbackResult = Type.Object({ ...DeployResult.properties, rolledBackTo: Type.Integer({ description: 'the generation whose spec was deployed again' }) });

export const deploymentRoutes: FastifyPluginAsyncTypebox<DeploymentRouteDeps> = async (app, deps) => {
  tenantOnly(app, deps.auth, deps.limiter);

  // The seed's deploy.
  app.post(
    '/k8s/deploy',
    {
      schema: {
        summary: 'Deploy (or replace) the pod',
        description:
          'Validates every field, checks images and host ports, records the spec and leases the host ports in one transaction, then applies it. ' +
          'Deploying again replaces the pod. 409 names the host ports already taken; 403 when the order has expired or was aborted.',
        tags: ['seed'],
        headers: SecretHeader,
        body: SeedDeployBody,
        response: { 200: DeployResult, ...errorResponses(400, 401, 403, 409, 503) },
      },
      config: { bodyContract: { words: (request) => deps.deploys.validate(orderOf(request), request.body, 'seed') } },
      ...validatedByDomain,
    },
    async (request) => deps.deploys.deploy(orderOf(request), request.body, 'deploy'),
  );

  app.post(
    '/k8s/deploy/validate',
    {
      schema: {
        summary: 'Check a deploy body without deploying',
        description:
          'Checks the body as POST /k8s/deploy would — every field, the order\'s limits, reserved ports and the host ports other orders hold — ' +
          'and answers every problem found at once, each with the path of its field. Nothing is changed. Images are checked by GET /k8s/images.',
        tags: ['seed'],
        headers: SecretHeader,
        body: SeedDeployBody,
        response: { 200: DeployValidation, ...errorResponses(401, 503) },
      },
      config: { bodyContract: { report: true } },
      ...validatedByDomain,
    },
    async (request) => validation(withSchemaProblems(await deps.deploys.validate(orderOf(request), request.body, 'seed'), request)),
  );

  // The original clients' deploy, in their body shape.
  for (const [path, mode, summary] of [
    ['/k8s/deployment', 'first', 'First deploy (the service must be ServicePending)'],
    ['/k8s/deployment/update', 'update', 'Change the deployed service'],
  ] as const) {
    const config = { bodyContract: { words: (request: FastifyRequest) => deps.deploys.validate(orderOf(request), request.body, 'clients') } };
    app.post(path, { ...doc(summary, { body: ClientDeployBody, response: { 200: DeployResult, ...errorResponses(400, 401, 403, 409, 503) } }), config, ...validatedByDomain }, async (request) =>
      deps.deploys.deploy(orderOf(request), request.body, mode),
    );
  }

  app.post(
    '/k8s/deployment/validate',
    {
      ...doc('Check a deploy body without deploying', {
        description:
          'Checks the body as POST /k8s/deployment and /k8s/deployment/update would and answers every problem found at once, each with the path of its field. Nothing is changed.',
        body: ClientDeployBody,
        response: { 200: DeployValidation, ...errorResponses(401, 503) },
      }),
      config: { bodyContract: { report: true } },
      ...validatedByDomain,
    },
    async (request) => validation(withSchemaProblems(await deps.deploys.validate(orderOf(request), request.body, 'clients'), request)),
  );

  app.get('/k8s/deployment/info', doc('The deployed configuration, in the deploy body shape', { response: { 200: AnyObject, ...errorResponses(401, 404) } }), async (request) => {
    const order = orderOf(request);
    const spec = deps.deploys.currentSpec(order);
    if (!spec) throw new NotFoundError('nothing is deployed for this order yet');
    return deploymentInfoView(spec, order);
  });

  app.post(
    '/k8s/deployment/metadata/annotation',
    { ...doc('Describe the service (an annotation on its Deployment)', { body: AnnotationBody, response: { 200: Ok, ...errorResponses(400, 401, 403) } }), ...validatedByDomain },
    async (request) => {
      const order = await deps.updates.setDescription(orderOf(request), request.body);
      return { status: 'OK', description: order.description };
    },
  );
  app.post(
    '/k8s/deployment/metadata/label',
    { ...doc('Label the service (a label on its Deployment)', { body: LabelBody, response: { 200: Ok, ...errorResponses(400, 401, 403) } }), ...validatedByDomain },
    async (request) => {
      const order = await deps.updates.setLabel(orderOf(request), request.body);
      return { status: 'OK', customizedLabel: order.customLabel };
    },
  );

  // What was deployed before, and going back to it.
  app.get(
    '/k8s/deployment/history',
    {
      schema: {
        summary: 'The specs this order was deployed with, newest first',
        description: `Every deploy, update, image or config change records the whole spec with the generation it got; the last ${DEPLOY_HISTORY_KEPT} are kept. Registry passwords are never shown.`,
        tags: ['tenant'],
        headers: SecretHeader,
        response: { 200: DeployHistory, ...errorResponses(401, 503) },
      },
    },
    async (request) => deps.deployHistory.list(orderOf(request)),
  );

  app.post(
    '/k8s/deployment/rollback',
    {
      schema: {
        summary: 'Deploy a past spec again',
        description:
          'Deploys the spec of that generation (with its registry credentials) through the same path and checks as a deploy: region, units, reserved ports, images in their registry, host ports free now. ' +
          'It becomes the newest entry of the history. 404 names a generation the history does not hold.',
        tags: ['tenant'],
        headers: SecretHeader,
        body: RollbackBody,
        response: { 200: RollbackResult, ...errorResponses(400, 401, 403, 404, 409, 503) },
      },
      ...validatedByDomain,
    },
    async (request) => deps.deployHistory.rollback(orderOf(request), request.body),
  );
};

/** The validate routes' answer. */
export function validation(problems: FieldProblem[]): { valid: boolean; problems: FieldProblem[] } {
  return { valid: problems.length === 0, problems };
}
