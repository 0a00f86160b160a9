/**
 * capabilities (http.html#capabilities): GET /metadata is generated from the registry the router uses, and the
 * copy in capability-statement/ must match what the code generates (regenerate with `npm run capability-statement`).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CapabilityStatement } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../../support/fhir-server';
import { buildPublishedStatement } from '../../../src/cli/write-capability-statement';

let server: FhirTestServer;

beforeAll(async () => {
  server = await startFhirServer();
});

afterAll(async () => {
  await server.stop();
});

describe('CapabilityStatement', () => {
  it('is served at /metadata and lists every R4 resource type with the interactions that work', async () => {
    const response = await server.fetch(`${server.baseUrl}/metadata`);
    expect(response.status).toBe(200);
    const statement = (await response.json()) as CapabilityStatement;
    expect(statement).toMatchObject({ resourceType: 'CapabilityStatement', fhirVersion: '4.0.1', kind: 'instance' });
    const resources = statement.rest?.[0]?.resource ?? [];
    expect(resources).toHaveLength(146);
    const patient = resources.find((r) => r.type === 'Patient');
    expect(patient?.interaction?.map((i) => i.code).sort()).toEqual(['create', 'delete', 'history-instance', 'history-type', 'patch', 'read', 'search-type', 'update', 'vread']);
    expect(statement.rest?.[0]?.interaction?.map((i) => i.code).sort()).toEqual(['batch', 'history-system', 'search-system', 'transaction']);
    expect(statement.implementation?.url).toBe(server.baseUrl);
  });

  it('matches the published copy in capability-statement/', async () => {
    const file = path.join(__dirname, '../../../capability-statement/CapabilityStatement.json');
    const published = JSON.parse(await readFile(file, 'utf8')) as CapabilityStatement;
    const generated = buildPublishedStatement();
    expect(published).toEqual(generated);
  });
});
