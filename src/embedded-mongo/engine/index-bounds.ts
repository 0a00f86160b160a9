/**
 * The ways one index can narrow a scan: point values on a prefix of its fields, then at most one range, with one
 * condition chosen per field from the alternatives of the filter. Conditions on fields reached through the same
 * array are compounded (and a range's two ends intersected) only when one `$elemMatch` holds them, as on mongod.
 * https://www.mongodb.com/docs/manual/core/multikey-index-bounds/ ,
 * https://www.mongodb.com/docs/manual/tutorial/sort-results-with-indexes/
 */
import { ObjectId, Timestamp } from 'bson';
import { HIGHEST, LOWEST, compareValues, typeRank, type KeyValue } from '../values/bson-order';
import { renderKeyValue, treeMax, treeMin, type CollectionIndex, type EntryKey } from './collection-index';
import type { ElemMatchScope, FieldPredicate, FieldPredicates, RangeEnd } from './index-predicates';
import type { SortField } from './sort-documents';

/** A contiguous range of entry keys, both ends inclusive. */
export interface Bound {
  readonly low: EntryKey;
  readonly high: EntryKey;
}

/** One way to scan an index. */
export interface IndexScan {
  /** Key ranges in index order. */
  readonly bounds: readonly Bound[];
  /** Per field, whether it is bound to a single value (a sort may then skip it). */
  readonly constant: readonly boolean[];
  /** The conditions the bounds come from, one per bounded field. */
  readonly conditions: readonly FieldPredicate[];
  /**
   * Which alternative of each bounded field the scan uses (its position among the field's conditions, `>` or `<`
   * for the lower or upper end of a split range): the same for the same query shape, so a plan cache can name it.
   */
  readonly choice: string;
  /** Fields bound to points, and whether a range follows them. */
  readonly pointFields: number;
  readonly hasRange: boolean;
}

/** Beyond this many point combinations a field is not added to the bounds (the filter still applies it). */
const MAX_BOUNDS = 100_000;

/** Every scan of `index` the predicates allow: one per combination of alternatives on its leading fields. */
export function enumerateScans(index: CollectionIndex, predicates: FieldPredicates): IndexScan[] {
  const scans: IndexScan[] = [];
  const extend = (chosen: FieldPredicate[], labels: string[], combinations: number): void => {
    const position = chosen.length;
    const field = index.fields[position];
    const last = chosen[position - 1];
    let extended = false;
    if (field && !(last && !last.points)) {
      for (const [alternative, label] of listAlternatives(index, position, predicates.get(field.name) ?? [])) {
        if (index.spec.sparse && alternative.points?.some((p) => p === null)) continue;
        const count = combinations * (alternative.points?.length ?? 1);
        if (count > MAX_BOUNDS || !chosen.every((other, j) => canCompound(index, j, other, position, alternative))) continue;
        extended = true;
        extend([...chosen, alternative], [...labels, label], count);
      }
    }
    if (!extended && chosen.length > 0) scans.push(makeScan(index, chosen, labels.join(',')));
  };
  extend([], [], 1);
  return scans;
}

/** The scan of the whole index, in index order. */
export function scanWholeIndex(index: CollectionIndex): IndexScan {
  return {
    bounds: [{ low: [...index.fields.map((f) => treeMin(f.direction)), LOWEST], high: [...index.fields.map((f) => treeMax(f.direction)), HIGHEST] }],
    constant: index.fields.map(() => false),
    conditions: [],
    choice: 'all',
    pointFields: 0,
    hasRange: false,
  };
}

/**
 * Whether scanning yields documents in `sort` order: false forward, true backward, undefined not at all.
 * Fields bound to one value may be skipped; sorted fields must follow in index order and hold no arrays.
 */
export function findSortDirection(index: CollectionIndex, scan: IndexScan, sort: readonly SortField[]): boolean | undefined {
  if (sort.length === 0) return undefined;
  let reverse: boolean | undefined;
  let position = 0;
  for (const wanted of sort) {
    while (scan.constant[position] && index.fields[position]?.name !== wanted.name) position++;
    const field = index.fields[position];
    if (!field || field.name !== wanted.name) return undefined;
    if (!scan.constant[position]) {
      if ((index.arrayDepths[position] as Set<number>).size > 0) return undefined;
      const flipped = field.direction !== wanted.direction;
      if (reverse === undefined) reverse = flipped;
      else if (reverse !== flipped) return undefined;
    }
    position++;
  }
  return reverse ?? false;
}

/** The conditions usable on one field; a range whose ends may hold for different array elements splits in two. */
function listAlternatives(index: CollectionIndex, position: number, predicates: readonly FieldPredicate[]): [FieldPredicate, string][] {
  return predicates.flatMap((p, i): [FieldPredicate, string][] => {
    if (!p.low || !p.high || p.oneValue || sharesArraysOnlyWithin(index, position, position, measureSharedScope(p.scopes, p.scopes))) return [[p, `${i}`]];
    return [
      [{ low: p.low, scopes: p.scopes }, `${i}>`],
      [{ high: p.high, scopes: p.scopes }, `${i}<`],
    ];
  });
}

/**
 * Two conditions bound one key together only when no array lies on both fields' paths outside the `$elemMatch`
 * that holds them both: otherwise different elements may satisfy each, and no single key holds both values.
 */
function canCompound(index: CollectionIndex, i: number, a: FieldPredicate, j: number, b: FieldPredicate): boolean {
  return sharesArraysOnlyWithin(index, i, j, measureSharedScope(a.scopes, b.scopes));
}

/** True when every array shared by the paths of fields i and j ends within the first `depth` components. */
function sharesArraysOnlyWithin(index: CollectionIndex, i: number, j: number, depth: number): boolean {
  const first = index.fields[i]?.path as readonly string[];
  const second = index.fields[j]?.path as readonly string[];
  for (const d of index.arrayDepths[i] as Set<number>) {
    if (d <= depth || !(index.arrayDepths[j] as Set<number>).has(d)) continue;
    if (first.slice(0, d).every((part, k) => second[k] === part)) return false;
  }
  return true;
}

/** The path length of the innermost `$elemMatch` two conditions share (0 when none). */
function measureSharedScope(a: readonly ElemMatchScope[], b: readonly ElemMatchScope[]): number {
  let depth = 0;
  for (let k = 0; k < a.length && a[k] === b[k]; k++) depth = (a[k] as ElemMatchScope).depth;
  return depth;
}

function makeScan(index: CollectionIndex, chosen: readonly FieldPredicate[], choice: string): IndexScan {
  const fields = index.fields;
  const constant = fields.map(() => false);
  let prefixes: KeyValue[][] = [[]];
  let range: FieldPredicate | undefined;
  chosen.forEach((predicate, position) => {
    const field = fields[position] as (typeof fields)[number];
    if (!predicate.points) {
      range = predicate;
      return;
    }
    const points = sortPoints(predicate.points, field.direction);
    constant[position] = points.length === 1;
    prefixes = prefixes.flatMap((prefix) => points.map((p) => [...prefix, p]));
  });
  return {
    bounds: prefixes.map((prefix) => makeBound(index, prefix, range)),
    constant,
    conditions: chosen,
    choice,
    pointFields: range ? chosen.length - 1 : chosen.length,
    hasRange: range !== undefined,
  };
}

/** Point values in index order, each once. */
function sortPoints(points: readonly KeyValue[], direction: 1 | -1): KeyValue[] {
  const sorted = [...points].sort((a, b) => direction * compareValues(a, b));
  return sorted.filter((p, i) => i === 0 || compareValues(p, sorted[i - 1]) !== 0);
}

function makeBound(index: CollectionIndex, prefix: readonly KeyValue[], range: FieldPredicate | undefined): Bound {
  const fields = index.fields;
  const low: KeyValue[] = [...prefix];
  const high: KeyValue[] = [...prefix];
  let lowRestMin = true;
  let highRestMax = true;
  if (range) {
    const direction = fields[prefix.length]?.direction ?? 1;
    let lowEnd: RangeEnd = range.low ?? { value: bracketStart(range.high?.value), inclusive: true };
    let highEnd: RangeEnd = range.high ?? { value: bracketEnd(range.low?.value), inclusive: false };
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

/**
 * Per index field, the intervals a scan bounded by `conditions` covers, as explain's `indexBounds` prints them
 * (`["T", "T"]`, `[MinKey, MaxKey]`); an open end of a range shows the edge of its type bracket.
 */
export function describeIntervals(index: CollectionIndex, conditions: readonly FieldPredicate[]): Record<string, string[]> {
  const intervals: Record<string, string[]> = {};
  index.fields.forEach((field, position) => {
    const condition = conditions[position];
    if (!condition) intervals[field.name] = ['[MinKey, MaxKey]'];
    else if (condition.points) intervals[field.name] = sortPoints(condition.points, field.direction).map((p) => `[${renderKeyValue(p)}, ${renderKeyValue(p)}]`);
    else intervals[field.name] = [describeRange(condition)];
  });
  return intervals;
}


function describeRange(range: FieldPredicate): string {
  const low = range.low ?? { value: bracketStart(range.high?.value), inclusive: true };
  const high = range.high ?? { value: bracketEnd(range.low?.value), inclusive: false };
  return `${low.inclusive ? '[' : '('}${renderKeyValue(low.value)}, ${renderKeyValue(high.value)}${high.inclusive ? ']' : ')'}`;
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
