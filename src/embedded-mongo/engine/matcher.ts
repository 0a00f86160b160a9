/**
 * Query filters, evaluated by mingo, with the cases where mingo departs from MongoDB corrected first:
 * equality to null (also `$in: [null]`, `$ne: null`, `$nin: [null]`) on paths through arrays of subdocuments.
 * https://www.mongodb.com/docs/manual/tutorial/query-for-null-fields/
 */
import { Query } from 'mingo/query';
import { Binary, BSONRegExp, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp, type Document } from 'bson';
import type { Options } from 'mingo/types';
import { buildContext } from './mingo-context';
import { collectPathValues, isSubdocument, matchesNullEquality, splitPath } from '../values/field-paths';
import { compileFastCondition } from './fast-conditions';

import { CommandError } from '../errors';

type Predicate = (doc: Document) => boolean;

const NULL_EQ = '$__nullEq';
const NULL_NE = '$__nullNe';

/** Custom operators standing for the corrected null comparisons; the rewrite below is their only producer. */
const context = buildContext({
  query: {
    [NULL_EQ]: (selector: string, rest: unknown[]) => nullOrIn(selector, rest, false),
    [NULL_NE]: (selector: string, rest: unknown[]) => nullOrIn(selector, rest, true),
    $type: (selector: string, wanted: unknown) => hasBsonType(selector, wanted),
  },
});

const TYPE_CODES: Record<number, string> = {
  1: 'double', 2: 'string', 3: 'object', 4: 'array', 5: 'binData', 6: 'undefined', 7: 'objectId', 8: 'bool', 9: 'date',
  10: 'null', 11: 'regex', 13: 'javascript', 16: 'int', 17: 'timestamp', 18: 'long', 19: 'decimal', [-1]: 'minKey', 127: 'maxKey',
};

/** The BSON type aliases of a value (https://www.mongodb.com/docs/manual/reference/operator/query/type/). */
function bsonTypes(value: unknown): string[] {
  if (value === null) return ['null'];
  if (Array.isArray(value)) return ['array'];
  if (typeof value === 'string') return ['string'];
  if (typeof value === 'boolean') return ['bool'];
  if (typeof value === 'number') {
    // Stored numbers are JS numbers, which do not remember int32/int64/double: an integer answers to all three.
    if (!Number.isInteger(value)) return ['double', 'number'];
    return Math.abs(value) < 2 ** 31 ? ['int', 'long', 'double', 'number'] : ['long', 'double', 'number'];
  }
  if (value instanceof Date) return ['date'];
  if (value instanceof RegExp || value instanceof BSONRegExp) return ['regex'];
  if (value instanceof ObjectId) return ['objectId'];
  if (value instanceof Timestamp) return ['timestamp'];
  if (value instanceof Long) return ['long', 'number'];
  if (value instanceof Decimal128) return ['decimal', 'number'];
  if (value instanceof Int32) return ['int', 'number'];
  if (value instanceof Double) return ['double', 'number'];
  if (value instanceof Binary) return ['binData'];
  if (value instanceof MinKey) return ['minKey'];
  if (value instanceof MaxKey) return ['maxKey'];
  return typeof value === 'object' ? ['object'] : [];
}

/** `$type`: the field (or, for an array, the array itself or any element) has one of the wanted types. */
function hasBsonType(selector: string, wanted: unknown): Predicate {
  const names = (Array.isArray(wanted) ? wanted : [wanted]).map((w) => (typeof w === 'number' ? TYPE_CODES[w] : String(w)));
  const path = splitPath(selector);
  return (doc) => {
    const whole = collectPathValues(doc, path, []).concat(readArrays(doc, path));
    return whole.some((value) => value !== undefined && bsonTypes(value).some((t) => names.includes(t)));
  };
}

/** Arrays reached at the end of a path (collectPathValues yields their elements). */
function readArrays(doc: unknown, path: readonly string[]): unknown[] {
  let values: unknown[] = [doc];
  for (const part of path) {
    values = values.flatMap((v) => (Array.isArray(v) ? v : [v])).map((v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[part] : undefined));
  }
  return values.filter(Array.isArray);
}

function nullOrIn(selector: string, rest: unknown[], negate: boolean): Predicate {
  const path = splitPath(selector);
  const others = rest.length > 0 ? new Query({ [selector]: { $in: rest } }, queryOptions()) : undefined;
  return (doc) => {
    const matched = matchesNullEquality(doc, path) || (others !== undefined && others.test(doc));
    return negate ? !matched : matched;
  };
}

const OPTIONS: Partial<Options> = { context, useStrictMode: true };

/** Query options every engine query uses (mingo's full operator set with the corrections). */
export function queryOptions(): Partial<Options> {
  return OPTIONS;
}

/**
 * Compiles a filter document into a predicate; malformed filters fail as BadValue like mongod's parser.
 * Each condition (a field, or a clause of `$and`) is matched directly when its form allows (fast-conditions.ts)
 * and by mingo otherwise, or for the documents the direct reading leaves undecided.
 */
export function compileFilter(filter: Document | undefined): Predicate {
  if (!filter || Object.keys(filter).length === 0) return () => true;
  const conditions = splitConditions(filter);
  if (!conditions) return compileWithMingo(filter);
  const predicates = conditions.map(([key, condition]): Predicate => {
    const fast = compileFastCondition(key, condition);
    if (!fast) return compileWithMingo({ [key]: condition });
    let slow: Predicate | undefined;
    return (doc) => fast(doc) ?? (slow ??= compileWithMingo({ [key]: condition }))(doc);
  });
  if (predicates.length === 1) return predicates[0] as Predicate;
  return (doc) => predicates.every((predicate) => predicate(doc));
}

/** The conditions that must all hold: the filter's fields and the clauses of `$and`; undefined for a malformed `$and`. */
function splitConditions(filter: Document): [string, unknown][] | undefined {
  const out: [string, unknown][] = [];
  for (const [key, condition] of Object.entries(filter)) {
    if (key !== '$and') {
      out.push([key, condition]);
      continue;
    }
    if (!Array.isArray(condition) || condition.length === 0 || !condition.every(isSubdocument)) return undefined;
    for (const clause of condition) {
      const inner = splitConditions(clause);
      if (!inner) return undefined;
      out.push(...inner);
    }
  }
  return out;
}

function compileWithMingo(filter: Document): Predicate {
  let query: Query;
  try {
    query = new Query(rewriteNulls(filter), queryOptions());
  } catch (error) {
    // mongod's wording, which drivers and tests match on.
    const message = (error as Error).message.replace(/^unknown query operator (\$\w+)$/, 'unknown operator: $1');
    throw new CommandError('BadValue', message);
  }
  return (doc) => query.test(doc);
}

function rewriteNulls(filter: Document): Document {
  const out: Document = {};
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' || key === '$or' || key === '$nor') {
      out[key] = Array.isArray(value) ? value.map((clause: Document) => rewriteNulls(clause)) : value;
    } else if (key.startsWith('$')) {
      out[key] = value;
    } else {
      out[key] = rewriteCondition(value);
    }
  }
  return out;
}

function isOperatorObject(value: unknown): value is Document {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => k.startsWith('$'));
}

function rewriteCondition(condition: unknown): unknown {
  if (condition === null) return { [NULL_EQ]: [] };
  if (!isOperatorObject(condition)) return condition;
  const out: Document = {};
  for (const [op, operand] of Object.entries(condition)) {
    if (op === '$eq' && operand === null) out[NULL_EQ] = [];
    else if (op === '$ne' && operand === null) out[NULL_NE] = [];
    else if (op === '$in' && Array.isArray(operand) && operand.includes(null)) {
      out[NULL_EQ] = operand.filter((v) => v !== null);
    } else if (op === '$nin' && Array.isArray(operand) && operand.includes(null)) {
      out[NULL_NE] = operand.filter((v) => v !== null);
    } else if (op === '$not' && isOperatorObject(operand)) out[op] = rewriteCondition(operand);
    else out[op] = operand;
  }
  return out;
}
