/**
 * Organizations are isolated (requirements seed 000 2.5; issue 6 "Leak tests"): a token of one organization never
 * reaches another's data by id, search, chain, _include/_revinclude, _has, history, $everything, Bundle entries or
 * conditional references, and never changes it; the same id may exist in both, as two separate records.
 */
import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../support/fhir-server';
import { backendClient, type TokenClient } from '../support/smart-tokens';

let server: FhirTestServer;
let orgB: TokenClient;

async function putA(resource: Resource & { id: string }): Promise<void> {
  const response = await server.fetch(`${server.baseUrl}/${resource.resourceType}/${resource.id}`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(resource) });
  expect(response.status).toBe(201);
}

beforeAll(async () => {
  server = await startFhirServer();
  await putA({ resourceType: 'Practitioner', id: 'a-doc', name: [{ family: 'Alpha' }] });
  await putA({ resourceType: 'Patient', id: 'a-pat', name: [{ family: 'Secret' }], identifier: [{ system: 'urn:mrn', value: 'A-1' }], generalPractitioner: [{ reference: 'Practitioner/a-doc' }] });
  await putA({ resourceType: 'Observation', id: 'a-obs', status: 'final', code: { coding: [{ code: 'x' }] }, subject: { reference: 'Patient/a-pat' }, performer: [{ reference: 'Practitioner/a-doc' }] });
  orgB = await backendClient(server, 'system/*.cruds', { tenant: 'org-b' });
});

afterAll(async () => {
  await server.stop();
});

/** A Bundle, or the OperationOutcome of a refusal. */
type Answer = Pick<Bundle, 'entry'> & Pick<OperationOutcome, 'issue'>;

async function asB(method: string, path: string, body?: unknown): Promise<{ status: number; body: Answer }> {
  const response = await orgB.fetch(`${server.baseUrl}${path ? `/${path}` : ''}`, { method, ...(body ? { headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) } : {}) });
  return { status: response.status, body: response.status === 204 ? { issue: [] } : ((await response.json()) as Answer) };
}

const entries = (bundle: Pick<Bundle, 'entry'>): string[] => (bundle.entry ?? []).filter((e) => e.resource?.resourceType !== 'OperationOutcome').map((e) => `${e.resource?.resourceType}/${e.resource?.id}`);

describe("another organization's token", () => {
  it('cannot read by id, version or history, or run $everything: the resources do not exist for it', async () => {
    for (const path of ['Patient/a-pat', 'Observation/a-obs/_history/1', 'Observation/a-obs/_history', 'Patient/a-pat/$everything']) {
      expect((await asB('GET', path)).status).toBe(404);
    }
  });

  it('finds nothing by search, chain, _has, includes or type history', async () => {
    for (const query of [
      'Patient?_id=a-pat',
      'Patient?identifier=urn:mrn|A-1',
      'Observation?subject=Patient/a-pat',
      'Observation?subject.name=secret',
      'Patient?_has:Observation:subject:code=x',
      'Practitioner?_id=a-doc&_revinclude=Patient:general-practitioner',
      'Observation?_include=Observation:subject',
      'Observation/_history',
      '?_type=Patient,Observation',
    ]) {
      const { status, body } = await asB('GET', query);
      expect({ query, status, found: entries(body) }).toEqual({ query, status: 200, found: [] });
    }
  });

  it('cannot reach the data through Bundle entries or conditional references', async () => {
    const batch = await asB('POST', '', { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Patient/a-pat' } }, { request: { method: 'GET', url: 'Observation?subject=Patient/a-pat' } }] });
    expect(batch.body.entry?.[0]?.response?.status).toBe('404');
    expect(entries(batch.body.entry?.[1]?.resource as Bundle)).toEqual([]);
    const transaction = await asB('POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ fullUrl: 'urn:uuid:o1', resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient?identifier=urn:mrn|A-1' } }, request: { method: 'POST', url: 'Observation' } }],
    });
    expect(transaction.status).toBe(400);
    expect(transaction.body.issue[0]?.diagnostics).toContain("Conditional reference 'Patient?identifier=urn:mrn|A-1' matches no Patient");
  });

  it("never changes the other organization's data: writes with the same id or condition make its own records", async () => {
    expect((await asB('PUT', 'Patient/a-pat', { resourceType: 'Patient', id: 'a-pat', name: [{ family: 'Overwritten' }] })).status).toBe(201);
    expect((await asB('PUT', 'Patient?identifier=urn:mrn|A-1', { resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: 'A-1' }], name: [{ family: 'Conditional' }] })).status).toBe(201);
    expect((await asB('DELETE', 'Observation/a-obs')).status).toBe(404);
    const original = (await (await server.fetch(`${server.baseUrl}/Patient/a-pat`)).json()) as Resource & { name: { family: string }[]; meta: { versionId: string } };
    expect(original.name[0]?.family).toBe('Secret');
    expect(original.meta.versionId).toBe('1');
    expect((await server.fetch(`${server.baseUrl}/Observation/a-obs`)).status).toBe(200);
    expect(entries((await asB('GET', 'Patient?_id=a-pat')).body)).toEqual(['Patient/a-pat']);
  });
});
