/**
 * Search values computed when a resource is written (DESIGN.md "Storage"), so that matching is an indexed
 * equality lookup. Token parameters are stored as one key per query form a client may send
 * (search.html#token): `code`, `system|code`, `|code` (no system) and `system|`.
 */
import type { Identifier, Resource } from '@medplum/fhirtypes';

/** The indexed search values stored beside a resource. */
export interface IndexValues {
  /** Token keys of `identifier` (see tokenKeys). */
  identifier?: string[];
}

/** The keys one coded value is stored under; a query is matched by looking up exactly one of them. */
export function tokenKeys(system: string | undefined, code: string): string[] {
  const keys = [`c:${code}`, `s:${system ?? ''}|`];
  keys.push(system === undefined ? `n:${code}` : `sc:${system}|${code}`);
  return keys;
}

/** The key a token query is answered with: `code`, `system|code`, `|code` or `system|`. */
export function tokenQueryKey(system: string | undefined, code: string | undefined): string {
  if (system === undefined) return `c:${code ?? ''}`;
  if (code === undefined || code === '') return `s:${system}|`;
  return system === '' ? `n:${code}` : `sc:${system}|${code}`;
}

export function extractIndexValues(resource: Resource): IndexValues {
  const identifiers = (resource as { identifier?: Identifier[] | Identifier }).identifier;
  const list = Array.isArray(identifiers) ? identifiers : identifiers ? [identifiers] : [];
  const keys = new Set<string>();
  for (const identifier of list) {
    if (typeof identifier?.value !== 'string') continue;
    for (const key of tokenKeys(identifier.system, identifier.value)) keys.add(key);
  }
  return keys.size > 0 ? { identifier: [...keys] } : {};
}
