/**
 * The on-disk record shared by journals and snapshots: `[u32 length][u32 crc32 of payload][BSON payload]`, little
 * endian. The length and checksum let recovery tell a whole record from one torn by a crash, so a batch is replayed
 * whole or not at all.
 */
import { calculateObjectSize, deserialize, serialize, setInternalBufferSize, type Document } from 'bson';
import { open } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import type { Change } from './change';

export const RECORD_HEADER_BYTES = 8;
/** The smallest BSON document (`{}`): a shorter length can only come from damage. */
const MIN_PAYLOAD_BYTES = 5;
const READ_CHUNK_BYTES = 1024 * 1024;

/** How much of a record file holds whole, intact records. */
export interface RecordFileScan {
  /** Bytes from the start up to the first torn or corrupt record (the whole file when all records are intact). */
  intactBytes: number;
  totalBytes: number;
}

/** Frames one document as a record, checksum included. */
export function encodeRecord(doc: Document): Buffer {
  const payload = serializeDocument(doc);
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  record.writeUInt32LE(payload.length, 0);
  record.writeUInt32LE(crc32(payload), 4);
  record.set(payload, RECORD_HEADER_BYTES);
  return record;
}

/** Frames an atomic batch of changes as one record. */
export function encodeBatch(batch: readonly Change[]): Buffer {
  return encodeRecord({ b: batch });
}

/** The batch a decoded record carries, or undefined when the record is not a batch. */
export function readBatch(doc: Document): Change[] | undefined {
  const batch: unknown = doc.b;
  return Array.isArray(batch) ? (batch as Change[]) : undefined;
}

function serializeDocument(doc: Document): Uint8Array {
  // bson serializes through a shared 17 MiB buffer and silently truncates a string that runs past its end, so the
  // buffer is grown to fit first (a big transaction) and the length checked.
  const size = calculateObjectSize(doc);
  setInternalBufferSize(size);
  const payload = serialize(doc);
  if (payload.length !== size) throw new Error(`a batch serialized to ${payload.length} bytes instead of ${size}`);
  return payload;
}

/**
 * Reads the records of a file in order, handing each decoded document to `onRecord`, and stops at the first record
 * that is torn (cut short by the end of the file), fails its checksum, does not decode, or that `onRecord` rejects
 * by returning false. Nothing after that point is handed over.
 */
export async function scanRecordFile(path: string, onRecord: (doc: Document) => boolean): Promise<RecordFileScan> {
  const handle = await open(path, 'r');
  try {
    const totalBytes = (await handle.stat()).size;
    let unread = Buffer.alloc(0);
    let readPosition = 0;
    let offset = 0;
    const fill = async (bytes: number): Promise<void> => {
      if (unread.length >= bytes) return;
      const parts = [unread];
      let available = unread.length;
      while (available < bytes && readPosition < totalBytes) {
        const chunk = Buffer.allocUnsafe(Math.min(Math.max(READ_CHUNK_BYTES, bytes - available), totalBytes - readPosition));
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, readPosition);
        if (bytesRead === 0) break;
        parts.push(chunk.subarray(0, bytesRead));
        available += bytesRead;
        readPosition += bytesRead;
      }
      unread = Buffer.concat(parts);
    };
    while (offset < totalBytes) {
      await fill(RECORD_HEADER_BYTES);
      if (unread.length < RECORD_HEADER_BYTES) break;
      const length = unread.readUInt32LE(0);
      if (length < MIN_PAYLOAD_BYTES || length > totalBytes - offset - RECORD_HEADER_BYTES) break;
      await fill(RECORD_HEADER_BYTES + length);
      // A copy, so values that keep a view of their bytes (Binary) hold on to their record only, not a read chunk.
      const payload = Buffer.from(unread.subarray(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + length));
      if (crc32(payload) !== unread.readUInt32LE(4)) break;
      const doc = decodePayload(payload);
      if (!doc || !onRecord(doc)) break;
      unread = unread.subarray(RECORD_HEADER_BYTES + length);
      offset += RECORD_HEADER_BYTES + length;
    }
    return { intactBytes: offset, totalBytes };
  } finally {
    await handle.close();
  }
}

function decodePayload(payload: Buffer): Document | undefined {
  try {
    // Default options, as the wire protocol decodes: a Long beyond 2^53 stays a Long, other BSON types stay as sent.
    return deserialize(payload);
  } catch {
    return undefined;
  }
}
