/**
 * The elements of a resource that the server owns (http.html#versioning): a patch may not change `resourceType` or
 * `id` (the patched resource must stay the one addressed by the URL), and whatever it does to `meta.versionId` and
 * `meta.lastUpdated` is discarded because the server assigns both on every write.
 */
import type { Meta, Resource } from '@medplum/fhirtypes';
import { isJsonObject } from './json-values';

/** The identity element a patch step changed, if any. */
export type IdentityElement = 'resourceType' | 'id';

/**
 * Compares the identity of the patched copy with the original.
 * @param original - The resource as stored.
 * @param patched - The working copy after some patch steps.
 * @returns The first identity element that differs, or undefined when both are unchanged.
 */
export function findChangedIdentity(original: Resource, patched: unknown): IdentityElement | undefined {
  const current = isJsonObject(patched) ? patched : {};
  if (current.resourceType !== original.resourceType) {
    return 'resourceType';
  }
  if (current.id !== original.id) {
    return 'id';
  }
  return undefined;
}

/**
 * Puts the original `meta.versionId` and `meta.lastUpdated` back, so a patch cannot fake version metadata;
 * a `meta` left empty by that is removed rather than stored as `{}`.
 * @param original - The resource as stored.
 * @param patched - The patched copy, changed in place.
 */
export function restoreVersionMeta(original: Resource, patched: Resource): void {
  const meta: Meta = { ...patched.meta };
  for (const key of ['versionId', 'lastUpdated'] as const) {
    const originalValue = original.meta?.[key];
    if (originalValue === undefined) {
      delete meta[key];
    } else {
      meta[key] = originalValue;
    }
  }
  if (Object.keys(meta).length === 0) {
    delete patched.meta;
  } else {
    patched.meta = meta;
  }
}
