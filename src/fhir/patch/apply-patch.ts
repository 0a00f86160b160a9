/**
 * Entry point of the FHIR patch interaction's document handling (http.html#patch): the interaction picks the format
 * from the Content-Type and hands over the parsed body; validation, If-Match and storage stay with the interaction.
 * JSON Patch: json-patch.ts; FHIRPath Patch: fhirpath-patch.ts.
 */
import type { Resource } from '@medplum/fhirtypes';
import { applyFhirPathPatch } from './fhirpath-patch';
import { applyJsonPatch } from './json-patch';

export { PatchError } from './patch-error';

/** `application/json-patch+json` is JSON Patch; a Parameters body in FHIR JSON is FHIRPath Patch. */
export type PatchFormat = 'json-patch' | 'fhirpath-patch';

/**
 * Applies a patch document to a copy of a resource, all operations or none.
 * http.html#patch, RFC 6902, fhirpatch.html
 * @param resource - The current version of the resource; never mutated.
 * @param format - Which patch language the document is written in.
 * @param patch - The parsed request body.
 * @returns The patched copy, still carrying the original id and meta.versionId/lastUpdated; validate it like an update.
 * @throws PatchError 400 for a malformed patch document, 422 for a patch that cannot be applied to this resource.
 */
export function applyPatch(resource: Resource, format: PatchFormat, patch: unknown): Resource {
  return format === 'json-patch' ? applyJsonPatch(resource, patch) : applyFhirPathPatch(resource, patch);
}
