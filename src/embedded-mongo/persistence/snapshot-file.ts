/**
 * The compacted state: a header record naming the first journal that follows the snapshot, the state as batches,
 * and a trailer with their count. The trailer proves the file is whole: a snapshot is only ever renamed into place
 * complete, so a damaged one means lost data and recovery refuses it rather than starting with part of the state.
 */
import type { Document } from 'bson';
import type { Change } from './change';
import { closeFile, openFile, syncFile, writeFully } from './durable-file-io';
import { encodeBatch, encodeRecord, readBatch, scanRecordFile } from './record-framing';

/** Bytes written per step, so a large snapshot leaves the event loop free for requests between steps. */
const WRITE_CHUNK_BYTES = 1024 * 1024;

export interface Snapshot {
  /** Number of the first journal whose batches come after the snapshot. */
  journal: number;
  batches: Change[][];
}

/** Writes the snapshot file at `path` in chunks and makes it durable; the caller renames it into place. */
export async function writeSnapshotFile(path: string, journal: number, state: Iterable<Change[]>): Promise<void> {
  const fd = await openFile(path, 'w');
  try {
    let chunk: Buffer[] = [encodeRecord({ journal })];
    let chunkBytes = 0;
    let batches = 0;
    for (const batch of state) {
      const record = encodeBatch(batch);
      chunk.push(record);
      chunkBytes += record.length;
      batches += 1;
      if (chunkBytes >= WRITE_CHUNK_BYTES) {
        await writeFully(fd, Buffer.concat(chunk));
        chunk = [];
        chunkBytes = 0;
      }
    }
    chunk.push(encodeRecord({ batches }));
    await writeFully(fd, Buffer.concat(chunk));
    await syncFile(fd);
  } finally {
    await closeFile(fd);
  }
}

/** Reads a snapshot file; throws when it is damaged or incomplete. */
export async function readSnapshotFile(path: string): Promise<Snapshot> {
  let journal: number | undefined;
  let trailer: number | undefined;
  const batches: Change[][] = [];
  const acceptRecord = (doc: Document): boolean => {
    if (trailer !== undefined) return false;
    if (journal === undefined) {
      journal = typeof doc.journal === 'number' ? doc.journal : undefined;
      return journal !== undefined;
    }
    const batch = readBatch(doc);
    if (batch) batches.push(batch);
    else trailer = typeof doc.batches === 'number' ? doc.batches : undefined;
    return batch !== undefined || trailer !== undefined;
  };
  const scan = await scanRecordFile(path, acceptRecord);
  if (journal === undefined || trailer !== batches.length || scan.intactBytes < scan.totalBytes) {
    throw new Error(
      `the snapshot ${path} is damaged (intact up to byte ${scan.intactBytes} of ${scan.totalBytes}, ` +
        `${batches.length} batches read); restore the data directory from a backup`,
    );
  }
  return { journal, batches };
}
