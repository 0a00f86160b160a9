/**
 * Chooses how to find a query's candidate documents: bounded scans of one index (equality prefix, then one
 * range), an index walked in sort order, or the whole collection. Candidates are a superset: the full filter is
 * always applied afterwards, so a plan only has to be fast, never exact.
 * https://www.mongodb.com/docs/manual/core/query-plans/ and .../indexes/#index-use
 */
import { BSONRegExp, MaxKey, MinKey, ObjectId, Timestamp, type Document } from 'bson';
import { EMPTY_ARRAY_KEY, HIGHEST, LOWEST, typeRank, type KeyValue } from '../values/bson-order';
import { isSubdocument } from '../values/field-paths';
import { compareEntryKeys, treeMax, treeMin, type CollectionIndex, type EntryKey, type IndexTree } from './collection-index';
import type { Collection } from './collection';

/** One direction of a sort specification. */
export interface SortField {
  readonly name: string;
  readonly direction: 1 | -1;
}

interface FieldPredicate {
  /** Point values (equality or $in). */
  points?: KeyValue[];
  low?: { value: KeyValue; inclusive: boolean };
  high?: { value: KeyValue; inclusive: boolean };
}

interface Bound {
  low: EntryKey;
  high: EntryKey;
}

/** How candidates are produced, and whether they already come in the requested sort order. */
export interface QueryPlan {
  readonly index: CollectionIndex;
  readonly bounds: readonly Bound[] | undefined;
  readonly reverse: boolean;
  readonly providesSort: boolean;
  /** For explain and tests: "IXSCAN name", "IXSCAN name (sort)" or "COLLSCAN". */
  readonly summary: string;
}

const MAX_BOUNDS = 500;

/** Plans a query on a collection. */
export function planQuery(collection: Collection, filter: Document | undefined, sort: readonly SortField[]): QueryPlan {
  const predicates = extractPredicates(filter ?? {});
  let best: { index: CollectionIndex; bounds: Bound[]; score: number; providesSort: boolean; reverse: boolean } | undefined;
  for (const index of collection.indexes.values()) {
    if (index.spec.partialFilterExpression) continue;
    const candidate = boundIndex(index, predicates, sort);
    if (!candidate) continue;
    const better =
      !best ||
      candidate.score > best.score ||
      (candidate.score === best.score && candidate.providesSort && !best.providesSort) ||
      (candidate.score === best.score && index.unique && !best.index.unique);
    if (better) best = { index, ...candidate };
  }
  if (best) {
    return {
      index: best.index,
      bounds: best.bounds,
      reverse: best.reverse,
      providesSort: best.providesSort,
      summary: `IXSCAN ${best.index.name}${best.providesSort && sort.length > 0 ? ' (sort)' : ''}`,
    };
  }
  for (const index of collection.indexes.values()) {
    if (index.spec.partialFilterExpression || index.spec.sparse) continue;
    const order = sortOrder(index, 0, sort);
    if (order !== undefined) {
      return { index, bounds: undefined, reverse: order, providesSort: true, summary: `IXSCAN ${index.name} (sort)` };
    }
  }
  return { index: collection.idIndex, bounds: undefined, reverse: false, providesSort: sort.length === 0, summary: 'COLLSCAN' };
}

/** Candidate documents of a plan, each once, from an O(1) snapshot of the index. */
export function* scanPlan(plan: QueryPlan): IterableIterator<Document> {
  const tree = plan.index.snapshot();
  const dedupe = plan.index.multikey || (plan.bounds !== undefined && plan.bounds.length > 1);
  const seen = dedupe ? new Set<string>() : undefined;
  const ranges = plan.bounds ?? [wholeRange(plan.index)];
  const ordered = plan.reverse ? [...ranges].reverse() : ranges;
  for (const range of ordered) {
    for (const [key, doc] of iterateRange(tree, plan.index, range, plan.reverse)) {
      if (seen) {
        const id = key[key.length - 1] as string;
        if (seen.has(id)) continue;
        seen.add(id);
      }
      yield doc;
    }
  }
}

function wholeRange(index: CollectionIndex): Bound {
  return {
    low: [...index.fields.map((f) => treeMin(f.direction)), LOWEST],
    high: [...index.fields.map((f) => treeMax(f.direction)), HIGHEST],
  };
}

function* iterateRange(tree: IndexTree, index: CollectionIndex, range: Bound, reverse: boolean): IterableIterator<[EntryKey, Document]> {
  const directions = index.fields.map((f) => f.direction);
  const cmp = (a: EntryKey, b: EntryKey): number => compareEntryKeys(a, b, directions);
  if (!reverse) {
    for (const entry of tree.entries(range.low)) {
      if (cmp(entry[0], range.high) > 0) return;
      yield entry;
    }
  } else {
    for (const entry of tree.entriesReversed(range.high)) {
      if (cmp(entry[0], range.low) < 0) return;
      yield entry;
    }
  }
}

/**
 * Bounds on an index from the predicates: equality on a prefix of its fields, then at most one range.
 * Returns undefined when the index cannot narrow the candidates.
 */
function boundIndex(
  index: CollectionIndex,
  predicates: Map<string, FieldPredicate>,
  sort: readonly SortField[],
): { bounds: Bound[]; score: number; providesSort: boolean; reverse: boolean } | undefined {
  const fields = index.fields;
  let prefixes: KeyValue[][] = [[]];
  let used = 0;
  let singlePoints = 0;
  let range: FieldPredicate | undefined;
  for (const field of fields) {
    const predicate = predicates.get(field.name);
    if (!predicate) break;
    if (index.spec.sparse && predicate.points?.some((p) => p === null)) return undefined;
    if (predicate.points) {
      const next: KeyValue[][] = [];
      for (const prefix of prefixes) for (const point of predicate.points) next.push([...prefix, point]);
      if (next.length > MAX_BOUNDS) break;
      prefixes = next;
      used++;
      if (predicate.points.length === 1) singlePoints = used;
      continue;
    }
    range = predicate;
    used++;
    break;
  }
  if (used === 0) return undefined;
  const eqCount = range ? used - 1 : used;
  const bounds = prefixes.map((prefix) => makeBound(index, prefix, eqCount, range));
  const sortFrom = singlePoints === eqCount ? eqCount : -1;
  const order = sortFrom >= 0 && prefixes.length === 1 ? sortOrder(index, sortFrom, sort) : undefined;
  const providesSort = sort.length === 0 ? prefixes.length === 1 : order !== undefined;
  const score = eqCount * 2 + (range ? 1 : 0) + (index.unique && !range && eqCount === fields.length ? 10 : 0);
  return { bounds, score, providesSort, reverse: order ?? false };
}

function makeBound(index: CollectionIndex, prefix: KeyValue[], eqCount: number, range: FieldPredicate | undefined): Bound {
  const fields = index.fields;
  const low: KeyValue[] = [...prefix];
  const high: KeyValue[] = [...prefix];
  let lowRestMin = true;
  let highRestMax = true;
  if (range) {
    const field = fields[eqCount];
    const direction = field ? field.direction : 1;
    let lowEnd = range.low ?? { value: bracketStart(range.high?.value), inclusive: true };
    let highEnd = range.high ?? { value: bracketEnd(range.low?.value), inclusive: false };
    if (index.multikey && range.low && range.high) highEnd = { value: bracketEnd(range.low.value), inclusive: false };
    if (direction === -1) [lowEnd, highEnd] = [highEnd, lowEnd];
    low.push(lowEnd.value);
    high.push(highEnd.value);
    lowRestMin = lowEnd.inclusive;
    highRestMax = highEnd.inclusive;
  }
  for (let i = low.length; i < fields.length; i++) {
    const direction = (fields[i] as { direction: 1 | -1 }).direction;
    low.push(lowRestMin ? treeMin(direction) : treeMax(direction));
    high.push(highRestMax ? treeMax(direction) : treeMin(direction));
  }
  low.push(lowRestMin ? LOWEST : HIGHEST);
  high.push(highRestMax ? HIGHEST : LOWEST);
  return { low, high };
}

/** Whether walking `index` from field `from` on yields `sort` order: false forward, true reversed, undefined no. */
function sortOrder(index: CollectionIndex, from: number, sort: readonly SortField[]): boolean | undefined {
  if (sort.length === 0 || index.multikey) return undefined;
  if (index.fields.length - from < sort.length) return undefined;
  let reverse: boolean | undefined;
  for (let i = 0; i < sort.length; i++) {
    const field = index.fields[from + i];
    const wanted = sort[i] as SortField;
    if (!field || field.name !== wanted.name) return undefined;
    const flipped = field.direction !== wanted.direction;
    if (reverse === undefined) reverse = flipped;
    else if (reverse !== flipped) return undefined;
  }
  return reverse;
}

/** The smallest value of the type bracket of `value` (range queries never cross brackets). */
function bracketStart(value: KeyValue): KeyValue {
  switch (typeRank(value)) {
    case 3:
      return Number.NaN;
    case 4:
      return '';
    case 8:
      return new ObjectId('000000000000000000000000');
    case 10:
      return new Date(-8.64e15);
    default:
      return LOWEST;
  }
}

/** A value just above the type bracket of `value` (exclusive upper bound). */
function bracketEnd(value: KeyValue): KeyValue {
  switch (typeRank(value)) {
    case 3:
      return '';
    case 4:
      return {};
    case 8:
      return false;
    case 10:
      return new Timestamp({ t: 0, i: 0 });
    default:
      return HIGHEST;
  }
}

function isPlannableScalar(value: unknown): boolean {
  if (value === null) return true;
  const rank = typeRank(value);
  if (value instanceof MinKey || value instanceof MaxKey || value === EMPTY_ARRAY_KEY) return false;
  return rank === 3 || rank === 4 || rank === 8 || rank === 9 || rank === 10;
}

function isRangeScalar(value: unknown): boolean {
  const rank = typeRank(value);
  return value !== null && (rank === 3 || rank === 4 || rank === 8 || rank === 10);
}

/** Field predicates an index can serve, from top-level fields and `$and` clauses. */
function extractPredicates(filter: Document): Map<string, FieldPredicate> {
  const out = new Map<string, FieldPredicate>();
  collect(filter, out);
  return out;
}

function collect(filter: Document, out: Map<string, FieldPredicate>): void {
  for (const [key, condition] of Object.entries(filter)) {
    if (key === '$and' && Array.isArray(condition)) {
      for (const clause of condition) if (isSubdocument(clause)) collect(clause, out);
      continue;
    }
    if (key.startsWith('$') || out.has(key)) continue;
    const predicate = toPredicate(condition);
    if (predicate) out.set(key, predicate);
  }
}

function toPredicate(condition: unknown): FieldPredicate | undefined {
  const prefix = regexPrefix(condition);
  if (prefix !== undefined) return prefixRange(prefix);
  if (!isSubdocument(condition)) return isPlannableScalar(condition) ? { points: [condition] } : undefined;
  const keys = Object.keys(condition);
  if (keys.length === 0 || !keys.every((k) => k.startsWith('$'))) return undefined;
  if ('$eq' in condition && isPlannableScalar(condition.$eq)) return { points: [condition.$eq] };
  if ('$in' in condition && Array.isArray(condition.$in) && condition.$in.length > 0) {
    return condition.$in.every(isPlannableScalar) ? { points: condition.$in } : undefined;
  }
  if ('$regex' in condition) {
    const options = String(condition.$options ?? '');
    const pattern = condition.$regex instanceof RegExp ? condition.$regex.source : String(condition.$regex);
    const flags = condition.$regex instanceof RegExp ? condition.$regex.flags + options : options;
    const p = regexPrefix(new BSONRegExp(pattern, flags.replace(/[^imxs]/g, '')));
    return p === undefined ? undefined : prefixRange(p);
  }
  const predicate: FieldPredicate = {};
  for (const [op, operand] of Object.entries(condition)) {
    if (!isRangeScalar(operand)) continue;
    if (op === '$gt' || op === '$gte') predicate.low = { value: operand, inclusive: op === '$gte' };
    if (op === '$lt' || op === '$lte') predicate.high = { value: operand, inclusive: op === '$lte' };
  }
  if (predicate.low && predicate.high && typeRank(predicate.low.value) !== typeRank(predicate.high.value)) delete predicate.high;
  return predicate.low || predicate.high ? predicate : undefined;
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

function prefixRange(prefix: string): FieldPredicate {
  const last = prefix.charCodeAt(prefix.length - 1);
  const upper = prefix.slice(0, -1) + String.fromCharCode(last + 1);
  return { low: { value: prefix, inclusive: true }, high: { value: upper, inclusive: false } };
}
