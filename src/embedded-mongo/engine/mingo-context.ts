/**
 * The one set of mingo operators the engine evaluates with, built once: mingo's own operators, plus the
 * corrections that make results match mongod (null equality through arrays, `$sort` order, expression
 * comparisons across BSON types). Passing a complete context to mingo's base classes also spares it from
 * merging operator tables on every query.
 */
import { Context } from 'mingo';
import { evalExpr } from 'mingo/core';
import type { Options } from 'mingo/types';
import { compareValues } from '../values/bson-order';
import * as accumulator from 'mingo/operators/accumulator';
import * as expression from 'mingo/operators/expression';
import * as pipeline from 'mingo/operators/pipeline';
import * as projection from 'mingo/operators/projection';
import * as query from 'mingo/operators/query';
import * as window from 'mingo/operators/window';

type ContextOperators = NonNullable<Parameters<typeof Context.init>[0]>;

/**
 * Aggregation comparison operators compare any two values in BSON order (mingo's answer false across types).
 * https://www.mongodb.com/docs/manual/reference/operator/aggregation/cmp/
 */
function comparison<T>(verdict: (order: number) => T) {
  return (obj: unknown, expr: unknown, options: Options): T => {
    const [a, b] = evalExpr(obj, expr, options) as [unknown, unknown];
    return verdict(compareValues(a, b));
  };
}

const COMPARISONS = {
  $cmp: comparison((c) => Math.sign(c)),
  $eq: comparison((c) => c === 0),
  $ne: comparison((c) => c !== 0),
  $gt: comparison((c) => c > 0),
  $gte: comparison((c) => c >= 0),
  $lt: comparison((c) => c < 0),
  $lte: comparison((c) => c <= 0),
};

/** Builds the context with extra query and pipeline operators taking precedence over mingo's. */
export function buildContext(extra: { query?: Record<string, unknown>; pipeline?: Record<string, unknown> }): Context {
  return Context.init({
    accumulator,
    expression: { ...expression, ...COMPARISONS },
    pipeline: { ...pipeline, ...extra.pipeline },
    projection,
    query: { ...query, ...extra.query },
    window,
  } as unknown as ContextOperators);
}
