/**
 * Routes a FhirRequest to its interaction (http.html#summary): the URL shape and method select one row of the
 * table below; the registry decides whether the type offers it. Unknown types are 404, known paths with a
 * method they do not take are 405.
 */
import type { FhirRequest, FhirResponse } from './fhir-request';
import type { FhirContext } from './fhir-context';
import type { SystemInteraction, TypeInteraction } from './registry';
import { read, vread } from './interactions/read';
import { conditionalDelete, conditionalPatch, conditionalUpdate, create, patch, remove, update } from './interactions/write';
import { history } from './interactions/history';
import { capabilities } from './interactions/capabilities';
import { search } from './interactions/search';
import { processBundle } from './bundles/process-bundle';
import { FhirError } from '../errors';
import type { AccessInteraction } from '../access/access-policy';
import { definedFor, operationParameters, type OperationTarget } from './operations/operation';

/** The URL shapes of the RESTful API, after the base. */
type Shape =
  | 'system'
  | 'system-search'
  | 'metadata'
  | 'system-history'
  | 'type'
  | 'type-search'
  | 'type-history'
  | 'instance'
  | 'instance-history'
  | 'compartment'
  | 'version';

interface Route {
  readonly shape: Shape;
  readonly method: FhirRequest['method'];
  readonly interaction: TypeInteraction | SystemInteraction | 'capabilities';
  /** `third` is the version id of a vread or the resource type of a compartment search. */
  readonly handle: (request: FhirRequest, context: FhirContext, type: string, id: string, third: string) => Promise<FhirResponse> | FhirResponse;
}

const ROUTES: readonly Route[] = [
  { shape: 'metadata', method: 'GET', interaction: 'capabilities', handle: (_r, c) => capabilities(c) },
  { shape: 'system', method: 'GET', interaction: 'search-system', handle: (r, c) => search(r, c) },
  { shape: 'system', method: 'POST', interaction: 'batch', handle: (r, c) => processBundle(r, c) },
  { shape: 'system-search', method: 'POST', interaction: 'search-system', handle: (r, c) => search(r, c) },
  { shape: 'system-history', method: 'GET', interaction: 'history-system', handle: (r, c) => history(r, c) },
  { shape: 'type', method: 'GET', interaction: 'search-type', handle: (r, c, t) => search(r, c, t) },
  { shape: 'type', method: 'POST', interaction: 'create', handle: (r, c, t) => create(r, c, t) },
  { shape: 'type-search', method: 'POST', interaction: 'search-type', handle: (r, c, t) => search(r, c, t) },
  { shape: 'type', method: 'PUT', interaction: 'update', handle: (r, c, t) => conditionalUpdate(r, c, t) },
  { shape: 'type', method: 'PATCH', interaction: 'patch', handle: (r, c, t) => conditionalPatch(r, c, t) },
  { shape: 'type', method: 'DELETE', interaction: 'delete', handle: (r, c, t) => conditionalDelete(r, c, t) },
  { shape: 'type-history', method: 'GET', interaction: 'history-type', handle: (r, c, t) => history(r, c, t) },
  { shape: 'instance', method: 'GET', interaction: 'read', handle: (r, c, t, i) => read(r, c, t, i) },
  { shape: 'instance', method: 'PUT', interaction: 'update', handle: (r, c, t, i) => update(r, c, t, i) },
  { shape: 'instance', method: 'PATCH', interaction: 'patch', handle: (r, c, t, i) => patch(r, c, t, i) },
  { shape: 'instance', method: 'DELETE', interaction: 'delete', handle: (r, c, t, i) => remove(r, c, t, i) },
  { shape: 'instance-history', method: 'GET', interaction: 'history-instance', handle: (r, c, t, i) => history(r, c, t, i) },
  { shape: 'compartment', method: 'GET', interaction: 'search-type', handle: (r, c, t, i, member) => search(r, c, member, { type: t, id: i }) },
  { shape: 'version', method: 'GET', interaction: 'vread', handle: (r, c, t, i, v) => vread(r, c, t, i, v) },
];

function shapeOf(path: readonly string[]): Shape | undefined {
  const [first, second, third, fourth] = path;
  switch (path.length) {
    case 0:
      return 'system';
    case 1:
      return first === 'metadata' ? 'metadata' : first === '_history' ? 'system-history' : first === '_search' ? 'system-search' : 'type';
    case 2:
      return second === '_history' ? 'type-history' : second === '_search' ? 'type-search' : 'instance';
    case 3:
      return third === '_history' ? 'instance-history' : 'compartment';
    case 4:
      return third === '_history' && fourth !== undefined ? 'version' : undefined;
    default:
      return undefined;
  }
}

/** `$name` as the last path segment: at system, type or instance level (operations.html#invoking). */
function operationOf(path: readonly string[]): { name: string; target: OperationTarget } | undefined {
  const last = path[path.length - 1];
  if (!last?.startsWith('$') || path.length > 3) return undefined;
  const [resourceType, id] = path;
  return { name: last.slice(1), target: { ...(path.length > 1 ? { resourceType } : {}), ...(path.length > 2 ? { id } : {}) } };
}

async function invokeOperation(request: FhirRequest, context: FhirContext, name: string, target: OperationTarget): Promise<FhirResponse> {
  if (target.resourceType !== undefined && !context.registry.types.has(target.resourceType)) {
    throw new FhirError('not-found', `Unknown resource type '${target.resourceType.slice(0, 80)}'`);
  }
  const operation = context.registry.operations.get(name);
  if (!operation || !definedFor(operation, target)) {
    const where = target.resourceType === undefined ? 'on the base' : target.id === undefined ? `on ${target.resourceType}` : `on a ${target.resourceType}`;
    throw new FhirError('not-found', `The operation $${name.slice(0, 80)} is not offered ${where}`);
  }
  if (request.method !== 'GET' && request.method !== 'HEAD' && request.method !== 'POST') {
    throw new FhirError('method-not-allowed', `$${name} is invoked with GET or POST, not ${request.method}`);
  }
  return operation.run(request, context, target, operationParameters(request, operation));
}

/** Runs one request through the FHIR layer; errors surface as FhirError. */
export async function handleFhirRequest(request: FhirRequest, context: FhirContext): Promise<FhirResponse> {
  const invoked = operationOf(request.path);
  if (invoked) return invokeOperation(request, context, invoked.name, invoked.target);
  const shape = shapeOf(request.path);
  if (!shape) throw new FhirError('not-found', `No FHIR endpoint at /${request.path.join('/')}`);
  const [type = '', id = '', third = '', fourth = ''] = request.path;
  const typed = shape !== 'system' && shape !== 'system-search' && shape !== 'metadata' && shape !== 'system-history';
  if (typed && !context.registry.types.has(type)) {
    throw new FhirError('not-found', `Unknown resource type '${type.slice(0, 80)}'`);
  }
  if (shape === 'compartment' && !context.registry.types.has(third)) {
    throw new FhirError('not-found', `Unknown resource type '${third.slice(0, 80)}'`);
  }
  const method = request.method === 'HEAD' ? 'GET' : request.method;
  const route = ROUTES.find((r) => r.shape === shape && r.method === method);
  if (!route) {
    const allowed = ROUTES.filter((r) => r.shape === shape).map((r) => r.method);
    throw new FhirError('method-not-allowed', `${request.method} is not allowed on /${request.path.join('/')}; allowed: ${allowed.join(', ')}`);
  }
  const offeredType = shape === 'compartment' ? third : type;
  const offered = typed
    ? context.registry.types.get(offeredType)?.interactions.has(route.interaction as TypeInteraction)
    : route.interaction === 'capabilities' || context.registry.systemInteractions.has(route.interaction as SystemInteraction);
  if (!offered) throw new FhirError('method-not-allowed', `The ${route.interaction} interaction is not supported here`);
  // Type-level interactions are decided here, for direct requests and Bundle entries alike; whole-system ones
  // (search, history, batch, transaction) are decided per type by their own interaction.
  if (typed) context.access.require(route.interaction as AccessInteraction, offeredType);
  return route.handle(request, context, type, id, shape === 'version' ? fourth : third);
}
