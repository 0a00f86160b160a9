/**
 * Open cursors between a command's first batch and its getMore calls. Ids are int64 (Long) as the driver
 * requires; idle cursors are closed after a timeout, like mongod's cursorTimeoutMillis (10 minutes).
 * https://www.mongodb.com/docs/manual/reference/command/getMore/
 */
import { Long, calculateObjectSize, type Document } from 'bson';
import { randomInt } from 'node:crypto';

/** mongod keeps a reply under 16 MiB; batches stop adding documents past this many bytes. */
const MAX_BATCH_BYTES = 16 * 1024 * 1024 - 16 * 1024;
const DEFAULT_FIRST_BATCH = 101;

export interface OpenCursor {
  readonly id: Long;
  readonly namespace: string;
  readonly iterator: Iterator<Document>;
  /** Applied to each document as it leaves (projection). */
  readonly transform: (docs: Document[]) => Document[];
  /** The session that owns the cursor, if any (ending the session kills it). */
  readonly sessionKey: string | undefined;
  lastUsed: number;
}

export class CursorRegistry {
  private readonly cursors = new Map<string, OpenCursor>();

  constructor(private readonly idleTimeoutMs = 10 * 60 * 1000) {}

  /**
   * Takes the first batch from `iterator`; keeps a cursor open when documents remain.
   * Returns the `cursor` field of a find/aggregate reply.
   */
  open(
    namespace: string,
    iterator: Iterator<Document>,
    options: { batchSize?: number; singleBatch?: boolean; transform?: (docs: Document[]) => Document[]; sessionKey?: string },
  ): Document {
    const transform = options.transform ?? ((docs: Document[]) => docs);
    const { docs, exhausted } = takeBatch(iterator, options.batchSize ?? DEFAULT_FIRST_BATCH);
    let id = Long.ZERO;
    if (!exhausted && !options.singleBatch) {
      id = Long.fromNumber(randomInt(1, 2 ** 47));
      this.cursors.set(id.toString(), { id, namespace, iterator, transform, sessionKey: options.sessionKey, lastUsed: Date.now() });
    }
    return { firstBatch: transform(docs), id, ns: namespace };
  }

  /** The next batch of an open cursor; undefined when the cursor is unknown. */
  next(id: Long, batchSize: number | undefined): { batch: Document[]; cursor: OpenCursor; exhausted: boolean } | undefined {
    const cursor = this.cursors.get(id.toString());
    if (!cursor) return undefined;
    cursor.lastUsed = Date.now();
    const { docs, exhausted } = takeBatch(cursor.iterator, batchSize && batchSize > 0 ? batchSize : Number.MAX_SAFE_INTEGER);
    if (exhausted) this.cursors.delete(id.toString());
    return { batch: cursor.transform(docs), cursor, exhausted };
  }

  kill(id: Long): boolean {
    return this.cursors.delete(id.toString());
  }

  killSession(sessionKey: string): void {
    for (const [key, cursor] of this.cursors) if (cursor.sessionKey === sessionKey) this.cursors.delete(key);
  }

  /** Closes cursors idle for longer than the timeout. */
  reap(now = Date.now()): void {
    for (const [key, cursor] of this.cursors) if (now - cursor.lastUsed > this.idleTimeoutMs) this.cursors.delete(key);
  }

  clear(): void {
    this.cursors.clear();
  }
}

function takeBatch(iterator: Iterator<Document>, batchSize: number): { docs: Document[]; exhausted: boolean } {
  const docs: Document[] = [];
  let bytes = 0;
  while (docs.length < batchSize && bytes < MAX_BATCH_BYTES) {
    const step = iterator.next();
    if (step.done) return { docs, exhausted: true };
    docs.push(step.value);
    bytes += calculateObjectSize(step.value);
  }
  // Peeking would consume; an exhausted iterator is detected on the next getMore (as mongod does).
  return { docs, exhausted: false };
}
