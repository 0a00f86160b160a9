/**
 * batch and transaction Bundles (http.html#transaction): per-entry outcomes for batch; all-or-nothing,
 * processing order, urn:uuid rewriting, conditional references and ifNoneExist for transaction.
 */
import type { Bundle, BundleEntry, Encounter, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../../support/fhir-server';

let server: FhirTestServer;

beforeAll(async () => {
  server = await startFhirServer();
});

afterAll(async () => {
  await server.stop();
});

async function postBundle(bundle: Bundle): Promise<Response> {
  return server.fetch(server.baseUrl, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(bundle) });
}

describe('batch', () => {
  it('processes entries independently, each with its own status and OperationOutcome', async () => {
    const response = await postBundle({
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: { resourceType: 'Patient', name: [{ family: 'Batch' }] }, request: { method: 'POST', url: 'Patient' } },
        { request: { method: 'GET', url: 'Patient/missing-in-batch' } },
        { resource: { resourceType: 'Patient', birthDate: 'bad' } as Patient, request: { method: 'POST', url: 'Patient' } },
      ],
    });
    expect(response.status).toBe(200);
    const bundle = (await response.json()) as Bundle;
    expect(bundle.type).toBe('batch-response');
    expect(bundle.entry?.map((e) => e.response?.status)).toEqual(['201 Created', '404', '400']);
    expect(bundle.entry?.[0]?.response?.location).toMatch(/Patient\/[^/]+\/_history\/1$/);
    expect((bundle.entry?.[1]?.response?.outcome as OperationOutcome).issue[0]?.code).toBe('not-found');
  });
});

describe('transaction', () => {
  it('rewrites urn:uuid references to the assigned ids and reports location, etag and lastModified', async () => {
    const response = await postBundle({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:enc-1',
          resource: { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'urn:uuid:pat-1' } },
          request: { method: 'POST', url: 'Encounter' },
        },
        { fullUrl: 'urn:uuid:pat-1', resource: { resourceType: 'Patient', name: [{ family: 'Tx' }] }, request: { method: 'POST', url: 'Patient' } },
      ],
    });
    expect(response.status).toBe(200);
    const bundle = (await response.json()) as Bundle;
    expect(bundle.type).toBe('transaction-response');
    const [encounterEntry, patientEntry] = bundle.entry as [BundleEntry, BundleEntry];
    const patient = patientEntry.resource as Patient;
    expect((encounterEntry.resource as Encounter).subject?.reference).toBe(`Patient/${patient.id}`);
    expect(patientEntry.response).toMatchObject({ status: '201 Created', etag: 'W/"1"' });
    expect(patientEntry.response?.lastModified).toMatch(/^\d{4}-/);
    expect(patientEntry.response?.location).toBe(`${server.baseUrl}/Patient/${patient.id}/_history/1`);
  });

  it('leaves nothing behind when an entry fails halfway, and names the entry', async () => {
    const marker = `tx-fail-${Date.now()}`;
    const response = await postBundle({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Patient', identifier: [{ value: marker }] }, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Patient', identifier: [{ value: marker }], birthDate: 'not-a-date' } as Patient, request: { method: 'POST', url: 'Patient' } },
      ],
    });
    expect(response.status).toBe(400);
    const outcome = (await response.json()) as OperationOutcome;
    expect(JSON.stringify(outcome)).toContain('Bundle.entry[1]');
    const check = await server.fetch(`${server.baseUrl}/Patient`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json', 'if-none-exist': `identifier=${marker}` },
      body: JSON.stringify({ resourceType: 'Patient' }),
    });
    expect(check.status).toBe(201);
  });

  it('resolves conditional references and rejects ones that match nothing', async () => {
    const npi = `npi-${Date.now()}`;
    await server.fetch(`${server.baseUrl}/Practitioner`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Practitioner', identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi }] }),
    });
    const ok = await postBundle({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, participant: [{ individual: { reference: `Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|${npi}` } }] },
          request: { method: 'POST', url: 'Encounter' },
        },
      ],
    });
    expect(ok.status).toBe(200);
    const encounter = ((await ok.json()) as Bundle).entry?.[0]?.resource as Encounter;
    expect(encounter.participant?.[0]?.individual?.reference).toMatch(/^Practitioner\/[0-9a-f-]{36}$/);
    const missing = await postBundle({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, participant: [{ individual: { reference: 'Practitioner?identifier=urn:none|0' } }] },
          request: { method: 'POST', url: 'Encounter' },
        },
      ],
    });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as OperationOutcome).issue[0]?.diagnostics).toContain('matches no Practitioner');
  });

  it('honours ifNoneExist: a second run creates no duplicate', async () => {
    const mrn = `tx-ine-${Date.now()}`;
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: { resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: mrn }] }, request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=urn:mrn|${mrn}` } }],
    };
    const first = (await (await postBundle(bundle)).json()) as Bundle;
    const second = (await (await postBundle(bundle)).json()) as Bundle;
    expect(first.entry?.[0]?.response?.status).toBe('201 Created');
    expect(second.entry?.[0]?.response?.status).toBe('200 OK');
    expect(second.entry?.[0]?.resource?.id).toBe(first.entry?.[0]?.resource?.id);
  });

  it('rejects two entries that change the same resource', async () => {
    const response = await postBundle({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Patient', id: 'twice' }, request: { method: 'PUT', url: 'Patient/twice' } },
        { request: { method: 'DELETE', url: 'Patient/twice' } },
      ],
    });
    expect(response.status).toBe(400);
    const outcome = (await response.json()) as OperationOutcome;
    expect(outcome.issue[0]?.diagnostics).toContain('both change Patient/twice');
    expect((await server.fetch(`${server.baseUrl}/Patient/twice`)).status).toBe(404);
  });

  it('processes DELETE before POST before PUT before GET', async () => {
    const create = async (body: Patient): Promise<Patient> =>
      (await (await server.fetch(`${server.baseUrl}/Patient`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) })).json()) as Patient;
    const mrn = `order-${Date.now()}`;
    const kept = await create({ resourceType: 'Patient' });
    const removed = await create({ resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: mrn }] });
    const response = await postBundle({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'GET', url: `Patient/${kept.id}` } },
        { resource: { resourceType: 'Patient', id: kept.id, active: true }, request: { method: 'PUT', url: `Patient/${kept.id}` } },
        { resource: { resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: mrn }] }, request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=urn:mrn|${mrn}` } },
        { request: { method: 'DELETE', url: `Patient/${removed.id}` } },
      ],
    });
    const bundle = (await response.json()) as Bundle;
    expect(bundle.entry?.map((e) => e.response?.status)).toEqual(['200 OK', '200 OK', '201 Created', '204 No Content']);
    expect((bundle.entry?.[0]?.resource as Patient).active).toBe(true);
    expect(bundle.entry?.[2]?.resource?.id).not.toBe(removed.id);
  });
});
