/**
 * insert, update and delete: batches of statements, ordered (stop at the first error) or unordered,
 * with per-statement `writeErrors` as mongod reports them.
 * https://www.mongodb.com/docs/manual/reference/command/insert/ (and update/, delete/)
 */
import { ObjectId, type Document } from 'bson';
import { collectionName, runStatement, type CommandContext, type CommandHandler } from './command-context';
import { CommandError } from '../errors';
import { applyUpdate, validateUpdate, writePath, type UpdateSpec } from '../engine/apply-update';
import { withIdFirst } from '../values/clone-document';
import { documentKey } from '../values/document-key';
import { isSubdocument } from '../values/field-paths';
import type { Collection } from '../engine/collection';
import type { SortField } from '../engine/sort-documents';

interface StatementOutcome {
  n: number;
}

/** Runs statements in order, collecting write errors; ordered batches stop at the first failure. */
async function runBatch(
  statements: readonly Document[],
  ordered: boolean,
  run: (statement: Document, index: number) => StatementOutcome,
): Promise<{ outcomes: StatementOutcome[]; writeErrors: Document[] }> {
  const outcomes: StatementOutcome[] = [];
  const writeErrors: Document[] = [];
  for (let index = 0; index < statements.length; index++) {
    try {
      outcomes.push(await runStatement(() => run(statements[index] as Document, index)));
    } catch (error) {
      // Errors that abort a whole transaction (WriteConflict) are command errors, not statement errors.
      if (!(error instanceof CommandError) || error.labels.length > 0) throw error;
      writeErrors.push(error.toWriteError(index));
      if (ordered) break;
    }
  }
  return { outcomes, writeErrors };
}

function statementsOf(command: Document, field: string): Document[] {
  const value = command[field];
  if (!Array.isArray(value)) throw new CommandError('FailedToParse', `BSON field '${field}' is missing but a required field`);
  return value as Document[];
}

function finish(reply: Document, writeErrors: Document[]): Document {
  if (writeErrors.length > 0) reply.writeErrors = writeErrors;
  return reply;
}

export const insert: CommandHandler = async (command, context) => {
  const name = collectionName(command, 'insert');
  const documents = statementsOf(command, 'documents');
  const collection = context.access.ensureCollection(name);
  const { outcomes, writeErrors } = await runBatch(documents, command.ordered !== false, (doc) => {
    if (!isSubdocument(doc)) throw new CommandError('TypeMismatch', 'documents to insert must be objects');
    const stored = withIdFirst('_id' in doc ? { ...doc } : { _id: new ObjectId(), ...doc });
    if (Array.isArray(stored._id)) throw new CommandError('BadValue', "can't use an array for _id");
    context.access.insert(collection, stored);
    return { n: 1 };
  });
  return finish({ n: outcomes.length }, writeErrors);
};

/** The fields an upsert copies from its filter: equality conditions, also inside `$and`. */
export function upsertSeed(filter: Document | undefined): Document {
  const seed: Document = {};
  const visit = (clause: Document): void => {
    for (const [key, value] of Object.entries(clause)) {
      if (key === '$and' && Array.isArray(value)) {
        for (const part of value) if (isSubdocument(part)) visit(part);
        continue;
      }
      if (key.startsWith('$')) continue;
      if (isSubdocument(value) && Object.keys(value).some((k) => k.startsWith('$'))) {
        if ('$eq' in value) writePath(seed, key, value.$eq);
        continue;
      }
      writePath(seed, key, value);
    }
  };
  if (filter) visit(filter);
  return seed;
}

/** One update statement; also used by findAndModify. Returns the documents before and after. */
export function updateMatching(
  context: CommandContext,
  collection: Collection,
  statement: { q?: Document; u: UpdateSpec; multi?: boolean; upsert?: boolean; arrayFilters?: Document[]; sort?: Document },
  sortFields: readonly SortField[] = [],
): { matched: number; modified: number; upserted?: Document; before?: Document; after?: Document } {
  validateUpdate(statement.u);
  if (statement.multi && !Array.isArray(statement.u) && !Object.keys(statement.u)[0]?.startsWith('$')) {
    throw new CommandError('FailedToParse', 'multi update is not supported for replacement-style update');
  }
  const { docs } = context.access.query(collection, {
    filter: statement.q,
    sort: sortFields,
    limit: statement.multi ? undefined : 1,
  });
  const targets = [...docs];
  context.access.assertWritable(collection, targets.map((doc) => documentKey(doc._id)));
  if (targets.length === 0) {
    if (!statement.upsert) return { matched: 0, modified: 0 };
    const seed = upsertSeed(statement.q);
    const { doc } = applyUpdate({ _id: seed._id, ...seed }, statement.u, { arrayFilters: statement.arrayFilters, inserting: true });
    const created = withIdFirst(doc._id === undefined ? { ...doc, _id: new ObjectId() } : doc);
    context.access.insert(collection, created);
    return { matched: 0, modified: 0, upserted: created, after: created };
  }
  const updates = targets.map((doc) => ({
    before: doc,
    ...applyUpdate(doc, statement.u, { arrayFilters: statement.arrayFilters, filter: statement.q }),
  }));
  let modified = 0;
  for (const update of updates) {
    if (!update.changed) continue;
    context.access.replace(collection, update.doc);
    modified++;
  }
  const first = updates[0];
  return { matched: targets.length, modified, before: first?.before, after: first?.doc };
}

export const update: CommandHandler = async (command, context) => {
  const name = collectionName(command, 'update');
  const statements = statementsOf(command, 'updates');
  const collection = context.access.ensureCollection(name);
  const upserted: Document[] = [];
  let nModified = 0;
  const { outcomes, writeErrors } = await runBatch(statements, command.ordered !== false, (statement, index) => {
    const result = updateMatching(context, collection, statement as Parameters<typeof updateMatching>[2]);
    nModified += result.modified;
    if (result.upserted) {
      upserted.push({ index, _id: result.upserted._id });
      return { n: 1 };
    }
    return { n: result.matched };
  });
  const reply: Document = { n: outcomes.reduce((sum, o) => sum + o.n, 0), nModified };
  if (upserted.length > 0) reply.upserted = upserted;
  return finish(reply, writeErrors);
};

export const del: CommandHandler = async (command, context) => {
  const name = collectionName(command, 'delete');
  const statements = statementsOf(command, 'deletes');
  const collection = context.access.collection(name);
  const { outcomes, writeErrors } = await runBatch(statements, command.ordered !== false, (statement) => {
    if (!collection) return { n: 0 };
    const limit = Number(statement.limit ?? 0);
    const { docs } = context.access.query(collection, { filter: statement.q as Document | undefined, limit: limit === 1 ? 1 : undefined });
    const targets = [...docs];
    context.access.assertWritable(collection, targets.map((doc) => documentKey(doc._id)));
    for (const doc of targets) context.access.remove(collection, doc);
    return { n: targets.length };
  });
  return finish({ n: outcomes.reduce((sum, o) => sum + o.n, 0) }, writeErrors);
};
