/**
 * Applies an update (operator document, replacement document or aggregation pipeline) to a copy of a document,
 * with mingo's update operators and the checks where mingo is more lenient than mongod: `$inc`/`$mul` on a
 * non-number (TypeMismatch 14), changes to `_id` (ImmutableField 66), unknown modifiers (FailedToParse 9),
 * `$setOnInsert` (applied only when an upsert inserts) and `$push` modifiers on a missing array.
 * https://www.mongodb.com/docs/manual/reference/operator/update/
 */
import { update as mingoUpdate } from 'mingo/updater';
import { Aggregator } from 'mingo';
import { ObjectId, Timestamp, serialize, type Document } from 'bson';
import { CommandError } from '../errors';
import { cloneDocument, withIdFirst } from '../values/clone-document';
import { isSubdocument } from '../values/field-paths';
import { typeRank, valuesEqual } from '../values/bson-order';

const SUPPORTED_MODIFIERS = new Set([
  '$set', '$unset', '$inc', '$mul', '$min', '$max', '$push', '$addToSet', '$pull', '$pullAll', '$pop',
  '$rename', '$currentDate', '$bit', '$setOnInsert',
]);

export type UpdateSpec = Document | Document[];

export interface UpdateOptions {
  arrayFilters?: Document[];
  /** The statement's filter, for the positional `$` operator. */
  filter?: Document;
  /** True when an upsert is inserting the document: `$setOnInsert` applies. */
  inserting?: boolean;
}

/** The kind of update document, as mongod classifies it. */
export function isOperatorUpdate(spec: UpdateSpec): boolean {
  if (Array.isArray(spec)) return false;
  const keys = Object.keys(spec);
  return keys.length > 0 && keys[0]?.startsWith('$') === true;
}

/** Rejects malformed update documents before any document is touched. */
export function validateUpdate(spec: UpdateSpec): void {
  if (Array.isArray(spec)) return;
  const keys = Object.keys(spec);
  if (!isOperatorUpdate(spec)) {
    const operator = keys.find((k) => k.startsWith('$'));
    if (operator) throw new CommandError('BadValue', `The dollar ($) prefixed field '${operator}' in '${operator}' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith.`);
    return;
  }
  const touched: string[] = [];
  for (const key of keys) {
    if (!SUPPORTED_MODIFIERS.has(key)) {
      throw new CommandError('FailedToParse', `Unknown modifier: ${key}. Expected a valid update modifier or pipeline-style update specified as an array`);
    }
    if (!isSubdocument(spec[key])) {
      throw new CommandError('FailedToParse', `Modifiers operate on fields but we found type ${typeof spec[key]} instead. For example: {$mod: {<field>: ...}} not {${key}: ${String(spec[key])}}`);
    }
    for (const path of Object.keys(spec[key] as Document).concat(key === '$rename' ? Object.values(spec[key] as Document).map(String) : [])) {
      const clash = touched.find((other) => other === path || other.startsWith(`${path}.`) || path.startsWith(`${other}.`));
      if (clash !== undefined) {
        throw new CommandError('ConflictingUpdateOperators', `Updating the path '${path}' would create a conflict at '${clash.length < path.length ? clash : path}'`);
      }
      touched.push(path);
    }
  }
}

/** Returns the updated copy of `doc` and whether anything changed; `doc` itself is left untouched. */
export function applyUpdate(doc: Document, spec: UpdateSpec, options: UpdateOptions = {}): { doc: Document; changed: boolean } {
  let next: Document;
  if (Array.isArray(spec)) {
    next = applyPipeline(doc, spec);
  } else if (isOperatorUpdate(spec)) {
    next = applyOperators(doc, spec as Document, options);
  } else {
    next = { _id: doc._id, ...cloneDocument(spec as Document) };
    if ('_id' in spec && !valuesEqual(spec._id, doc._id)) throw immutableId();
  }
  if (!valuesEqual(next._id, doc._id) || (doc._id !== undefined && next._id === undefined)) throw immutableId();
  next = withIdFirst(next);
  return { doc: next, changed: !sameBytes(doc, next) };
}

function immutableId(): CommandError {
  return new CommandError('ImmutableField', "Performing an update on the path '_id' would modify the immutable field '_id'");
}

function applyOperators(doc: Document, spec: Document, options: UpdateOptions): Document {
  const next = cloneDocument(doc);
  const modifiers: Document = {};
  for (const [op, fields] of Object.entries(spec)) {
    if (op === '$setOnInsert') {
      if (options.inserting) modifiers.$set = { ...(modifiers.$set as Document | undefined), ...(fields as Document) };
      continue;
    }
    modifiers[op] = op === '$set' && modifiers.$set ? { ...(fields as Document), ...(modifiers.$set as Document) } : fields;
  }
  for (const op of ['$inc', '$mul'] as const) {
    if (modifiers[op]) checkArithmetic(next, op, modifiers[op] as Document);
  }
  for (const path of Object.keys(modifiers.$set ?? {}).concat(Object.keys(modifiers.$unset ?? {}))) {
    if (path === '_id' || path.startsWith('_id.')) {
      const value = (modifiers.$set as Document | undefined)?.[path];
      if (!(path === '_id' && valuesEqual(value, doc._id))) throw immutableId();
    }
  }
  for (const op of ['$push', '$addToSet'] as const) {
    if (modifiers[op]) checkArrayTargets(next, op, modifiers[op] as Document);
  }
  if (modifiers.$currentDate) modifiers.$set = { ...(modifiers.$set as Document | undefined), ...currentDates(modifiers.$currentDate as Document) };
  delete modifiers.$currentDate;
  if (modifiers.$push) prepareArrays(next, modifiers.$push as Document);
  if (Object.keys(modifiers).length === 0) return next;
  try {
    mingoUpdate(next, modifiers, options.arrayFilters, options.filter, { cloneMode: 'copy' });
  } catch (error) {
    throw new CommandError('BadValue', (error as Error).message);
  }
  return next;
}

/** mongod refuses arithmetic on a field that holds a non-number, or with a non-numeric operand. */
function checkArithmetic(doc: Document, op: '$inc' | '$mul', fields: Document): void {
  for (const [path, operand] of Object.entries(fields)) {
    if (typeRank(operand) !== 3) {
      throw new CommandError('TypeMismatch', `Cannot ${op === '$inc' ? 'increment' : 'multiply'} with non-numeric argument: {${path}: ${JSON.stringify(operand)}}`);
    }
    if (path.includes('$')) continue;
    const current = readPath(doc, path);
    if (current !== undefined && typeRank(current) !== 3) {
      throw new CommandError(
        'TypeMismatch',
        `Cannot apply ${op} to a value of non-numeric type. {_id: ${String(doc._id)}} has the field '${path.split('.').pop()}' of non-numeric type ${describeType(current)}`,
      );
    }
  }
}

/** mongod refuses to append to a field that holds something other than an array. */
function checkArrayTargets(doc: Document, op: '$push' | '$addToSet', fields: Document): void {
  for (const path of Object.keys(fields)) {
    if (path.includes('$')) continue;
    const current = readPath(doc, path);
    if (current !== undefined && !Array.isArray(current)) {
      throw new CommandError('BadValue', `The field '${path}' must be an array but is of type ${describeType(current)} in document {_id: ${String(doc._id)}}`);
    }
  }
}

/** `$currentDate`: a Date, or a Timestamp with `{ $type: "timestamp" }` (mingo always writes a number). */
function currentDates(fields: Document): Document {
  const now = new Date();
  const out: Document = {};
  for (const [path, spec] of Object.entries(fields)) {
    const wantsTimestamp = isSubdocument(spec) && spec.$type === 'timestamp';
    out[path] = wantsTimestamp ? new Timestamp({ t: Math.floor(now.getTime() / 1000), i: 1 }) : now;
  }
  return out;
}

/** `$push` with modifiers onto a missing field must still sort and slice: start from an empty array. */
function prepareArrays(doc: Document, fields: Document): void {
  for (const [path, spec] of Object.entries(fields)) {
    if (path.includes('$') || !isSubdocument(spec) || !('$each' in spec)) continue;
    if (readPath(doc, path) === undefined) writePath(doc, path, []);
  }
}

function applyPipeline(doc: Document, stages: Document[]): Document {
  const allowed = new Set(['$addFields', '$set', '$project', '$unset', '$replaceRoot', '$replaceWith']);
  for (const stage of stages) {
    const name = Object.keys(stage)[0] ?? '';
    if (!allowed.has(name)) throw new CommandError('InvalidOptions', `${name} is not allowed to be used within an update`);
  }
  try {
    const [out] = new Aggregator(stages).run([cloneDocument(doc)]) as Document[];
    return out ?? {};
  } catch (error) {
    throw new CommandError('BadValue', (error as Error).message);
  }
}

function describeType(value: unknown): string {
  if (typeof value === 'string') return 'string';
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (value instanceof Date) return 'date';
  if (value instanceof ObjectId) return 'objectId';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'double';
  return 'object';
}

export function readPath(doc: Document, path: string): unknown {
  let value: unknown = doc;
  for (const part of path.split('.')) {
    if (Array.isArray(value) && /^\d+$/.test(part)) value = value[Number(part)];
    else if (isSubdocument(value)) value = value[part];
    else return undefined;
  }
  return value;
}

/** Sets a dotted path, creating subdocuments on the way (used for upsert seeds and array preparation). */
export function writePath(doc: Document, path: string, value: unknown): void {
  const parts = path.split('.');
  let target: Record<string, unknown> = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i] as string;
    const child = target[part];
    if (!isSubdocument(child)) target[part] = {};
    target = target[part] as Record<string, unknown>;
  }
  target[parts[parts.length - 1] as string] = value;
}

function sameBytes(a: Document, b: Document): boolean {
  return Buffer.from(serialize(a)).equals(Buffer.from(serialize(b)));
}
