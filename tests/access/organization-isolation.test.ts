/**
 * Organizations are isolated (requirements seed 000 2.5; issue 6 "Leak tests"): a token of one organization never
 * reaches another's data by id, search, chain, _include/_revinclude, _has, history, $everything, Bundle entries or
 * conditional references, and never changes it; the same id may exist in both, as two separate records.
 */
import type { AuditEvent, Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
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
  await putA({ resourceType: 'Observation', id: 'a-obs', identifier: [{ system: 'urn:obs', value: 'A-OBS' }], status: 'final', code: { coding: [{ code: 'x' }] }, subject: { reference: 'Patient/a-pat' }, performer: [{ reference: 'Practitioner/a-doc' }] });
  orgB = await backendClient(server, 'system/*.cruds', { tenant: 'org-b' });
});

afterAll(async () => {
  await server.stop();
});

/** A Bundle, or the OperationOutcome of a refusal. */
type Answer = Pick<Bundle, 'entry' | 'total'> & Pick<OperationOutcome, 'issue'> & Pick<Resource, 'id'>;

async function asB(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Answer }> {
  const response = await orgB.fetch(`${server.baseUrl}${path ? `/${path}` : ''}`, { method, headers: { ...(body ? { 'content-type': 'application/fhir+json' } : {}), ...headers }, ...(body ? { body: JSON.stringify(body) } : {}) });
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
      '_history',
      '?_type=Patient,Observation',
    ]) {
      const { status, body } = await asB('GET', query);
      // System history lists the AuditEvents of its own requests (seed 000 7: each organization's audit trail).
      const audit = (body.entry ?? []).filter((e) => e.resource?.resourceType === 'AuditEvent').map((e) => (e.resource as AuditEvent).source.site);
      expect({ query, status, found: entries(body).filter((e) => !e.startsWith('AuditEvent/')), audit: [...new Set(audit)] }).toEqual({ query, status: 200, found: [], audit: query === '_history' ? ['org-b'] : [] });
    }
  });

  it('counts nothing: totals are taken after the organization filter (issue 6 "Leak tests")', async () => {
    for (const query of ['Observation?_summary=count', 'Observation?_total=accurate', 'Patient?identifier=urn:mrn|A-1&_total=accurate&_count=1']) {
      const { status, body } = await asB('GET', query);
      expect({ query, status, total: body.total }).toEqual({ query, status: 200, total: 0 });
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

  describe('when it holds records with the same ids (seed 000 2.5: isolated records per organization)', () => {
    /** The ids both organizations use; the results are checked on these. */
    const SHARED_IDS = /\/(a-pat|a-doc|a-obs|b-obs)$/;
    /** Text only the first organization's records hold. */
    const revealsA = (body: unknown): boolean => /Secret|Alpha|A-OBS/.test(JSON.stringify(body));

    beforeAll(async () => {
      expect((await asB('PUT', 'Practitioner/a-doc', { resourceType: 'Practitioner', id: 'a-doc', name: [{ family: 'Bravo' }] })).status).toBe(201);
      const observation = { resourceType: 'Observation', id: 'b-obs', status: 'final', code: { coding: [{ code: 'y' }] }, subject: { reference: 'Patient/a-pat' }, performer: [{ reference: 'Practitioner/a-doc' }] };
      expect((await asB('PUT', 'Observation/b-obs', observation)).status).toBe(201);
    });

    it('resolves ids, references, chains, _has and includes among its own records only', async () => {
      const cases: [string, string[]][] = [
        ['Practitioner?_id=a-doc&_revinclude=Patient:general-practitioner', ['Practitioner/a-doc']],
        ['Practitioner?_id=a-doc&_revinclude=Observation:performer', ['Observation/b-obs', 'Practitioner/a-doc']],
        ['Observation?_include=Observation:subject&_include=Observation:performer', ['Observation/b-obs', 'Patient/a-pat', 'Practitioner/a-doc']],
        ['Observation?subject=Patient/a-pat', ['Observation/b-obs']],
        ['Observation?subject.name=secret', []],
        ['Observation?performer.name=alpha', []],
        ['Observation?subject.name=overwritten', ['Observation/b-obs']],
        ['Patient?_has:Observation:subject:code=x', []],
        ['Practitioner?_has:Observation:performer:code=x', []],
        ['Patient?_has:Observation:subject:code=y', ['Patient/a-pat']],
        ['Patient/a-pat/_history', ['Patient/a-pat']],
        ['Patient/a-pat/$everything', ['Observation/b-obs', 'Patient/a-pat']],
        ['_history?_count=1000', ['Observation/b-obs', 'Patient/a-pat', 'Practitioner/a-doc']],
      ];
      for (const [query, expected] of cases) {
        const { status, body } = await asB('GET', query);
        const shared = entries(body).filter((e) => SHARED_IDS.test(e)).sort();
        expect({ query, status, shared, leak: revealsA(body) }).toEqual({ query, status: 200, shared: expected, leak: false });
      }
      for (const query of ['Observation?_summary=count', 'Observation?_total=accurate&_count=1', 'Patient?_id=a-pat&_total=accurate']) {
        expect({ query, total: (await asB('GET', query)).body.total }).toEqual({ query, total: 1 });
      }
    });
  });

  it("matches only its own records in conditional creates, updates and deletes, direct or in a transaction", async () => {
    const condition = 'identifier=urn:obs|A-OBS';
    const observation = { resourceType: 'Observation', status: 'final', code: { coding: [{ code: 'z' }] } };
    const created = await asB('POST', 'Observation', observation, { 'if-none-exist': condition });
    expect({ status: created.status, own: created.body.id !== 'a-obs' }).toEqual({ status: 201, own: true });
    expect((await asB('PUT', `Observation?${condition}`, observation)).status).toBe(201);
    expect([200, 204, 404]).toContain((await asB('DELETE', `Observation?${condition}`)).status);
    const transaction = await asB('POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: observation, request: { method: 'POST', url: 'Observation', ifNoneExist: condition } },
        { resource: observation, request: { method: 'PUT', url: `Observation?${condition}` } },
        { resource: { ...observation, id: 'a-obs' }, request: { method: 'PUT', url: 'Observation/a-obs' } },
        { request: { method: 'DELETE', url: 'Patient?identifier=urn:mrn|A-1' } },
      ],
    });
    expect({ status: transaction.status, entries: transaction.body.entry?.map((e) => e.response?.status) }).toEqual({ status: 200, entries: [expect.stringMatching(/^201/), expect.stringMatching(/^201/), expect.stringMatching(/^201/), expect.stringMatching(/^20[04]/)] });
    const [observationA, patientA] = await Promise.all(['Observation/a-obs', 'Patient/a-pat'].map(async (path) => (await (await server.fetch(`${server.baseUrl}/${path}`)).json()) as Resource & { meta: { versionId: string } }));
    expect([observationA?.meta.versionId, patientA?.meta.versionId]).toEqual(['1', '1']);
    expect((await server.fetch(`${server.baseUrl}/Patient?identifier=urn:mrn|A-1`)).status).toBe(200);
    expect(entries((await (await server.fetch(`${server.baseUrl}/Patient?identifier=urn:mrn|A-1`)).json()) as Bundle)).toEqual(['Patient/a-pat']);
  });
});
