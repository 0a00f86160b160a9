/**
 * The one set of mingo operators the engine evaluates with, built once: mingo's own operators, plus the
 * corrections that make results match mongod (null equality through arrays, `$sort` order). Passing a complete
 * context to mingo's base classes also spares it from merging operator tables on every query.
 */
import { Context } from 'mingo';
import * as accumulator from 'mingo/operators/accumulator';
import * as expression from 'mingo/operators/expression';
import * as pipeline from 'mingo/operators/pipeline';
import * as projection from 'mingo/operators/projection';
import * as query from 'mingo/operators/query';
import * as window from 'mingo/operators/window';

type ContextOperators = NonNullable<Parameters<typeof Context.init>[0]>;

/** Builds the context with extra query and pipeline operators taking precedence over mingo's. */
export function buildContext(extra: { query?: Record<string, unknown>; pipeline?: Record<string, unknown> }): Context {
  return Context.init({
    accumulator,
    expression,
    pipeline: { ...pipeline, ...extra.pipeline },
    projection,
    query: { ...query, ...extra.query },
    window,
  } as unknown as ContextOperators);
}
