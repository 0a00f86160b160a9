/**
 * read and vread (http.html#read, http.html#vread): 404 for a resource never known, 410 for a deleted one,
 * and 304 when the client's copy is current (If-None-Match / If-Modified-Since).
 */
import type { FhirRequest, FhirResponse } from '../fhir-request';
import type { FhirContext } from '../fhir-context';
import type { StoredVersion } from '../../storage/resource-store';
import { etagOf, versionResponse } from '../responses';
import { FhirError } from '../../errors';

/** The live version or the error a client reading it must get. */
export function requireLive(version: StoredVersion | undefined, type: string, id: string): StoredVersion & { deleted: false } {
  if (!version) throw new FhirError('not-found', `Resource ${type}/${id} is not known`);
  if (version.deleted) throw new FhirError('gone', `Resource ${type}/${id} was deleted (version ${version.versionId})`);
  return version as StoredVersion & { deleted: false };
}

function notModified(request: FhirRequest, version: StoredVersion): boolean {
  if (request.ifNoneMatch !== undefined) {
    return request.ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || tag.trim() === etagOf(version.versionId));
  }
  if (request.ifModifiedSince !== undefined) {
    const since = Date.parse(request.ifModifiedSince);
    // HTTP dates have second precision.
    return !Number.isNaN(since) && Math.floor(Date.parse(version.lastUpdated) / 1000) * 1000 <= since;
  }
  return false;
}

function respond(request: FhirRequest, context: FhirContext, version: StoredVersion): FhirResponse {
  if (notModified(request, version)) {
    return { status: 304, etag: etagOf(version.versionId), lastModified: new Date(version.lastUpdated).toUTCString() };
  }
  return versionResponse({ ...request, preferReturn: undefined }, context.baseUrl, version, 200);
}

export async function read(request: FhirRequest, context: FhirContext, type: string, id: string): Promise<FhirResponse> {
  const version = requireLive(await context.store.read(type, id), type, id);
  context.access.checkRead('read', version);
  return respond(request, context, version);
}

export async function vread(request: FhirRequest, context: FhirContext, type: string, id: string, versionId: string): Promise<FhirResponse> {
  const version = await context.store.vread(type, id, versionId);
  if (!version) {
    const current = await context.store.read(type, id);
    throw new FhirError('not-found', current ? `Version ${versionId} of ${type}/${id} is not known` : `Resource ${type}/${id} is not known`);
  }
  if (version.deleted) throw new FhirError('gone', `Version ${versionId} of ${type}/${id} is a deletion`);
  context.access.checkRead('vread', version);
  return respond(request, context, version);
}
