/**
 * Sorting documents as mongod does: per-path sort keys (minimum array element ascending, maximum descending,
 * empty arrays below null), BSON comparison order across types, and a bounded heap when only the first k
 * results are needed, so a limited sort never orders the whole input.
 * https://www.mongodb.com/docs/manual/reference/method/cursor.sort/
 */
import type { Document } from 'bson';
import { compareValues } from '../values/bson-order';
import { sortKey, splitPath } from '../values/field-paths';
import { CommandError } from '../errors';

/** One key of a sort specification. */
export interface SortField {
  readonly name: string;
  readonly direction: 1 | -1;
}

/** Parses a sort specification `{a: 1, b: -1}`. */
export function parseSort(spec: unknown): SortField[] {
  if (spec === undefined || spec === null) return [];
  if (typeof spec !== 'object' || Array.isArray(spec)) throw new CommandError('BadValue', 'Expected field sort to be of type object');
  return Object.entries(spec as Document).map(([name, direction]) => {
    const d = Number(direction);
    if (d !== 1 && d !== -1) {
      throw new CommandError('BadValue', `$sort key ordering must be 1 (for ascending) or -1 (for descending)`);
    }
    return { name, direction: d };
  });
}

type Keyed = { keys: unknown[]; doc: Document; order: number };

function makeComparator(sort: readonly SortField[]): (a: Keyed, b: Keyed) => number {
  return (a, b) => {
    for (let i = 0; i < sort.length; i++) {
      const c = compareValues(a.keys[i], b.keys[i]);
      if (c !== 0) return (sort[i] as SortField).direction === 1 ? c : -c;
    }
    return a.order - b.order;
  };
}

function keyed(sort: readonly SortField[], paths: string[][], doc: Document, order: number): Keyed {
  return { keys: sort.map((f, i) => sortKey(doc, paths[i] as string[], f.direction)), doc, order };
}

/** Sorts documents; with `keep`, returns only the first `keep` of them using a bounded heap. */
export function sortDocuments(docs: Iterable<Document>, sort: readonly SortField[], keep?: number): Document[] {
  const paths = sort.map((f) => splitPath(f.name));
  const compare = makeComparator(sort);
  let order = 0;
  if (keep === undefined) {
    const all: Keyed[] = [];
    for (const doc of docs) all.push(keyed(sort, paths, doc, order++));
    return all.sort(compare).map((k) => k.doc);
  }
  if (keep <= 0) return [];
  const heap: Keyed[] = [];
  const first = sort[0] as SortField;
  for (const doc of docs) {
    // Once the heap is full most documents sort after its worst one on the first key alone: drop them unkeyed.
    const root = heap.length < keep ? undefined : (heap[0] as Keyed);
    if (root && first.direction * compareValues(sortKey(doc, paths[0] as string[], first.direction), root.keys[0]) > 0) {
      order++;
      continue;
    }
    const item = keyed(sort, paths, doc, order++);
    if (heap.length < keep) {
      heap.push(item);
      siftUp(heap, heap.length - 1, compare);
    } else if (compare(item, heap[0] as Keyed) < 0) {
      heap[0] = item;
      siftDown(heap, 0, compare);
    }
  }
  return heap.sort(compare).map((k) => k.doc);
}

/** Merges documents already in `sort` order with a sorted array of others, in one pass over both. */
export function* mergeSorted(sorted: Iterable<Document>, others: readonly Document[], sort: readonly SortField[]): IterableIterator<Document> {
  const paths = sort.map((f) => splitPath(f.name));
  const compare = makeComparator(sort);
  const pending = others.map((doc) => keyed(sort, paths, doc, 0));
  let next = 0;
  for (const doc of sorted) {
    const item = keyed(sort, paths, doc, 0);
    while (next < pending.length && compare(pending[next] as Keyed, item) < 0) yield (pending[next++] as Keyed).doc;
    yield doc;
  }
  while (next < pending.length) yield (pending[next++] as Keyed).doc;
}

/** Max-heap by `compare`: the root is the worst item kept so far. */
function siftUp(heap: Keyed[], i: number, compare: (a: Keyed, b: Keyed) => number): void {
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (compare(heap[i] as Keyed, heap[parent] as Keyed) <= 0) return;
    [heap[i], heap[parent]] = [heap[parent] as Keyed, heap[i] as Keyed];
    i = parent;
  }
}

function siftDown(heap: Keyed[], i: number, compare: (a: Keyed, b: Keyed) => number): void {
  for (;;) {
    const left = 2 * i + 1;
    const right = left + 1;
    let largest = i;
    if (left < heap.length && compare(heap[left] as Keyed, heap[largest] as Keyed) > 0) largest = left;
    if (right < heap.length && compare(heap[right] as Keyed, heap[largest] as Keyed) > 0) largest = right;
    if (largest === i) return;
    [heap[i], heap[largest]] = [heap[largest] as Keyed, heap[i] as Keyed];
    i = largest;
  }
}
