/**
 * create, update, patch and delete, plain and conditional (http.html#create, #update, #patch, #delete and the
 * conditional variants). Every stored result is validated first; optimistic locking through If-Match.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { FhirRequest, FhirResponse } from '../fhir-request';
import type { FhirContext } from '../fhir-context';
import type { StoredVersion, WriteResult } from '../../storage/resource-store';
import { etagOf, versionFromEtag, versionResponse } from '../responses';
import { findMatches, queryOf, underCondition } from './conditional';
import { requireLive } from './read';
import { applyPatch, PatchError, type PatchFormat } from '../patch/apply-patch';
import { FhirError } from '../../errors';
import type { AccessInteraction } from '../../access/access-policy';

const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

/** Checks an id from a URL or a body against the FHIR id datatype. */
export function checkId(id: string): void {
  if (!ID_PATTERN.test(id)) {
    throw new FhirError('invalid', `Invalid resource id '${id.slice(0, 80)}': ids are 1-64 characters of A-Z, a-z, 0-9, '-' and '.'`, {
      expression: ['id'],
    });
  }
}

/** The request body as a resource of `type`, validated; server-managed meta is left to the store. */
function resourceBody(request: FhirRequest, context: FhirContext, type: string): Resource {
  const body = request.body;
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new FhirError('invalid', `The request body must be a ${type} resource`);
  }
  const resourceType = (body as { resourceType?: unknown }).resourceType;
  if (resourceType !== type) {
    throw new FhirError('invalid', `The body's resourceType '${String(resourceType)}' does not match the URL's resource type '${type}'`, {
      expression: ['resourceType'],
    });
  }
  context.validate(body, type);
  return body;
}

function ifMatchVersion(request: FhirRequest): string | undefined {
  if (request.ifMatch === undefined) return undefined;
  const version = versionFromEtag(request.ifMatch);
  if (!version) throw new FhirError('invalid', `If-Match must be a version ETag such as W/"3", got '${request.ifMatch}'`);
  return version;
}

function mismatch(type: string, id: string, expected: string, current: StoredVersion | undefined): never {
  const state = current && !current.deleted ? `is at version ${current.versionId}` : 'does not exist';
  throw new FhirError('precondition-failed', `If-Match expected version ${expected} of ${type}/${id}, but the resource ${state}`);
}

function written(result: WriteResult, type: string, id: string, expected: string | undefined): { version: StoredVersion; created: boolean } {
  return result.kind === 'written' ? result : mismatch(type, id, expected ?? '?', result.current);
}

/**
 * The access policy must allow writing the new content and, when there is one, the version it replaces or
 * deletes (a write may not move a resource into, or out of, what the caller may touch).
 */
async function checkWriteAccess(context: FhirContext, interaction: AccessInteraction, resource: Resource & { id: string }, replaced?: StoredVersion): Promise<void> {
  if (interaction !== 'delete') context.access.checkWrite(interaction, resource);
  if (!context.access.confines(interaction, resource.resourceType)) return;
  const current = replaced ?? (await context.store.read(resource.resourceType, resource.id));
  if (current?.resource) context.access.checkWrite(interaction, current.resource);
}

export async function create(request: FhirRequest, context: FhirContext, type: string): Promise<FhirResponse> {
  const resource = resourceBody(request, context, type);
  context.access.checkWrite('create', resource);
  const condition = request.ifNoneExist;
  if (condition === undefined) return storeNew(request, context, resource, undefined);
  const query = queryOf(condition);
  return underCondition(context, type, query, async (tx) => {
    const matches = await findMatches(tx, type, query, 2);
    if (matches.length > 1) throw new FhirError('precondition-failed', `If-None-Exist '${condition}' matches more than one ${type}`);
    const [existing] = matches;
    if (existing) return versionResponse(request, tx.baseUrl, existing, 200, { location: true });
    return storeNew(request, tx, resource, undefined);
  });
}

/**
 * The resource a create stores: the validated body with the id the caller chose (transaction entries whose
 * references were rewritten to it); a client-sent id is ignored on create (http.html#create).
 */
export function resourceToCreate(request: FhirRequest, context: FhirContext, type: string, id: string): Resource & { id: string } {
  const resource = { ...resourceBody(request, context, type), id };
  context.access.checkWrite('create', resource);
  return resource;
}

/** The response to a create (201 with Location), shaped by Prefer. */
export function createdResponse(request: FhirRequest, context: FhirContext, version: StoredVersion): FhirResponse {
  return versionResponse(request, context.baseUrl, version, 201, { location: true });
}

/** Stores version 1; a client-sent id is ignored on create (http.html#create). */
async function storeNew(request: FhirRequest, context: FhirContext, resource: Resource, id: string | undefined): Promise<FhirResponse> {
  const { id: _ignored, ...withoutId } = resource;
  const version = await context.store.create(withoutId as Resource, { id });
  return createdResponse(request, context, version);
}

export async function update(request: FhirRequest, context: FhirContext, type: string, id: string): Promise<FhirResponse> {
  checkId(id);
  const resource = resourceBody(request, context, type);
  if (resource.id === undefined) throw new FhirError('invalid', `The ${type} in the body has no id; it must be '${id}'`, { expression: ['id'] });
  if (resource.id !== id) {
    throw new FhirError('invalid', `The body's id '${resource.id}' does not match the id '${id}' in the URL`, { expression: ['id'] });
  }
  return store(request, context, { ...resource, id }, ifMatchVersion(request), 'PUT');
}

async function store(
  request: FhirRequest,
  context: FhirContext,
  resource: Resource & { id: string },
  ifVersion: string | undefined,
  method: 'PUT' | 'PATCH',
): Promise<FhirResponse> {
  await checkWriteAccess(context, 'update', resource);
  const result = await context.store.update(resource, { ifVersion, method });
  const { version, created } = written(result, resource.resourceType, resource.id, ifVersion);
  return versionResponse(request, context.baseUrl, version, created ? 201 : 200, { location: created });
}

export async function conditionalUpdate(request: FhirRequest, outer: FhirContext, type: string): Promise<FhirResponse> {
  const resource = resourceBody(request, outer, type);
  outer.access.checkWrite('update', resource);
  return underCondition(outer, type, request.query, (context) => conditionalUpdateIn(request, context, type, resource));
}

async function conditionalUpdateIn(request: FhirRequest, context: FhirContext, type: string, resource: Resource): Promise<FhirResponse> {
  const matches = await findMatches(context, type, request.query, 2);
  if (matches.length > 1) throw new FhirError('precondition-failed', `The conditional update's search matches more than one ${type}`);
  const [match] = matches;
  if (match) {
    if (resource.id !== undefined && resource.id !== match.id) {
      throw new FhirError('invalid', `The body's id '${resource.id}' differs from the matched resource ${type}/${match.id}`, { expression: ['id'] });
    }
    return store(request, context, { ...resource, id: match.id }, ifMatchVersion(request), 'PUT');
  }
  if (resource.id !== undefined) {
    checkId(resource.id);
    return store(request, context, { ...resource, id: resource.id }, undefined, 'PUT');
  }
  return storeNew(request, context, resource, undefined);
}

function patchFormat(request: FhirRequest): PatchFormat {
  if (request.contentType === 'application/json-patch+json') return 'json-patch';
  if (request.contentType === 'application/fhir+json' || request.contentType === 'application/json') {
    if ((request.body as { resourceType?: unknown } | undefined)?.resourceType === 'Parameters') return 'fhirpath-patch';
    throw new FhirError('invalid', 'A FHIR+JSON PATCH body must be a FHIRPath Patch Parameters resource');
  }
  throw new FhirError('unsupported-media-type', `PATCH accepts application/json-patch+json or a FHIRPath Patch as application/fhir+json, not '${request.contentType ?? 'none'}'`);
}

/** Applies the patch to the current version; without If-Match, a concurrent change makes it re-read and retry. */
async function patchVersion(request: FhirRequest, context: FhirContext, current: StoredVersion & { deleted: false }): Promise<FhirResponse> {
  const format = patchFormat(request);
  const expected = ifMatchVersion(request);
  let base = current;
  for (;;) {
    if (expected !== undefined && base.versionId !== expected) mismatch(base.resourceType, base.id, expected, base);
    let patched: Resource;
    try {
      patched = applyPatch(base.resource as Resource, format, request.body);
    } catch (error) {
      if (!(error instanceof PatchError)) throw error;
      throw new FhirError(error.status === 422 ? 'unprocessable' : 'invalid', error.diagnostics, { expression: error.expression });
    }
    context.validate(patched, base.resourceType);
    await checkWriteAccess(context, 'patch', { ...patched, id: base.id }, base);
    const result = await context.store.update({ ...patched, id: base.id }, { ifVersion: base.versionId, method: 'PATCH' });
    if (result.kind === 'written') return versionResponse(request, context.baseUrl, result.version, 200);
    if (expected !== undefined || !result.current || result.current.deleted) {
      mismatch(base.resourceType, base.id, expected ?? base.versionId, result.current);
    }
    base = result.current as StoredVersion & { deleted: false };
  }
}

export async function patch(request: FhirRequest, context: FhirContext, type: string, id: string): Promise<FhirResponse> {
  const current = requireLive(await context.store.read(type, id), type, id);
  return patchVersion(request, context, current);
}

export async function conditionalPatch(request: FhirRequest, context: FhirContext, type: string): Promise<FhirResponse> {
  const matches = await findMatches(context, type, request.query, 2);
  if (matches.length === 0) throw new FhirError('not-found', `The conditional patch's search matches no ${type}`);
  if (matches.length > 1) throw new FhirError('precondition-failed', `The conditional patch's search matches more than one ${type}`);
  return patchVersion(request, context, matches[0] as StoredVersion & { deleted: false });
}

export async function remove(_request: FhirRequest, context: FhirContext, type: string, id: string): Promise<FhirResponse> {
  await checkWriteAccess(context, 'delete', { resourceType: type, id } as Resource & { id: string });
  const tombstone = await context.store.delete(type, id);
  if (tombstone) return { status: 204, etag: etagOf(tombstone.versionId) };
  const existing = await context.store.read(type, id);
  if (!existing) throw new FhirError('not-found', `Resource ${type}/${id} is not known`);
  return { status: 204 };
}

export async function conditionalDelete(request: FhirRequest, context: FhirContext, type: string): Promise<FhirResponse> {
  const limit = context.registry.conditionalDeleteMultiple ? context.settings.maxCount + 1 : 2;
  const matches = await findMatches(context, type, request.query, limit);
  if (matches.length > 1 && !context.registry.conditionalDeleteMultiple) {
    throw new FhirError('precondition-failed', `The conditional delete's search matches more than one ${type}`);
  }
  if (matches.length > context.settings.maxCount) {
    throw new FhirError('precondition-failed', `The conditional delete's search matches more than ${context.settings.maxCount} ${type} resources; narrow it`);
  }
  for (const match of matches) if (match.resource) context.access.checkWrite('delete', match.resource);
  await context.store.transaction(async (tx) => {
    for (const match of matches) await tx.delete(type, match.id);
  });
  return { status: 204 };
}
