/**
 * The engine's state and the operations that span commands: commit sequence, durability of each command's
 * changes, transactions (begin, commit, abort), background upkeep (idle cursors, abandoned transactions,
 * TTL indexes, journal compaction) and shutdown.
 */
import type { Document } from 'bson';
import { Catalog } from './catalog';
import { CursorRegistry } from './cursor-registry';
import { LockTable, Transaction } from './transaction';
import { SessionRegistry, type SessionState } from './session-registry';
import type { AccessContext } from './data-access';
import type { Change } from '../persistence/change';
import type { DurableStore } from '../persistence/durable-store';
import { CommandError, writeConflict } from '../errors';
import { collectPathValues } from '../values/field-paths';
import { executeQuery } from './execute-query';
import { documentKey } from '../values/document-key';

/** Where the engine reports what an operator should know (recovery, compaction, failures). */
export interface EngineLogger {
  info(message: string, data?: object): void;
  warn(message: string, data?: object): void;
  error(message: string, data?: object): void;
}

export interface EngineOptions {
  store: DurableStore | undefined;
  logger: EngineLogger;
  transactionLifetimeMs: number;
}

const SESSION_IDLE_MS = 30 * 60 * 1000;

export class Engine implements AccessContext {
  readonly catalog = new Catalog();
  readonly locks = new LockTable();
  readonly sessions = new SessionRegistry();
  readonly cursors = new CursorRegistry();
  readonly logger: EngineLogger;
  private readonly store: DurableStore | undefined;
  private readonly transactionLifetimeMs: number;
  private seq = 0;
  private compaction: Promise<void> | undefined;
  private failure: Error | undefined;

  constructor(options: EngineOptions) {
    this.store = options.store;
    this.logger = options.logger;
    this.transactionLifetimeMs = options.transactionLifetimeMs;
  }

  nextSeq(): number {
    return ++this.seq;
  }

  /** Rebuilds the state from recovered batches (at start, before serving). */
  replay(batches: readonly Change[][]): void {
    for (const batch of batches) {
      const seq = this.nextSeq();
      for (const change of batch) this.catalog.replay(change, seq);
    }
  }

  /**
   * Makes a command's changes durable before it is acknowledged. A store that failed refuses everything after,
   * because the engine must not acknowledge writes it cannot keep.
   */
  async persist(changes: Change[]): Promise<void> {
    if (changes.length === 0 || !this.store) return;
    if (this.failure) throw this.unavailable();
    try {
      await this.store.append(changes);
    } catch (error) {
      this.failure = error as Error;
      this.logger.error('journal write failed; refusing further writes', { error: (error as Error).message });
      throw this.unavailable();
    }
    this.maybeCompact();
  }

  private unavailable(): CommandError {
    return new CommandError('IllegalOperation', `the embedded engine cannot write its journal: ${this.failure?.message ?? ''}`);
  }

  private maybeCompact(): void {
    if (!this.store || this.compaction || !this.store.needsCompaction()) return;
    const started = Date.now();
    this.compaction = this.store
      .compact(this.catalog.captureState())
      .then(() => this.logger.info('journal compacted', { ms: Date.now() - started }))
      .catch((error: Error) => this.logger.error('journal compaction failed', { error: error.message }))
      .finally(() => {
        this.compaction = undefined;
      });
  }

  beginTransaction(session: SessionState, txnNumber: number): Transaction {
    if (session.txn?.state === 'active') this.abort(session.txn);
    const txn = new Transaction(txnNumber, this.seq);
    session.txn = txn;
    return txn;
  }

  /**
   * Applies a transaction's writes atomically and returns the changes to journal (as one batch).
   * A unique key that another writer took meanwhile aborts it with a retryable WriteConflict.
   */
  commit(txn: Transaction): Change[] {
    for (const write of txn.allWrites()) {
      if (write.collection.get(write.id) !== write.before) {
        this.abort(txn);
        throw writeConflict();
      }
      if (!write.after) continue;
      try {
        write.collection.checkUnique(write.after, write.id, (other) => !txn.pending(write.collection, other));
      } catch {
        this.abort(txn);
        throw writeConflict();
      }
    }
    const seq = this.nextSeq();
    const changes: Change[] = [];
    for (const write of txn.allWrites()) {
      const { db, name } = write.collection;
      if (!this.catalog.get(db, name)) {
        this.catalog.create(db, name);
        changes.push({ op: 'createCollection', db, coll: name });
      }
      const collection = this.catalog.get(db, name) ?? write.collection;
      if (write.after) {
        collection.replace(write.after, seq);
        changes.push({ op: 'put', db, coll: name, doc: write.after });
      } else if (write.before) {
        collection.remove(write.id);
        changes.push({ op: 'delete', db, coll: name, id: write.before._id });
      }
    }
    txn.state = 'committed';
    this.locks.releaseAll(txn);
    return changes;
  }

  abort(txn: Transaction): void {
    if (txn.state !== 'active') return;
    txn.state = 'aborted';
    this.locks.releaseAll(txn);
  }

  /** Periodic upkeep: idle cursors, abandoned transactions, TTL expiry. */
  async tick(now = Date.now()): Promise<void> {
    this.cursors.reap(now);
    const { transactions, idle } = this.sessions.expired(this.transactionLifetimeMs, SESSION_IDLE_MS, now);
    for (const session of transactions) {
      if (session.txn) this.abort(session.txn);
    }
    for (const session of idle) this.cursors.killSession(session.key);
    await this.expireTtl(now);
  }

  /** Deletes documents whose TTL-indexed date is older than the index's expireAfterSeconds. */
  private async expireTtl(now: number): Promise<void> {
    const changes: Change[] = [];
    for (const db of this.catalog.databaseNames()) {
      for (const collection of this.catalog.collections(db)) {
        for (const index of collection.indexes.values()) {
          const seconds = index.spec.expireAfterSeconds;
          const field = index.fields[0];
          if (typeof seconds !== 'number' || index.fields.length !== 1 || !field) continue;
          const cutoff = new Date(now - seconds * 1000);
          const candidates = executeQuery(collection, { filter: { [field.name]: { $lte: cutoff } }, sort: [], wanted: undefined, accept: () => true });
          const expired: Document[] = [];
          for (const doc of candidates.docs) {
            const dates = collectPathValues(doc, field.path).filter((v): v is Date => v instanceof Date);
            if (dates.length > 0 && Math.min(...dates.map((d) => d.getTime())) <= cutoff.getTime()) expired.push(doc);
          }
          for (const doc of expired) {
            const id = documentKey(doc._id);
            if (this.locks.holder(collection, id)) continue;
            collection.remove(id);
            changes.push({ op: 'delete', db, coll: collection.name, id: doc._id });
          }
        }
      }
    }
    if (changes.length > 0) {
      this.nextSeq();
      await this.persist(changes);
    }
  }

  /** Flushes and closes the journal (waiting for a running compaction). */
  async close(): Promise<void> {
    this.cursors.clear();
    for (const session of this.sessions.all()) if (session.txn) this.abort(session.txn);
    await this.compaction;
    await this.store?.close();
  }
}

