/**
 * Durability of the embedded engine through the driver: after SIGKILL of the engine process mid-write, every
 * acknowledged write is there, every transaction is all or nothing, unique indexes still hold, and the data
 * directory keeps working across further restarts. Needs the engine in a child process, so it is skipped when
 * MONGODB_URI points the suite at another server.
 * https://www.mongodb.com/docs/manual/core/journaling/ (what an acknowledged, journaled write promises)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient, MongoServerError, type Collection } from 'mongodb';
import { startEmbeddedMongo } from '../../../src/embedded-mongo';
import { rejectionOf } from './fixtures/contract-database';

const externalServer = Boolean(process.env.MONGODB_URI);
if (externalServer) console.warn('Skipping the crash-recovery contract: MONGODB_URI is set, and the test needs the embedded engine in a child process');
const describeEmbedded = externalServer ? describe.skip : describe;

const WRITE_WINDOW_MS = 500;
const CONCURRENT_WRITERS = 16;
const DOCUMENTS_PER_TRANSACTION = 5;

interface RecoveredDocument {
  _id: string;
  key: string;
  marker?: string;
}

interface EngineProcess {
  readonly uri: string;
  kill(): Promise<void>;
}

/** Starts fixtures/engine-process.ts on `dataDir` and waits for the uri line it prints. */
async function startEngineProcess(dataDir: string): Promise<EngineProcess> {
  const child: ChildProcess = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'fixtures', 'engine-process.ts')], {
    env: { ...process.env, CONTRACT_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const uri = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const newline = buffered.indexOf('\n');
      if (newline >= 0) resolve((JSON.parse(buffered.slice(0, newline)) as { uri: string }).uri);
    });
    child.once('exit', (code) => reject(new Error(`the engine process exited with ${String(code)} before printing its uri`)));
  });
  return {
    uri,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** What the writers saw acknowledged before the crash. */
interface AcknowledgedWrites {
  insertedIds: string[];
  committedMarkers: string[];
}

/** Writes until `isStopped()`: one sequential writer, CONCURRENT_WRITERS in flight, and a transaction writer. */
async function writeUntilStopped(documents: Collection<RecoveredDocument>, client: MongoClient, isStopped: () => boolean): Promise<AcknowledgedWrites> {
  const acknowledged: AcknowledgedWrites = { insertedIds: [], committedMarkers: [] };
  const insertLoop = async (writer: string): Promise<void> => {
    for (let n = 0; !isStopped(); n++) {
      const _id = `${writer}-${n}`;
      try {
        await documents.insertOne({ _id, key: _id });
      } catch {
        return;
      }
      acknowledged.insertedIds.push(_id);
    }
  };
  // Manual transactions: withTransaction would keep retrying for two minutes once the server is gone.
  const transactionLoop = async (): Promise<void> => {
    for (let n = 0; !isStopped(); n++) {
      const marker = `t-${n}`;
      const session = client.startSession();
      try {
        session.startTransaction();
        await documents.insertMany(
          Array.from({ length: DOCUMENTS_PER_TRANSACTION }, (_, k) => ({ _id: `${marker}-${k}`, key: `${marker}-${k}`, marker })),
          { session },
        );
        await session.commitTransaction();
        acknowledged.committedMarkers.push(marker);
      } catch {
        return;
      } finally {
        await session.endSession().catch(() => undefined);
      }
    }
  };
  await Promise.all([insertLoop('sequential'), ...Array.from({ length: CONCURRENT_WRITERS }, (_, w) => insertLoop(`concurrent${w}`)), transactionLoop()]);
  return acknowledged;
}

/** Runs `check` against an in-process engine on `dataDir`, then closes it. */
async function withRestartedEngine(dataDir: string, check: (documents: Collection<RecoveredDocument>) => Promise<void>): Promise<void> {
  const engine = await startEmbeddedMongo({ dataDir });
  const client = await new MongoClient(engine.uri).connect();
  try {
    await check(client.db('crash').collection<RecoveredDocument>('documents'));
  } finally {
    await client.close();
    await engine.close();
  }
}

describeEmbedded('crash recovery of the embedded engine', () => {
  let dataDir: string;
  let acknowledged: AcknowledgedWrites;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'contract-crash-'));
    const engineProcess = await startEngineProcess(dataDir);
    const client = await new MongoClient(engineProcess.uri, { serverSelectionTimeoutMS: 1000, connectTimeoutMS: 1000 }).connect();
    const documents = client.db('crash').collection<RecoveredDocument>('documents');
    await documents.createIndex({ key: 1 }, { unique: true });
    let stopped = false;
    const writing = writeUntilStopped(documents, client, () => stopped);
    await new Promise((resolve) => setTimeout(resolve, WRITE_WINDOW_MS));
    await engineProcess.kill();
    stopped = true;
    acknowledged = await writing;
    await client.close(true);
  }, 60_000);

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('acknowledged a meaningful number of writes before the kill (otherwise the test proves nothing)', () => {
    expect(acknowledged.insertedIds.length).toBeGreaterThan(50);
    expect(acknowledged.committedMarkers.length).toBeGreaterThan(0);
  });

  it('keeps every acknowledged insert after the restart', async () => {
    await withRestartedEngine(dataDir, async (documents) => {
      const present = new Set((await documents.find({}, { projection: { _id: 1 } }).toArray()).map((document) => document._id));
      expect(acknowledged.insertedIds.filter((id) => !present.has(id))).toEqual([]);
    });
  }, 30_000);

  it('keeps each transaction whole: 0 or 5 documents per marker, and 5 for every committed one', async () => {
    await withRestartedEngine(dataDir, async (documents) => {
      const perMarker = await documents
        .aggregate<{ _id: string; n: number }>([{ $match: { marker: { $exists: true } } }, { $group: { _id: '$marker', n: { $sum: 1 } } }])
        .toArray();
      expect(perMarker.filter((group) => group.n !== DOCUMENTS_PER_TRANSACTION)).toEqual([]);
      const recoveredMarkers = new Set(perMarker.map((group) => group._id));
      expect(acknowledged.committedMarkers.filter((marker) => !recoveredMarkers.has(marker))).toEqual([]);
    });
  }, 30_000);

  it('still enforces the unique index after the restart', async () => {
    await withRestartedEngine(dataDir, async (documents) => {
      const [firstKey] = acknowledged.insertedIds;
      const error = await rejectionOf(documents.insertOne({ _id: 'another-id', key: firstKey ?? '' }), MongoServerError);
      expect(error.code).toBe(11000);
      expect(error.keyPattern).toEqual({ key: 1 });
    });
  }, 30_000);

  it('recovers again after more writes on the recovered directory, so the journal was left clean', async () => {
    const laterIds = Array.from({ length: 100 }, (_, n) => `after-restart-${n}`);
    await withRestartedEngine(dataDir, async (documents) => {
      await documents.insertMany(laterIds.map((_id) => ({ _id, key: _id })));
    });
    await withRestartedEngine(dataDir, async (documents) => {
      expect(await documents.countDocuments({ _id: { $in: laterIds } })).toBe(laterIds.length);
      expect(await documents.countDocuments({ _id: { $in: acknowledged.insertedIds } })).toBe(acknowledged.insertedIds.length);
      await documents.insertOne({ _id: 'third-start', key: 'third-start' });
      expect(await documents.countDocuments({ _id: 'third-start' })).toBe(1);
    });
  }, 30_000);
});
