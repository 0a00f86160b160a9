/**
 * SMART scopes enforced on every data path (SMART App Launch 2.x, scopes-and-launch-context.html): an interaction
 * needs a scope with its letter (v2 cruds, v1 read/write/*); `patient/` scopes confine Patient-compartment types to
 * the launch patient on read, search, _include, _revinclude, chains, _has, history, and inside batch and transaction
 * Bundles, while types outside the compartment stay readable as named; granular `?category=` constraints confine
 * further. Refusals are 403 OperationOutcomes naming the rule and the scope that was missing.
 */
import type { Bundle, Observation, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../support/fhir-server';
import { backendClient, userClient, type TokenClient } from '../support/smart-tokens';

let server: FhirTestServer;
const ids: Record<string, string> = {};

const vital = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] };
const lab = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] };

async function put(resource: Resource & { id: string }): Promise<void> {
  const response = await server.fetch(`${server.baseUrl}/${resource.resourceType}/${resource.id}`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(resource) });
  expect(response.status).toBeLessThan(300);
  ids[resource.id] = `${resource.resourceType}/${resource.id}`;
}

function observation(id: string, patient: string, category: typeof vital, performer?: string): Observation & { id: string } {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    category: [category],
    code: { coding: [{ system: 'http://loinc.org', code: category === vital ? '8302-2' : '2339-0' }] },
    subject: { reference: `Patient/${patient}` },
    ...(performer ? { performer: [{ reference: performer }] } : {}),
  };
}

beforeAll(async () => {
  server = await startFhirServer();
  await put({ resourceType: 'Practitioner', id: 'house', name: [{ family: 'House' }] });
  await put({ resourceType: 'Medication', id: 'aspirin', code: { text: 'Aspirin' } });
  await put({ resourceType: 'Patient', id: 'alice', name: [{ family: 'Alice' }], generalPractitioner: [{ reference: 'Practitioner/house' }] });
  await put({ resourceType: 'Patient', id: 'bob', name: [{ family: 'Bob' }] });
  await put(observation('alice-height', 'alice', vital, 'Practitioner/house'));
  await put(observation('alice-glucose', 'alice', lab));
  await put(observation('bob-height', 'bob', vital, 'Practitioner/house'));
  // Dr. House cares for both patients, so only the scopes confine what his apps see (the persona table would allow both).
  for (const patient of ['alice', 'bob']) {
    await put({ resourceType: 'CareTeam', id: `team-${patient}`, subject: { reference: `Patient/${patient}` }, participant: [{ member: { reference: 'Practitioner/house' } }] });
  }
  await put({ resourceType: 'Encounter', id: 'bob-visit', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/bob' } });
});

afterAll(async () => {
  await server.stop();
});

async function json<T = Bundle>(response: Response, status = 200): Promise<T> {
  const body = (await response.json()) as T;
  expect({ status: response.status, body }).toMatchObject({ status });
  return body;
}

const matchIds = (bundle: Bundle): string[] => (bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => `${e.resource?.resourceType}/${e.resource?.id}`).sort();
const allIds = (bundle: Bundle): string[] => (bundle.entry ?? []).filter((e) => e.resource && e.resource.resourceType !== 'OperationOutcome').map((e) => `${e.resource?.resourceType}/${e.resource?.id}`).sort();

async function expectForbidden(response: Response, ...mentions: string[]): Promise<void> {
  const outcome = await json<OperationOutcome>(response, 403);
  expect(outcome.issue[0]).toMatchObject({ severity: 'error', code: 'forbidden' });
  for (const mention of mentions) expect(outcome.issue[0]?.diagnostics).toContain(mention);
  // Seed 000 4.3: every refusal names the escalation path.
  expect(outcome.issue[1]).toMatchObject({ severity: 'information', code: 'informational', diagnostics: expect.any(String) });
}

describe('patient/ scopes (launch patient Alice, patient/*.rs)', () => {
  let alice: TokenClient;
  const url = (path: string): string => `${server.baseUrl}/${path}`;

  beforeAll(async () => {
    alice = await userClient(server, { role: 'doctor', fhirUser: 'Practitioner/house', scope: 'launch/patient patient/*.rs', patient: 'alice' });
    expect(alice.tokenResponse.patient).toBe('alice');
  });

  it('reads resources in the launch patient compartment', async () => {
    expect((await json<Observation>(await alice.fetch(url('Observation/alice-height')))).id).toBe('alice-height');
    expect((await json<Resource>(await alice.fetch(url('Patient/alice')))).id).toBe('alice');
  });

  it("refuses another patient's resources by id with 403 naming the rule", async () => {
    await expectForbidden(await alice.fetch(url('Observation/bob-height')), "rule 'smart-scopes'", 'Observation/bob-height');
    await expectForbidden(await alice.fetch(url('Patient/bob')), "rule 'smart-scopes'");
    await expectForbidden(await alice.fetch(url('Observation/bob-height/_history/1')));
  });

  it('keeps types outside the compartment readable as the scopes name them', async () => {
    expect((await json<Resource>(await alice.fetch(url('Practitioner/house')))).id).toBe('house');
    expect((await json<Resource>(await alice.fetch(url('Medication/aspirin')))).id).toBe('aspirin');
  });

  it('searches only the compartment, before paging and totals', async () => {
    const bundle = await json(await alice.fetch(url('Observation?_total=accurate')));
    expect(matchIds(bundle)).toEqual(['Observation/alice-glucose', 'Observation/alice-height']);
    expect(bundle.total).toBe(2);
    expect(matchIds(await json(await alice.fetch(url('Observation?subject=Patient/bob'))))).toEqual([]);
    expect(matchIds(await json(await alice.fetch(url('Patient'))))).toEqual(['Patient/alice']);
  });

  it('never includes resources outside the compartment', async () => {
    const included = await json(await alice.fetch(url('Practitioner?_id=house&_revinclude=Observation:performer')));
    expect(allIds(included)).toEqual(['Observation/alice-height', 'Practitioner/house']);
    const forward = await json(await alice.fetch(url('Observation?_include=Observation:subject')));
    expect(allIds(forward)).toEqual(['Observation/alice-glucose', 'Observation/alice-height', 'Patient/alice']);
  });

  it('confines chains and _has', async () => {
    expect(matchIds(await json(await alice.fetch(url('Observation?subject:Patient.name=bob'))))).toEqual([]);
    expect(matchIds(await json(await alice.fetch(url('Practitioner?_has:Observation:performer:subject=Patient/bob'))))).toEqual([]);
    expect(matchIds(await json(await alice.fetch(url('Patient?_has:Observation:subject:code=8302-2'))))).toEqual(['Patient/alice']);
  });

  it('refuses type history, which a compartment cannot confine, and confines compartment searches', async () => {
    await expectForbidden(await alice.fetch(url('Observation/_history')), 'history of Observation');
    expect(matchIds(await json(await alice.fetch(url('Patient/bob/Observation'))))).toEqual([]);
  });

  it('refuses reads of other patients inside batch and transaction Bundles', async () => {
    const entries = [
      { request: { method: 'GET', url: 'Observation/alice-height' } },
      { request: { method: 'GET', url: 'Observation/bob-height' } },
    ];
    const batch = await json(await alice.fetch(server.baseUrl, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'Bundle', type: 'batch', entry: entries }) }));
    expect(batch.entry?.map((e) => e.response?.status)).toEqual(['200 OK', '403']);
    const transaction = await alice.fetch(server.baseUrl, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: entries }) });
    await expectForbidden(transaction, 'Bundle.entry[1]');
  });

  it('refuses writes: read scopes have no c, u or d', async () => {
    const response = await alice.fetch(url('Observation'), { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(observation('x', 'alice', vital)) });
    await expectForbidden(response, 'needs a scope such as patient/Observation.c', 'granted: patient/*.rs');
    await expectForbidden(await alice.fetch(url('Observation/alice-height'), { method: 'DELETE' }), 'patient/Observation.d');
  });
});

describe('patient/ write scopes', () => {
  let writer: TokenClient;
  const url = (path: string): string => `${server.baseUrl}/${path}`;
  const post = (body: unknown): Promise<Response> => writer.fetch(url('Observation'), { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    writer = await userClient(server, { role: 'doctor', fhirUser: 'Practitioner/house', scope: 'launch/patient patient/Observation.cruds patient/Patient.rs', patient: 'alice' });
  });

  it('creates and updates resources in the compartment', async () => {
    const created = await json<Observation>(await post({ ...observation('ignored', 'alice', vital), id: undefined }), 201);
    const updated = await writer.fetch(url(`Observation/${created.id}`), { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify({ ...created, status: 'amended' }) });
    expect(updated.status).toBe(200);
  });

  it('refuses to create a resource for another patient, or to move one out of the compartment', async () => {
    await expectForbidden(await post(observation('x', 'bob', vital)), 'lies outside');
    const moved = await writer.fetch(url('Observation/alice-glucose'), { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(observation('alice-glucose', 'bob', lab)) });
    await expectForbidden(moved, 'lies outside');
    const stolen = await writer.fetch(url('Observation/bob-height'), { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(observation('bob-height', 'alice', vital)) });
    await expectForbidden(stolen, 'lies outside');
    await expectForbidden(await writer.fetch(url('Observation/bob-height'), { method: 'DELETE' }), 'lies outside');
  });

  it('refuses a transaction that writes for another patient, leaving nothing behind', async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:1', resource: observation('t1', 'alice', vital), request: { method: 'POST', url: 'Observation' } },
        { fullUrl: 'urn:uuid:2', resource: observation('t2', 'bob', vital), request: { method: 'POST', url: 'Observation' } },
      ],
    };
    const before = await server.db.collection('Observation').countDocuments();
    await expectForbidden(await writer.fetch(server.baseUrl, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(bundle) }), 'Bundle.entry[1]');
    expect(await server.db.collection('Observation').countDocuments()).toBe(before);
  });
});

describe('granular v2 scopes', () => {
  it('confine a type to the resources matching the scope query', async () => {
    const labOnly = await userClient(server, { role: 'doctor', fhirUser: 'Practitioner/house', scope: 'launch/patient patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory', patient: 'alice' });
    expect(matchIds(await json(await labOnly.fetch(`${server.baseUrl}/Observation`)))).toEqual(['Observation/alice-glucose']);
    await expectForbidden(await labOnly.fetch(`${server.baseUrl}/Observation/alice-height`), 'lies outside');
  });

  it('add up when several scopes name the same type', async () => {
    const both = await userClient(server, {
      role: 'doctor',
      fhirUser: 'Practitioner/house',
      scope: 'launch/patient patient/Observation.rs?category=laboratory patient/Observation.rs?category=vital-signs',
      patient: 'alice',
    });
    expect(matchIds(await json(await both.fetch(`${server.baseUrl}/Observation?_id=alice-glucose,alice-height,bob-height`)))).toEqual(['Observation/alice-glucose', 'Observation/alice-height']);
  });
});

describe('system/ scopes (Backend Services)', () => {
  it('allow exactly the interactions their letters name, across the organization', async () => {
    const reader = await backendClient(server, 'system/Patient.rs');
    expect(matchIds(await json(await reader.fetch(`${server.baseUrl}/Patient`)))).toEqual(['Patient/alice', 'Patient/bob']);
    await expectForbidden(await reader.fetch(`${server.baseUrl}/Observation/bob-height`), 'system/Observation.r', 'granted: system/Patient.rs');
    const create = await reader.fetch(`${server.baseUrl}/Patient`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'Patient' }) });
    await expectForbidden(create, 'system/Patient.c');
  });

  it('accept v1 read and write', async () => {
    const v1 = await backendClient(server, 'system/Patient.read system/Observation.write');
    expect((await v1.fetch(`${server.baseUrl}/Patient/bob`)).status).toBe(200);
    expect((await v1.fetch(`${server.baseUrl}/Observation`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(observation('v1', 'bob', vital)) })).status).toBe(201);
    await expectForbidden(await v1.fetch(`${server.baseUrl}/Observation/bob-height`), 'system/Observation.r');
  });

  it('limit a system-level search to the types the scopes allow', async () => {
    const reader = await backendClient(server, 'system/Patient.rs');
    expect(matchIds(await json(await reader.fetch(`${server.baseUrl}?_id=alice,bob-height`)))).toEqual(['Patient/alice']);
    await expectForbidden(await reader.fetch(`${server.baseUrl}?_type=Patient,Observation`), 'Observation');
  });
});
