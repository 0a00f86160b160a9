/**
 * Embedded engine figures (issue: skeleton and embedded engine): insert throughput with one and 16 writes in
 * flight (journal with fdatasync), indexed equality lookup vs full collection scan at 10k and 100k documents,
 * and restart (recovery) time after 100k writes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { MongoClient, type Collection } from 'mongodb';
import { startEmbeddedMongo, type EmbeddedMongo } from '../src/embedded-mongo';
import { fmt, measureLatency, measureThroughput } from './measure';

interface Row {
  metric: string;
  value: string;
}

function document(i: number): Record<string, unknown> {
  return { k: i, unindexed: i, name: `patient-${i}`, birthDate: new Date(1950, 0, 1 + (i % 20000)), tags: ['a', 'b'] };
}

async function fill(collection: Collection, from: number, to: number): Promise<void> {
  for (let start = from; start < to; start += 1000) {
    const batch = Array.from({ length: Math.min(1000, to - start) }, (_, j) => document(start + j));
    await collection.insertMany(batch, { ordered: false });
  }
}

async function lookups(collection: Collection, size: number, rows: Row[]): Promise<void> {
  const indexed = await measureLatency(500, (i) => collection.findOne({ k: (i * 7919) % size }));
  const scan = await measureLatency(10, (i) => collection.findOne({ unindexed: (i * 7919) % size }));
  const sorted = await measureLatency(200, (i) => collection.find({ k: { $gte: (i * 7919) % size } }).sort({ k: 1 }).limit(20).toArray());
  rows.push({ metric: `indexed find p50 / p99 at ${size / 1000}k docs (ms)`, value: `${fmt(indexed.p50, 3)} / ${fmt(indexed.p99, 3)}` });
  rows.push({ metric: `full scan find p50 at ${size / 1000}k docs (ms)`, value: fmt(scan.p50, 1) });
  rows.push({ metric: `range + sort + limit 20 p50 / p99 at ${size / 1000}k docs (ms)`, value: `${fmt(sorted.p50, 3)} / ${fmt(sorted.p99, 3)}` });
}

export async function benchEngine(): Promise<Row[]> {
  const rows: Row[] = [];
  const dataDir = await mkdtemp(path.join(tmpdir(), 'engine-bench-'));
  let engine: EmbeddedMongo | undefined = await startEmbeddedMongo({ dataDir });
  let client = await new MongoClient(engine.uri).connect();
  try {
    let collection = client.db('bench').collection('docs');
    const single = await measureThroughput(2000, 1, (i) => collection.insertOne({ seq: i, payload: 'x'.repeat(200) }));
    rows.push({ metric: 'insertOne/s, 1 in flight (fsync)', value: fmt(single.perSecond, 0) });
    const parallel = await measureThroughput(10000, 16, (i) => collection.insertOne({ seq: i, payload: 'x'.repeat(200) }));
    rows.push({ metric: 'insertOne/s, 16 in flight (fsync)', value: fmt(parallel.perSecond, 0) });
    await collection.drop();

    collection = client.db('bench').collection('patients');
    await collection.createIndex({ k: 1 });
    await fill(collection, 0, 10_000);
    await lookups(collection, 10_000, rows);
    await fill(collection, 10_000, 100_000);
    await lookups(collection, 100_000, rows);

    await client.close();
    await engine.close();
    engine = undefined;
    const started = performance.now();
    engine = await startEmbeddedMongo({ dataDir });
    client = await new MongoClient(engine.uri).connect();
    const restored = await client.db('bench').collection('patients').estimatedDocumentCount();
    rows.push({ metric: `restart after ~112k writes, to first answer (ms; ${restored} docs)`, value: fmt(performance.now() - started, 0) });
  } finally {
    await client.close();
    await engine?.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  return rows;
}
