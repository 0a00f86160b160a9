/**
 * A query plan as the tree of stages mongod's explain prints (COLLSCAN, IXSCAN under FETCH, SORT, SKIP, LIMIT),
 * so tools that read `queryPlanner.winningPlan` from mongod read the engine's plans the same way.
 * https://www.mongodb.com/docs/manual/reference/explain-results/#queryplanner
 */
import type { Document } from 'bson';
import type { QueryPlan } from './query-planner';
import type { QueryOptions } from './data-access';

/** The stage tree of `plan` running the query described by `options`. */
export function describeStages(plan: QueryPlan, options: QueryOptions): Document {
  const filter = options.filter ?? {};
  let stage: Document;
  if (plan.summary === 'EOF') {
    stage = { stage: 'EOF' };
  } else if (plan.summary === 'COLLSCAN') {
    stage = { stage: 'COLLSCAN', filter, direction: 'forward' };
  } else {
    const keyPattern: Document = {};
    const multiKeyPaths: Document = {};
    plan.index.fields.forEach((field, i) => {
      keyPattern[field.name] = field.direction;
      multiKeyPaths[field.name] = [...(plan.index.arrayDepths[i] ?? [])].sort((a, b) => a - b).map((d) => field.path.slice(0, d).join('.'));
    });
    const scan = {
      stage: 'IXSCAN',
      keyPattern,
      indexName: plan.index.name,
      isMultiKey: plan.index.multikey,
      multiKeyPaths,
      direction: plan.reverse ? 'backward' : 'forward',
      indexBounds: plan.intervals,
    };
    stage = { stage: 'FETCH', filter, inputStage: scan };
  }
  const sort = options.sort ?? [];
  const skip = options.skip ?? 0;
  const limit = options.limit && options.limit > 0 ? options.limit : undefined;
  // A blocking sort keeps only skip + limit documents, so, as on mongod, no LIMIT stage follows it.
  const sorts = sort.length > 0 && !plan.providesSort;
  if (sorts) {
    const sortPattern: Document = {};
    for (const field of sort) sortPattern[field.name] = field.direction;
    stage = { stage: 'SORT', sortPattern, ...(limit === undefined ? {} : { limitAmount: skip + limit }), inputStage: stage };
  }
  if (skip > 0) stage = { stage: 'SKIP', skipAmount: skip, inputStage: stage };
  if (limit !== undefined && !sorts) stage = { stage: 'LIMIT', limitAmount: limit, inputStage: stage };
  return stage;
}
