/**
 * One contract per request body: the schema a route publishes (in /openapi.json, and so
 * in the SDK) is the validator of its body. Nothing else decides whether a body is well
 * formed.
 *
 * Why the schema validates, and not a parser that generates the schema: the domain's
 * parsers (deploy-spec.ts, orders.ts, …) also apply rules no JSON Schema can say — a
 * region the cluster has, names unique in the pod, units summed over containers, reserved
 * ports, a host port another order holds — and they need the order to do it. So the
 * split is: the published schema decides the shape (types, enums and their casing,
 * bounds, lengths, patterns) of every body, after authentication, before any handler
 * runs; the domain applies what only it can, on bodies the schema accepted. A body the
 * schema refuses is refused whatever the domain would say, so the server can never
 * accept what the document forbids. The other direction (the domain refusing for shape
 * what the schema allows) is held by test/contract/bodies.test.ts.
 *
 * The words of a refusal: where a route has a pure domain check (`bodyContract.words`:
 * the deploy bodies' validate, checkports' parser), its problems name every mistake the
 * way the rest of the API does, context rules included; else the schema's errors,
 * turned into the same FieldProblems (`containers[0].ports[1].hostPort: …`).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { type FieldProblem, InputError } from '../kernel/errors.js';
import { Endpoint, ErrorEnvelope, ProbeBody } from './schemas.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** What the published schema refuses in the body (set for `bodyContract.report` routes). */
    bodyProblems?: readonly FieldProblem[];
  }
  interface FastifyContextConfig {
    /** How a body the published schema refuses is answered (body-contract.ts). */
    bodyContract?: {
      /** The domain's own check of the body, without side effects, to word the problems. */
      words?: (request: FastifyRequest) => readonly FieldProblem[] | Promise<readonly FieldProblem[]>;
      /** The route answers the problems itself (`request.bodyProblems`): the validate routes. */
      report?: true;
    };
  }
}

type JsonSchema = Record<string, unknown>;

// ajv-formats is CommonJS: its default export arrives as the module object under NodeNext.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

/**
 * Strict reading: no type coercion ("80" is not 80), no defaults filled in, nothing
 * removed; every error, so every field is named. Unknown properties stay allowed (the
 * README: unknown fields are ignored).
 */
function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: false, coerceTypes: false, useDefaults: false, removeAdditional: false });
  addFormats(ajv);
  // The components routes refer to by $ref (openapi.ts registers the same ones).
  for (const shared of [ErrorEnvelope, ProbeBody, Endpoint]) ajv.addSchema(shared as object);
  return ajv;
}

const ajv = newAjv();
const compiled = new WeakMap<object, ValidateFunction>();

/** The body's problems under `schema`, named as the domain names them; [] when it conforms. */
export function schemaProblems(schema: JsonSchema, body: unknown): FieldProblem[] {
  let validate = compiled.get(schema);
  if (!validate) {
    // A schema object carrying an $id would be registered twice by a second compile: strip it.
    const { $id: _id, ...rest } = schema;
    validate = ajv.compile(rest);
    compiled.set(schema, validate);
  }
  // An empty body reads as no fields at all, where the schema is an object.
  const value = body === undefined && schema.type === 'object' ? {} : body;
  if (validate(value)) return [];
  return problemsOf(validate.errors ?? []);
}

/** The request body's problems under its route's published schema. */
export function requestBodyProblems(request: FastifyRequest): FieldProblem[] {
  const schema = request.routeOptions.schema?.body as JsonSchema | undefined;
  return schema ? schemaProblems(schema, request.body) : [];
}

/**
 * The verdict of the schema and the domain together, worded by the domain where it saw
 * something: the validate routes' answer.
 */
export function withSchemaProblems(domain: readonly FieldProblem[], request: FastifyRequest): FieldProblem[] {
  const schema = request.bodyProblems ?? [];
  // A host port another order holds says nothing of the body's shape: the schema's words stand beside it.
  if (!schema.length || domain.some((p) => !p.conflict)) return [...domain];
  return [...schema, ...domain];
}

/** Puts every route that declares a body behind its schema (see the top of this file). */
export function installBodyContract(app: FastifyInstance): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const schema = route.schema?.body as JsonSchema | undefined;
    if (!schema) return;
    // Fastify's own validation would coerce types and read the body before authentication: the contract does it instead.
    route.validatorCompiler ??= () => (data: unknown) => ({ value: data });
    const check = async (request: FastifyRequest): Promise<void> => {
      const problems = requestBodyProblems(request);
      if (!problems.length) return;
      const how = request.routeOptions.config?.bodyContract;
      if (how?.report) {
        request.bodyProblems = problems;
        return;
      }
      // A host port another order holds is not a word about the body's shape; a domain that
      // cannot look now (the cluster unreachable) leaves the words to the schema: bad input stays a 400.
      const words = (how?.words ? await Promise.resolve().then(() => how.words!(request)).catch(() => []) : []).filter((p) => !p.conflict);
      throw InputError.several(words.length ? words : problems);
    };
    // Route-level preHandlers run after the plugin's: the caller is authenticated first (401 before 400).
    const existing = route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler];
    route.preHandler = [...existing, check] as RouteOptions['preHandler'];
  });
}

/** The domain's pure check as words: its InputError's problems, or none. */
export function wordsOf(check: () => unknown): FieldProblem[] {
  try {
    check();
    return [];
  } catch (err) {
    if (err instanceof InputError) return [...err.problems];
    throw err;
  }
}

// ---- Ajv's errors as FieldProblems ----

/** `/containers/0/name` → `containers[0].name` */
function fieldOf(instancePath: string, child?: string): string {
  const parts = instancePath.split('/').filter(Boolean).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) parts.push(child);
  return parts.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : !/^[A-Za-z_$][\w$-]*$/.test(p) ? `[${JSON.stringify(p)}]` : i === 0 ? p : `.${p}`)).join('');
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** What a schema stands for, in a message: `an integer from 1 to 65535`, `"TCP"`, `null`. */
function described(schema: JsonSchema): string {
  if (typeof schema.$ref === 'string') return `a ${schema.$ref} object`;
  if ('const' in schema) return shown(schema.const);
  if (Array.isArray(schema.enum)) return schema.enum.map(shown).join(' or ');
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as JsonSchema[]).map(described).join(' or ');
  switch (schema.type) {
    case 'integer':
      return typeof schema.minimum === 'number' && typeof schema.maximum === 'number' ? `an integer from ${schema.minimum} to ${schema.maximum}` : 'an integer';
    case 'number':
      return 'a number';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object':
      return 'an object';
    case 'null':
      return 'null';
    default:
      return 'a value of another kind';
  }
}

function messageOf(e: ErrorObject): string {
  const schema = (e.parentSchema ?? {}) as JsonSchema;
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return 'required';
    case 'type':
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `must be ${described(schema)}, not ${shown(e.data)}`;
    case 'const':
    case 'enum':
    case 'anyOf':
    case 'oneOf':
      return `must be ${described(schema)}, not ${shown(e.data)}`;
    case 'minLength':
      return params.limit === 1 ? 'must not be empty' : `must be at least ${String(params.limit)} characters long`;
    case 'maxLength':
      return `must be at most ${String(params.limit)} characters long`;
    case 'pattern':
      return `${shown(e.data)} is refused: ${typeof schema.description === 'string' ? schema.description : `it must match ${String(params.pattern)}`}`;
    case 'minItems':
      return `must hold at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}`;
    case 'maxItems':
      return `must hold at most ${String(params.limit)} items`;
    case 'minProperties':
      return `must hold at least ${String(params.limit)} entr${params.limit === 1 ? 'y' : 'ies'}`;
    case 'maxProperties':
      return `must hold at most ${String(params.limit)} entries`;
    default:
      return e.message ?? 'invalid';
  }
}

/** Errors that only say the value is of another kind than one branch of a union takes. */
const KIND_MISMATCH = new Set(['type', 'const', 'enum', 'anyOf', 'oneOf', '$ref']);

/**
 * One problem per field, in the schema's order. A union's branches each fail on their
 * own (Ajv reports them just before the union's own error, "$ref"d ones included): when
 * some branch took the value's kind and failed on a rule (a bound, a pattern, something
 * inside), that branch's errors say what is wrong; else the union's own error does
 * ("must be a string or a list").
 */
function problemsOf(errors: readonly ErrorObject[]): FieldProblem[] {
  const dropped = new Set<ErrorObject>();
  errors.forEach((union, k) => {
    if (union.keyword !== 'anyOf' && union.keyword !== 'oneOf') return;
    const under = (e: ErrorObject) => e.instancePath === union.instancePath || e.instancePath.startsWith(`${union.instancePath}/`);
    let first = k;
    while (first > 0 && under(errors[first - 1]!)) first--;
    const branches = errors.slice(first, k).filter((e) => !dropped.has(e));
    const telling = branches.filter((e) => e.instancePath !== union.instancePath || !KIND_MISMATCH.has(e.keyword));
    if (telling.length) {
      dropped.add(union);
      for (const e of branches) if (!telling.includes(e)) dropped.add(e);
    } else {
      for (const e of branches) dropped.add(e);
    }
  });
  const byField = new Map<string, FieldProblem>();
  for (const e of errors) {
    if (dropped.has(e)) continue;
    // A refused key of a map (propertyNames) is named like the entry: configMap["etc/x"].
    const key = (e as { propertyName?: string }).propertyName ?? (e.keyword === 'propertyNames' ? String((e.params as { propertyName: string }).propertyName) : undefined);
    const field =
      e.keyword === 'required' ? fieldOf(e.instancePath, String((e.params as { missingProperty: string }).missingProperty)) : key !== undefined ? fieldOf(e.instancePath, key) : fieldOf(e.instancePath);
    if (!byField.has(field)) byField.set(field, { field: field || 'body', message: messageOf(e) });
  }
  return [...byField.values()];
}
