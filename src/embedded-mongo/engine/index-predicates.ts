/**
 * The conditions of a filter an index can bound: equality, `$in`, ranges and anchored regex prefixes on fields,
 * found at the top level, in `$and` clauses and under `$elemMatch`, every one kept (several conditions on one
 * multikey field are alternatives: only one may bound a scan, and the trial picks which). `$or`, `$nor`, `$not`
 * and the like are left to the filter, which always runs after the scan.
 * https://www.mongodb.com/docs/manual/core/multikey-index-bounds/
 */
import { BSONRegExp, MaxKey, MinKey, type Document } from 'bson';
import { EMPTY_ARRAY_KEY, isRangeOperand, typeRank, type KeyValue } from '../values/bson-order';
import { isSubdocument, splitPath } from '../values/field-paths';
import { isElementConditions } from './fast-conditions';

/** One `$elemMatch` a condition sits in; `depth` is the number of components of its array's path. */
export interface ElemMatchScope {
  readonly depth: number;
}

export interface RangeEnd {
  readonly value: KeyValue;
  readonly inclusive: boolean;
}

/** What one condition says about the values of one field. */
export interface FieldPredicate {
  /** Point values (equality or $in). */
  readonly points?: readonly KeyValue[];
  readonly low?: RangeEnd;
  readonly high?: RangeEnd;
  /** The `$elemMatch` clauses around the condition, outermost first. */
  readonly scopes: readonly ElemMatchScope[];
  /** True when low and high constrain one value (an anchored regex), so they intersect even on an array field. */
  readonly oneValue?: boolean;
}

/** Every usable condition, by field path. */
export type FieldPredicates = ReadonlyMap<string, readonly FieldPredicate[]>;

/** The conditions of `filter` an index can bound, by field path. */
export function extractPredicates(filter: Document | undefined): FieldPredicates {
  const out = new Map<string, FieldPredicate[]>();
  if (filter) collect(filter, '', [], out);
  return out;
}

function collect(filter: Document, prefix: string, scopes: readonly ElemMatchScope[], out: Map<string, FieldPredicate[]>): void {
  for (const [key, condition] of Object.entries(filter)) {
    if (key === '$and' && Array.isArray(condition)) {
      for (const clause of condition) if (isSubdocument(clause)) collect(clause, prefix, scopes, out);
      continue;
    }
    if (key.startsWith('$')) continue;
    // Inside $elemMatch a numeric component would name a position in a nested array; such paths are left to the filter.
    if (scopes.length > 0 && splitPath(key).some((part) => /^\d+$/.test(part))) continue;
    const path = prefix + key;
    if (isSubdocument(condition) && isSubdocument(condition.$elemMatch)) collectElemMatch(path, condition.$elemMatch, scopes, out);
    const predicate = toPredicate(condition, scopes);
    if (predicate) add(out, path, predicate);
  }
}

/** Conditions under `$elemMatch` hold for one element together: they carry a scope naming that array. */
function collectElemMatch(path: string, query: Document, scopes: readonly ElemMatchScope[], out: Map<string, FieldPredicate[]>): void {
  const inner = [...scopes, { depth: splitPath(path).length }];
  if (isElementConditions(query)) {
    const predicate = toPredicate(query, inner);
    if (predicate) add(out, path, predicate);
    return;
  }
  collect(query, `${path}.`, inner, out);
}

function add(out: Map<string, FieldPredicate[]>, path: string, predicate: FieldPredicate): void {
  const list = out.get(path);
  if (list) list.push(predicate);
  else out.set(path, [predicate]);
}

function isPlannableScalar(value: unknown): boolean {
  if (value === null) return true;
  const rank = typeRank(value);
  if (value instanceof MinKey || value instanceof MaxKey || value === EMPTY_ARRAY_KEY) return false;
  return rank === 3 || rank === 4 || rank === 8 || rank === 9 || rank === 10;
}

function toPredicate(condition: unknown, scopes: readonly ElemMatchScope[]): FieldPredicate | undefined {
  const prefix = regexPrefix(condition);
  if (prefix !== undefined) return prefixRange(prefix, scopes);
  if (!isSubdocument(condition)) return isPlannableScalar(condition) ? { points: [condition], scopes } : undefined;
  const keys = Object.keys(condition);
  if (keys.length === 0 || !keys.every((k) => k.startsWith('$'))) return undefined;
  if ('$eq' in condition && isPlannableScalar(condition.$eq)) return { points: [condition.$eq], scopes };
  if ('$in' in condition && Array.isArray(condition.$in) && condition.$in.length > 0) {
    return condition.$in.every(isPlannableScalar) ? { points: condition.$in, scopes } : undefined;
  }
  if ('$regex' in condition) {
    const options = String(condition.$options ?? '');
    const pattern = condition.$regex instanceof RegExp ? condition.$regex.source : String(condition.$regex);
    const flags = condition.$regex instanceof RegExp ? condition.$regex.flags + options : options;
    const p = regexPrefix(new BSONRegExp(pattern, flags.replace(/[^imxs]/g, '')));
    return p === undefined ? undefined : prefixRange(p, scopes);
  }
  let low: RangeEnd | undefined;
  let high: RangeEnd | undefined;
  for (const [op, operand] of Object.entries(condition)) {
    if (!isRangeOperand(operand)) continue;
    if (op === '$gt' || op === '$gte') low = { value: operand, inclusive: op === '$gte' };
    if (op === '$lt' || op === '$lte') high = { value: operand, inclusive: op === '$lte' };
  }
  // Ranges never cross type brackets: bounds of two types have no common value, so one of them suffices.
  if (low && high && typeRank(low.value) !== typeRank(high.value)) high = undefined;
  return low || high ? { low, high, scopes } : undefined;
}

/** The literal prefix of an anchored, case-sensitive regex such as /^abc/, or undefined. */
function regexPrefix(value: unknown): string | undefined {
  let source: string;
  let flags: string;
  if (value instanceof RegExp) {
    source = value.source;
    flags = value.flags;
  } else if (value instanceof BSONRegExp) {
    source = value.pattern;
    flags = value.options;
  } else {
    return undefined;
  }
  if (/[imx]/.test(flags) || !source.startsWith('^')) return undefined;
  const match = /^\^((?:[^\\^$.|?*+()[\]{}]|\\[^A-Za-z0-9])*)/.exec(source);
  const literal = (match?.[1] ?? '').replace(/\\(.)/g, '$1');
  const rest = source.slice((match?.[0] ?? '').length);
  if (literal.length === 0) return undefined;
  // A quantifier right after the prefix applies to its last character, which then is not required.
  if (/^[?*{]/.test(rest)) return literal.length > 1 ? literal.slice(0, -1) : undefined;
  return literal;
}

function prefixRange(prefix: string, scopes: readonly ElemMatchScope[]): FieldPredicate {
  const last = prefix.charCodeAt(prefix.length - 1);
  const upper = prefix.slice(0, -1) + String.fromCharCode(last + 1);
  return { low: { value: prefix, inclusive: true }, high: { value: upper, inclusive: false }, scopes, oneValue: true };
}
