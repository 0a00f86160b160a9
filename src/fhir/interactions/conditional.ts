/**
 * Resolving the search of a conditional interaction (http.html#cond-update, #ccreate, #cdelete): every
 * parameter must be understood (matching on a subset could act on the wrong resource), and the matches decide.
 */
import type { StoredVersion } from '../../storage/resource-store';
import type { FhirContext } from '../fhir-context';
import { parseSearchRequest } from '../../search/parse-search-request';
import { resolveQuery } from '../search/resolve-query';
import { FhirError } from '../../errors';

/** Parses `Patient?identifier=...` (an If-None-Exist header or a Bundle entry's ifNoneExist). */
export function queryOf(search: string): [string, string][] {
  return [...new URLSearchParams(search.startsWith('?') ? search.slice(1) : search)];
}

/**
 * Runs a conditional interaction's check-then-write in one transaction, serialized with every other request
 * that uses the same condition on the same type, so parallel conditional creates produce one resource.
 */
export function underCondition<T>(context: FhirContext, type: string, query: readonly (readonly [string, string])[], work: (context: FhirContext) => Promise<T>): Promise<T> {
  return context.store.transaction(async (store) => {
    await store.lock(conditionLockName(type, query));
    return work({ ...context, store });
  });
}

/** The same name for the same condition, whatever the parameter order. */
export function conditionLockName(type: string, query: readonly (readonly [string, string])[]): string {
  return `${type}?${[...query].map(([name, value]) => `${name}=${value}`).sort().join('&')}`;
}

/**
 * The live resources (visible to the caller) matching a conditional request's criteria, at most `limit`.
 * Every parameter must be understood: acting on the matches of a subset could change the wrong resource.
 */
export async function findMatches(
  context: FhirContext,
  type: string,
  query: readonly (readonly [string, string])[],
  limit: number,
): Promise<StoredVersion[]> {
  const parsed = parseSearchRequest(query, [type], {
    parameters: context.searchParameters,
    strict: true,
    defaultCount: limit,
    maxCount: limit,
    baseUrl: context.baseUrl,
  });
  const criteria = parsed.criteria.get(type) ?? [];
  if (criteria.length === 0) throw new FhirError('invalid-search', 'A conditional request needs at least one search parameter');
  const resolved = await resolveQuery(context, type, criteria);
  return (await context.store.search({ queries: [resolved], sort: [], count: limit })).versions;
}
