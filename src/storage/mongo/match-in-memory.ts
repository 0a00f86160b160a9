/**
 * Evaluates a MongoDB filter against one document in memory (mingo implements MongoDB's query language), so that
 * a resource about to be written, or just read, can be tested with exactly the filter a query would use.
 * https://www.mongodb.com/docs/manual/reference/operator/query/
 */
import { Context } from 'mingo';
import { Query } from 'mingo/query';
import * as queryOperators from 'mingo/operators/query';
import type { Document } from 'mongodb';

const context = Context.init({ query: queryOperators });

export function matchesInMemory(doc: Document, filter: Document): boolean {
  return new Query(filter, { context }).test(doc);
}
