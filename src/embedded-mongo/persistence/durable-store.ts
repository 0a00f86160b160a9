/**
 * Durability of the embedded engine: a write is acknowledged only once its batch is in the journal (fdatasync'd
 * unless fsync is off), a crash loses at most unacknowledged batches and never half of one, and compaction into a
 * snapshot keeps restart time bounded. Directory layout: `mongod.lock`, `snapshot.bson` (absent until the first
 * compaction), `journal-NNNNNN.log` from the snapshot's journal number on.
 * @see https://www.mongodb.com/docs/manual/core/journaling/
 */
import { openSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Change } from './change';
import { acquireDirectoryLock, type DirectoryLock } from './directory-lock';
import { closeFile, openFile, syncData, syncDirectory, writeFully } from './durable-file-io';
import { journalFileName, listJournals, replayJournals } from './journal-files';
import { encodeBatch } from './record-framing';
import { readSnapshotFile, writeSnapshotFile, type Snapshot } from './snapshot-file';

export const SNAPSHOT_FILE = 'snapshot.bson';
export const SNAPSHOT_TEMP_FILE = 'snapshot.bson.tmp';
const DEFAULT_COMPACT_AFTER_BYTES = 64 * 1024 * 1024;

export interface DurableStoreOptions {
  /** Data directory; created if missing. */
  dir: string;
  /**
   * Default true: fdatasync before an append resolves (group commit). False: write() only, which survives a killed
   * process but not power loss. Snapshots are fsynced either way, because a lost snapshot would lose everything.
   */
  fsync?: boolean;
  /** Journal size that makes needsCompaction() true; default 64 MiB. */
  compactAfterBytes?: number;
}

interface Journal {
  number: number;
  fd: number;
  /** A new file's directory entry must be durable too before the first batch in it is acknowledged. */
  entryDurable: boolean;
  /** Settles once every append made to this journal so far has settled. */
  settled: Promise<void>;
}

interface PendingAppend {
  record: Buffer;
  journal: Journal;
  resolve(): void;
  reject(error: unknown): void;
}

interface Recovery {
  recovered: Change[][];
  journal: Journal;
  journalBytes: number;
}

const ignore = (): undefined => undefined;

/**
 * The engine's journal and snapshots. Appends of one event-loop turn share one write and one fdatasync, appends made
 * while a flush runs wait for the next one, and appends resolve in the order they were made.
 */
export class DurableStore {
  private readonly pending: PendingAppend[] = [];
  private flushing: Promise<void> | undefined;
  private compaction: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private failure: unknown;

  private constructor(
    private readonly dir: string,
    private readonly fsync: boolean,
    private readonly compactAfterBytes: number,
    private readonly lock: DirectoryLock,
    private journal: Journal,
    /** Bytes in the journals the next snapshot would supersede. */
    private journalBytes: number,
  ) {}

  /**
   * Opens (or creates) the store in dir, reads snapshot + journals, truncates a torn tail, and returns every durable
   * batch in order.
   */
  static async open(options: DurableStoreOptions): Promise<{ store: DurableStore; recovered: Change[][] }> {
    const dir = resolve(options.dir);
    await mkdir(dir, { recursive: true });
    const lock = await acquireDirectoryLock(dir);
    try {
      const { recovered, journal, journalBytes } = await recover(dir);
      const compactAfterBytes = options.compactAfterBytes ?? DEFAULT_COMPACT_AFTER_BYTES;
      return { store: new DurableStore(dir, options.fsync ?? true, compactAfterBytes, lock, journal, journalBytes), recovered };
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  /**
   * Appends one atomic batch; resolves once it is durable. Batches appended in the same tick share one write + fsync
   * (group commit). Order of resolution = order of append.
   */
  append(batch: Change[]): Promise<void> {
    const refusal = this.refusal();
    if (refusal) return Promise.reject(refusal);
    let record: Buffer;
    try {
      record = encodeBatch(batch);
    } catch (error) {
      return Promise.reject(error);
    }
    const journal = this.journal;
    const appended = new Promise<void>((resolve, reject) => this.pending.push({ record, journal, resolve, reject }));
    journal.settled = appended.then(ignore, ignore);
    this.journalBytes += record.length;
    this.flushing ??= this.flushPending();
    return appended;
  }

  /** True when the live journal has grown past compactAfterBytes (and no compaction is running). */
  needsCompaction(): boolean {
    const writable = !this.closing && this.failure === undefined;
    return writable && !this.compaction && this.journalBytes > this.compactAfterBytes;
  }

  /**
   * Compaction. Called synchronously by the engine at a moment when `state` (an iterable over batches that rebuild the
   * whole current state: createCollection, createIndex, put...) is consistent with everything appended so far.
   * Synchronously switches new appends to a fresh journal file, then (asynchronously, yielding to the event loop
   * between chunks so requests keep flowing) writes the snapshot to a temp file, fsyncs, renames it into place,
   * and deletes the journals it supersedes. The engine guarantees the objects yielded by `state` are never mutated.
   * A crash at any point leaves a recoverable directory (old snapshot + old journals, or new snapshot + new journal).
   */
  compact(state: Iterable<Change[]>): Promise<void> {
    const refusal = this.refusal() ?? (this.compaction ? new Error('a compaction of the journal is already running') : undefined);
    if (refusal) return Promise.reject(refusal);
    const superseded = this.journal;
    const next = superseded.number + 1;
    let fd: number;
    try {
      fd = openSync(join(this.dir, journalFileName(next)), 'a');
    } catch (error) {
      return Promise.reject(error);
    }
    this.journal = { number: next, fd, entryDurable: false, settled: Promise.resolve() };
    this.journalBytes = 0;
    this.compaction = this.replaceSnapshot(state, superseded, next).finally(() => {
      this.compaction = undefined;
    });
    return this.compaction;
  }

  /** Flushes pending appends, waits for a running compaction, closes files. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private refusal(): Error | undefined {
    if (this.closing) return new Error('the durable store is closed');
    if (this.failure !== undefined) {
      const reason = this.failure instanceof Error ? this.failure.message : String(this.failure);
      return new Error(`the journal refuses writes after a failed write: ${reason}`, { cause: this.failure });
    }
    return undefined;
  }

  private async flushPending(): Promise<void> {
    // Waiting for the end of this turn lets every append made in it join one write and one fdatasync.
    await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      while (this.pending.length > 0) await this.flushGroup(this.takeGroup());
    } finally {
      this.flushing = undefined;
    }
  }

  /** The pending appends up to the first one bound for another journal (a compaction switched files between them). */
  private takeGroup(): PendingAppend[] {
    const journal = this.pending[0]?.journal;
    let count = 0;
    while (count < this.pending.length && this.pending[count]?.journal === journal) count += 1;
    return this.pending.splice(0, count);
  }

  private async flushGroup(group: PendingAppend[]): Promise<void> {
    const journal = group[0]?.journal;
    if (!journal) return;
    try {
      await writeFully(journal.fd, Buffer.concat(group.map((append) => append.record)));
      if (this.fsync) {
        await syncData(journal.fd);
        if (!journal.entryDurable) await syncDirectory(this.dir);
        journal.entryDurable = true;
      }
    } catch (error) {
      // The file may now end in a partial record; recovery cuts it off. Acknowledging anything later would be a lie.
      this.failure = error;
      for (const append of group) append.reject(error);
      const refusal = this.refusal();
      for (const append of this.pending.splice(0)) append.reject(refusal);
      return;
    }
    for (const append of group) append.resolve();
  }

  private async replaceSnapshot(state: Iterable<Change[]>, superseded: Journal, next: number): Promise<void> {
    const temp = join(this.dir, SNAPSHOT_TEMP_FILE);
    try {
      await writeSnapshotFile(temp, next, state);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    } finally {
      // No new append goes to the superseded journal; those already bound for it must land before it is closed.
      await superseded.settled;
      await closeFile(superseded.fd);
    }
    await rename(temp, join(this.dir, SNAPSHOT_FILE));
    await syncDirectory(this.dir);
    for (const journal of await listJournals(this.dir)) {
      if (journal < next) await rm(join(this.dir, journalFileName(journal)), { force: true });
    }
  }

  private async shutDown(): Promise<void> {
    try {
      while (this.flushing) await this.flushing;
      await this.compaction?.catch(ignore);
      await closeFile(this.journal.fd);
    } finally {
      await this.lock.release();
    }
  }
}

/**
 * Reads the snapshot and the journals after it, drops files a crash left behind (a temp snapshot, journals a
 * renamed snapshot already covers) and opens the last journal for appending.
 */
async function recover(dir: string): Promise<Recovery> {
  await rm(join(dir, SNAPSHOT_TEMP_FILE), { force: true });
  const snapshot = await readSnapshotIfAny(join(dir, SNAPSHOT_FILE));
  const first = snapshot?.journal ?? 1;
  const live: number[] = [];
  for (const journal of await listJournals(dir)) {
    if (journal < first) await rm(join(dir, journalFileName(journal)), { force: true });
    else live.push(journal);
  }
  live.forEach((journal, position) => {
    if (journal !== first + position) {
      throw new Error(
        `the journal ${journalFileName(first + position)} is missing from ${dir}, so writes between ` +
          `${snapshot ? SNAPSHOT_FILE : 'the start'} and ${journalFileName(journal)} are lost; restore the data directory from a backup`,
      );
    }
  });
  const recovered = snapshot?.batches ?? [];
  const journalBytes = await replayJournals(dir, live, recovered);
  const number = live.at(-1) ?? first;
  const fd = await openFile(join(dir, journalFileName(number)), 'a');
  return { recovered, journal: { number, fd, entryDurable: live.length > 0, settled: Promise.resolve() }, journalBytes };
}

async function readSnapshotIfAny(path: string): Promise<Snapshot | undefined> {
  try {
    return await readSnapshotFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
