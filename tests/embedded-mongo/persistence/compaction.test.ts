/**
 * Journal compaction (src/embedded-mongo/persistence): the engine's state becomes a snapshot, the journals it covers
 * are deleted, appends made meanwhile go to a fresh journal, and a crash at any step leaves a directory that
 * recovers to the same state.
 */
import fs from 'node:fs';
import { readdir, truncate, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Change } from '../../../src/embedded-mongo/persistence/change';
import { DurableStore } from '../../../src/embedded-mongo/persistence/durable-store';
import { encodeBatch, encodeRecord } from '../../../src/embedded-mongo/persistence/record-framing';
import { writeSnapshotFile } from '../../../src/embedded-mongo/persistence/snapshot-file';
import { createDataDir, putBatch, removeDataDirs, reopen } from './fixtures/store-helpers';

afterAll(removeDataDirs);

afterEach(() => {
  jest.restoreAllMocks();
});

/** The state after putBatch(1..count), as the engine's captureState lists it. */
function stateAfter(count: number): Change[][] {
  const puts = Array.from({ length: count }, (_, index) => putBatch(index + 1)).flat();
  return [[{ op: 'createCollection', db: 'db', coll: 'coll' }], puts];
}

async function storeWith(count: number, compactAfterBytes?: number): Promise<{ dir: string; store: DurableStore }> {
  const dir = await createDataDir();
  const { store } = await DurableStore.open({ dir, compactAfterBytes });
  for (let n = 1; n <= count; n += 1) await store.append(putBatch(n));
  return { dir, store };
}

describe('deciding to compact', () => {
  it('asks for compaction once the journal grows past compactAfterBytes', async () => {
    const recordBytes = encodeBatch(putBatch(1)).length;
    const { store } = await storeWith(2, 2 * recordBytes);
    expect(store.needsCompaction()).toBe(false);
    await store.append(putBatch(3));
    expect(store.needsCompaction()).toBe(true);
    await store.close();
  });

  it('counts the journal recovered at open, so a large journal is compacted soon after a restart', async () => {
    const { dir, store } = await storeWith(3);
    await store.close();
    const { store: reopened } = await DurableStore.open({ dir, compactAfterBytes: 2 * encodeBatch(putBatch(1)).length });
    expect(reopened.needsCompaction()).toBe(true);
    await reopened.close();
  });

  it('does not ask again while a compaction runs, and starts counting afresh after it', async () => {
    const { store } = await storeWith(3, 1);
    const compaction = store.compact(stateAfter(3));
    expect(store.needsCompaction()).toBe(false);
    await compaction;
    expect(store.needsCompaction()).toBe(false);
    await store.append(putBatch(4));
    expect(store.needsCompaction()).toBe(true);
    await store.close();
  });

  it('refuses a second compaction while one runs', async () => {
    const { store } = await storeWith(1);
    const first = store.compact(stateAfter(1));
    await expect(store.compact(stateAfter(1))).rejects.toThrow('a compaction of the journal is already running');
    await first;
    await store.close();
  });
});

describe('compacting', () => {
  it('replaces the journals with a snapshot followed by a fresh journal', async () => {
    const { dir, store } = await storeWith(3);
    await store.compact(stateAfter(3));
    await store.close();
    expect((await readdir(dir)).sort()).toEqual(['journal-000002.log', 'snapshot.bson']);
    expect((await stat(join(dir, 'journal-000002.log'))).size).toBe(0);
  });

  it('recovers the snapshot, then the batches appended after it', async () => {
    const { dir, store } = await storeWith(3);
    await store.compact(stateAfter(3));
    await store.append(putBatch(4));
    await store.close();
    expect(await reopen(dir)).toEqual([...stateAfter(3), putBatch(4)]);
  });

  it('keeps appends made while the snapshot is being written, in order', async () => {
    const { dir, store } = await storeWith(3);
    const compaction = store.compact(stateAfter(3));
    const during = [store.append(putBatch(4)), store.append(putBatch(5))];
    await new Promise((resolve) => setImmediate(resolve));
    during.push(store.append(putBatch(6)));
    await Promise.all([compaction, ...during]);
    await store.close();
    expect(await reopen(dir)).toEqual([...stateAfter(3), putBatch(4), putBatch(5), putBatch(6)]);
  });

  it('lands appends still queued for the superseded journal before deleting it', async () => {
    const dir = await createDataDir();
    const { store } = await DurableStore.open({ dir });
    const queued = store.append(putBatch(1));
    const compaction = store.compact(stateAfter(1));
    const after = store.append(putBatch(2));
    await Promise.all([queued, compaction, after]);
    await store.close();
    expect(await reopen(dir)).toEqual([...stateAfter(1), putBatch(2)]);
  });

  it('compacts again on top of an earlier snapshot', async () => {
    const { dir, store } = await storeWith(2);
    await store.compact(stateAfter(2));
    await store.append(putBatch(3));
    await store.compact(stateAfter(3));
    await store.append(putBatch(4));
    await store.close();
    expect((await readdir(dir)).sort()).toEqual(['journal-000003.log', 'snapshot.bson']);
    expect(await reopen(dir)).toEqual([...stateAfter(3), putBatch(4)]);
  });

  it('writes a large snapshot in 1 MiB steps, so requests are served between them', async () => {
    const { store } = await storeWith(0);
    const state = Array.from({ length: 400 }, (_, n) => putBatch(n, 10 * 1024));
    const writes = jest.spyOn(fs, 'write');
    await store.compact(state);
    expect(writes.mock.calls.length).toBeGreaterThanOrEqual(4);
    await store.close();
  });

  it('fsyncs the snapshot even when fsync is off, since losing it would lose every compacted write', async () => {
    const dir = await createDataDir();
    const { store } = await DurableStore.open({ dir, fsync: false });
    const syncs = jest.spyOn(fs, 'fsync');
    await store.compact(stateAfter(0));
    expect(syncs).toHaveBeenCalled();
    await store.close();
  });

  it('keeps the journals, and the store writable, when writing the snapshot fails', async () => {
    const { dir, store } = await storeWith(2);
    const error = Object.assign(new Error('ENOSPC: no space left on device, fsync'), { code: 'ENOSPC' });
    jest.spyOn(fs, 'fsync').mockImplementationOnce((_fd, callback) => void setImmediate(() => callback(error)));
    await expect(store.compact(stateAfter(2))).rejects.toThrow('ENOSPC: no space left on device, fsync');
    await store.append(putBatch(3));
    await store.close();
    expect((await readdir(dir)).sort()).toEqual(['journal-000001.log', 'journal-000002.log']);
    expect(await reopen(dir)).toEqual([putBatch(1), putBatch(2), putBatch(3)]);
  });
});

describe('recovering from a crash during compaction', () => {
  async function writeJournal(dir: string, journal: number, batches: Change[][]): Promise<void> {
    await writeFile(join(dir, `journal-00000${journal}.log`), Buffer.concat(batches.map((batch) => encodeBatch(batch))));
  }

  it('recovers the old journals when the crash left a half-written temp snapshot', async () => {
    const dir = await createDataDir();
    await writeJournal(dir, 1, [putBatch(1), putBatch(2)]);
    await writeJournal(dir, 2, [putBatch(3)]);
    await writeSnapshotFile(join(dir, 'snapshot.bson.tmp'), 2, stateAfter(2));
    await truncate(join(dir, 'snapshot.bson.tmp'), 40);
    expect(await reopen(dir)).toEqual([putBatch(1), putBatch(2), putBatch(3)]);
    expect((await readdir(dir)).sort()).toEqual(['journal-000001.log', 'journal-000002.log']);
  });

  it('recovers an older snapshot and every journal after it when the crash came before the rename', async () => {
    const dir = await createDataDir();
    await writeSnapshotFile(join(dir, 'snapshot.bson'), 2, stateAfter(1));
    await writeJournal(dir, 2, [putBatch(2)]);
    await writeJournal(dir, 3, [putBatch(3)]);
    await writeSnapshotFile(join(dir, 'snapshot.bson.tmp'), 3, stateAfter(2));
    expect(await reopen(dir)).toEqual([...stateAfter(1), putBatch(2), putBatch(3)]);
  });

  it('recovers the new snapshot and deletes the journals it covers when the crash came after the rename', async () => {
    const dir = await createDataDir();
    await writeJournal(dir, 1, [putBatch(1), putBatch(2)]);
    await writeSnapshotFile(join(dir, 'snapshot.bson'), 2, stateAfter(2));
    await writeJournal(dir, 2, [putBatch(3)]);
    expect(await reopen(dir)).toEqual([...stateAfter(2), putBatch(3)]);
    expect((await readdir(dir)).sort()).toEqual(['journal-000002.log', 'snapshot.bson']);
  });

  it('creates the journal a snapshot names when the crash came before any append reached it', async () => {
    const dir = await createDataDir();
    await writeSnapshotFile(join(dir, 'snapshot.bson'), 2, stateAfter(2));
    const { store, recovered } = await DurableStore.open({ dir });
    await store.append(putBatch(3));
    await store.close();
    expect(recovered).toEqual(stateAfter(2));
    expect(await reopen(dir)).toEqual([...stateAfter(2), putBatch(3)]);
  });
});

describe('refusing a directory that lost data', () => {
  it('refuses to open when the snapshot is damaged', async () => {
    const { dir, store } = await storeWith(2);
    await store.compact(stateAfter(2));
    await store.close();
    const snapshot = join(dir, 'snapshot.bson');
    const size = (await stat(snapshot)).size;
    await truncate(snapshot, size - 3);
    await expect(DurableStore.open({ dir })).rejects.toThrow(
      `the snapshot ${snapshot} is damaged (intact up to byte ${size - encodeRecord({ batches: 2 }).length} of ${size - 3}, 2 batches read)`,
    );
  });

  it('refuses to open when the journals after the snapshot are missing the first one', async () => {
    const { dir, store } = await storeWith(2);
    await store.compact(stateAfter(2));
    await store.append(putBatch(3));
    await store.close();
    await unlink(join(dir, 'snapshot.bson'));
    await expect(DurableStore.open({ dir })).rejects.toThrow(
      `the journal journal-000001.log is missing from ${dir}, so writes between the start and journal-000002.log are lost`,
    );
  });
});
