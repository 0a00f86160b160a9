/**
 * The headers and bodies of responses that carry a stored version: ETag, Last-Modified, Location, and the
 * body chosen by `Prefer: return` (http.html#ops, http.html#versioning).
 */
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { StoredVersion } from '../storage/resource-store';
import type { FhirRequest, FhirResponse } from './fhir-request';

export function etagOf(versionId: string): string {
  return `W/"${versionId}"`;
}

/** The version an `If-Match` header names (`W/"3"` or `"3"`), or undefined when it names none. */
export function versionFromEtag(etag: string | undefined): string | undefined {
  const match = /^(?:W\/)?"([^"]+)"$/.exec(etag?.trim() ?? '');
  return match?.[1];
}

export function versionUrl(baseUrl: string, version: StoredVersion): string {
  return `${baseUrl}/${version.resourceType}/${version.id}/_history/${version.versionId}`;
}

/** An OperationOutcome reporting success, for `Prefer: return=OperationOutcome`. */
export function informational(diagnostics: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics }] };
}

/** A response for a stored version: headers always, body as the client prefers (default: the resource). */
export function versionResponse(
  request: FhirRequest,
  baseUrl: string,
  version: StoredVersion,
  status: number,
  options: { location?: boolean } = {},
): FhirResponse {
  let body: Resource | undefined = version.resource;
  if (request.preferReturn === 'minimal') body = undefined;
  else if (request.preferReturn === 'OperationOutcome') {
    body = informational(`${version.resourceType}/${version.id} version ${version.versionId} stored`);
  }
  return {
    status,
    body,
    etag: etagOf(version.versionId),
    lastModified: new Date(version.lastUpdated).toUTCString(),
    ...(options.location ? { location: versionUrl(baseUrl, version) } : {}),
  };
}
