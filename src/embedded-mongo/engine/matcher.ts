/**
 * Query filters, evaluated by mingo, with the cases where mingo departs from MongoDB corrected first:
 * equality to null (also `$in: [null]`, `$ne: null`, `$nin: [null]`) on paths through arrays of subdocuments.
 * https://www.mongodb.com/docs/manual/tutorial/query-for-null-fields/
 */
import { Query } from 'mingo/query';
import type { Document } from 'bson';
import type { Options } from 'mingo/types';
import { buildContext } from './mingo-context';
import { collectPathValues, matchesNullEquality, splitPath } from '../values/field-paths';
import { typeRank, valuesEqual } from '../values/bson-order';
import { CommandError } from '../errors';

type Predicate = (doc: Document) => boolean;

const NULL_EQ = '$__nullEq';
const NULL_NE = '$__nullNe';

/** Custom operators standing for the corrected null comparisons; the rewrite below is their only producer. */
const context = buildContext({
  query: {
    [NULL_EQ]: (selector: string, rest: unknown[]) => nullOrIn(selector, rest, false),
    [NULL_NE]: (selector: string, rest: unknown[]) => nullOrIn(selector, rest, true),
  },
});

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

/** Compiles a filter document into a predicate; malformed filters fail as BadValue like mongod's parser. */
export function compileFilter(filter: Document | undefined): Predicate {
  if (!filter || Object.keys(filter).length === 0) return () => true;
  const equalities = scalarEqualities(filter);
  if (equalities) {
    return (doc) => equalities.every(([path, value]) => collectPathValues(doc, path).some((v) => v !== undefined && valuesEqual(v, value)));
  }
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

/**
 * `{ field: scalar, ... }` filters (the common point lookups) are matched directly: a reached value, or an
 * element of a reached array, equals the scalar. Building a mingo query per lookup costs more than the lookup.
 */
function scalarEqualities(filter: Document): [string[], unknown][] | undefined {
  const out: [string[], unknown][] = [];
  for (const [key, value] of Object.entries(filter)) {
    if (key.startsWith('$') || !isEqualityScalar(value)) return undefined;
    out.push([splitPath(key), value]);
  }
  return out;
}

function isEqualityScalar(value: unknown): boolean {
  const rank = typeRank(value);
  return value !== null && value !== undefined && (rank === 3 || rank === 4 || rank === 8 || rank === 9 || rank === 10) && !(value instanceof RegExp);
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
