/**
 * mongod's plan cache: the plan a trial chose for a query shape (the filter's fields, operators and value types,
 * the sort, whether the query is limited, the collection's indexes) runs directly for the next query of that
 * shape. A cached plan that needs more than ten times the works it took in its trial is evicted and the query
 * plans again, so a shape whose best plan depends on its values does not stay on a bad one.
 * https://www.mongodb.com/docs/manual/core/query-plans/#plan-cache-entry-state
 */
import { BSONRegExp, type Document } from 'bson';
import { typeRank } from '../values/bson-order';
import { isSubdocument } from '../values/field-paths';
import type { Collection } from './collection';
import type { SortField } from './sort-documents';

export interface CachedPlan {
  /** The chosen candidate's signature (QueryPlan.signature). */
  readonly signature: string;
  /** The works it took in its trial to produce what the query needed. */
  readonly works: number;
}

/** mongod's internalQueryCacheMaxEntriesPerCollection and internalQueryCacheEvictionRatio. */
const MAX_ENTRIES = 5000;
export const EVICTION_RATIO = 10;

const caches = new WeakMap<Collection, Map<string, CachedPlan>>();

/** The cache key of a query: the same for queries that differ only in their values. */
export function computePlanCacheKey(collection: Collection, filter: Document | undefined, sort: readonly SortField[], limited: boolean): string {
  const sortShape = sort.map((f) => `${f.name}:${f.direction}`).join(',');
  return `${describeShape(filter ?? {})} sort(${sortShape}) ${limited ? 'limited' : 'all'} ${[...collection.indexes.keys()].join(',')}`;
}

export function findCachedPlan(collection: Collection, key: string): CachedPlan | undefined {
  const cache = caches.get(collection);
  const entry = cache?.get(key);
  if (cache && entry) {
    // Most recently used last: the first entry is the one to drop when the cache is full.
    cache.delete(key);
    cache.set(key, entry);
  }
  return entry;
}

export function cachePlan(collection: Collection, key: string, entry: CachedPlan): void {
  let cache = caches.get(collection);
  if (!cache) {
    cache = new Map();
    caches.set(collection, cache);
  }
  cache.delete(key);
  cache.set(key, entry);
  if (cache.size > MAX_ENTRIES) cache.delete(cache.keys().next().value as string);
}

export function evictPlan(collection: Collection, key: string): void {
  caches.get(collection)?.delete(key);
}

/** A value's shape: field names and operators kept, values reduced to their type (and lists of them to one). */
function describeShape(value: unknown): string {
  if (Array.isArray(value)) {
    const shapes = value.map(describeShape);
    return `[${value.every((v) => !isSubdocument(v) && !Array.isArray(v)) ? [...new Set(shapes)].sort().join('|') : shapes.join(',')}]`;
  }
  if (isSubdocument(value)) return `{${Object.entries(value).map(([key, v]) => `${key}:${describeShape(v)}`).join(',')}}`;
  if (value instanceof RegExp) return `/${value.source.startsWith('^') ? '^' : ''}/`;
  if (value instanceof BSONRegExp) return `/${value.pattern.startsWith('^') ? '^' : ''}/`;
  return String(typeRank(value));
}
