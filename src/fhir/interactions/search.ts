/**
 * search at type, system and compartment level (http.html#search, search.html): a `searchset` Bundle of the
 * matches in sort order with keyset paging links (self, next, previous), `_include`/`_revinclude` entries,
 * `_total`, `_summary`, `_elements`, and an OperationOutcome entry naming the parameters that were not applied
 * (search.html#errors). The self link lists only the parameters applied.
 */
import type { Bundle, BundleEntry, BundleLink, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { FhirRequest, FhirResponse } from '../fhir-request';
import type { FhirContext } from '../fhir-context';
import { InvalidCursorError, type ResourceQuery, type StoredVersion } from '../../storage/resource-store';
import { parseSearchRequest } from '../../search/parse-search-request';
import type { Criterion, SearchRequest } from '../../search/search-request';
import { patientCompartmentCriterion } from '../../search/patient-compartment';
import { resolveQuery } from '../search/resolve-query';
import { includeResources } from '../search/include-resources';
import { shapeResource } from '../search/shape-resource';
import { FhirError } from '../../errors';

/** `_total=estimate` counts this far; beyond it the total is left out rather than guessed. */
const ESTIMATE_LIMIT = 10_000;

/** The compartment a compartment search is confined to (search.html#compartment). */
export interface Compartment {
  readonly type: string;
  readonly id: string;
}

/** The types a system-level search covers: `_type` (each must be permitted), or every type the caller may search. */
function systemTypes(request: FhirRequest, context: FhirContext): string[] {
  const raw = request.query.filter(([name]) => name === '_type').flatMap(([, value]) => value.split(','));
  if (raw.length === 0) return [...context.registry.types.keys()].filter((type) => context.access.permits('search-type', type));
  for (const type of raw) {
    if (!context.registry.types.has(type)) throw new FhirError('invalid-search', `_type: '${type.slice(0, 80)}' is not a resource type`, { expression: ['_type'] });
    context.access.require('search-type', type);
  }
  return [...new Set(raw)];
}

function compartmentCriterion(compartment: Compartment, type: string): Criterion {
  if (compartment.type !== 'Patient') throw new FhirError('not-found', `Compartment searches are offered for the Patient compartment only, not ${compartment.type}`);
  const criterion = patientCompartmentCriterion(compartment.id, type);
  if (!criterion) throw new FhirError('not-found', `${type} resources are not in the Patient compartment`);
  return criterion;
}

function link(context: FhirContext, path: string, params: readonly (readonly [string, string])[]): string {
  const query = new URLSearchParams(params as [string, string][]).toString();
  return `${context.baseUrl}${path ? `/${path}` : ''}${query ? `?${query}` : ''}`;
}

function entry(context: FhirContext, version: StoredVersion, mode: 'match' | 'include', search: SearchRequest): BundleEntry {
  return {
    fullUrl: `${context.baseUrl}/${version.resourceType}/${version.id}`,
    resource: shapeResource(version.resource as Resource, search.summary, search.elements),
    search: { mode },
  };
}

function outcomeEntry(issues: OperationOutcomeIssue[]): BundleEntry {
  return { resource: { resourceType: 'OperationOutcome', issue: issues }, search: { mode: 'outcome' } };
}

async function total(context: FhirContext, search: SearchRequest, queries: readonly ResourceQuery[], page: { versions: StoredVersion[]; next?: string }): Promise<number | undefined> {
  const mode = search.summary === 'count' || search.count === 0 ? 'accurate' : search.total;
  if (mode === 'accurate') return context.store.count(queries);
  if (mode === 'estimate') {
    const counted = await context.store.count(queries, ESTIMATE_LIMIT);
    return counted < ESTIMATE_LIMIT ? counted : undefined;
  }
  // Without _total the count is given when it is free: the whole result is on this first page.
  if (mode === undefined && search.page === undefined && page.next === undefined) return page.versions.length;
  return undefined;
}

/** What a search covers, and the path and fixed parameters its links repeat. */
export interface SearchScope {
  readonly types: readonly string[];
  /** The path after the base, e.g. `Observation` or `Patient/1/Observation`. */
  readonly path: string;
  readonly compartment?: Compartment;
  /** Parameters every link repeats before the applied ones (`_type` of a system search). */
  readonly fixed: readonly (readonly [string, string])[];
}

export async function search(request: FhirRequest, context: FhirContext, type?: string, compartment?: Compartment): Promise<FhirResponse> {
  const types = type ? [type] : systemTypes(request, context);
  const fixed: [string, string][] = type ? [] : request.query.filter(([name]) => name === '_type').map(([n, v]) => [n, v]);
  const path = compartment ? `${compartment.type}/${compartment.id}/${type}` : (type ?? '');
  return searchIn(request, context, { types, path, ...(compartment ? { compartment } : {}), fixed });
}

/** Runs a search over the scope's types: one searchset Bundle, paged across types. */
export async function searchIn(request: FhirRequest, context: FhirContext, scope: SearchScope): Promise<FhirResponse> {
  const { types, compartment, path, fixed } = scope;
  const parsed = parseSearchRequest(request.query, types, {
    parameters: context.searchParameters,
    strict: request.preferHandling === 'strict',
    defaultCount: context.settings.defaultCount,
    maxCount: context.settings.maxCount,
    baseUrl: context.baseUrl,
  });
  const queries = await Promise.all(
    types.map(async (t) => {
      const query = await resolveQuery(context, t, parsed.criteria.get(t) ?? []);
      return compartment ? { ...query, criteria: [compartmentCriterion(compartment, t), ...query.criteria] } : query;
    }),
  );
  const countOnly = parsed.summary === 'count' || parsed.count === 0;
  const page = countOnly
    ? { versions: [], next: undefined, previous: undefined }
    : await context.store.search({ queries, sort: parsed.sort, count: parsed.count, cursor: parsed.page }).catch((error: unknown) => {
        if (error instanceof InvalidCursorError) throw new FhirError('invalid-search', `_page '${(parsed.page ?? '').slice(0, 80)}' is not a page of this search; follow the Bundle's links`, { expression: ['_page'] });
        throw error;
      });
  const included = countOnly ? { versions: [], truncated: false } : await includeResources(context, page.versions, parsed.include, parsed.revinclude, context.settings.maxCount);
  const withoutPage = parsed.applied.filter(([name]) => name !== '_page');
  const links: BundleLink[] = [{ relation: 'self', url: link(context, path, [...fixed, ...parsed.applied]) }];
  if (page.next) links.push({ relation: 'next', url: link(context, path, [...fixed, ...withoutPage, ['_page', page.next]]) });
  if (page.previous) links.push({ relation: 'previous', url: link(context, path, [...fixed, ...withoutPage, ['_page', page.previous]]) });
  const issues: OperationOutcomeIssue[] = parsed.ignored.map((ignored) => ({
    severity: 'warning',
    code: 'not-supported',
    diagnostics: `Parameter '${ignored.name}' ${ignored.reason}; it was ignored`,
    expression: [ignored.name],
  }));
  if (included.truncated) {
    issues.push({ severity: 'warning', code: 'too-costly', diagnostics: `Only the first ${context.settings.maxCount} included resources are returned` });
  }
  const count = await total(context, parsed, queries, page);
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'searchset',
    ...(count !== undefined ? { total: count } : {}),
    link: links,
    entry: [
      ...page.versions.map((version) => entry(context, version, 'match', parsed)),
      ...included.versions.map((version) => entry(context, version, 'include', parsed)),
      ...(issues.length > 0 ? [outcomeEntry(issues)] : []),
    ],
  };
  return { status: 200, body: bundle };
}
