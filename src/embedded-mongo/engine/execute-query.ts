/**
 * Runs a query on a collection's committed documents. With several candidate plans, a trial picks one as mongod's
 * multi-planner does: the candidates advance in turn, one index entry ("work") each, with the query's filter
 * applied; the first to produce the results the query needs in order (skip + limit, or a first batch of 101), or
 * to finish its scan (a plan that must sort afterwards cannot answer before that), wins; when none finishes
 * within the trial's budget, the one with the most results per work does. The winner goes on from where the trial
 * left it, so no document is examined twice by the plan that answers. The choice is cached for the query's shape
 * (plan-cache.ts).
 * https://www.mongodb.com/docs/manual/core/query-plans/
 */
import type { Document } from 'bson';
import { enumeratePlans, IndexCursor, type QueryPlan } from './query-planner';
import { sortDocuments, type SortField } from './sort-documents';
import { cachePlan, computePlanCacheKey, EVICTION_RATIO, evictPlan, findCachedPlan } from './plan-cache';
import type { Collection } from './collection';

export interface PlannedQuery {
  readonly filter: Document | undefined;
  readonly sort: readonly SortField[];
  /** skip + limit, when the query is limited. */
  readonly wanted: number | undefined;
  /** Whether a stored document is a result: the compiled filter (less documents a transaction rewrote). */
  readonly accept: (doc: Document) => boolean;
}

export interface QueryExecution {
  /** Every result, in sort order when the query sorts (skip and limit are left to the caller). */
  readonly docs: Iterable<Document>;
  readonly plan: QueryPlan;
  /** The candidates the trial did not choose, for explain (none when the plan came from the plan cache). */
  readonly rejected: readonly QueryPlan[];
  /** Whether the plan came from the plan cache. */
  readonly cached: boolean;
}

/** mongod's internalQueryPlanEvaluationMaxResults: what an unlimited query's trial waits for (its first batch). */
const TRIAL_RESULTS = 101;
/** mongod's internalQueryPlanEvaluationWorks and internalQueryPlanEvaluationCollFraction: each plan's budget. */
const TRIAL_WORKS = 10_000;
const TRIAL_COLLECTION_FRACTION = 0.3;

/** Plans, chooses and starts a query; documents stream from the winning plan as they are read. */
export function executeQuery(collection: Collection, query: PlannedQuery): QueryExecution {
  const candidates = enumeratePlans(collection, query.filter, query.sort);
  const wanted = query.wanted ?? TRIAL_RESULTS;
  let winner: PlanRun | undefined;
  let cached = false;
  if (candidates.length === 1) {
    winner = new PlanRun(candidates[0] as QueryPlan, query.accept);
  } else {
    const key = computePlanCacheKey(collection, query.filter, query.sort, query.wanted !== undefined);
    winner = runCachedPlan(collection, key, candidates, query.accept, wanted);
    cached = winner !== undefined;
    if (!winner) {
      const budget = Math.max(TRIAL_WORKS, Math.floor(TRIAL_COLLECTION_FRACTION * collection.size));
      winner = runTrial(candidates.map((plan) => new PlanRun(plan, query.accept)), wanted, budget);
      cachePlan(collection, key, { signature: winner.plan.signature, works: winner.works });
    }
  }
  const { plan } = winner;
  const sorted = query.sort.length === 0 || plan.providesSort;
  return {
    docs: sorted ? winner.results() : sortDocuments(winner.results(), query.sort, query.wanted),
    plan,
    rejected: cached ? [] : candidates.filter((candidate) => candidate !== plan),
    cached,
  };
}

/**
 * The cached plan of the query's shape, once it has what the query needs within ten times the works of its
 * trial; undefined (and no longer cached) when it has not, or when no candidate is that plan any more.
 */
function runCachedPlan(
  collection: Collection,
  key: string,
  candidates: readonly QueryPlan[],
  accept: (doc: Document) => boolean,
  wanted: number,
): PlanRun | undefined {
  const entry = findCachedPlan(collection, key);
  if (!entry) return undefined;
  const plan = candidates.find((candidate) => candidate.signature === entry.signature);
  if (plan) {
    const run = new PlanRun(plan, accept);
    const budget = Math.max(1, entry.works) * EVICTION_RATIO;
    while (!run.finished(wanted) && run.works < budget) run.work();
    if (run.finished(wanted)) return run;
  }
  evictPlan(collection, key);
  return undefined;
}

/** The first run to finish, taking one work of each in turn; past the budget, the most productive. */
function runTrial(runs: readonly PlanRun[], wanted: number, budget: number): PlanRun {
  for (let round = 0; round < budget; round++) {
    for (const run of runs) {
      run.work();
      if (run.finished(wanted)) return run;
    }
  }
  let best = runs[0] as PlanRun;
  for (const run of runs) if (run.productivity() > best.productivity()) best = run;
  return best;
}

/** One candidate plan being run over a snapshot of its index. */
class PlanRun {
  /** Results found during the trial, in scan order. */
  private readonly found: Document[] = [];
  private readonly cursor: IndexCursor;
  private examined = 0;
  private done = false;

  constructor(
    readonly plan: QueryPlan,
    private readonly accept: (doc: Document) => boolean,
  ) {
    this.cursor = new IndexCursor(plan, plan.index.snapshot());
  }

  /** One trial step: examines an index entry, keeping the document when it is a result. */
  work(): void {
    const doc = this.next();
    if (doc) this.found.push(doc);
  }

  /** Whether the run has what the query needs: `wanted` results in order, or its whole scan. */
  finished(wanted: number): boolean {
    return this.done || (this.plan.providesSort && this.found.length >= wanted);
  }

  /** Index entries examined so far. */
  get works(): number {
    return this.examined;
  }

  productivity(): number {
    return this.found.length / Math.max(1, this.examined);
  }

  /** Its results: those the trial found, then the rest of the scan. */
  *results(): IterableIterator<Document> {
    yield* this.found;
    for (let doc = this.next(); doc !== undefined; doc = this.next()) if (doc) yield doc;
  }

  /** The next index entry's document when it is a result, null when not, undefined at the end of the scan. */
  private next(): Document | null | undefined {
    const doc = this.cursor.next();
    if (doc === undefined) {
      this.done = true;
      return undefined;
    }
    this.examined++;
    return doc && this.accept(doc) ? doc : null;
  }
}
