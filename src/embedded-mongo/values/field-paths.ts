/**
 * Reading dotted field paths the way MongoDB does: a path that crosses an array fans out to its elements
 * (and a numeric component may also index the array). Indexes, sort keys, distinct and null matching share it.
 * https://www.mongodb.com/docs/manual/core/document/#dot-notation
 */
import { EMPTY_ARRAY_KEY, compareValues } from './bson-order';

/** A plain BSON subdocument (not an array and not a BSON value class such as ObjectId or Date). */
export function isSubdocument(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * The values a path reaches, as an index would see them: arrays at the end are expanded into their elements,
 * a missing field yields `undefined` once. Used for multikey index entries.
 */
export function collectPathValues(doc: unknown, path: readonly string[], emptyArray: unknown = undefined): unknown[] {
  const out: unknown[] = [];
  walk(doc, path, 0, out, emptyArray);
  return out;
}

function walk(value: unknown, path: readonly string[], i: number, out: unknown[], emptyArray: unknown): void {
  if (i === path.length) {
    if (Array.isArray(value)) {
      if (value.length === 0) out.push(emptyArray);
      else for (const element of value) out.push(element);
    } else {
      out.push(value);
    }
    return;
  }
  if (Array.isArray(value)) {
    const part = path[i] as string;
    if (/^\d+$/.test(part)) {
      const element = value[Number(part)];
      if (element !== undefined) walk(element, path, i + 1, out, emptyArray);
    }
    let reached = false;
    for (const element of value) {
      if (isSubdocument(element)) {
        reached = true;
        walk(element, path, i, out, emptyArray);
      }
    }
    if (!reached && value.length === 0) out.push(undefined);
    return;
  }
  if (isSubdocument(value)) {
    walk(value[path[i] as string], path, i + 1, out, emptyArray);
    return;
  }
  out.push(undefined);
}

/**
 * True when a value the path reaches (a value collectPathValues would list, other than a missing one) passes
 * `test`; stops at the first, without building the list.
 */
export function somePathValue(doc: unknown, path: readonly string[], test: (value: unknown) => boolean): boolean {
  return reaches(doc, path, 0, test);
}

function reaches(value: unknown, path: readonly string[], i: number, test: (value: unknown) => boolean): boolean {
  if (i === path.length) {
    if (!Array.isArray(value)) return value !== undefined && test(value);
    for (const element of value) if (element !== undefined && test(element)) return true;
    return false;
  }
  if (Array.isArray(value)) {
    const part = path[i] as string;
    if (/^\d+$/.test(part) && value[Number(part)] !== undefined && reaches(value[Number(part)], path, i + 1, test)) return true;
    for (const element of value) if (isSubdocument(element) && reaches(element, path, i, test)) return true;
    return false;
  }
  return isSubdocument(value) && reaches(value[path[i] as string], path, i + 1, test);
}

/**
 * True when `{path: null}` matches the document: the path is missing somewhere it could be (also inside an
 * element of an array of subdocuments), or a reached value is null or an array containing null.
 * https://www.mongodb.com/docs/manual/tutorial/query-for-null-fields/
 */
export function matchesNullEquality(doc: unknown, path: readonly string[]): boolean {
  return reachesNull(doc, path, 0);
}

function reachesNull(value: unknown, path: readonly string[], i: number): boolean {
  if (value === undefined || value === null) return true;
  if (i === path.length) return Array.isArray(value) && value.some((e) => e === null);
  if (Array.isArray(value)) {
    const part = path[i] as string;
    if (/^\d+$/.test(part) && value[Number(part)] !== undefined && reachesNull(value[Number(part)], path, i + 1)) {
      return true;
    }
    return value.some((element) => isSubdocument(element) && reachesNull(element, path, i));
  }
  if (isSubdocument(value)) return reachesNull(value[path[i] as string], path, i + 1);
  return false;
}

/**
 * The key a document sorts by on one path: the smallest reached value ascending, the largest descending;
 * an empty array sorts below null. https://www.mongodb.com/docs/manual/reference/method/cursor.sort/#sort-with-arrays
 */
export function sortKey(doc: unknown, path: readonly string[], direction: 1 | -1): unknown {
  // Most sort paths meet no array: follow them directly, and only collect values where one is met.
  let value = doc;
  for (let i = 0; i < path.length && !Array.isArray(value); i++) value = isSubdocument(value) ? value[path[i] as string] : undefined;
  if (!Array.isArray(value)) return value === undefined ? null : value;
  const values = collectPathValues(doc, path, EMPTY_ARRAY_KEY);
  if (values.length === 0) return null;
  let best = values[0];
  for (let i = 1; i < values.length; i++) {
    const c = compareValues(values[i], best);
    if (direction === 1 ? c < 0 : c > 0) best = values[i];
  }
  return best === undefined ? null : best;
}

/** Splits a dotted path once; callers cache the result. */
export function splitPath(path: string): string[] {
  return path.split('.');
}
