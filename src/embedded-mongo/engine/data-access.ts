/**
 * What a command reads and writes through: the committed state directly, or a transaction's view of it
 * (committed documents with the transaction's own buffered writes laid over them). Commands are written once
 * against this class and behave the same inside and outside transactions.
 */
import type { Document } from 'bson';
import type { Collection } from './collection';
import { duplicateKeyError } from './collection';
import { compareKeyTuples } from '../values/bson-order';
import { documentKey } from '../values/document-key';
import { compileFilter } from './matcher';
import type { QueryPlan } from './query-planner';
import { executeQuery } from './execute-query';
import { mergeSorted, sortDocuments, type SortField } from './sort-documents';
import { LockWait, type LockTable, type PendingWrite, type Transaction } from './transaction';
import type { Catalog } from './catalog';
import type { Change } from '../persistence/change';
import { writeConflict } from '../errors';

/** The parts of the engine a data access needs. */
export interface AccessContext {
  readonly catalog: Catalog;
  readonly locks: LockTable;
  /** Allocates the commit sequence number of a non-transactional write. */
  nextSeq(): number;
}

export interface QueryOptions {
  filter?: Document;
  sort?: readonly SortField[];
  skip?: number;
  limit?: number;
}

export interface QueryResult {
  readonly docs: Iterable<Document>;
  readonly plan: QueryPlan;
  /** The candidate plans the trial did not choose. */
  readonly rejected: readonly QueryPlan[];
  /** Whether the plan came from the plan cache. */
  readonly cached: boolean;
}

export class DataAccess {
  /** Changes made by this command outside a transaction, to be journaled before the reply. */
  readonly changes: Change[] = [];

  constructor(
    private readonly context: AccessContext,
    readonly dbName: string,
    readonly txn: Transaction | undefined,
  ) {}

  collection(name: string): Collection | undefined {
    return this.context.catalog.get(this.dbName, name);
  }

  /** The collection, created implicitly (as mongod does on first write) when missing. */
  ensureCollection(name: string): Collection {
    const existing = this.collection(name);
    if (existing) return existing;
    const created = this.context.catalog.create(this.dbName, name);
    this.changes.push({ op: 'createCollection', db: this.dbName, coll: name });
    return created;
  }

  /** Matching documents in order, streamed from the chosen plan, then skip/limit. */
  query(collection: Collection | undefined, options: QueryOptions): QueryResult {
    const sort = options.sort ?? [];
    if (!collection) {
      return { docs: [], plan: { summary: 'EOF' } as QueryPlan, rejected: [], cached: false };
    }
    const predicate = compileFilter(options.filter);
    const skip = options.skip ?? 0;
    const limit = options.limit && options.limit > 0 ? options.limit : undefined;
    const overlay = this.txn?.overlayOf(collection);
    const own = overlay && overlay.size > 0 ? overlay : undefined;
    // Committed versions the transaction rewrote are replaced by its own, which the index scan may not reach.
    const accept = own ? (doc: Document) => !own.has(documentKey(doc._id)) && predicate(doc) : predicate;
    const wanted = limit === undefined ? undefined : skip + limit;
    const execution = executeQuery(collection, { filter: options.filter, sort, wanted, accept });
    const docs = own ? mergeOwnWrites(execution.docs, findOwnMatches(own, predicate), sort) : execution.docs;
    return { docs: sliceDocs(docs, skip, limit), plan: execution.plan, rejected: execution.rejected, cached: execution.cached };
  }

  /** The current version of a document as this access sees it. */
  get(collection: Collection, id: string): Document | undefined {
    const pending = this.txn?.pending(collection, id);
    if (pending) return pending.after ?? undefined;
    return collection.get(id);
  }

  /**
   * Before a statement changes anything: waits out (outside a transaction) or conflicts with (inside one)
   * locks other transactions hold on the documents it will write.
   */
  assertWritable(collection: Collection, ids: readonly string[]): void {
    for (const id of ids) {
      const holder = this.context.locks.holder(collection, id);
      if (!holder || holder === this.txn) continue;
      if (this.txn) throw writeConflict();
      throw new LockWait(this.context.locks.waitFor(holder));
    }
  }

  insert(collection: Collection, doc: Document): void {
    const id = documentKey(doc._id);
    this.assertWritable(collection, [id]);
    // Unique checks skip the document's own entries, so an existing _id needs its own test.
    if (this.get(collection, id) !== undefined) throw duplicateKeyError(collection.namespace, collection.idIndex, [doc._id]);
    if (!this.txn) {
      collection.checkUnique(doc, id);
      collection.insert(doc, this.context.nextSeq());
      this.changes.push({ op: 'put', db: this.dbName, coll: collection.name, doc });
      return;
    }
    this.checkUniqueInTransaction(collection, doc, id);
    this.context.locks.acquire(this.txn, collection, id);
    const pending = this.txn.pending(collection, id);
    if (pending) pending.after = doc;
    else this.txn.record({ collection, id, before: undefined, after: doc });
  }

  replace(collection: Collection, next: Document): void {
    const id = documentKey(next._id);
    this.assertWritable(collection, [id]);
    if (!this.txn) {
      collection.checkUnique(next, id);
      collection.replace(next, this.context.nextSeq());
      this.changes.push({ op: 'put', db: this.dbName, coll: collection.name, doc: next });
      return;
    }
    this.checkUniqueInTransaction(collection, next, id);
    this.stage(collection, id, next);
  }

  remove(collection: Collection, doc: Document): void {
    const id = documentKey(doc._id);
    this.assertWritable(collection, [id]);
    if (!this.txn) {
      collection.remove(id);
      this.context.nextSeq();
      this.changes.push({ op: 'delete', db: this.dbName, coll: collection.name, id: doc._id });
      return;
    }
    this.stage(collection, id, null);
  }

  private stage(collection: Collection, id: string, after: Document | null): void {
    const txn = this.txn as Transaction;
    const pending = txn.pending(collection, id);
    if (pending) {
      pending.after = after;
      return;
    }
    if (collection.versionOf(id) > txn.startSeq) throw writeConflict();
    this.context.locks.acquire(txn, collection, id);
    txn.record({ collection, id, before: collection.get(id), after });
  }

  private checkUniqueInTransaction(collection: Collection, doc: Document, id: string): void {
    const txn = this.txn as Transaction;
    collection.checkUnique(doc, id, (other) => !txn.pending(collection, other));
    for (const pending of txn.overlayOf(collection)?.values() ?? []) {
      if (!pending.after || pending.id === id) continue;
      for (const index of collection.indexes.values()) {
        if (!index.unique) continue;
        const theirs = index.keysOf(pending.after);
        const clash = index.keysOf(doc).find((key) => theirs.some((other) => compareKeyTuples(key, other) === 0));
        if (clash) throw duplicateKeyError(collection.namespace, index, clash);
      }
    }
  }
}

/** The transaction's own current versions that match, read when the query starts. */
function findOwnMatches(overlay: ReadonlyMap<string, PendingWrite>, predicate: (doc: Document) => boolean): Document[] {
  const own: Document[] = [];
  for (const pending of overlay.values()) if (pending.after && predicate(pending.after)) own.push(pending.after);
  return own;
}

/** Committed results together with the transaction's own, in sort order when there is one. */
function* mergeOwnWrites(committed: Iterable<Document>, own: Document[], sort: readonly SortField[]): IterableIterator<Document> {
  if (sort.length > 0) {
    yield* mergeSorted(committed, sortDocuments(own, sort), sort);
    return;
  }
  yield* committed;
  yield* own;
}

function* sliceDocs(docs: Iterable<Document>, skip: number, limit: number | undefined): IterableIterator<Document> {
  let index = 0;
  let taken = 0;
  for (const doc of docs) {
    if (index++ < skip) continue;
    if (limit !== undefined && taken >= limit) return;
    taken++;
    yield doc;
  }
}
