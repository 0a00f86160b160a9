/**
 * The journal of the embedded engine (src/embedded-mongo/persistence): every acknowledged batch survives a restart
 * whole, appends of one turn share one write and one fdatasync, a torn or corrupt tail is cut off, and one process
 * at a time owns a data directory.
 */
import { Binary, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp, type Document } from 'bson';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { appendFile, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Change } from '../../../src/embedded-mongo/persistence/change';
import { DurableStore } from '../../../src/embedded-mongo/persistence/durable-store';
import { encodeBatch } from '../../../src/embedded-mongo/persistence/record-framing';
import { createDataDir, putBatch, removeDataDirs, reopen } from './fixtures/store-helpers';

afterAll(removeDataDirs);

const JOURNAL = 'journal-000001.log';

afterEach(() => {
  jest.restoreAllMocks();
});

async function writeBatches(dir: string, batches: Change[][]): Promise<void> {
  const { store } = await DurableStore.open({ dir });
  for (const batch of batches) await store.append(batch);
  await store.close();
}

describe('opening a data directory', () => {
  it('creates a missing directory and recovers nothing', async () => {
    const dir = join(await createDataDir(), 'nested', 'data');
    const { store, recovered } = await DurableStore.open({ dir });
    await store.close();
    expect(recovered).toEqual([]);
    expect((await stat(dir)).isDirectory()).toBe(true);
  });

  it('recovers batches in the order they were appended', async () => {
    const dir = await createDataDir();
    await writeBatches(dir, [putBatch(1), putBatch(2), putBatch(3)]);
    expect(await reopen(dir)).toEqual([putBatch(1), putBatch(2), putBatch(3)]);
  });

  it('recovers every kind of change in one atomic batch', async () => {
    const dir = await createDataDir();
    const batch: Change[] = [
      { op: 'createCollection', db: 'app', coll: 'patients' },
      { op: 'createIndex', db: 'app', coll: 'patients', spec: { v: 2, key: { name: 1 }, name: 'name_1', unique: true } },
      { op: 'put', db: 'app', coll: 'patients', doc: { _id: 'p1', name: 'Ana' } },
      { op: 'delete', db: 'app', coll: 'patients', id: 'p0' },
      { op: 'dropIndex', db: 'app', coll: 'patients', name: 'name_1' },
      { op: 'dropCollection', db: 'app', coll: 'drafts' },
      { op: 'dropDatabase', db: 'scratch' },
    ];
    await writeBatches(dir, [batch]);
    expect(await reopen(dir)).toEqual([batch]);
  });

  it('keeps BSON types intact through the journal', async () => {
    const dir = await createDataDir();
    const id = new ObjectId();
    const doc: Document = {
      _id: id,
      at: new Date('2024-02-29T12:34:56.789Z'),
      big: Long.fromString('9007199254740993'),
      bytes: new Binary(Buffer.from([0, 1, 2, 255]), Binary.SUBTYPE_USER_DEFINED),
      money: Decimal128.fromString('1234.5600'),
      stamp: new Timestamp({ t: 1700000000, i: 7 }),
      pattern: /^ana/i,
      bounds: [new MinKey(), new MaxKey()],
      nested: { list: [1, 'two', null, { three: 3.5 }], empty: {} },
    };
    await writeBatches(dir, [[{ op: 'put', db: 'app', coll: 'types', doc }, { op: 'delete', db: 'app', coll: 'types', id }]]);
    const [[put, deletion] = []] = await reopen(dir);
    expect(put).toEqual({ op: 'put', db: 'app', coll: 'types', doc });
    const recovered = (put as { doc: Document }).doc;
    expect(recovered._id).toBeInstanceOf(ObjectId);
    expect(recovered.at).toBeInstanceOf(Date);
    expect(recovered.big).toBeInstanceOf(Long);
    expect(String(recovered.big)).toBe('9007199254740993');
    expect(recovered.bytes).toBeInstanceOf(Binary);
    expect(recovered.bytes.sub_type).toBe(Binary.SUBTYPE_USER_DEFINED);
    expect(recovered.money.toString()).toBe('1234.5600');
    expect(recovered.stamp).toBeInstanceOf(Timestamp);
    expect(recovered.bounds[0]).toBeInstanceOf(MinKey);
    expect((deletion as { id: unknown }).id).toEqual(id);
  });

  it('decodes numbers as the wire protocol does: int32, double and small int64 as JavaScript numbers', async () => {
    const dir = await createDataDir();
    const doc = { _id: 1, int: new Int32(7), double: new Double(2.5), long: Long.fromNumber(42) };
    await writeBatches(dir, [[{ op: 'put', db: 'app', coll: 'numbers', doc }]]);
    expect(await reopen(dir)).toEqual([[{ op: 'put', db: 'app', coll: 'numbers', doc: { _id: 1, int: 7, double: 2.5, long: 42 } }]]);
  });

  it('journals a batch larger than the 17 MiB bson serialization buffer without truncating it', async () => {
    const dir = await createDataDir();
    const size = 12 * 1024 * 1024;
    await writeBatches(dir, [[putBatch(1, size), putBatch(2, size)].flat()]);
    const [batch = []] = await reopen(dir);
    const texts = batch.map((change) => (change.op === 'put' ? (change.doc.text as string) : ''));
    expect(texts.map((text) => text.length)).toEqual([size, size]);
    expect(texts.some((text) => /[^x]/.test(text))).toBe(false);
  });
});

describe('group commit', () => {
  it('writes the appends of one event-loop turn with one write and one fdatasync', async () => {
    const dir = await createDataDir();
    const { store } = await DurableStore.open({ dir });
    await store.append(putBatch(0));
    const writes = jest.spyOn(fs, 'write');
    const syncs = jest.spyOn(fs, 'fdatasync');
    await Promise.all(Array.from({ length: 20 }, (_, n) => store.append(putBatch(n + 1))));
    await store.close();
    expect(writes).toHaveBeenCalledTimes(1);
    expect(syncs).toHaveBeenCalledTimes(1);
    expect(await reopen(dir)).toHaveLength(21);
  });

  it('queues appends made during a flush for the next flush', async () => {
    const dir = await createDataDir();
    const { store } = await DurableStore.open({ dir });
    await store.append(putBatch(0));
    const fdatasync = fs.fdatasync;
    const syncs = jest
      .spyOn(fs, 'fdatasync')
      .mockImplementation((fd, callback) => void setTimeout(() => fdatasync(fd, callback), 50));
    const first = store.append(putBatch(1));
    while (syncs.mock.calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    const queued = [store.append(putBatch(2)), store.append(putBatch(3))];
    await Promise.all([first, ...queued]);
    await store.close();
    expect(syncs).toHaveBeenCalledTimes(2);
  });

  it('resolves appends in the order they were made, across flushes', async () => {
    const dir = await createDataDir();
    const { store } = await DurableStore.open({ dir });
    const resolved: number[] = [];
    const appends: Promise<void>[] = [];
    for (let n = 1; n <= 30; n += 1) {
      appends.push(store.append(putBatch(n)).then(() => void resolved.push(n)));
      if (n % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(appends);
    await store.close();
    expect(resolved).toEqual(Array.from({ length: 30 }, (_, index) => index + 1));
  });

  it('does not fdatasync when fsync is off, and the batches still survive a reopen', async () => {
    const dir = await createDataDir();
    const syncs = jest.spyOn(fs, 'fdatasync');
    const { store } = await DurableStore.open({ dir, fsync: false });
    await Promise.all([store.append(putBatch(1)), store.append(putBatch(2))]);
    await store.close();
    expect(syncs).not.toHaveBeenCalled();
    expect(await reopen(dir)).toEqual([putBatch(1), putBatch(2)]);
  });
});

describe('a failed journal write', () => {
  function failNextFdatasync(): void {
    const error = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    jest.spyOn(fs, 'fdatasync').mockImplementationOnce((_fd, callback) => void setImmediate(() => callback(error)));
  }

  it('rejects every append of the failed flush with the file-system error', async () => {
    const dir = await createDataDir();
    const { store } = await DurableStore.open({ dir });
    failNextFdatasync();
    const results = await Promise.allSettled([store.append(putBatch(1)), store.append(putBatch(2))]);
    await store.close();
    expect(results).toEqual([
      { status: 'rejected', reason: expect.objectContaining({ code: 'EIO', message: 'EIO: i/o error, fdatasync' }) },
      { status: 'rejected', reason: expect.objectContaining({ code: 'EIO', message: 'EIO: i/o error, fdatasync' }) },
    ]);
  });

  it('refuses every later append, so no write is acknowledged that the journal may not hold', async () => {
    const dir = await createDataDir();
    const { store } = await DurableStore.open({ dir });
    failNextFdatasync();
    await expect(store.append(putBatch(1))).rejects.toThrow('EIO');
    await expect(store.append(putBatch(2))).rejects.toThrow('the journal refuses writes after a failed write: EIO: i/o error, fdatasync');
    expect(store.needsCompaction()).toBe(false);
    await store.close();
  });
});

describe('a torn or corrupt journal tail', () => {
  async function journalWith(batches: Change[][]): Promise<{ dir: string; path: string; recordEnds: number[] }> {
    const dir = await createDataDir();
    await writeBatches(dir, batches);
    let end = 0;
    const recordEnds = batches.map((batch) => (end += encodeBatch(batch).length));
    return { dir, path: join(dir, JOURNAL), recordEnds };
  }

  it('discards a last record cut short by a crash and truncates the journal where it began', async () => {
    const { dir, path, recordEnds } = await journalWith([putBatch(1), putBatch(2)]);
    await truncate(path, (recordEnds[1] ?? 0) - 10);
    expect(await reopen(dir)).toEqual([putBatch(1)]);
    expect((await stat(path)).size).toBe(recordEnds[0]);
  });

  it('appends cleanly after the cut, so the next reopen recovers the new batch', async () => {
    const { dir, path, recordEnds } = await journalWith([putBatch(1), putBatch(2)]);
    await truncate(path, (recordEnds[1] ?? 0) - 10);
    await writeBatches(dir, [putBatch(3)]);
    expect(await reopen(dir)).toEqual([putBatch(1), putBatch(3)]);
  });

  it('discards a cut record header of fewer than 8 bytes', async () => {
    const { dir, path, recordEnds } = await journalWith([putBatch(1), putBatch(2)]);
    await truncate(path, (recordEnds[0] ?? 0) + 5);
    expect(await reopen(dir)).toEqual([putBatch(1)]);
    expect((await stat(path)).size).toBe(recordEnds[0]);
  });

  it('discards garbage after the last record', async () => {
    const { dir, path, recordEnds } = await journalWith([putBatch(1), putBatch(2)]);
    await appendFile(path, Buffer.from('not a record at all, just noise'));
    expect(await reopen(dir)).toEqual([putBatch(1), putBatch(2)]);
    expect((await stat(path)).size).toBe(recordEnds[1]);
  });

  it('discards a zero-filled tail (a file extended but not written before power loss)', async () => {
    const { dir, path, recordEnds } = await journalWith([putBatch(1)]);
    await appendFile(path, Buffer.alloc(4096));
    expect(await reopen(dir)).toEqual([putBatch(1)]);
    expect((await stat(path)).size).toBe(recordEnds[0]);
  });

  it('discards a last record whose checksum does not match its payload', async () => {
    const { dir, path, recordEnds } = await journalWith([putBatch(1), putBatch(2)]);
    const bytes = await readFile(path);
    const inLastPayload = (recordEnds[1] ?? 0) - 20;
    bytes[inLastPayload] = (bytes[inLastPayload] ?? 0) ^ 0xff;
    await writeFile(path, bytes);
    expect(await reopen(dir)).toEqual([putBatch(1)]);
    expect((await stat(path)).size).toBe(recordEnds[0]);
  });

  it('discards everything after a corrupt record in the middle of the journal', async () => {
    const { dir, path, recordEnds } = await journalWith([putBatch(1), putBatch(2), putBatch(3)]);
    const bytes = await readFile(path);
    const inSecondPayload = (recordEnds[0] ?? 0) + 30;
    bytes[inSecondPayload] = (bytes[inSecondPayload] ?? 0) ^ 0xff;
    await writeFile(path, bytes);
    expect(await reopen(dir)).toEqual([putBatch(1)]);
    expect((await stat(path)).size).toBe(recordEnds[0]);
  });

  it('refuses to open when a damaged journal is followed by a journal holding later writes', async () => {
    const dir = await createDataDir();
    await writeFile(join(dir, JOURNAL), Buffer.concat([encodeBatch(putBatch(1)), Buffer.from('noise')]));
    await writeFile(join(dir, 'journal-000002.log'), encodeBatch(putBatch(2)));
    await expect(DurableStore.open({ dir })).rejects.toThrow(
      `the journal ${join(dir, JOURNAL)} is damaged at byte ${encodeBatch(putBatch(1)).length} and journal-000002.log holds later writes`,
    );
    expect(await readdir(dir)).not.toContain('mongod.lock');
  });
});

describe('the data directory lock', () => {
  it('refuses a second open of a directory this process has open', async () => {
    const dir = await createDataDir();
    const { store } = await DurableStore.open({ dir });
    await expect(DurableStore.open({ dir })).rejects.toThrow(
      `the data directory ${dir} is in use by process ${process.pid} (lock file ${join(dir, 'mongod.lock')})`,
    );
    await store.close();
  });

  it('opens the directory again once the first store is closed', async () => {
    const dir = await createDataDir();
    const { store } = await DurableStore.open({ dir });
    await store.close();
    expect(await readdir(dir)).not.toContain('mongod.lock');
    await expect(reopen(dir)).resolves.toEqual([]);
  });

  it('refuses a directory locked by another live process', async () => {
    const dir = await createDataDir();
    const owner = spawn(process.execPath, ['-e', 'setTimeout(() => undefined, 30000)']);
    try {
      await writeFile(join(dir, 'mongod.lock'), `${owner.pid}\n`);
      await expect(DurableStore.open({ dir })).rejects.toThrow(`the data directory ${dir} is in use by process ${owner.pid}`);
    } finally {
      owner.kill('SIGKILL');
    }
  });

  it('takes over a lock left by a process that died', async () => {
    const dir = await createDataDir();
    const dead = spawnSync(process.execPath, ['-e', '']);
    await writeFile(join(dir, 'mongod.lock'), `${dead.pid}\n`);
    const { store } = await DurableStore.open({ dir });
    expect(await readFile(join(dir, 'mongod.lock'), 'utf8')).toBe(`${process.pid}\n`);
    await store.close();
  });

  it('takes over a lock naming this pid that no store of this process holds (a restarted container reuses pids)', async () => {
    const dir = await createDataDir();
    await writeFile(join(dir, 'mongod.lock'), `${process.pid}\n`);
    await expect(reopen(dir)).resolves.toEqual([]);
  });

  it('takes over an empty lock file (its writer died while creating it)', async () => {
    const dir = await createDataDir();
    await writeFile(join(dir, 'mongod.lock'), '');
    await expect(reopen(dir)).resolves.toEqual([]);
  });
});

describe('closing the store', () => {
  it('flushes appends made before close', async () => {
    const dir = await createDataDir();
    const { store } = await DurableStore.open({ dir });
    const appended = [store.append(putBatch(1)), store.append(putBatch(2))];
    await store.close();
    await Promise.all(appended);
    expect(await reopen(dir)).toEqual([putBatch(1), putBatch(2)]);
  });

  it('rejects appends made after close', async () => {
    const dir = await createDataDir();
    const { store } = await DurableStore.open({ dir });
    await store.close();
    await expect(store.append(putBatch(1))).rejects.toThrow('the durable store is closed');
  });
});
