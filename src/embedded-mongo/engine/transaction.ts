/**
 * Multi-document transactions: writes are buffered in an overlay that only the transaction sees, documents it
 * writes are locked against other transactions (the second writer gets a retryable WriteConflict, as with
 * mongod), and commit applies the overlay to the committed state in one step and one journal batch.
 * Reads inside a transaction see committed data plus the overlay (read committed; write-write conflicts with
 * commits made after the transaction started are detected, as snapshot isolation would).
 * https://www.mongodb.com/docs/manual/core/transactions/
 */
import type { Document } from 'bson';
import type { Collection } from './collection';
import { writeConflict } from '../errors';

/** One buffered write: the committed version it replaces (if any) and the new version (null = deleted). */
export interface PendingWrite {
  readonly collection: Collection;
  readonly id: string;
  readonly before: Document | undefined;
  after: Document | null;
}

export type TransactionState = 'active' | 'committed' | 'aborted';

export class Transaction {
  readonly txnNumber: number;
  /** The last commit sequence visible when the transaction started. */
  readonly startSeq: number;
  readonly startedAt = Date.now();
  state: TransactionState = 'active';
  /** Buffered writes by collection namespace, then document key. */
  readonly writes = new Map<string, Map<string, PendingWrite>>();

  constructor(txnNumber: number, startSeq: number) {
    this.txnNumber = txnNumber;
    this.startSeq = startSeq;
  }

  overlayOf(collection: Collection): Map<string, PendingWrite> | undefined {
    return this.writes.get(collection.namespace);
  }

  pending(collection: Collection, id: string): PendingWrite | undefined {
    return this.writes.get(collection.namespace)?.get(id);
  }

  record(write: PendingWrite): void {
    let overlay = this.writes.get(write.collection.namespace);
    if (!overlay) {
      overlay = new Map();
      this.writes.set(write.collection.namespace, overlay);
    }
    overlay.set(write.id, write);
  }

  *allWrites(): IterableIterator<PendingWrite> {
    for (const overlay of this.writes.values()) yield* overlay.values();
  }
}

/**
 * Which transaction holds each document it has written, and who waits for it. A non-transactional write to a
 * locked document waits until the holder commits or aborts, then retries (mongod does the same internally).
 */
export class LockTable {
  private readonly holders = new Map<string, Transaction>();
  private readonly waiters = new Map<Transaction, (() => void)[]>();

  private static key(collection: Collection, id: string): string {
    return `${collection.namespace}\u0000${id}`;
  }

  holder(collection: Collection, id: string): Transaction | undefined {
    return this.holders.get(LockTable.key(collection, id));
  }

  /** Takes the lock for `txn`, or fails with WriteConflict when another transaction holds it. */
  acquire(txn: Transaction, collection: Collection, id: string): void {
    const key = LockTable.key(collection, id);
    const current = this.holders.get(key);
    if (current && current !== txn) throw writeConflict();
    this.holders.set(key, txn);
  }

  /** Resolves once `txn` has released its locks. */
  waitFor(txn: Transaction): Promise<void> {
    return new Promise((resolve) => {
      const list = this.waiters.get(txn) ?? [];
      list.push(resolve);
      this.waiters.set(txn, list);
    });
  }

  releaseAll(txn: Transaction): void {
    for (const write of txn.allWrites()) {
      const key = LockTable.key(write.collection, write.id);
      if (this.holders.get(key) === txn) this.holders.delete(key);
    }
    for (const wake of this.waiters.get(txn) ?? []) wake();
    this.waiters.delete(txn);
  }
}

/** Raised by a non-transactional write that must wait for a transaction's lock before retrying. */
export class LockWait extends Error {
  readonly until: Promise<void>;

  constructor(until: Promise<void>) {
    super('waiting for a transaction lock');
    this.until = until;
  }
}
