/**
 * The keys a document contributes to an index, generated as mongod does: an array yields one key per element,
 * and fields reached through the same array element (`sp.d.p` and `sp.d.hi`) share one key per element instead
 * of every combination of their values, so that bounds compounded under `$elemMatch` stay tight. Fields through
 * different arrays (which mongod refuses as "parallel arrays") get every combination.
 * https://www.mongodb.com/docs/manual/core/index-multikey/ ,
 * https://www.mongodb.com/docs/manual/core/multikey-index-bounds/#compound-bounds-for-multikey-index
 */
import { compareValues, type KeyValue } from '../values/bson-order';
import { collectPathValues, isSubdocument } from '../values/field-paths';

interface Member {
  /** The field's position in the index key. */
  readonly field: number;
  readonly path: readonly string[];
}

/** A path that reached no value through this branch (scalars inside an array it had to descend through). */
const NOTHING = Symbol('nothing');

type Row = unknown[];

/**
 * Key tuples of `doc` for the index field paths (`undefined` where a field is missing). When `arrays` is given,
 * records for each field the lengths of the path prefixes that reached an array (mongod's multikey paths).
 */
export function generateKeys(doc: unknown, paths: readonly (readonly string[])[], arrays?: Set<number>[]): KeyValue[][] {
  const members = paths.map((path, field) => ({ field, path }));
  const rows = collectKeysAt(doc, members, 0, arrays);
  return dedupe(rows.some((row) => row.includes(NOTHING)) ? resolveNothing(rows) : rows);
}

function collectKeysAt(value: unknown, members: readonly Member[], depth: number, arrays: Set<number>[] | undefined): Row[] {
  if (Array.isArray(value)) return collectKeysInArray(value, members, depth, arrays);
  if (isSubdocument(value)) return collectKeysInDocument(value, members, depth, arrays);
  // A scalar (or nothing) part-way along a path is a missing field, as for single-field indexes.
  return [members.map((m) => (m.path.length === depth ? value : undefined))];
}

function collectKeysInDocument(doc: Record<string, unknown>, members: readonly Member[], depth: number, arrays: Set<number>[] | undefined): Row[] {
  let rows: Row[] = [members.map((m) => (m.path.length === depth ? doc : undefined))];
  const groups = new Map<string, number[]>();
  members.forEach((m, i) => {
    if (m.path.length === depth) return;
    const part = m.path[depth] as string;
    const group = groups.get(part);
    if (group) group.push(i);
    else groups.set(part, [i]);
  });
  for (const [part, positions] of groups) {
    const sub = collectKeysAt(doc[part], positions.map((i) => members[i] as Member), depth + 1, arrays);
    rows = combine(rows, sub, positions);
  }
  return rows;
}

function collectKeysInArray(array: unknown[], members: readonly Member[], depth: number, arrays: Set<number>[] | undefined): Row[] {
  if (arrays) for (const m of members) (arrays[m.field] as Set<number>).add(depth);
  if (members.some((m) => m.path.length > depth && /^\d+$/.test(m.path[depth] as string))) {
    return collectPositionalKeys(array, members, depth, arrays);
  }
  if (array.length === 0) return [members.map(() => undefined)];
  const ending = members.filter((m) => m.path.length === depth);
  const continuing = members.filter((m) => m.path.length > depth);
  const positions = continuing.map((m) => members.indexOf(m));
  const rows: Row[] = [];
  for (const element of array) {
    const row = members.map((m) => (m.path.length === depth ? element : NOTHING));
    if (continuing.length === 0) rows.push(row);
    else if (isSubdocument(element)) rows.push(...combine([row], collectKeysInDocument(element, continuing, depth, arrays), positions));
    else if (ending.length > 0) rows.push(row);
  }
  return rows.length > 0 ? rows : [members.map(() => NOTHING)];
}

/**
 * A numeric path component may name an array position as well as a field of its elements: such fields take
 * every value their path reaches, uncorrelated, and count as arrays at every depth (which only limits the planner).
 */
function collectPositionalKeys(array: unknown[], members: readonly Member[], depth: number, arrays: Set<number>[] | undefined): Row[] {
  let rows: Row[] = [[]];
  for (const m of members) {
    if (arrays) for (let d = depth; d <= m.path.length; d++) (arrays[m.field] as Set<number>).add(d);
    const values = collectPathValues(array, m.path.slice(depth));
    rows = rows.flatMap((row) => (values.length === 0 ? [NOTHING] : values).map((v) => [...row, v]));
  }
  return rows;
}

/** Every row of `rows` completed with every row of `sub`, whose values go to `positions`. */
function combine(rows: Row[], sub: Row[], positions: readonly number[]): Row[] {
  const out: Row[] = [];
  for (const row of rows) {
    for (const values of sub) {
      const next = [...row];
      positions.forEach((position, i) => {
        next[position] = values[i];
      });
      out.push(next);
    }
  }
  return out;
}

/**
 * Rows where a path reached nothing: a row whose values another row already carries is dropped, and a field
 * that reached nothing at all is missing (null), exactly as a single-field index sees it.
 */
function resolveNothing(rows: Row[]): Row[] {
  const holes = (row: Row): number => row.filter((v) => v === NOTHING).length;
  const kept = rows.filter(
    (row) =>
      holes(row) === 0 ||
      !rows.some((other) => holes(other) < holes(row) && row.every((v, i) => v === NOTHING || (other[i] !== NOTHING && compareValues(v, other[i]) === 0))),
  );
  return kept.map((row) => row.map((v) => (v === NOTHING ? undefined : v)));
}

function dedupe(rows: Row[]): Row[] {
  if (rows.length < 2) return rows;
  const out: Row[] = [];
  for (const row of rows) {
    if (!out.some((o) => o.every((v, i) => compareValues(v, row[i]) === 0))) out.push(row);
  }
  return out;
}
