/**
 * Journals are numbered append-only files of batch records (`journal-000001.log`, ...); compaction starts a new
 * one, so a snapshot supersedes whole files. Replay reads them in order and cuts a torn tail off, so the next
 * append starts on a clean record boundary.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Change } from './change';
import { truncateDurably } from './durable-file-io';
import { readBatch, scanRecordFile } from './record-framing';

const JOURNAL_NAME = /^journal-(\d+)\.log$/;

export function journalFileName(journal: number): string {
  return `journal-${String(journal).padStart(6, '0')}.log`;
}

/** Numbers of the journals in `dir`, ascending. */
export async function listJournals(dir: string): Promise<number[]> {
  const numbers: number[] = [];
  for (const name of await readdir(dir)) {
    const match = JOURNAL_NAME.exec(name);
    if (match?.[1]) numbers.push(Number(match[1]));
  }
  return numbers.sort((a, b) => a - b);
}

/**
 * Appends the batches of the given journals (consecutive, ascending) to `batches` and returns the bytes they hold.
 * A torn or corrupt record ends the history: its file is truncated there. A crash can only tear the last write,
 * so damage followed by records in a later journal is not a crash: that refuses to open rather than replay a gap.
 */
export async function replayJournals(dir: string, journals: readonly number[], batches: Change[][]): Promise<number> {
  let bytes = 0;
  for (const [position, journal] of journals.entries()) {
    const path = join(dir, journalFileName(journal));
    const scan = await scanRecordFile(path, (doc) => {
      const batch = readBatch(doc);
      if (batch) batches.push(batch);
      return batch !== undefined;
    });
    bytes += scan.intactBytes;
    if (scan.intactBytes === scan.totalBytes) continue;
    const later = journals.slice(position + 1);
    for (const laterJournal of later) {
      if ((await stat(join(dir, journalFileName(laterJournal)))).size > 0) {
        throw new Error(
          `the journal ${path} is damaged at byte ${scan.intactBytes} and ${journalFileName(laterJournal)} holds ` +
            'later writes; refusing to replay a history with a gap (restore the data directory from a backup)',
        );
      }
    }
    await truncateDurably(path, scan.intactBytes);
    return bytes;
  }
  return bytes;
}
