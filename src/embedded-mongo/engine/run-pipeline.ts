/**
 * Aggregation pipelines on mingo's operators, with mongod's `$sort` semantics (array sort keys, BSON order
 * across types) in place of mingo's, and `_id` kept as the first field of every output document.
 * https://www.mongodb.com/docs/manual/reference/operator/aggregation-pipeline/
 */
import { Aggregator } from 'mingo/aggregator';
import { Lazy, type Iterator as LazyIterator } from 'mingo/lazy';
import type { Document } from 'bson';
import { CommandError } from '../errors';
import { withIdFirst } from '../values/clone-document';
import { parseSort, sortDocuments } from './sort-documents';
import { buildContext } from './mingo-context';

const sortStage = (collection: LazyIterator, spec: Document): LazyIterator =>
  Lazy(sortDocuments(collection.collect<Document>(), parseSort(spec)));

const context = buildContext({ pipeline: { $sort: sortStage } });

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
