/**
 * Embedded engine figures (issue: skeleton and embedded engine): insert throughput with one and 16 writes in
 * flight (journal with fdatasync), indexed equality lookup vs full collection scan at 10k and 100k documents,
 * and restart (recovery) time after 100k writes. Planner suite (issue: query planner): FHIR-shaped queries on 100k
 * documents with the plan each one ran, read from explain.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { MongoClient, type Collection, type Document } from 'mongodb';
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

const SEARCH_DOCS = 100_000;
const PATIENTS = 1250;
const CODES = ['8302-2', '8867-4', '9279-1', '8480-6', '8462-4', '39156-5', '29463-7', '2339-0', '718-7', '4548-4'];
const DAY = 86_400_000;

/**
 * An Observation as FHIR search stores it: ~30 search keys in `sp.k`, 2-3 date ranges in `sp.d`, a sort key and
 * the compartment. Each code matches 10,000 documents, each subject 80, and `date` >= 1970 60% of them.
 */
function observation(i: number): Document {
  const patient = i % PATIENTS;
  const code = CODES[Math.floor(i / PATIENTS) % CODES.length] as string;
  const effective = new Date(Date.UTC(1940 + ((i * 7919) % 75), i % 12, 1 + (i % 28)));
  const updated = new Date(Date.UTC(2024, 0, 1) + i * 1000);
  const keys = [
    `code=sc:http://loinc.org|${code}`, `code=c:${code}`, `code=s:http://loinc.org`, `code:text=s:loinc ${code}`,
    `subject=r:Patient/${patient}`, `subject=i:Patient/${patient}`, `patient=r:Patient/${patient}`, `subject:Patient=r:${patient}`,
    'status=t:final', 'status=c:final', `category=sc:http://terminology.hl7.org/CodeSystem/observation-category|laboratory`,
    'category=c:laboratory', `performer=r:Practitioner/${i % 200}`, `encounter=r:Encounter/${i % 20000}`,
    `identifier=sc:urn:example:obs|${i}`, `identifier=c:${i}`, `_id=t:obs-${i}`, `_tag=sc:urn:example:tag|${i % 7}`,
    `_profile=u:http://hl7.org/fhir/StructureDefinition/vitalsigns`, `_source=u:urn:source:${i % 3}`,
    `value-quantity=s:${i % 97}`, `based-on=r:ServiceRequest/${i % 5000}`, `device=r:Device/${i % 50}`,
    `method=c:m${i % 4}`, `specimen=r:Specimen/${i % 9000}`, `data-absent-reason=c:none`, `interpretation=c:N`,
    `focus=r:Patient/${patient}`, `has-member=r:Observation/${(i + 1) % SEARCH_DOCS}`, `derived-from=r:Observation/${(i + 2) % SEARCH_DOCS}`,
  ];
  const dates = [
    { p: 'date', lo: effective, hi: new Date(effective.getTime() + DAY - 1) },
    { p: '_lastUpdated', lo: updated, hi: updated },
  ];
  if (i % 3 === 0) dates.push({ p: 'issued', lo: effective, hi: effective });
  return {
    _id: `T/obs-${i}`,
    tenant: 'T',
    deleted: false,
    sp: { k: keys, d: dates },
    so: { date: { d: effective } },
    comp: [`Patient/${patient}`],
  };
}

/** The stage names and index of an explain's winning plan, e.g. `LIMIT > FETCH > IXSCAN _id_`. */
function describeExplain(explained: Document): string {
  const planner = (explained.queryPlanner ?? explained.stages?.[0]?.$cursor?.queryPlanner) as Document;
  const parts: string[] = [];
  for (let stage = (planner.winningPlan.queryPlan ?? planner.winningPlan) as Document | undefined; stage; stage = stage.inputStage) {
    parts.push(stage.stage === 'IXSCAN' ? `IXSCAN ${stage.indexName}` : String(stage.stage));
  }
  return parts.join(' > ');
}

interface SearchCase {
  name: string;
  find?: (i: number) => { filter: Document; sort: Document };
  count?: (i: number) => Document;
}

const base = { tenant: 'T', deleted: false };
const code = (i: number): string => `code=sc:http://loinc.org|${CODES[i % CODES.length]}`;
const subject = (i: number): string => `subject=r:Patient/${(i * 37) % PATIENTS}`;
const dateFrom = (year: number): Document => ({ 'sp.d': { $elemMatch: { p: 'date', hi: { $gte: new Date(Date.UTC(year, 0, 1)) } } } });
const dateBefore = (year: number): Document => ({ 'sp.d': { $elemMatch: { p: 'date', lo: { $lt: new Date(Date.UTC(year, 0, 1)) } } } });
const byId = { _id: 1 };
const byDate = { 'so.date.d': 1, _id: 1 };

const SEARCH_CASES: SearchCase[] = [
  { name: '2 code (10k) & subject (80), sort _id', find: (i) => ({ filter: { $and: [base, { 'sp.k': code(i) }, { 'sp.k': subject(i) }] }, sort: byId }) },
  { name: '2 subject (80) & code (10k), sort _id', find: (i) => ({ filter: { $and: [base, { 'sp.k': subject(i) }, { 'sp.k': code(i) }] }, sort: byId }) },
  { name: '4 broad: count date >= 1970 (60k)', count: (i) => ({ ...base, ...dateFrom(1970 + (i % 2)) }) },
  { name: '4 narrow: count date < 1941 (1.3k)', count: (i) => ({ ...base, ...dateBefore(1941 + (i % 2)) }) },
  { name: '7 broad: date >= 1970, sort _id', find: (i) => ({ filter: { ...base, ...dateFrom(1970 + (i % 2)) }, sort: byId }) },
  { name: '7 broad: date >= 1970, sort date', find: (i) => ({ filter: { ...base, ...dateFrom(1970 + (i % 2)) }, sort: byDate }) },
  { name: '7 narrow: subject (80), sort date', find: (i) => ({ filter: { ...base, 'sp.k': subject(i) }, sort: byDate }) },
  { name: '8 count code (10k) & subject (80)', count: (i) => ({ $and: [base, { 'sp.k': code(i) }, { 'sp.k': subject(i) }] }) },
];

/**
 * FHIR search shapes on 100k Observation-like documents in a fresh in-memory engine: latency and the plan explain
 * reports for each. Its own suite (`npm run bench -- planner`), also run by `npm run bench -- engine`.
 */
export async function benchEnginePlanner(): Promise<Row[]> {
  const rows: Row[] = [];
  const engine = await startEmbeddedMongo({});
  const client = await new MongoClient(engine.uri).connect();
  try {
    const collection = client.db('bench').collection('Observation');
    await collection.createIndex({ tenant: 1, 'sp.k': 1 });
    await collection.createIndex({ tenant: 1, 'sp.d.p': 1, 'sp.d.lo': 1 });
    await collection.createIndex({ tenant: 1, 'sp.d.p': 1, 'sp.d.hi': 1 });
    await collection.createIndex({ tenant: 1, comp: 1 });
    await collection.createIndex({ tenant: 1, 'so.date.d': 1, _id: 1 });
    for (let start = 0; start < SEARCH_DOCS; start += 1000) {
      await collection.insertMany(Array.from({ length: 1000 }, (_, j) => observation(start + j)), { ordered: false });
    }
    for (const search of SEARCH_CASES) {
      const { find, count } = search;
      const run = find
        ? (i: number) => { const q = find(i); return collection.find(q.filter).sort(q.sort).limit(21).toArray(); }
        : (i: number) => collection.countDocuments((count as (i: number) => Document)(i));
      const latency = await measureLatency(200, run, 20_000);
      const explained = find
        ? await collection.find(find(0).filter).sort(find(0).sort).limit(21).explain('queryPlanner')
        : await collection.aggregate([{ $match: (count as (i: number) => Document)(0) }, { $group: { _id: 1, n: { $sum: 1 } } }]).explain('queryPlanner');
      rows.push({ metric: `search ${search.name}, p50 / p99 (ms)`, value: `${fmt(latency.p50, 2)} / ${fmt(latency.p99, 2)}  ${describeExplain(explained)}` });
    }
  } finally {
    await client.close();
    await engine.close();
  }
  return rows;
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
