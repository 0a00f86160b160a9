/**
 * Aggregation pipelines on mingo's operators, with mongod's `$sort` semantics (array sort keys, BSON order
 * across types) in place of mingo's, and `_id` kept as the first field of every output document.
 * https://www.mongodb.com/docs/manual/reference/operator/aggregation-pipeline/
 */
import { Context } from 'mingo';
import { Aggregator } from 'mingo/aggregator';
import { Lazy, type Iterator as LazyIterator } from 'mingo/lazy';
import * as accumulator from 'mingo/operators/accumulator';
import * as expression from 'mingo/operators/expression';
import * as pipeline from 'mingo/operators/pipeline';
import * as projection from 'mingo/operators/projection';
import * as query from 'mingo/operators/query';
import * as window from 'mingo/operators/window';
import type { Document } from 'bson';
import { CommandError } from '../errors';
import { withIdFirst } from '../values/clone-document';
import { parseSort, sortDocuments } from './sort-documents';

type ContextOperators = NonNullable<Parameters<typeof Context.init>[0]>;

const sortStage = (collection: LazyIterator, spec: Document): LazyIterator =>
  Lazy(sortDocuments(collection.collect<Document>(), parseSort(spec)));

const context = Context.init({
  accumulator,
  expression,
  pipeline: { ...pipeline, $sort: sortStage },
  projection,
  query,
  window,
} as unknown as ContextOperators);

/** Streams `source` through the pipeline; failures raised while the results are drained become BadValue. */
export function runPipeline(stages: Document[], source: Iterable<Document>, resolve: (collection: string) => Document[]): Iterator<Document> {
  let results: LazyIterator;
  try {
    results = new Aggregator(stages, { context, collectionResolver: resolve, scriptEnabled: false }).stream(source);
  } catch (error) {
    throw new CommandError('BadValue', (error as Error).message);
  }
  return {
    next: () => {
      try {
        const step = results.next();
        return step.done ? { done: true, value: undefined } : { done: false, value: withIdFirst(step.value as Document) };
      } catch (error) {
        if (error instanceof CommandError) throw error;
        throw new CommandError('BadValue', (error as Error).message);
      }
    },
  };
}
