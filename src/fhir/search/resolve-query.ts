/**
 * Turns parsed criteria into a storage query: chains (search.html#chaining) and `_has` (search.html#has) run
 * their inner searches first and become reference keys or ids; the caller's read filter is added to every query
 * at every level, so neither the results nor a chain can reveal a resource the caller may not see.
 */
import type { Criterion, ParsedCriterion } from '../../search/search-request';
import type { ResourceQuery } from '../../storage/resource-store';
import { referenceKey } from '../../search/index-keys';
import type { FhirContext } from '../fhir-context';
import { FhirError } from '../../errors';

/** The most resources an inner search (chain or _has) may match; beyond it the search is refused as too costly. */
export const INNER_MATCH_LIMIT = 1000;

/** The criteria that limit a query on `resourceType` to what the caller may see. */
export function visibility(context: FhirContext, resourceType: string): Criterion[] {
  const filter = context.access.readFilter(resourceType);
  if (filter === 'none') return [{ kind: 'ids', ids: [] }];
  return [...filter];
}

/** A storage query for `criteria` on `resourceType`, limited to what the caller may see. */
export async function resolveQuery(context: FhirContext, resourceType: string, criteria: readonly ParsedCriterion[]): Promise<ResourceQuery> {
  const resolved = await Promise.all(criteria.map((criterion) => resolveCriterion(context, resourceType, criterion)));
  return { resourceType, criteria: [...resolved, ...visibility(context, resourceType)] };
}

function tooCostly(what: string): FhirError {
  return new FhirError('too-costly', `${what} matches more than ${INNER_MATCH_LIMIT} resources; make it more specific`);
}

async function resolveCriterion(context: FhirContext, resourceType: string, criterion: ParsedCriterion): Promise<Criterion> {
  if (criterion.kind === 'chain') {
    const keys = await Promise.all(
      criterion.targets.map(async ({ type, criterion: inner }) => {
        const ids = await context.store.matchIds(await resolveQuery(context, type, [inner]), INNER_MATCH_LIMIT + 1);
        if (ids.length > INNER_MATCH_LIMIT) throw tooCostly(`The chained search on ${criterion.param} (${type})`);
        return ids.map((id) => referenceKey(criterion.param, `${type}/${id}`));
      }),
    );
    return { kind: 'keys', keys: keys.flat() };
  }
  if (criterion.kind === 'has') {
    const query = await resolveQuery(context, criterion.type, [criterion.criterion]);
    const references = await context.store.matchReferences(query, criterion.param, INNER_MATCH_LIMIT + 1);
    if (references.length > INNER_MATCH_LIMIT) throw tooCostly(`_has:${criterion.type}:${criterion.param}`);
    const prefix = `${resourceType}/`;
    return { kind: 'ids', ids: references.filter((r) => r.startsWith(prefix) && !r.includes('/', prefix.length)).map((r) => r.slice(prefix.length)) };
  }
  if (criterion.kind === 'bare-reference') {
    const keys = [...criterion.keys];
    for (const id of criterion.ids) {
      const holders: string[] = [];
      for (const type of criterion.targets) {
        const query = { resourceType: type, criteria: [{ kind: 'ids' as const, ids: [id] }, ...visibility(context, type)] };
        if ((await context.store.matchIds(query, 1)).length > 0) holders.push(type);
      }
      if (holders.length > 1) {
        throw new FhirError('invalid-search', `Parameter '${criterion.name}': '${id}' is the id of a ${holders.join(' and a ')}; give Type/${id}`, { expression: [criterion.name] });
      }
      // A reference to a resource that is not (or no longer) stored still matches on whichever type it names.
      keys.push(...(holders.length === 1 ? holders : criterion.targets).map((type) => referenceKey(criterion.param, `${type}/${id}`)));
    }
    return { kind: 'keys', keys };
  }
  return criterion;
}
