/**
 * MongoDB's total order over BSON values, used by indexes, sorting and range scans.
 * https://www.mongodb.com/docs/manual/reference/bson-type-comparison-order/
 */
import { Binary, BSONRegExp, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp } from 'bson';

/** Sorts below every BSON value; used as an open lower bound in index scans. */
export const LOWEST = Symbol('lowest');
/** Sorts above every BSON value; used as an open upper bound in index scans. */
export const HIGHEST = Symbol('highest');
/** The sort key of an empty array, which MongoDB places below null and missing fields. */
export const EMPTY_ARRAY_KEY = Symbol('empty-array');

/** A value as it can appear in an index key or a sort key. */
export type KeyValue = unknown;

/** The rank of a value's type class in MongoDB's comparison order. */
export function typeRank(value: KeyValue): number {
  if (value === LOWEST) return 0;
  if (value === HIGHEST) return 100;
  if (value === EMPTY_ARRAY_KEY) return 1.5;
  if (value === null || value === undefined) return 2;
  switch (typeof value) {
    case 'number':
    case 'bigint':
      return 3;
    case 'string':
    case 'symbol':
      return 4;
    case 'boolean':
      return 9;
    case 'object':
      break;
    default:
      return 4;
  }
  if (value instanceof MinKey) return 1;
  if (value instanceof MaxKey) return 13;
  // Timestamp extends Long in the bson library, so it must be recognised first.
  if (value instanceof Timestamp) return 11;
  if (isNumberLike(value)) return 3;
  if (Array.isArray(value)) return 6;
  if (value instanceof Binary || Buffer.isBuffer(value) || value instanceof Uint8Array) return 7;
  if (value instanceof ObjectId) return 8;
  if (value instanceof Date) return 10;
  if (value instanceof RegExp || value instanceof BSONRegExp) return 12;
  return 5;
}

function isNumberLike(value: object): boolean {
  return value instanceof Long || value instanceof Double || value instanceof Int32 || value instanceof Decimal128;
}

/** The numeric value of a number-like BSON value. */
export function toNumber(value: KeyValue): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Long) return value.toNumber();
  if (value instanceof Double || value instanceof Int32) return value.valueOf();
  if (value instanceof Decimal128) return Number(value.toString());
  return Number.NaN;
}

function compareNumbers(a: number, b: number): number {
  // MongoDB sorts NaN below every other number.
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : -1;
  if (Number.isNaN(b)) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length));
}

function binaryBytes(value: KeyValue): { subtype: number; bytes: Uint8Array } {
  if (value instanceof Binary) return { subtype: value.sub_type, bytes: value.buffer.subarray(0, value.position) };
  return { subtype: 0, bytes: value as Uint8Array };
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Compares two BSON values in MongoDB's order: negative, zero or positive. */
export function compareValues(a: KeyValue, b: KeyValue): number {
  // Index keys and sort keys mostly compare strings with strings, numbers with numbers, dates with dates.
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
  if (typeof a === 'number' && typeof b === 'number') return compareNumbers(a, b);
  if (a instanceof Date && b instanceof Date) return compareNumbers(a.getTime(), b.getTime());
  const rankA = typeRank(a);
  const rankB = typeRank(b);
  if (rankA !== rankB) return rankA < rankB ? -1 : 1;
  switch (rankA) {
    case 3:
      return compareNumbers(toNumber(a), toNumber(b));
    case 4:
      return compareStrings(String(a), String(b));
    case 5:
      return compareObjects(a as Record<string, unknown>, b as Record<string, unknown>);
    case 6:
      return compareArrays(a as unknown[], b as unknown[]);
    case 7: {
      const x = binaryBytes(a);
      const y = binaryBytes(b);
      if (x.bytes.length !== y.bytes.length) return x.bytes.length < y.bytes.length ? -1 : 1;
      if (x.subtype !== y.subtype) return x.subtype < y.subtype ? -1 : 1;
      return compareBytes(x.bytes, y.bytes);
    }
    case 8:
      return compareBytes((a as ObjectId).id, (b as ObjectId).id);
    case 9:
      return a === b ? 0 : a ? 1 : -1;
    case 10:
      return compareNumbers((a as Date).getTime(), (b as Date).getTime());
    case 11:
      return (a as Timestamp).compare(b as Timestamp);
    case 12:
      return compareStrings(String(a), String(b));
    default:
      return 0;
  }
}

function compareObjects(a: Record<string, unknown>, b: Record<string, unknown>): number {
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  const n = Math.min(keysA.length, keysB.length);
  for (let i = 0; i < n; i++) {
    const ka = keysA[i] as string;
    const kb = keysB[i] as string;
    const byType = typeRank(a[ka]) - typeRank(b[kb]);
    if (byType !== 0) return byType < 0 ? -1 : 1;
    const byName = compareStrings(ka, kb);
    if (byName !== 0) return byName;
    const byValue = compareValues(a[ka], b[kb]);
    if (byValue !== 0) return byValue;
  }
  return keysA.length - keysB.length;
}

function compareArrays(a: unknown[], b: unknown[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareValues(a[i], b[i]);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

/**
 * Whether range operators ($gt, $gte, $lt, $lte) compare with the value within its type bracket: a number other
 * than NaN, a string, an ObjectId or a date (the types ranges are planned and matched for directly).
 */
export function isRangeOperand(value: KeyValue): boolean {
  const rank = typeRank(value);
  return rank === 4 || rank === 8 || rank === 10 || (rank === 3 && !Number.isNaN(toNumber(value)));
}

/** True when two values are equal under MongoDB's comparison (1 equals 1.0 equals Long(1)). */
export function valuesEqual(a: KeyValue, b: KeyValue): boolean {
  return compareValues(a, b) === 0;
}

/** Compares key tuples element by element; directions flip individual positions (1 ascending, -1 descending). */
export function compareKeyTuples(a: readonly KeyValue[], b: readonly KeyValue[], directions?: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareValues(a[i], b[i]);
    if (c !== 0) return directions && directions[i] === -1 ? -c : c;
  }
  return a.length - b.length;
}
