/**
 * Custom search parameters at run time (search.html#custom): when an organization stores, changes or removes a
 * SearchParameter, its parameters are reloaded, and a durable job recomputes the search values of the resources
 * stored before, batch by batch, without blocking requests; until the job finishes the parameter is indexed on
 * write but not searchable (so no search ever silently misses older resources).
 */
import type { SearchParameter } from '@medplum/fhirtypes';
import type { ResourceStore, StoredVersion } from '../storage/resource-store';
import type { SearchParameterCatalog } from '../search/search-parameter-catalog';
import { tokenQueryKey } from '../search/index-keys';
import type { JobModel } from './job-records';
import type { JobRunner, JobStep } from './job-runner';

export const REINDEX_JOB = 'reindex-search-parameter';

/** Resources recomputed per step. */
const BATCH = 500;

/** The organization's active SearchParameter resources. */
async function activeParameters(store: ResourceStore): Promise<SearchParameter[]> {
  const page = await store.search({
    queries: [{ resourceType: 'SearchParameter', criteria: [{ kind: 'keys', keys: [tokenQueryKey('status', undefined, 'active')] }] }],
    sort: [{ param: '_id', descending: false }],
    count: 1000,
  });
  return page.versions.map((v) => v.resource as SearchParameter);
}

/** One step of a reindex job: the next batch of the next type of the parameter's base types. */
export function reindexStep(storeFor: (tenant: string) => ResourceStore, catalog: SearchParameterCatalog): JobStep {
  return async (job) => {
    const types = job.input.types as string[];
    const typeIndex = (job.position.typeIndex as number | undefined) ?? 0;
    const type = types[typeIndex];
    if (type === undefined) {
      catalog.markIndexed(job.tenant, job.input.url as string);
      return { position: job.position, processed: 0, done: true };
    }
    const { last, count } = await storeFor(job.tenant).reindex(type, job.position.after as string | undefined, BATCH);
    const position = last === undefined ? { typeIndex: typeIndex + 1 } : { typeIndex, after: last };
    const done = last === undefined && typeIndex + 1 >= types.length;
    if (done) catalog.markIndexed(job.tenant, job.input.url as string);
    return { position, processed: count, done };
  };
}

/** Reloads an organization's parameters and queues a reindex for each new or changed one. */
export async function refreshSearchParameters(tenant: string, store: ResourceStore, catalog: SearchParameterCatalog, runner: JobRunner): Promise<void> {
  for (const changed of catalog.define(tenant, await activeParameters(store))) {
    await runner.enqueue(REINDEX_JOB, tenant, { url: changed.url, types: changed.base ?? [] });
  }
}

/** The write listener: SearchParameter writes refresh their organization's parameters. */
export function onSearchParameterWrites(storeFor: (tenant: string) => ResourceStore, catalog: SearchParameterCatalog, runner: JobRunner, report: (error: unknown) => void) {
  return (tenant: string, versions: readonly StoredVersion[]): void => {
    if (!versions.some((v) => v.resourceType === 'SearchParameter')) return;
    refreshSearchParameters(tenant, storeFor(tenant), catalog, runner).catch(report);
  };
}

/** At start: every organization's parameters, pending only where a reindex job is unfinished. */
export async function loadSearchParameters(tenants: readonly string[], storeFor: (tenant: string) => ResourceStore, catalog: SearchParameterCatalog, jobs: JobModel): Promise<void> {
  for (const tenant of tenants) {
    const defined = catalog.define(tenant, await activeParameters(storeFor(tenant)));
    const unfinished = new Set((await jobs.find({ kind: REINDEX_JOB, tenant, status: { $in: ['queued', 'running'] } }).lean()).map((job) => job.input.url));
    for (const sp of defined) if (!unfinished.has(sp.url)) catalog.markIndexed(tenant, sp.url as string);
  }
}
