/**
 * Reads: find, getMore, killCursors, aggregate, count, distinct and findAndModify. Results stream from the
 * query plan through a cursor; only sorting without a usable index materialises them (bounded by the limit).
 * https://www.mongodb.com/docs/manual/reference/command/nav-crud/
 */
import { Query } from 'mingo/query';
import { Long, type Document } from 'bson';
import {
  collectionName,
  optionalCount,
  optionalDocument,
  runStatement,
  type CommandContext,
  type CommandHandler,
} from './command-context';
import { CommandError } from '../errors';
import { parseSort } from '../engine/sort-documents';
import { runPipeline } from '../engine/run-pipeline';
import { queryOptions } from '../engine/matcher';
import { cloneDocument } from '../values/clone-document';
import { collectPathValues, isSubdocument, splitPath } from '../values/field-paths';
import { compareValues } from '../values/bson-order';
import { updateMatching } from './write-commands';
import type { QueryOptions } from '../engine/data-access';

/** Applies a find projection (inclusion, exclusion, `$slice`, `$elemMatch`, positional `$`) to a batch. */
function projector(projection: Document | undefined, filter: Document | undefined): ((docs: Document[]) => Document[]) | undefined {
  if (!projection || Object.keys(projection).length === 0) return undefined;
  const positional = Object.keys(projection).some((key) => key.endsWith('.$'));
  try {
    new Query(positional && filter ? filter : {}, queryOptions()).find([], projection).all();
  } catch (error) {
    throw new CommandError('BadValue', (error as Error).message);
  }
  return (docs) => new Query(positional && filter ? filter : {}, queryOptions()).find(docs.map((d) => cloneDocument(d)), projection).all() as Document[];
}

function sessionKey(context: CommandContext): string | undefined {
  return context.session?.key;
}

/** The query of a find command (a negative limit means a single batch of that many). */
export function parseFindQuery(command: Document): QueryOptions {
  const limit = optionalCount(command, 'limit');
  return {
    filter: optionalDocument(command, 'filter'),
    sort: parseSort(command.sort),
    skip: optionalCount(command, 'skip'),
    limit: limit === undefined ? undefined : Math.abs(limit),
  };
}

export const find: CommandHandler = (command, context) => {
  const name = collectionName(command, 'find');
  const filter = optionalDocument(command, 'filter');
  const limit = optionalCount(command, 'limit');
  const { docs } = context.access.query(context.access.collection(name), parseFindQuery(command));
  const cursor = context.engine.cursors.open(`${context.dbName}.${name}`, docs[Symbol.iterator](), {
    batchSize: optionalCount(command, 'batchSize'),
    singleBatch: command.singleBatch === true || (limit !== undefined && limit < 0),
    transform: projector(optionalDocument(command, 'projection'), filter),
    sessionKey: sessionKey(context),
  });
  return { cursor };
};

export const getMore: CommandHandler = (command, context) => {
  const id = command.getMore;
  const name = collectionName(command, 'collection');
  if (!(id instanceof Long) && typeof id !== 'number') throw new CommandError('TypeMismatch', "Field 'getMore' must be of type long");
  const cursorId = Long.fromValue(id);
  const result = context.engine.cursors.next(cursorId, optionalCount(command, 'batchSize'));
  if (!result) throw new CommandError('CursorNotFound', `cursor id ${cursorId.toString()} not found`);
  return {
    cursor: { nextBatch: result.batch, id: result.exhausted ? Long.ZERO : cursorId, ns: `${context.dbName}.${name}` },
  };
};

export const killCursors: CommandHandler = (command, context) => {
  const ids = Array.isArray(command.cursors) ? (command.cursors as unknown[]) : [];
  const killed: Long[] = [];
  const notFound: Long[] = [];
  for (const raw of ids) {
    const id = Long.fromValue(raw as Long);
    (context.engine.cursors.kill(id) ? killed : notFound).push(id);
  }
  return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [] };
};

/**
 * The query a pipeline starts with: a leading `$match`, `$sort`, `$skip`, `$limit` run on the query planner (a
 * `$skip` or `$limit` mingo would reject is left to it); the rest runs in mingo.
 */
export function splitPipelineQuery(pipeline: Document[]): { options: QueryOptions; rest: Document[] } {
  const options: QueryOptions = {};
  let i = 0;
  const stage = (name: string): unknown => (pipeline[i] && name in (pipeline[i] as Document) ? (pipeline[i] as Document)[name] : undefined);
  const count = (name: string, least: number): number | undefined => {
    const value = stage(name);
    return typeof value === 'number' && Number.isInteger(value) && value >= least ? value : undefined;
  };
  if (stage('$match') !== undefined) options.filter = pipeline[i++]?.$match as Document;
  if (stage('$sort') !== undefined) options.sort = parseSort(pipeline[i++]?.$sort);
  const skip = count('$skip', 0);
  if (skip !== undefined) {
    options.skip = skip;
    i++;
  }
  const limit = count('$limit', 1);
  if (limit !== undefined) {
    options.limit = limit;
    i++;
  }
  return { options, rest: pipeline.slice(i) };
}

function* cloned(docs: Iterable<Document>): IterableIterator<Document> {
  for (const doc of docs) yield cloneDocument(doc);
}

/**
 * `{$group: {_id: <constant>, n: {$sum: 1}}}`, how drivers count (countDocuments): its one output document, to be
 * completed with the count; undefined for any other stage.
 */
function matchCountingGroup(stage: Document | undefined): Document | undefined {
  const group = stage?.$group as Document | undefined;
  if (!stage || Object.keys(stage).length !== 1 || !isSubdocument(group) || !('_id' in group)) return undefined;
  const id = group._id;
  const constant = id === null || typeof id === 'number' || typeof id === 'boolean' || (typeof id === 'string' && !id.startsWith('$'));
  const counters = Object.entries(group).filter(([field]) => field !== '_id');
  if (!constant || !counters.every(([, value]) => isSubdocument(value) && Object.keys(value).length === 1 && value.$sum === 1)) return undefined;
  return { _id: id, ...Object.fromEntries(counters.map(([field]) => [field, 0])) };
}

/** The group's document with every counter set to the number of documents; none for no documents, as $group. */
function* countInto(docs: Iterable<Document>, group: Document): IterableIterator<Document> {
  let n = 0;
  for (const _doc of docs) n++;
  if (n === 0) return;
  yield Object.fromEntries(Object.entries(group).map(([field, value]) => [field, field === '_id' ? value : n]));
}

export const aggregate: CommandHandler = (command, context) => {
  const pipeline = command.pipeline;
  if (!Array.isArray(pipeline)) throw new CommandError('TypeMismatch', "'pipeline' option must be specified as an array");
  for (const stage of pipeline as Document[]) {
    const name = Object.keys(stage)[0];
    if (name === '$out' || name === '$merge') throw new CommandError('CommandNotFound', `${name} is not supported by the embedded engine`);
  }
  if (command.aggregate !== 1 && typeof command.aggregate !== 'string') {
    throw new CommandError('TypeMismatch', "'aggregate' must be a collection name or 1");
  }
  const name = typeof command.aggregate === 'string' ? collectionName(command, 'aggregate') : undefined;
  const collection = name ? context.access.collection(name) : undefined;
  const { options, rest } = splitPipelineQuery(pipeline as Document[]);
  const { docs } = context.access.query(collection, options);
  const resolve = (other: string): Document[] => [...cloned(context.access.query(context.access.collection(other), {}).docs)];
  // Counting needs no copies of the documents, nor mingo.
  const counter = rest.length === 1 ? matchCountingGroup(rest[0]) : undefined;
  const iterator = counter ? countInto(docs, counter) : rest.length === 0 ? cloned(docs) : runPipeline(rest, cloned(docs), resolve);
  const batchSize = optionalDocument(command, 'cursor')?.batchSize as number | undefined;
  const cursor = context.engine.cursors.open(`${context.dbName}.${name ?? '$cmd.aggregate'}`, iterator, {
    batchSize,
    sessionKey: sessionKey(context),
  });
  return { cursor };
};

/** The query of a count command. */
export function parseCountQuery(command: Document): QueryOptions {
  const limit = optionalCount(command, 'limit');
  return { filter: optionalDocument(command, 'query'), skip: optionalCount(command, 'skip') ?? 0, limit: limit ? Math.abs(limit) : undefined };
}

export const count: CommandHandler = (command, context) => {
  const name = collectionName(command, 'count');
  const collection = context.access.collection(name);
  const options = parseCountQuery(command);
  const skip = options.skip ?? 0;
  if (!options.filter || Object.keys(options.filter).length === 0) {
    if (!context.access.txn && collection) {
      const total = Math.max(0, collection.size - skip);
      return { n: options.limit ? Math.min(total, options.limit) : total };
    }
  }
  const { docs } = context.access.query(collection, options);
  let n = 0;
  for (const _doc of docs) n++;
  return { n };
};

export const distinct: CommandHandler = (command, context) => {
  const name = collectionName(command, 'distinct');
  const key = command.key;
  if (typeof key !== 'string') throw new CommandError('TypeMismatch', "BSON field 'distinct.key' is missing but a required field");
  const path = splitPath(key);
  const { docs } = context.access.query(context.access.collection(name), { filter: optionalDocument(command, 'query') });
  const values: unknown[] = [];
  for (const doc of docs) {
    for (const value of collectPathValues(doc, path)) {
      if (value === undefined) continue;
      if (!values.some((v) => compareValues(v, value) === 0)) values.push(value);
    }
  }
  return { values: values.sort(compareValues) };
};

export const findAndModify: CommandHandler = async (command, context) => {
  const name = collectionName(command, 'findAndModify' in command ? 'findAndModify' : 'findandmodify');
  const filter = optionalDocument(command, 'query');
  const sort = parseSort(command.sort);
  const remove = command.remove === true;
  const returnNew = command.new === true;
  const project = projector(optionalDocument(command, 'fields'), filter);
  const shape = (doc: Document | undefined): Document | null => (doc ? (project ? project([doc])[0] ?? null : doc) : null);
  if (remove) {
    if (command.update !== undefined) throw new CommandError('FailedToParse', 'Cannot specify both an update and remove=true');
    return runStatement(() => {
      const collection = context.access.collection(name);
      const [doc] = [...context.access.query(collection, { filter, sort, limit: 1 }).docs];
      if (!collection || !doc) return { lastErrorObject: { n: 0 }, value: null };
      context.access.remove(collection, doc);
      return { lastErrorObject: { n: 1 }, value: shape(doc) };
    });
  }
  if (command.update === undefined) throw new CommandError('FailedToParse', 'Either an update or remove=true must be specified');
  const collection = context.access.ensureCollection(name);
  return runStatement(() => {
    const result = updateMatching(
      context,
      collection,
      { q: filter, u: command.update, upsert: command.upsert === true, arrayFilters: command.arrayFilters },
      sort,
    );
    const lastErrorObject: Document = { n: result.upserted ? 1 : result.matched, updatedExisting: result.matched > 0 };
    if (result.upserted) lastErrorObject.upserted = result.upserted._id;
    const value = returnNew ? result.after : result.upserted ? undefined : result.before;
    return { lastErrorObject, value: shape(value) };
  });
};
