/**
 * Keyset paging of search results (search.html#paging: links must stay correct while the data changes, so no
 * skip over a moving set). Results are ordered by the requested sort keys, then resource type, then id; a page
 * position is the full key of the entry it follows (or precedes), and the next page is a query for the entries
 * strictly after it. Missing sort values sort first ascending and last descending, as MongoDB orders them.
 * https://www.mongodb.com/docs/manual/reference/method/cursor.sort/#ascending-descending-sort
 */
import type { Document, Sort } from 'mongodb';
import type { SortRule } from '../../search/search-request';
import { InvalidCursorError } from '../resource-store';

/** A sort key value as stored: Date (dates), number (numbers, quantities), string (everything else), null (missing). */
export type SortValue = Date | number | string | null;

export interface SortField {
  /** The stored field, e.g. `sp.so.birthdate.lo`. */
  readonly field: string;
  readonly direction: 1 | -1;
}

/** A page boundary: the sort values, type and id of the entry next to it, and which way the page goes. */
export interface PagePosition {
  readonly direction: 'next' | 'previous';
  readonly values: readonly SortValue[];
  readonly type: string;
  readonly id: string;
}

/**
 * The stored fields a sort uses: ascending on a parameter sorts by its lowest value, descending by its highest
 * (R5 search.html#sort makes explicit what R4 leaves open).
 */
export function sortFields(sort: readonly SortRule[]): SortField[] {
  return sort
    .filter((rule) => rule.param !== '_id')
    .map((rule) => ({
      field: rule.param === '_lastUpdated' ? 'lastUpdated' : `sp.so.${rule.param}.${rule.descending ? 'hi' : 'lo'}`,
      direction: rule.descending ? -1 : 1,
    }));
}

/** Id order (the tie-break) is ascending unless `_sort=-_id` asks otherwise. */
export function idDirection(sort: readonly SortRule[]): 1 | -1 {
  return sort.find((rule) => rule.param === '_id')?.descending ? -1 : 1;
}

export function mongoSort(fields: readonly SortField[], idOrder: 1 | -1, backward: boolean): Sort {
  const flip = backward ? -1 : 1;
  const sort: Record<string, 1 | -1> = {};
  for (const { field, direction } of fields) sort[field] = (direction * flip) as 1 | -1;
  sort._id = (idOrder * flip) as 1 | -1;
  return sort;
}

/** The value of a dotted path in a stored document, null when missing. */
export function valueAt(doc: Document, field: string): SortValue {
  let value: unknown = doc;
  for (const part of field.split('.')) {
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  }
  return value instanceof Date || typeof value === 'number' || typeof value === 'string' ? value : null;
}

/** Compares sort values as MongoDB orders them within one field (null lowest). */
export function compareValues(a: SortValue, b: SortValue): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  const x = a instanceof Date ? a.getTime() : a;
  const y = b instanceof Date ? b.getTime() : b;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Binary string order, as MongoDB compares strings without a collation. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `field` comes after `anchor` in `direction`. */
function after(field: string, anchor: SortValue, direction: 1 | -1): Document {
  if (direction === 1) return anchor === null ? { [field]: { $ne: null } } : { [field]: { $gt: anchor } };
  return anchor === null ? { _id: { $in: [] } } : { $or: [{ [field]: { $lt: anchor } }, { [field]: null }] };
}

/**
 * Entries of collection `type` strictly after `position` in the (possibly reversed) order:
 * (v1 after a1) or (v1 = a1 and v2 after a2) ... or (all equal and (type, id) after the anchor's).
 */
export function keysetFilter(fields: readonly SortField[], idOrder: 1 | -1, position: PagePosition, type: string, key: (id: string) => string): Document {
  const flip = position.direction === 'previous' ? -1 : 1;
  const branches: Document[] = [];
  const equal: Document[] = [];
  fields.forEach(({ field, direction }, i) => {
    const anchor = position.values[i] ?? null;
    branches.push({ $and: [{}, ...equal, after(field, anchor, (direction * flip) as 1 | -1)] });
    equal.push({ [field]: anchor });
  });
  const typeOrder = compareStrings(type, position.type) * flip;
  if (typeOrder > 0) branches.push({ $and: [{}, ...equal] });
  else if (typeOrder === 0) branches.push({ $and: [{}, ...equal, { _id: { [idOrder * flip === 1 ? '$gt' : '$lt']: key(position.id) } }] });
  return branches.length === 0 ? { _id: { $in: [] } } : { $or: branches };
}

/** Orders merged entries of several collections as the query orders each one. */
export function compareEntries(
  a: { type: string; id: string; values: readonly SortValue[] },
  b: { type: string; id: string; values: readonly SortValue[] },
  fields: readonly SortField[],
  idOrder: 1 | -1,
  backward: boolean,
): number {
  const flip = backward ? -1 : 1;
  for (let i = 0; i < fields.length; i++) {
    const order = compareValues(a.values[i] ?? null, b.values[i] ?? null) * (fields[i] as SortField).direction;
    if (order !== 0) return order * flip;
  }
  const byType = compareStrings(a.type, b.type);
  if (byType !== 0) return byType * flip;
  return compareStrings(a.id, b.id) * idOrder * flip;
}

type EncodedValue = { d: number } | { n: number | string } | string | null;

function encodeValue(value: SortValue): EncodedValue {
  if (value instanceof Date) return { d: value.getTime() };
  if (typeof value === 'number') return { n: Number.isFinite(value) ? value : String(value) };
  return value;
}

function decodeValue(value: unknown): SortValue {
  if (value === null || typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') {
    const { d, n } = value as { d?: unknown; n?: unknown };
    if (typeof d === 'number' && Number.isFinite(d)) return new Date(d);
    if (typeof n === 'number') return n;
    if (n === 'Infinity' || n === '-Infinity') return Number(n);
  }
  throw new InvalidCursorError();
}

export function encodePosition(position: PagePosition): string {
  const json = JSON.stringify([position.direction === 'next' ? 'n' : 'p', position.type, position.id, position.values.map(encodeValue)]);
  return Buffer.from(json, 'utf8').toString('base64url');
}

/** Reads a position issued by encodePosition for the same sort; anything else is an InvalidCursorError. */
export function decodePosition(cursor: string, fieldCount: number): PagePosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) throw new InvalidCursorError();
  const [direction, type, id, values] = parsed as unknown[];
  if ((direction !== 'n' && direction !== 'p') || typeof type !== 'string' || typeof id !== 'string' || !Array.isArray(values) || values.length !== fieldCount) {
    throw new InvalidCursorError();
  }
  return { direction: direction === 'n' ? 'next' : 'previous', type, id, values: values.map(decodeValue) };
}
