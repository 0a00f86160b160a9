/**
 * One index of a collection: a B+tree of key tuples in the index's sort order, each pointing at the document.
 * Multikey entries (one per array element), unique/sparse/partial semantics follow
 * https://www.mongodb.com/docs/manual/indexes/ . The tree is cloned in O(1) so cursors iterate a stable snapshot.
 */
import BTree from 'sorted-btree';
import type { Document } from 'bson';
import { HIGHEST, LOWEST, compareValues, type KeyValue } from '../values/bson-order';
import { splitPath } from '../values/field-paths';
import { compileFilter } from './matcher';
import { generateKeys } from './index-keys';
import { CommandError } from '../errors';

/** An index definition as listIndexes returns it. */
export interface IndexSpec extends Document {
  v: number;
  key: Record<string, number | string>;
  name: string;
  unique?: boolean;
  sparse?: boolean;
  partialFilterExpression?: Document;
  expireAfterSeconds?: number;
}

export interface IndexField {
  readonly name: string;
  readonly path: readonly string[];
  readonly direction: 1 | -1;
}

/** An entry key: the indexed values followed by the document key, which makes every entry unique in the tree. */
export type EntryKey = KeyValue[];

export type IndexTree = BTree<EntryKey, Document>;

/** The lowest and highest possible value of a field position in tree order. */
export function treeMin(direction: 1 | -1): symbol {
  return direction === 1 ? LOWEST : HIGHEST;
}

export function treeMax(direction: 1 | -1): symbol {
  return direction === 1 ? HIGHEST : LOWEST;
}

export class CollectionIndex {
  readonly spec: IndexSpec;
  readonly fields: readonly IndexField[];
  readonly unique: boolean;
  private readonly partialMatch: ((doc: Document) => boolean) | undefined;
  private tree: IndexTree;
  /**
   * Per field, the lengths of the path prefixes at which some document held an array (mongod's multikey paths):
   * the planner may not serve a sort from such a field, nor intersect or compound bounds through a shared array
   * unless one `$elemMatch` holds the conditions.
   */
  readonly arrayDepths: Set<number>[];
  private readonly paths: readonly (readonly string[])[];

  constructor(spec: IndexSpec) {
    this.spec = spec;
    this.fields = Object.entries(spec.key).map(([name, direction]) => {
      if (direction !== 1 && direction !== -1) {
        throw new CommandError('CommandNotFound', `Index type ${String(direction)} is not supported by the embedded engine`);
      }
      return { name, path: splitPath(name), direction };
    });
    this.paths = this.fields.map((f) => f.path);
    this.arrayDepths = this.fields.map(() => new Set<number>());
    this.unique = spec.unique === true;
    this.partialMatch = spec.partialFilterExpression ? compileFilter(spec.partialFilterExpression) : undefined;
    const directions = this.fields.map((f) => f.direction);
    this.tree = new BTree<EntryKey, Document>(undefined, (a, b) => compareEntryKeys(a, b, directions));
  }

  get name(): string {
    return this.spec.name;
  }

  /** True once any document held an array on an indexed path: entries may repeat a document. */
  get multikey(): boolean {
    return this.arrayDepths.some((depths) => depths.size > 0);
  }

  /** The key tuples a document contributes, or none when sparse/partial rules leave it out. */
  keysOf(doc: Document, arrays?: Set<number>[]): KeyValue[][] {
    if (this.partialMatch && !this.partialMatch(doc)) return [];
    const keys = generateKeys(doc, this.paths, arrays);
    if (this.spec.sparse && keys.every((key) => key.every((v) => v === undefined))) return [];
    return keys.map((key) => key.map((v) => (v === undefined ? null : v)));
  }

  add(doc: Document, id: string): void {
    for (const key of this.keysOf(doc, this.arrayDepths)) this.tree.set([...key, id], doc);
  }

  remove(doc: Document, id: string): void {
    for (const key of this.keysOf(doc)) this.tree.delete([...key, id]);
  }

  /** The first key tuple of `doc` that another document already holds in this unique index. */
  findConflict(doc: Document, id: string, isLive: (otherId: string) => boolean = () => true): KeyValue[] | undefined {
    if (!this.unique) return undefined;
    for (const key of this.keysOf(doc)) {
      const low = [...key, LOWEST];
      const high = [...key, HIGHEST];
      let conflict = false;
      this.tree.forRange(low, high, true, (entry) => {
        const otherId = entry[entry.length - 1] as string;
        if (otherId !== id && isLive(otherId)) {
          conflict = true;
          return { break: true };
        }
        return undefined;
      });
      if (conflict) return key;
    }
    return undefined;
  }

  /** An O(1) copy-on-write snapshot of the entries for a cursor to iterate. */
  snapshot(): IndexTree {
    return this.tree.clone();
  }

  /** The number of entries (more than the documents when multikey). */
  get entryCount(): number {
    return this.tree.size;
  }

  clear(): void {
    this.tree.clear();
    for (const depths of this.arrayDepths) depths.clear();
  }
}

/** Orders entry keys: indexed values in their direction, then the document key ascending. */
export function compareEntryKeys(a: EntryKey, b: EntryKey, directions: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareValues(a[i], b[i]);
    if (c !== 0) return directions[i] === -1 ? -c : c;
  }
  return a.length - b.length;
}

/** Renders a key the way mongod prints it in an E11000 message: `{ a: 1, b: "x" }`. */
export function describeKey(fields: readonly IndexField[], key: readonly KeyValue[]): string {
  const parts = fields.map((f, i) => `${f.name}: ${renderKeyValue(key[i])}`);
  return `{ ${parts.join(', ')} }`;
}

/** A key value as mongod prints it in messages and explain: `"x"`, `new Date(0)`, `ObjectId('…')`, `MinKey`. */
export function renderKeyValue(value: KeyValue): string {
  if (value === LOWEST) return 'MinKey';
  if (value === HIGHEST) return 'MaxKey';
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Date) return `new Date(${value.getTime()})`;
  if (value !== null && typeof value === 'object' && 'toHexString' in value) {
    return `ObjectId('${(value as { toHexString(): string }).toHexString()}')`;
  }
  return String(value);
}
