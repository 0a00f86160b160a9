/**
 * Real-world acceptance (issue: REST core): the Synthea California data set loads completely through the
 * import command's code path: hospital and practitioner batch Bundles first, then the 86 patient transaction
 * Bundles; every reference in the stored resources resolves, and loading the batches again creates no duplicate
 * of the resources they create conditionally (ifNoneExist).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Bundle } from '@medplum/fhirtypes';
import path from 'node:path';
import { importBundles, listBundleFiles } from '../../src/cli/import-bundles';
import { startFhirServer, type FhirTestServer } from '../support/fhir-server';

const DATA = path.resolve(__dirname, '../../../shared/data/synthea-california');
const available = existsSync(DATA);
const describeWithData = available ? describe : describe.skip;
if (!available) console.warn(`Synthea data not found at ${DATA}: skipping the Synthea load test`);

let server: FhirTestServer;

beforeAll(async () => {
  if (available) server = await startFhirServer();
});

afterAll(async () => {
  await server?.stop();
});

/** Every `reference` value in a resource that points at another stored resource (`Type/id`). */
function references(value: unknown, out: string[]): string[] {
  if (Array.isArray(value)) value.forEach((v) => references(v, out));
  else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (key === 'reference' && typeof child === 'string' && /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]+$/.test(child)) out.push(child);
      else references(child, out);
    }
  }
  return out;
}

describeWithData('Synthea California load', () => {
  it('loads every bundle, resolves every reference, and re-loading the shared batches adds nothing', async () => {
    const files = await listBundleFiles([DATA]);
    expect(files.length).toBe(88);
    const summary = await importBundles(files, { baseUrl: server.baseUrl, concurrency: 4, accessToken: () => server.accessToken() });
    expect(summary.failures).toEqual([]);
    const entries = (await Promise.all(files.map(async (file) => (JSON.parse(await readFile(file, 'utf8')) as Bundle).entry?.length ?? 0))).reduce((a, b) => a + b, 0);
    expect(summary.resources).toBe(entries);

    const db = server.db;
    const stored = new Set<string>();
    const pointers: string[] = [];
    for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
      if (name.endsWith('_history') || !/^[A-Z]/.test(name)) continue;
      for await (const doc of db.collection(name).find({ deleted: false }, { projection: { id: 1, resource: 1 } })) {
        stored.add(`${name}/${doc.id as string}`);
        references(doc.resource, pointers);
      }
    }
    const dangling = pointers.filter((reference) => !stored.has(reference));
    expect(dangling).toEqual([]);

    const batches = files.filter((file) => /(hospital|practitioner)Information/.test(file));
    const conditional = new Set<string>();
    for (const file of batches) {
      for (const entry of (JSON.parse(await readFile(file, 'utf8')) as Bundle).entry ?? []) {
        if (entry.request?.ifNoneExist && entry.resource) conditional.add(entry.resource.resourceType);
      }
    }
    expect([...conditional].sort()).toEqual(['Location', 'Organization', 'Practitioner']);
    const count = async () => Promise.all([...conditional].map((type) => db.collection(type).countDocuments({ deleted: false })));
    const before = await count();
    const again = await importBundles(batches, { baseUrl: server.baseUrl, accessToken: () => server.accessToken() });
    expect(again.failures).toEqual([]);
    expect(await count()).toEqual(before);
  }, 600_000);
});
