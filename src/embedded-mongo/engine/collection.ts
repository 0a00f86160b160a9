/**
 * A collection's committed state: documents by identity key, their indexes, and the commit sequence of each
 * document's last change (transactions use it to detect write-write conflicts). Stored documents are never
 * mutated: a change replaces the object, so cursors, snapshots and rollbacks can hold references safely.
 */
import { randomUUID } from 'node:crypto';
import { Binary, type Document } from 'bson';
import { CollectionIndex, describeKey, type IndexSpec } from './collection-index';
import { documentKey } from '../values/document-key';
import { CommandError } from '../errors';

interface StoredDocument {
  readonly doc: Document;
  /** The commit sequence number of the write that produced this version. */
  readonly seq: number;
}

export const ID_INDEX_NAME = '_id_';

export class Collection {
  readonly db: string;
  readonly name: string;
  readonly uuid: Binary;
  private readonly byId = new Map<string, StoredDocument>();
  readonly indexes = new Map<string, CollectionIndex>();

  constructor(db: string, name: string) {
    this.db = db;
    this.name = name;
    this.uuid = new Binary(Buffer.from(randomUUID().replace(/-/g, ''), 'hex'), Binary.SUBTYPE_UUID);
    this.indexes.set(ID_INDEX_NAME, new CollectionIndex({ v: 2, key: { _id: 1 }, name: ID_INDEX_NAME }));
  }

  get namespace(): string {
    return `${this.db}.${this.name}`;
  }

  get size(): number {
    return this.byId.size;
  }

  get idIndex(): CollectionIndex {
    return this.indexes.get(ID_INDEX_NAME) as CollectionIndex;
  }

  get(id: string): Document | undefined {
    return this.byId.get(id)?.doc;
  }

  /** The commit sequence of the document's current version, or 0 when absent. */
  versionOf(id: string): number {
    return this.byId.get(id)?.seq ?? 0;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /**
   * Throws the DuplicateKey error mongod would raise if `doc` (identified by `id`) were stored now.
   * `isLive` lets a transaction ignore documents its own writes replace or delete.
   */
  checkUnique(doc: Document, id: string, isLive?: (otherId: string) => boolean): void {
    for (const index of this.indexes.values()) {
      const key = index.findConflict(doc, id, isLive);
      if (key) throw duplicateKeyError(this.namespace, index, key);
    }
  }

  /** Stores a new document; the caller has checked uniqueness. */
  insert(doc: Document, seq: number): void {
    const id = documentKey(doc._id);
    for (const index of this.indexes.values()) index.add(doc, id);
    this.byId.set(id, { doc, seq });
  }

  /** Replaces the current version of a document with `next` (same `_id`). */
  replace(next: Document, seq: number): void {
    const id = documentKey(next._id);
    const current = this.byId.get(id);
    if (!current) {
      this.insert(next, seq);
      return;
    }
    for (const index of this.indexes.values()) {
      index.remove(current.doc, id);
      index.add(next, id);
    }
    this.byId.set(id, { doc: next, seq });
  }

  /** Deletes the document with identity key `id`, if present. */
  remove(id: string): Document | undefined {
    const current = this.byId.get(id);
    if (!current) return undefined;
    for (const index of this.indexes.values()) index.remove(current.doc, id);
    this.byId.delete(id);
    return current.doc;
  }

  /** Builds an index over the existing documents; a unique index over duplicates fails with 11000. */
  createIndex(spec: IndexSpec): void {
    const index = new CollectionIndex(spec);
    for (const [id, { doc }] of this.byId) {
      const key = index.findConflict(doc, id);
      if (key) throw duplicateKeyError(this.namespace, index, key);
      index.add(doc, id);
    }
    this.indexes.set(spec.name, index);
  }

  dropIndex(name: string): void {
    this.indexes.delete(name);
  }

  /** Every stored document, in no particular order. */
  *documents(): IterableIterator<Document> {
    for (const stored of this.byId.values()) yield stored.doc;
  }
}

/** The E11000 error with the keyPattern/keyValue fields drivers and ODMs read. */
export function duplicateKeyError(namespace: string, index: CollectionIndex, key: readonly unknown[]): CommandError {
  const keyPattern: Document = {};
  const keyValue: Document = {};
  index.fields.forEach((field, i) => {
    keyPattern[field.name] = field.direction;
    keyValue[field.name] = key[i];
  });
  return new CommandError(
    'DuplicateKey',
    `E11000 duplicate key error collection: ${namespace} index: ${index.name} dup key: ${describeKey(index.fields, key)}`,
    { extra: { keyPattern, keyValue } },
  );
}
