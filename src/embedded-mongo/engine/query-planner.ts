/**
 * The candidate plans of a query, as mongod's planner enumerates them: a bounded scan of every index for every
 * combination of usable conditions, an index walked in sort order when one provides the sort, and the collection
 * scan when no index applies. Candidates are supersets: the full filter always runs on what they yield, so a
 * plan only has to be fast, never exact. Which candidate runs is decided by a trial (execute-query.ts).
 * https://www.mongodb.com/docs/manual/core/query-plans/ , https://www.mongodb.com/docs/manual/indexes/#index-use
 */
import type { Document } from 'bson';
import { compareEntryKeys, type CollectionIndex, type EntryKey, type IndexTree } from './collection-index';
import { describeIntervals, enumerateScans, findSortDirection, scanWholeIndex, type Bound, type IndexScan } from './index-bounds';
import { extractPredicates, type FieldPredicate } from './index-predicates';
import type { Collection } from './collection';
import type { SortField } from './sort-documents';

/** How candidates are produced, and whether they already come in the requested sort order. */
export interface QueryPlan {
  readonly index: CollectionIndex;
  /** Key ranges scanned in index order. */
  readonly bounds: readonly Bound[];
  /** Per index field, the intervals scanned, as explain's `indexBounds` prints them. */
  readonly intervals: Record<string, string[]>;
  readonly reverse: boolean;
  /** True when the scan yields documents in the requested sort order (always, when there is no sort). */
  readonly providesSort: boolean;
  /** For explain and tests: "IXSCAN name", "IXSCAN name (sort)" or "COLLSCAN". */
  readonly summary: string;
  /** Names the plan among the candidates of any query of the same shape (the plan cache's entry). */
  readonly signature: string;
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
    const unique = index.unique || index === collection.idIndex;
    let sortServed = false;
    for (const scan of enumerateScans(index, predicates)) {
      const plan = makePlan(index, scan, sort);
      if (unique && scan.pointFields === index.fields.length && scan.bounds.length === 1) return [plan];
      sortServed ||= sort.length > 0 && plan.providesSort;
      const score = scan.pointFields * 2 + (scan.hasRange ? 1 : 0) + (plan.providesSort ? 0.5 : 0);
      candidates.push({ plan, conditions: new Set(scan.conditions), score });
    }
    if (sort.length > 0 && !sortServed && !index.spec.sparse) {
      const plan = makePlan(index, scanWholeIndex(index), sort);
      if (plan.providesSort) candidates.push({ plan, conditions: new Set(), score: 0 });
    }
  }
  if (candidates.length === 0) {
    const index = collection.idIndex;
    const { bounds } = scanWholeIndex(index);
    const intervals = describeIntervals(index, []);
    return [{ index, bounds, intervals, reverse: false, providesSort: sort.length === 0, summary: 'COLLSCAN', signature: 'COLLSCAN' }];
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

function makePlan(index: CollectionIndex, scan: IndexScan, sort: readonly SortField[]): QueryPlan {
  const reverse = findSortDirection(index, scan, sort);
  const providesSort = sort.length === 0 || reverse !== undefined;
  return {
    index,
    bounds: scan.bounds,
    // Rendered only when explain asks: bounds of thousands of points are common (`_id: {$in: [...]}`).
    get intervals() {
      return describeIntervals(index, scan.conditions);
    },
    reverse: reverse ?? false,
    providesSort,
    summary: `IXSCAN ${index.name}${sort.length > 0 && providesSort ? ' (sort)' : ''}`,
    signature: `${index.name} ${scan.choice}`,
  };
}

/** The first and the largest number of entries read from the tree at a time. */
const FIRST_CHUNK = 16;
const MAX_CHUNK = 1024;

/**
 * A plan's scan of `tree` (a snapshot of its index), one entry per step. Forward scans read the tree in growing
 * chunks, each bounded by a search in the tree rather than by comparing every entry with the range's end; small
 * first chunks keep a plan that stops early (a trial's loser) from reading far.
 */
export class IndexCursor {
  private readonly ranges: readonly Bound[];
  private readonly compare: (a: EntryKey, b: EntryKey) => number;
  /** Document keys already returned, when the index holds several entries per document. */
  private readonly seen: Set<unknown> | undefined;
  private range = 0;
  private chunk: [EntryKey, Document][] = [];
  private position = 0;
  private size = FIRST_CHUNK;
  /** Where a forward read of the current range resumes (the last entry read), or the backward iterator. */
  private resumeFrom: EntryKey | undefined;
  private backward: Iterator<[EntryKey, Document]> | undefined;
  private rangeDone = false;

  constructor(
    private readonly plan: QueryPlan,
    private readonly tree: IndexTree,
  ) {
    this.ranges = plan.reverse ? [...plan.bounds].reverse() : plan.bounds;
    const directions = plan.index.fields.map((f) => f.direction);
    this.compare = (a, b) => compareEntryKeys(a, b, directions);
    this.seen = plan.index.multikey ? new Set() : undefined;
  }

  /** The next entry's document, null when the entry repeats a document already returned, undefined at the end. */
  next(): Document | null | undefined {
    while (this.position >= this.chunk.length) if (!this.read()) return undefined;
    const doc = (this.chunk[this.position++] as [EntryKey, Document])[1];
    if (this.seen) {
      // Every entry of a document in one snapshot points to the same stored object.
      if (this.seen.has(doc)) return null;
      this.seen.add(doc);
    }
    return doc;
  }

  /** Reads the next chunk, moving on to the next range when one is done; false after the last range. */
  private read(): boolean {
    while (this.range < this.ranges.length) {
      if (!this.rangeDone && this.readRange(this.ranges[this.range] as Bound)) return true;
      this.range++;
      this.size = FIRST_CHUNK;
      this.resumeFrom = undefined;
      this.backward = undefined;
      this.rangeDone = false;
    }
    return false;
  }

  private readRange(range: Bound): boolean {
    const size = this.size;
    this.size = Math.min(size * 2, MAX_CHUNK);
    this.position = 0;
    if (this.plan.reverse) {
      this.backward ??= this.tree.entriesReversed(range.high);
      this.chunk = [];
      while (this.chunk.length < size) {
        const step = this.backward.next();
        if (step.done || this.compare(step.value[0], range.low) < 0) {
          this.rangeDone = true;
          break;
        }
        this.chunk.push(step.value);
      }
      return this.chunk.length > 0;
    }
    // A resumed read starts again at the last entry already read, and skips it.
    const resumed = this.resumeFrom !== undefined;
    this.chunk = this.tree.getRange(this.resumeFrom ?? range.low, range.high, true, resumed ? size + 1 : size);
    if (resumed && this.chunk.length > 0 && this.compare((this.chunk[0] as [EntryKey, Document])[0], this.resumeFrom as EntryKey) === 0) {
      this.position = 1;
    }
    if (this.chunk.length - this.position < size) this.rangeDone = true;
    else this.resumeFrom = (this.chunk[this.chunk.length - 1] as [EntryKey, Document])[0];
    return this.position < this.chunk.length;
  }
}
