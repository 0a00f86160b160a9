/**
 * history at instance, type and system level (http.html#history): a `history` Bundle, newest first, each entry
 * with its request and response; `_since`, `_at`, `_count` and opaque `_page` links for paging.
 */
import type { Bundle, BundleEntry, BundleLink } from '@medplum/fhirtypes';
import type { FhirRequest, FhirResponse } from '../fhir-request';
import type { FhirContext } from '../fhir-context';
import { InvalidCursorError, type StoredVersion } from '../../storage/resource-store';
import { etagOf } from '../responses';
import { parseDateRange } from '../../search/date-range';
import { FhirError } from '../../errors';
import { refusedBy } from '../../access/access-policy';

const RESPONSE_STATUS: Record<StoredVersion['method'], string> = {
  POST: '201 Created',
  PUT: '200 OK',
  PATCH: '200 OK',
  DELETE: '204 No Content',
};

/** The number of entries per page: `_count` within the configured maximum. */
export function pageSize(request: FhirRequest, context: FhirContext): number {
  const raw = request.query.find(([name]) => name === '_count')?.[1];
  if (raw === undefined) return context.settings.defaultCount;
  if (!/^\d+$/.test(raw)) throw new FhirError('invalid-search', `_count must be a non-negative integer, got '${raw}'`, { expression: ['_count'] });
  return Math.min(Number(raw), context.settings.maxCount);
}

function dateParameter(request: FhirRequest, name: '_since' | '_at'): { start: Date; end: Date } | undefined {
  const raw = request.query.find(([n]) => n === name)?.[1];
  if (raw === undefined) return undefined;
  const range = parseDateRange(raw);
  if (!range) throw new FhirError('invalid-search', `${name} must be a FHIR instant such as 2024-01-31T10:00:00Z, got '${raw}'`, { expression: [name] });
  return range;
}

function entryOf(baseUrl: string, version: StoredVersion): BundleEntry {
  const url = `${version.resourceType}/${version.id}`;
  return {
    fullUrl: `${baseUrl}/${url}`,
    ...(version.resource ? { resource: version.resource } : {}),
    request: { method: version.method, url: version.method === 'POST' ? version.resourceType : url },
    response: { status: RESPONSE_STATUS[version.method], etag: etagOf(version.versionId), lastModified: version.lastUpdated },
  };
}

function link(baseUrl: string, path: string, params: [string, string][]): string {
  const query = new URLSearchParams(params).toString();
  return `${baseUrl}/${path}${query ? `?${query}` : ''}`;
}

/**
 * History lists deletions and past versions, which a search filter cannot confine: type and system history are
 * offered only to callers whose read access to the types is not confined (e.g. system/*.rs).
 */
function requireUnconfinedHistory(context: FhirContext, types: readonly string[]): void {
  for (const type of types) {
    context.access.require('history-type', type);
    if (context.access.confines('history-type', type)) {
      throw refusedBy(
        'unconfined-history',
        `Access denied: the history of ${type} is available only to callers whose access to ${type} is not confined to some resources; read the history of each resource instead`,
        `Read the history of each ${type} you may see: GET ${type}/[id]/_history.`,
      );
    }
  }
}

export async function history(request: FhirRequest, context: FhirContext, type?: string, id?: string): Promise<FhirResponse> {
  const count = pageSize(request, context);
  const since = dateParameter(request, '_since');
  const at = dateParameter(request, '_at');
  const cursor = request.query.find(([n]) => n === '_page')?.[1];
  if (id !== undefined && type !== undefined) {
    const current = await context.store.read(type, id);
    if (!current) throw new FhirError('not-found', `Resource ${type}/${id} is not known`);
  } else {
    requireUnconfinedHistory(context, type ? [type] : [...context.registry.types.keys()]);
  }
  const page = await context.store
    .history({ resourceType: type, id, since: since?.start, at: at?.end, count, cursor })
    .catch((error: unknown) => {
      if (error instanceof InvalidCursorError) throw new FhirError('invalid-search', `_page '${cursor ?? ''}' is not a page of this history; follow the Bundle's links`, { expression: ['_page'] });
      throw error;
    });
  // Every version of an instance must be readable: a resource may have left the caller's compartment since.
  if (id !== undefined) for (const version of page.versions) context.access.checkRead('history-instance', version);
  const path = [type, id, '_history'].filter((part) => part !== undefined).join('/');
  const applied = request.query.filter(([n]) => n === '_since' || n === '_at' || n === '_count') as [string, string][];
  const links: BundleLink[] = [{ relation: 'self', url: link(context.baseUrl, path, cursor ? [...applied, ['_page', cursor]] : applied) }];
  if (page.nextCursor) links.push({ relation: 'next', url: link(context.baseUrl, path, [...applied, ['_page', page.nextCursor]]) });
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'history',
    ...(page.total !== undefined ? { total: page.total } : {}),
    link: links,
    entry: page.versions.map((version) => entryOf(context.baseUrl, version)),
  };
  return { status: 200, body: bundle };
}
