/**
 * Search figures (issue: FHIR search), over HTTP on loopback against the server as `npm start` runs it, in its
 * own process. The database is the embedded engine on its own thread in this process (in memory, journal off:
 * loading speed is not what is measured here). The Synthea data is imported through the server; generated
 * patients (each with observations and an encounter) are written through the storage port with the server's own
 * indexer, to reach 10k and then 100k patients quickly. Each query runs one request at a time; the plan of its
 * main query is read with `explain`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { MongoClient, type Db, type Document } from 'mongodb';
import { parseSearchRequest } from '../src/search/parse-search-request';
import { baseSearchParameters } from '../src/search/search-parameters';
import type { ChainCriterion, Criterion } from '../src/search/search-request';
import { criterionFilter } from '../src/storage/mongo/search-filter';
import { idDirection, mongoSort, sortFields } from '../src/storage/mongo/search-paging';
import type { Encounter, Observation, Patient, Practitioner, Organization, Resource } from '@medplum/fhirtypes';
import { startEngineThread } from '../src/embedded-mongo/engine-thread';
import { importBundles, listBundleFiles } from '../src/cli/import-bundles';
import { openResourceStore } from '../src/storage/mongo/mongo-resource-store';
import { createSearchIndexer } from '../src/app';
import { SearchParameterCatalog } from '../src/search/search-parameter-catalog';
import { fmt, measureLatency } from './measure';
import { httpClient, startServerProcess, type HttpResult } from './server-process';

const SYNTHEA = path.resolve(__dirname, '../../shared/data/synthea-california');
const DB = 'search_bench';
const TENANT = 'default';

const FAMILIES = ['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Hernandez', 'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin'];
const GIVEN = ['James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda', 'David', 'Elizabeth', 'William', 'Barbara', 'Richard', 'Susan', 'Joseph', 'Jessica'];
const CODES = [
  ['8302-2', 'Body height', 'cm'],
  ['29463-7', 'Body weight', 'kg'],
  ['39156-5', 'BMI', 'kg/m2'],
  ['8867-4', 'Heart rate', '/min'],
  ['9279-1', 'Respiratory rate', '/min'],
  ['8310-5', 'Body temperature', 'Cel'],
  ['2339-0', 'Glucose', 'mg/dL'],
  ['2093-3', 'Cholesterol', 'mg/dL'],
] as const;

/** A deterministic pseudo-random sequence, so every run loads the same data. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)] as T;
}

function isoDay(next: () => number, fromYear: number, years: number): string {
  return new Date(Date.UTC(fromYear, 0, 1) + Math.floor(next() * years * 365) * 86_400_000).toISOString().slice(0, 10);
}

/** Patient i with two observations and one encounter. */
function generated(i: number, practitioners: number, organizations: number): (Resource & { id: string })[] {
  const next = random(i + 1);
  const patientId = `gen-p-${i}`;
  const family = i % 97 === 0 ? `Rare${i}` : pick(next, FAMILIES);
  const patient: Patient & { id: string } = {
    resourceType: 'Patient',
    id: patientId,
    identifier: [{ system: 'urn:oid:2.16.840.1.113883.4.3.25', value: `MRN-${i}` }],
    name: [{ family, given: [pick(next, GIVEN), pick(next, GIVEN)] }],
    gender: next() < 0.5 ? 'female' : 'male',
    birthDate: isoDay(next, 1930, 90),
    address: [{ city: pick(next, ['Oakland', 'Fresno', 'San Diego', 'Sacramento']), state: 'CA' }],
  };
  const observations = [0, 1].map((n): Observation & { id: string } => {
    const [code, display, unit] = pick(next, CODES);
    return {
      resourceType: 'Observation',
      id: `gen-o-${i}-${n}`,
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
      code: { coding: [{ system: 'http://loinc.org', code, display }] },
      subject: { reference: `Patient/${patientId}` },
      effectiveDateTime: `${isoDay(next, 2010, 15)}T10:00:00Z`,
      valueQuantity: { value: Math.round(next() * 2000) / 10, unit, system: 'http://unitsofmeasure.org', code: unit },
    };
  });
  const start = `${isoDay(next, 2010, 15)}T09:00:00Z`;
  const encounter: Encounter & { id: string } = {
    resourceType: 'Encounter',
    id: `gen-e-${i}`,
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: { reference: `Patient/${patientId}` },
    participant: [{ individual: { reference: `Practitioner/gen-pr-${i % practitioners}` } }],
    serviceProvider: { reference: `Organization/gen-org-${i % organizations}` },
    period: { start, end: start.replace('T09:', 'T10:') },
  };
  return [patient, ...observations, encounter];
}

/** The bench reads as the demo seed's backend client (system/*.cruds); its token is renewed per query. */
let bearer = '';
const send = httpClient(4);
const request = (url: string): Promise<HttpResult> => send(url, { bearer });

interface Query {
  readonly name: string;
  /** The request path after the base, for sample i. */
  readonly path: (i: number, patients: number) => string;
}

const QUERIES: readonly Query[] = [
  { name: 'Patient?name=<prefix>', path: (i) => `Patient?name=${pick(random(i), FAMILIES).slice(0, 4).toLowerCase()}` },
  { name: 'Patient?name=<rare family>', path: (i, n) => `Patient?name=rare${Math.floor(((i * 7919) % n) / 97) * 97}` },
  { name: 'Patient?identifier=', path: (i, n) => `Patient?identifier=urn:oid:2.16.840.1.113883.4.3.25|MRN-${(i * 7919) % n}` },
  { name: 'Patient?birthdate=ge...', path: (i) => `Patient?birthdate=ge${1940 + (i % 70)}-01-01` },
  {
    name: 'Observation?subject&code&date=ge&_sort=-date',
    path: (i, n) => `Observation?subject=Patient/gen-p-${(i * 7919) % n}&code=http://loinc.org|${pick(random(i), CODES)[0]}&date=ge2012-01-01&_sort=-date`,
  },
  { name: 'Encounter?patient&_include=participant,serviceProvider', path: (i, n) => `Encounter?patient=Patient/gen-p-${(i * 7919) % n}&_include=Encounter:participant&_include=Encounter:service-provider` },
  { name: 'Patient?identifier&_revinclude=Observation:subject', path: (i, n) => `Patient?identifier=MRN-${(i * 7919) % n}&_revinclude=Observation:subject` },
  { name: 'Observation?subject:Patient.identifier= (chain)', path: (i, n) => `Observation?subject:Patient.identifier=MRN-${(i * 7919) % n}&code=http://loinc.org|${pick(random(i), CODES)[0]}` },
];

/** Adds a row and shows it at once on stderr: the whole suite takes minutes. */
function report(rows: { metric: string; value: string }[], metric: string, value: string): void {
  rows.push({ metric, value });
  process.stderr.write(`  ${metric}: ${value}\n`);
}

/** The index scans of an explained plan, e.g. `IXSCAN tenant_keys` (or COLLSCAN). */
function scans(stage: Document | undefined): string[] {
  if (!stage) return [];
  const own = stage.stage === 'IXSCAN' ? [`IXSCAN ${String(stage.indexName)}`] : stage.stage === 'COLLSCAN' ? ['COLLSCAN'] : [];
  return [...own, ...scans(stage.inputStage as Document | undefined), ...((stage.inputStages as Document[] | undefined) ?? []).flatMap(scans)];
}

/**
 * The plan of a query's main search, as the server builds it (parse, criteria, keyset sort), read with explain.
 * Chains are explained on their inner search (the outer one is then a lookup of the keys it found).
 */
async function explainPlan(db: Db, base: string, path: string): Promise<string> {
  const [type = '', search = ''] = path.split('?');
  const parsed = parseSearchRequest([...new URLSearchParams(search)], [type], { parameters: baseSearchParameters(), strict: false, defaultCount: 20, maxCount: 1000, baseUrl: base });
  const parsedCriteria = parsed.criteria.get(type) ?? [];
  const chain = parsedCriteria.find((c): c is ChainCriterion => c.kind === 'chain');
  const explainedType = chain?.targets[0]?.type ?? type;
  const criteria = chain ? [chain.targets[0]?.criterion as Criterion] : parsedCriteria.filter((c): c is Criterion => c.kind !== 'chain' && c.kind !== 'has' && c.kind !== 'bare-reference');
  const filter = { $and: [{ tenant: TENANT, deleted: false }, ...criteria.map((c) => criterionFilter(c, (id) => `${TENANT}/${id}`, Date.now()))] };
  const sort = mongoSort(sortFields(parsed.sort), idDirection(parsed.sort), false);
  const explained = (await db.collection(explainedType).find(filter).sort(sort).limit(parsed.count + 1).explain()) as Document;
  return `${chain ? `${explainedType} (chain): ` : ''}${scans((explained.queryPlanner as Document).winningPlan as Document).join(' + ')}`;
}

async function measureQueries(db: Db, base: string, patients: number, rows: { metric: string; value: string }[], accessToken: () => Promise<string>): Promise<void> {
  for (const query of QUERIES) {
    bearer = await accessToken();
    // warm up the code paths and the engine's caches
    for (let i = 0; i < 20; i++) await request(`${base}/${query.path(i, patients)}`);
    let matches = 0;
    const latency = await measureLatency(300, async (i) => {
      const res = await request(`${base}/${query.path(i + 1000, patients)}`);
      if (res.status !== 200) throw new Error(`${query.name}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
      matches += (JSON.parse(res.body) as { entry?: unknown[] }).entry?.length ?? 0;
    });
    const plan = await explainPlan(db, base, query.path(1000, patients));
    report(rows, `${query.name} @ ${patients / 1000}k patients: p50 / p99 ms (entries/response) [plan]`, `${fmt(latency.p50)} / ${fmt(latency.p99)} (${fmt(matches / 300, 1)}) [${plan}]`);
  }
}

export async function benchSearch(): Promise<{ metric: string; value: string }[]> {
  const rows: { metric: string; value: string }[] = [];
  // 100k patients with their observations and encounters are about 400k documents held in the engine's memory.
  const engine = await startEngineThread({ fsync: false, maxHeapMb: 12_288 }, { info: () => undefined, warn: () => undefined, error: (m) => console.error(m) });
  // Loading keeps the engine thread busy in long stretches; the monitor must not give up on it meanwhile.
  const client = await new MongoClient(engine.uri, { connectTimeoutMS: 300_000, socketTimeoutMS: 0 }).connect();
  const store = openResourceStore({ client, db: client.db(DB), indexer: createSearchIndexer(new SearchParameterCatalog()) }, TENANT);
  const server = await startServerProcess({ MONGODB_URI: engine.uri, DB_NAME: DB, DEFAULT_TENANT: TENANT });
  const { base, accessToken } = server;
  try {
    bearer = await accessToken();
    if (existsSync(SYNTHEA)) {
      const summary = await importBundles(await listBundleFiles([SYNTHEA]), { baseUrl: base, concurrency: 4, accessToken });
      report(rows, `Synthea import (${summary.resources} resources, ${summary.failures.length} failures)`, `${fmt(summary.seconds, 1)} s`);
    } else {
      rows.push({ metric: 'Synthea import', value: `skipped: ${SYNTHEA} not found` });
    }
    const practitioners = 200;
    const organizations = 20;
    await store.createMany([
      ...Array.from({ length: practitioners }, (_, i): Practitioner & { id: string } => ({ resourceType: 'Practitioner', id: `gen-pr-${i}`, name: [{ family: `Doctor${i}` }] })),
      ...Array.from({ length: organizations }, (_, i): Organization & { id: string } => ({ resourceType: 'Organization', id: `gen-org-${i}`, name: `Clinic ${i}` })),
    ]);
    let loaded = 0;
    for (const target of [10_000, 100_000]) {
      const started = Date.now();
      for (; loaded < target; loaded += 500) {
        const batch = Array.from({ length: 500 }, (_, j) => generated(loaded + j, practitioners, organizations)).flat();
        await store.createMany(batch);
      }
      report(rows, `load generated patients to ${target / 1000}k (4 resources each)`, `${fmt((Date.now() - started) / 1000, 1)} s`);
      await measureQueries(client.db(DB), base, target, rows, accessToken);
    }
  } finally {
    await server.stop();
    await client.close();
    await engine.close();
  }
  return rows;
}
