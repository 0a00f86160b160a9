/**
 * The databases and collections of the engine, and the translation between them and the durable change log:
 * replaying recovered batches at start and listing the whole state as batches for a compaction snapshot.
 */
import type { Document } from 'bson';
import { Collection } from './collection';
import type { IndexSpec } from './collection-index';
import type { Change } from '../persistence/change';
import { documentKey } from '../values/document-key';

const SNAPSHOT_CHUNK = 1000;

export class Catalog {
  private readonly databases = new Map<string, Map<string, Collection>>();

  get(db: string, name: string): Collection | undefined {
    return this.databases.get(db)?.get(name);
  }

  /** Creates the collection; the caller has checked it does not exist. */
  create(db: string, name: string): Collection {
    let collections = this.databases.get(db);
    if (!collections) {
      collections = new Map();
      this.databases.set(db, collections);
    }
    const collection = new Collection(db, name);
    collections.set(name, collection);
    return collection;
  }

  drop(db: string, name: string): boolean {
    const collections = this.databases.get(db);
    const dropped = collections?.delete(name) ?? false;
    if (collections && collections.size === 0) this.databases.delete(db);
    return dropped;
  }

  dropDatabase(db: string): boolean {
    return this.databases.delete(db);
  }

  databaseNames(): string[] {
    return [...this.databases.keys()];
  }

  collections(db: string): Collection[] {
    return [...(this.databases.get(db)?.values() ?? [])];
  }

  /** Re-applies one recovered change (journal replay); `seq` becomes the documents' version. */
  replay(change: Change, seq: number): void {
    switch (change.op) {
      case 'put': {
        const collection = this.get(change.db, change.coll) ?? this.create(change.db, change.coll);
        collection.replace(change.doc, seq);
        return;
      }
      case 'delete':
        this.get(change.db, change.coll)?.remove(documentKey(change.id));
        return;
      case 'createCollection':
        if (!this.get(change.db, change.coll)) this.create(change.db, change.coll);
        return;
      case 'dropCollection':
        this.drop(change.db, change.coll);
        return;
      case 'dropDatabase':
        this.dropDatabase(change.db);
        return;
      case 'createIndex': {
        const collection = this.get(change.db, change.coll) ?? this.create(change.db, change.coll);
        const spec = change.spec as IndexSpec;
        if (!collection.indexes.has(spec.name)) collection.createIndex(spec);
        return;
      }
      case 'dropIndex':
        this.get(change.db, change.coll)?.dropIndex(change.name);
        return;
    }
  }

  /**
   * The whole state as change batches, captured now: document references are copied eagerly (they are never
   * mutated), so later writes do not disturb a snapshot being written in the background.
   */
  captureState(): Change[][] {
    const batches: Change[][] = [];
    for (const [db, collections] of this.databases) {
      for (const collection of collections.values()) {
        const header: Change[] = [{ op: 'createCollection', db, coll: collection.name }];
        for (const index of collection.indexes.values()) {
          if (index.name !== '_id_') header.push({ op: 'createIndex', db, coll: collection.name, spec: index.spec as Document });
        }
        batches.push(header);
        let chunk: Change[] = [];
        for (const doc of collection.documents()) {
          chunk.push({ op: 'put', db, coll: collection.name, doc });
          if (chunk.length === SNAPSHOT_CHUNK) {
            batches.push(chunk);
            chunk = [];
          }
        }
        if (chunk.length > 0) batches.push(chunk);
      }
    }
    return batches;
  }
}
