/**
 * The candidate plans of a query, as mongod's planner enumerates them: a bounded scan of every index for every
 * combination of usable conditions, an index walked in sort order when one provides the sort, and the collection
 * scan when no index applies. Candidates are supersets: the full filter always runs on what they yield, so a
 * plan only has to be fast, never exact. Which candidate runs is decided by a trial (execute-query.ts).
 * https://www.mongodb.com/docs/manual/core/query-plans/ , https://www.mongodb.com/docs/manual/indexes/#index-use
 */
import type { Document } from 'bson';
import { compareEntryKeys, type CollectionIndex, type EntryKey, type IndexTree } from './collection-index';
import { describeIntervals, enumerateScans, sortDirection, wholeIndex, type Bound, type IndexScan } from './index-bounds';
import { extractPredicates, type FieldPredicate } from './index-predicates';
import type { Collection } from './collection';
import type { SortField } from './sort-documents';

/** How candidates are produced, and whether they already come in the requested sort order. */
export interface QueryPlan {
  readonly index: CollectionIndex;
  /** Key ranges scanned in index order; undefined walks the whole index. */
  readonly bounds: readonly Bound[] | undefined;
  /** Per index field, the intervals scanned, as explain's `indexBounds` prints them. */
  readonly intervals: Record<string, string[]>;
  readonly reverse: boolean;
  /** True when the scan yields documents in the requested sort order (always, when there is no sort). */
  readonly providesSort: boolean;
  /** For explain and tests: "IXSCAN name", "IXSCAN name (sort)" or "COLLSCAN". */
  readonly summary: string;
}

/** mongod's internalQueryPlannerMaxIndexedSolutions: the most candidates a query gets. */
const MAX_CANDIDATES = 64;

interface Candidate {
  readonly plan: QueryPlan;
  readonly conditions: ReadonlySet<FieldPredicate>;
  readonly score: number;
}

/**
 * The candidate plans of a query, most promising first (by the static order a trial falls back on for ties):
 * never empty. A point lookup on a unique index is the only candidate, as mongod's IDHACK. A candidate bounded by
 * only some of the conditions another one uses, and no better at the sort, is left out: it can only examine more.
 */
export function enumeratePlans(collection: Collection, filter: Document | undefined, sort: readonly SortField[]): QueryPlan[] {
  const predicates = extractPredicates(filter);
  const candidates: Candidate[] = [];
  for (const index of collection.indexes.values()) {
    if (index.spec.partialFilterExpression) continue;
    let sortServed = false;
    for (const scan of enumerateScans(index, predicates)) {
      const plan = scanPlanOf(index, scan, sort, false);
      const unique = index.unique || index === collection.idIndex;
      if (unique && scan.pointFields === index.fields.length && scan.bounds.length === 1) return [plan];
      sortServed ||= sort.length > 0 && plan.providesSort;
      const score = scan.pointFields * 2 + (scan.hasRange ? 1 : 0) + (plan.providesSort ? 0.5 : 0);
      candidates.push({ plan, conditions: new Set(scan.conditions), score });
    }
    if (sort.length > 0 && !sortServed && !index.spec.sparse) {
      const plan = scanPlanOf(index, wholeIndex(index), sort, true);
      if (plan.providesSort) candidates.push({ plan, conditions: new Set(), score: 0 });
    }
  }
  if (candidates.length === 0) {
    const index = collection.idIndex;
    return [{ index, bounds: undefined, intervals: describeIntervals(index, []), reverse: false, providesSort: sort.length === 0, summary: 'COLLSCAN' }];
  }
  return candidates
    .filter((candidate) => !candidates.some((other) => dominates(other, candidate)))
    .sort((a, b) => b.score - a.score)
    .slice(0, MAX_CANDIDATES)
    .map((c) => c.plan);
}

/** True when `a` uses every condition `b` does and more, and serves the sort whenever `b` does. */
function dominates(a: Candidate, b: Candidate): boolean {
  if (a.conditions.size <= b.conditions.size || (b.plan.providesSort && !a.plan.providesSort)) return false;
  for (const condition of b.conditions) if (!a.conditions.has(condition)) return false;
  return true;
}

function scanPlanOf(index: CollectionIndex, scan: IndexScan, sort: readonly SortField[], whole: boolean): QueryPlan {
  const reverse = sortDirection(index, scan, sort);
  const providesSort = sort.length === 0 || reverse !== undefined;
  return {
    index,
    bounds: whole ? undefined : scan.bounds,
    // Rendered only when explain asks: bounds of thousands of points are common (`_id: {$in: [...]}`).
    get intervals() {
      return describeIntervals(index, scan.conditions);
    },
    reverse: reverse ?? false,
    providesSort,
    summary: `IXSCAN ${index.name}${sort.length > 0 && providesSort ? ' (sort)' : ''}`,
  };
}

/**
 * The entries of a plan's scan of `tree` (a snapshot of its index), one per step: the document, or null for an
 * entry of a document already yielded (a multikey index holds one entry per array element).
 */
export function* scanEntries(plan: QueryPlan, tree: IndexTree): IterableIterator<Document | null> {
  const seen = plan.index.multikey ? new Set<string>() : undefined;
  const ranges = plan.bounds ?? wholeIndex(plan.index).bounds;
  for (const range of plan.reverse ? [...ranges].reverse() : ranges) {
    for (const [key, doc] of iterateRange(tree, plan.index, range, plan.reverse)) {
      if (seen) {
        const id = key[key.length - 1] as string;
        if (seen.has(id)) {
          yield null;
          continue;
        }
        seen.add(id);
      }
      yield doc;
    }
  }
}

function* iterateRange(tree: IndexTree, index: CollectionIndex, range: Bound, reverse: boolean): IterableIterator<[EntryKey, Document]> {
  const directions = index.fields.map((f) => f.direction);
  const cmp = (a: EntryKey, b: EntryKey): number => compareEntryKeys(a, b, directions);
  if (!reverse) {
    for (const entry of tree.entries(range.low)) {
      if (cmp(entry[0], range.high) > 0) return;
      yield entry;
    }
  } else {
    for (const entry of tree.entriesReversed(range.high)) {
      if (cmp(entry[0], range.low) < 0) return;
      yield entry;
    }
  }
}
