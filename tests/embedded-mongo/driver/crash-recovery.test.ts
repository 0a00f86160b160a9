/**
 * Durability through the driver: every write the engine acknowledged survives `kill -9` of its process, and
 * every transaction is all or nothing after the restart. Needs the engine in a child process, so it is
 * skipped when MONGODB_URI points the suite at another server.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient, type Document } from 'mongodb';
import { startEmbeddedMongo } from '../../../src/embedded-mongo';

const external = Boolean(process.env.MONGODB_URI);
const describeEngine = external ? describe.skip : describe;
if (external) console.warn('MONGODB_URI is set: skipping the embedded engine crash-recovery test');

async function startChild(dataDir: string): Promise<{ uri: string; kill(): Promise<void> }> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'fixtures/engine-process.ts')], {
    env: { ...process.env, DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const uri = await new Promise<string>((resolve, reject) => {
    child.stdout?.once('data', (chunk: Buffer) => resolve((JSON.parse(chunk.toString()) as { uri: string }).uri));
    child.on('exit', () => reject(new Error('engine process exited early')));
  });
  return {
    uri,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

describeEngine('crash recovery', () => {
  it('keeps every acknowledged insert and never half of a transaction after kill -9', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'crash-'));
    try {
      const child = await startChild(dataDir);
      const client = await new MongoClient(child.uri, { serverSelectionTimeoutMS: 2000 }).connect();
      const docs = client.db('crash').collection('docs');
      await docs.createIndex({ key: 1 }, { unique: true });
      const acknowledged: number[] = [];
      const transactions: number[] = [];
      let stop = false;
      const writer = async (start: number): Promise<void> => {
        for (let i = start; !stop; i += 16) {
          try {
            if (i % 5 === 0) {
              await client.withSession((s) =>
                s.withTransaction(() => docs.insertMany(Array.from({ length: 5 }, (_, k) => ({ key: `t${i}-${k}`, txn: i })), { session: s })),
              );
              transactions.push(i);
            } else {
              await docs.insertOne({ key: `k${i}` });
              acknowledged.push(i);
            }
          } catch {
            return;
          }
        }
      };
      const writers = Array.from({ length: 16 }, (_, n) => writer(n));
      await new Promise((r) => setTimeout(r, 700));
      await child.kill();
      stop = true;
      await Promise.all(writers);
      await client.close(true);
      expect(acknowledged.length).toBeGreaterThan(50);

      const engine = await startEmbeddedMongo({ dataDir });
      const reader = await new MongoClient(engine.uri).connect();
      const recovered = reader.db('crash').collection<Document>('docs');
      const keys = new Set((await recovered.find({}, { projection: { key: 1 } }).toArray()).map((d) => d.key as string));
      expect(acknowledged.filter((i) => !keys.has(`k${i}`))).toEqual([]);
      const perTxn = await recovered.aggregate<{ _id: number; n: number }>([{ $match: { txn: { $exists: true } } }, { $group: { _id: '$txn', n: { $sum: 1 } } }]).toArray();
      expect(perTxn.filter((t) => t.n !== 5)).toEqual([]);
      expect(transactions.filter((i) => !perTxn.some((t) => t._id === i))).toEqual([]);
      expect((await recovered.insertOne({ key: [...keys][0] }).catch((e: { code: number }) => e)) as { code: number }).toMatchObject({ code: 11000 });
      await recovered.insertOne({ key: 'after-restart' });
      await reader.close();
      await engine.close();

      const again = await startEmbeddedMongo({ dataDir });
      const third = await new MongoClient(again.uri).connect();
      expect(await third.db('crash').collection('docs').countDocuments({ key: 'after-restart' })).toBe(1);
      await third.close();
      await again.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
