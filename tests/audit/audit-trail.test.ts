/**
 * Issue 6 "Audit" (seed 001 EARS summary, seed 000 section 7), shaped after IHE Basic Audit Log Patterns
 * (https://profiles.ihe.net/ITI/BALP/content.html#3573-restful-activities): every FHIR request that reads or writes
 * data, allowed, refused or failed, produces one AuditEvent in its organization's store, durable before the
 * response is sent: who (user, persona, client application, network address), what (interaction, resources,
 * patients, query), when, outcome (with the refusing rule), purpose of use. Auditors search them through FHIR.
 */
import type { AuditEvent, AuditEventAgent, AuditEventEntity, Bundle, Observation, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../support/fhir-server';
import { userClient, type TokenClient } from '../support/smart-tokens';
import { auditOf as auditEventOf, storedAuditOf as storedAuditEvent } from '../support/audit-events';
import { assertValid } from '../../src/validation/assert-valid';
import { createAuditRecorder } from '../../src/audit/audit-recorder';
import { createChainedAuditSink } from '../../src/audit/chained-audit-sink';
import { openResourceStore } from '../../src/storage/mongo/mongo-resource-store';
import { createSearchIndexer } from '../../src/app';
import { SearchParameterCatalog } from '../../src/search/search-parameter-catalog';
import { baseSearchParameters } from '../../src/search/search-parameters';

let server: FhirTestServer;
let doctor: TokenClient;
let receptionist: TokenClient;
let requestCounter = 0;

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const REST = 'http://hl7.org/fhir/restful-interaction';
const url = (path: string): string => `${server.baseUrl}/${path}`;

/** Sends a request as `client` with a fresh X-Request-Id; returns the response and that id. */
async function send(client: Pick<TokenClient, 'fetch'>, path: string, init: RequestInit = {}): Promise<{ response: Response; requestId: string }> {
  const requestId = `audit-test-${++requestCounter}`;
  const headers = { 'x-request-id': requestId, ...(init.body ? { 'content-type': 'application/fhir+json' } : {}), ...(init.headers as Record<string, string> | undefined) };
  const response = await client.fetch(url(path), { ...init, headers });
  return { response, requestId };
}

const storedAuditOf = (requestId: string): Promise<AuditEvent | undefined> => storedAuditEvent(server, requestId);
const auditOf = (requestId: string): Promise<AuditEvent> => auditEventOf(server, requestId);

const agentOfType = (event: AuditEvent, code: string): AuditEventAgent | undefined => event.agent.find((a) => a.type?.coding?.some((c) => c.code === code));
const entitiesWithRole = (event: AuditEvent, role: string): AuditEventEntity[] => (event.entity ?? []).filter((e) => e.role?.code === role);
const dataOf = (event: AuditEvent): string[] => entitiesWithRole(event, '4').map((e) => e.what?.reference ?? '');
const patientsOf = (event: AuditEvent): string[] => entitiesWithRole(event, '1').map((e) => e.what?.reference ?? '').sort();

async function put(resource: Resource & { id: string }): Promise<void> {
  const response = await server.fetch(url(`${resource.resourceType}/${resource.id}`), { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(resource) });
  expect(response.status).toBeLessThan(300);
}

const bloodPressure = (id: string, patient: string): Observation & { id: string } => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
  subject: { reference: `Patient/${patient}` },
});

beforeAll(async () => {
  server = await startFhirServer();
  await put({ resourceType: 'Practitioner', id: 'house', name: [{ family: 'House' }] });
  await put({ resourceType: 'Patient', id: 'alice', name: [{ family: 'Alice' }] });
  await put({ resourceType: 'Patient', id: 'bob', name: [{ family: 'Bob' }] });
  await put(bloodPressure('alice-bp', 'alice'));
  await put(bloodPressure('bob-bp', 'bob'));
  await put({ resourceType: 'CareTeam', id: 'house-team', subject: { reference: 'Patient/alice' }, participant: [{ member: { reference: 'Practitioner/house' } }] });
  await put({ resourceType: 'CareTeam', id: 'house-team-bob', subject: { reference: 'Patient/bob' }, participant: [{ member: { reference: 'Practitioner/house' } }] });
  doctor = await userClient(server, { role: 'doctor', scope: 'user/*.cruds', fhirUser: 'Practitioner/house' });
  receptionist = await userClient(server, { role: 'receptionist', scope: 'user/Patient.rs', fhirUser: 'Practitioner/desk' });
});

afterAll(async () => {
  await server.stop();
});

describe('an AuditEvent for every FHIR request', () => {
  it('records a read: the user with persona and account, the client and its address, the server, the resource and its patient', async () => {
    const { response, requestId } = await send(doctor, 'Observation/alice-bp');
    expect(response.status).toBe(200);
    const event = await auditOf(requestId);
    expect(event).toMatchObject({
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
      subtype: [{ system: REST, code: 'read' }],
      action: 'R',
      outcome: '0',
      source: { site: server.tenant, observer: { identifier: { value: server.baseUrl } }, type: [{ code: '4' }] },
    });
    expect(event.outcomeDesc).toBeUndefined();
    expect(Date.parse(event.recorded)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(event.period?.start ?? '')).toBeLessThanOrEqual(Date.parse(event.period?.end ?? ''));
    const user = agentOfType(event, 'IRCP');
    expect(user).toMatchObject({
      who: { reference: 'Practitioner/house', identifier: { system: server.issuer } },
      role: [{ coding: [{ system: 'https://fhir-interop-server.org/fhir/CodeSystem/persona', code: 'doctor' }] }],
      requestor: true,
    });
    expect(user?.altId).toMatch(/^acct-doctor-/);
    expect(user?.who?.identifier?.value).toBe(user?.altId);
    // In a read the data flows to the client: the client is BALP's Destination, the server the Source.
    const client = agentOfType(event, '110152');
    expect(client).toMatchObject({ type: { coding: [{ system: DCM, code: '110152' }] }, who: { identifier: { system: `${server.origin}/admin/clients` } }, requestor: false, network: { type: '2' } });
    expect(client?.who?.identifier?.value).toEqual(expect.any(String));
    expect(client?.network?.address).toMatch(/127\.0\.0\.1$/);
    expect(agentOfType(event, '110153')).toMatchObject({ who: { identifier: { value: server.baseUrl } }, network: { address: server.baseUrl, type: '5' } });
    expect(dataOf(event)).toEqual(['Observation/alice-bp/_history/1']);
    expect(entitiesWithRole(event, '4')[0]?.type).toMatchObject({ code: '2' });
    expect(patientsOf(event)).toEqual(['Patient/alice']);
    expect(entitiesWithRole(event, '1')[0]?.type).toMatchObject({ system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1' });
    expect(event.entity?.find((e) => e.type?.code === 'XrequestId')?.what?.identifier?.value).toBe(requestId);
    expect(event.purposeOfEvent).toBeUndefined();
    expect(() => assertValid(event, 'AuditEvent')).not.toThrow();
  });

  it('records a search with its query and the patients of its results', async () => {
    const { response, requestId } = await send(doctor, 'Observation?code=http://loinc.org|85354-9&_count=10');
    expect(response.status).toBe(200);
    const event = await auditOf(requestId);
    expect(event).toMatchObject({ subtype: [{ code: 'search-type' }], action: 'E', outcome: '0' });
    expect(dataOf(event).sort()).toEqual(['Observation/alice-bp/_history/1', 'Observation/bob-bp/_history/1']);
    expect(patientsOf(event)).toEqual(['Patient/alice', 'Patient/bob']);
    const [query] = entitiesWithRole(event, '24');
    expect(query?.type).toMatchObject({ code: '2' });
    expect(query?.description).toBe('Observation?code=http%3A%2F%2Floinc.org%7C85354-9&_count=10');
    expect(Buffer.from(query?.query ?? '', 'base64').toString('utf8')).toBe(`${server.baseUrl}/Observation?code=http%3A%2F%2Floinc.org%7C85354-9&_count=10`);
    // A search is BALP's query: the request flows from the client, the Source.
    expect(agentOfType(event, '110153')?.who?.identifier?.system).toBe(`${server.origin}/admin/clients`);
    expect(() => assertValid(event, 'AuditEvent')).not.toThrow();
  });

  it('finds the patients of results that _elements stripped of their subject', async () => {
    const { response, requestId } = await send(doctor, 'Observation?code=http://loinc.org|85354-9&_elements=status');
    const bundle = (await response.json()) as Bundle;
    expect(bundle.entry?.every((e) => (e.resource as Observation).subject === undefined)).toBe(true);
    expect(patientsOf(await auditOf(requestId))).toEqual(['Patient/alice', 'Patient/bob']);
  });

  it('records the patient a search names even when nothing matches', async () => {
    const { requestId } = await send(doctor, 'Observation?subject=Patient/bob&code=none');
    const event = await auditOf(requestId);
    expect(dataOf(event)).toEqual([]);
    expect(patientsOf(event)).toEqual(['Patient/bob']);
  });

  it('records a create with the version stored and the patient it concerns', async () => {
    const { response, requestId } = await send(doctor, 'Observation', { method: 'POST', body: JSON.stringify({ ...bloodPressure('ignored', 'bob'), id: undefined }) });
    expect(response.status).toBe(201);
    const created = (await response.json()) as Observation;
    const event = await auditOf(requestId);
    expect(event).toMatchObject({ subtype: [{ code: 'create' }], action: 'C', outcome: '0' });
    expect(agentOfType(event, 'AUT')).toMatchObject({ who: { reference: 'Practitioner/house' }, requestor: true });
    expect(dataOf(event)).toEqual([`Observation/${created.id}/_history/1`]);
    expect(patientsOf(event)).toEqual(['Patient/bob']);
  });

  it('records a delete with the patient of the version it removed', async () => {
    await put(bloodPressure('to-delete', 'alice'));
    const { response, requestId } = await send(doctor, 'Observation/to-delete', { method: 'DELETE' });
    expect(response.status).toBe(204);
    const event = await auditOf(requestId);
    expect(event).toMatchObject({ subtype: [{ code: 'delete' }], action: 'D', outcome: '0' });
    expect(agentOfType(event, 'CST')?.who?.reference).toBe('Practitioner/house');
    expect(dataOf(event)).toEqual(['Observation/to-delete']);
    expect(patientsOf(event)).toEqual(['Patient/alice']);
  });

  it('records a 404 as a minor failure with its OperationOutcome code', async () => {
    const { response, requestId } = await send(doctor, 'Observation/nowhere');
    expect(response.status).toBe(404);
    const event = await auditOf(requestId);
    expect(event).toMatchObject({ subtype: [{ code: 'read' }], action: 'R', outcome: '4', outcomeDesc: '404 not-found: Resource Observation/nowhere is not known' });
    expect(dataOf(event)).toEqual(['Observation/nowhere']);
    expect(patientsOf(event)).toEqual([]);
  });

  it('records a refusal with the access rule that decided it, and the patient whose data was refused', async () => {
    const { response, requestId } = await send(receptionist, 'Observation/alice-bp');
    expect(response.status).toBe(403);
    const outcome = (await response.json()) as OperationOutcome;
    expect(outcome.issue[0]).toMatchObject({ severity: 'error', code: 'forbidden' });
    expect(outcome.issue[0]?.diagnostics).toContain("rule 'smart-scopes'");
    const event = await auditOf(requestId);
    expect(event).toMatchObject({ subtype: [{ code: 'read' }], outcome: '4' });
    expect(event.outcomeDesc).toMatch(/^Refused by access rule 'smart-scopes': Access denied by rule 'smart-scopes': read on Observation is not permitted/);
    expect(agentOfType(event, 'IRCP')).toMatchObject({ who: { reference: 'Practitioner/desk' }, role: [{ coding: [{ code: 'receptionist' }] }] });
    expect(dataOf(event)).toEqual(['Observation/alice-bp']);
    expect(patientsOf(event)).toEqual(['Patient/alice']);
  });

  it('records a request refused before the FHIR layer (415) with the resource it aimed at', async () => {
    const { response, requestId } = await send(doctor, 'Patient/alice', { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'x' });
    expect(response.status).toBe(415);
    const event = await auditOf(requestId);
    expect(event).toMatchObject({ subtype: [{ code: 'update' }], action: 'U', outcome: '4' });
    expect(event.outcomeDesc).toMatch(/^415 not-supported: Content-Type 'text\/plain' is not supported/);
    expect(patientsOf(event)).toEqual(['Patient/alice']);
  });

  it('records a transaction with every resource it wrote and their patients', async () => {
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { ...bloodPressure('x', 'bob'), id: undefined } as Observation, request: { method: 'POST', url: 'Observation' } },
        { resource: { ...bloodPressure('alice-bp', 'alice'), status: 'amended' }, request: { method: 'PUT', url: 'Observation/alice-bp' } },
      ],
    };
    const { response, requestId } = await send(doctor, '', { method: 'POST', body: JSON.stringify(bundle) });
    expect(response.status).toBe(200);
    const result = (await response.json()) as Bundle;
    const [observation] = (result.entry ?? []).map((e) => e.resource as Resource);
    const event = await auditOf(requestId);
    expect(event).toMatchObject({ subtype: [{ code: 'transaction' }], action: 'E', outcome: '0' });
    expect(dataOf(event).sort()).toEqual([`Observation/${observation?.id}/_history/1`, 'Observation/alice-bp/_history/2'].sort());
    expect(patientsOf(event)).toEqual(['Patient/alice', 'Patient/bob']);
  });

  it('records a batch whose entries were refused as a minor failure naming them', async () => {
    const bundle: Bundle = { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Patient/alice' } }, { request: { method: 'GET', url: 'Observation/bob-bp' } }] };
    const { response, requestId } = await send(receptionist, '', { method: 'POST', body: JSON.stringify(bundle) });
    expect(response.status).toBe(200);
    const event = await auditOf(requestId);
    expect(event).toMatchObject({ subtype: [{ code: 'batch' }], outcome: '4' });
    expect(event.outcomeDesc).toMatch(/^1 batch entries failed: entry\[1\] 403: Access denied by rule 'smart-scopes'/);
    expect(dataOf(event)).toEqual(['Patient/alice/_history/1']);
  });

  it('writes the AuditEvent durably before the response is sent', async () => {
    const requestId = 'audit-durable-1';
    const response = await doctor.fetch(url('Patient/bob'), { headers: { 'x-request-id': requestId } });
    // Read at once, before the body: the event must already be committed.
    const event = await storedAuditOf(requestId);
    expect(response.status).toBe(200);
    expect(event).toMatchObject({ subtype: [{ code: 'read' }], outcome: '0' });
    const head = await server.db.collection('_chains').findOne({ _id: `${server.tenant}/audit` as never });
    expect(Number(head?.sequence)).toBeGreaterThanOrEqual(Number(event?.id));
  });

  it('does not record the CapabilityStatement, which reads no stored data', async () => {
    const response = await doctor.fetch(url('metadata'), { headers: { 'x-request-id': 'audit-metadata-1' } });
    expect(response.status).toBe(200);
    expect(await storedAuditOf('audit-metadata-1')).toBeUndefined();
  });
});

describe('searching the audit trail through FHIR', () => {
  const ids = async (client: Pick<TokenClient, 'fetch'>, query: string): Promise<string[]> => {
    const { response } = await send(client, `AuditEvent?${query}&_count=1000`);
    expect(response.status).toBe(200);
    return ((await response.json()) as Bundle).entry?.map((e) => e.resource?.id ?? '') ?? [];
  };

  it('finds events by patient', async () => {
    const { requestId: aliceRead } = await send(doctor, 'Patient/alice');
    const { requestId: bobRead } = await send(doctor, 'Patient/bob');
    const found = await ids(server, 'patient=Patient/alice');
    expect(found).toContain((await auditOf(aliceRead)).id);
    expect(found).not.toContain((await auditOf(bobRead)).id);
  });

  it('finds events by agent (the user) and by persona', async () => {
    const { requestId: byDoctor } = await send(doctor, 'Patient/alice');
    const { requestId: byReceptionist } = await send(receptionist, 'Patient/alice');
    const found = await ids(server, 'agent=Practitioner/house');
    expect(found).toContain((await auditOf(byDoctor)).id);
    expect(found).not.toContain((await auditOf(byReceptionist)).id);
    expect(await ids(server, 'agent-role=receptionist')).toContain((await auditOf(byReceptionist)).id);
  });

  it('finds events by date', async () => {
    const before = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const { requestId } = await send(doctor, 'Patient/alice');
    const event = await auditOf(requestId);
    expect(await ids(server, `date=ge${before}`)).toContain(event.id);
    expect(await ids(server, `date=lt${before}`)).not.toContain(event.id);
  });

  it('finds refusals by outcome', async () => {
    const { requestId: refused } = await send(receptionist, 'Observation/bob-bp');
    const { requestId: allowed } = await send(receptionist, 'Patient/bob');
    const failures = await ids(server, 'outcome=4');
    expect(failures).toContain((await auditOf(refused)).id);
    expect(failures).not.toContain((await auditOf(allowed)).id);
    expect(await ids(server, 'outcome=0')).toContain((await auditOf(allowed)).id);
  });

  it('finds break-the-glass access by purpose of use (BTG) with the stated reason', async () => {
    // Emergency tokens are issued by the break-the-glass part of issue 6; the audit records principal.breakGlass.
    const catalog = new SearchParameterCatalog();
    const store = (tenant: string) => openResourceStore({ client: server.db.client, db: server.db, indexer: createSearchIndexer(catalog) }, tenant);
    const recorder = createAuditRecorder({
      sink: createChainedAuditSink(store),
      storeFor: store,
      parametersFor: () => baseSearchParameters(),
      identity: { software: 'fhir-interop-server', issuer: server.issuer, clientRegistry: `${server.origin}/admin/clients` },
    });
    const now = new Date();
    const alice = (await (await server.fetch(url('Patient/alice'))).json()) as Resource;
    await recorder.record({
      principal: {
        kind: 'user',
        tenant: server.tenant,
        clientId: 'emergency-app',
        accountId: 'acct-er-doctor',
        role: 'doctor',
        fhirUser: 'Practitioner/house',
        scopes: [],
        launch: {},
        expiresAt: new Date(now.getTime() + 60_000),
        breakGlass: { purpose: 'ETREAT', reason: 'Unconscious patient in the emergency room', patient: 'alice', expiresAt: new Date(now.getTime() + 60_000) },
      },
      method: 'GET',
      path: ['Patient', 'alice'],
      query: [],
      request: undefined,
      response: { status: 200, body: alice },
      failure: undefined,
      requestId: 'audit-btg-1',
      clientAddress: '10.0.0.7',
      baseUrl: server.baseUrl,
      started: now,
      ended: now,
    });
    const event = await auditOf('audit-btg-1');
    const btg = [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'BTG' }], text: 'Unconscious patient in the emergency room' },
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'ETREAT' }] },
    ];
    expect(event.purposeOfEvent).toMatchObject(btg);
    expect(agentOfType(event, 'IRCP')?.purposeOfUse).toMatchObject(btg);
    expect(patientsOf(event)).toEqual(['Patient/alice']);
    const found = await ids(server, 'purpose=http://terminology.hl7.org/CodeSystem/v3-ActReason|BTG');
    expect(found).toEqual([event.id]);
    expect(await ids(server, 'purpose=ETREAT')).toEqual([event.id]);
  });

  it('records the auditor reading the audit trail', async () => {
    const { requestId } = await send(server, 'AuditEvent?outcome=4');
    const event = await auditOf(requestId);
    expect(event).toMatchObject({ subtype: [{ code: 'search-type' }], outcome: '0' });
    expect(entitiesWithRole(event, '24')[0]?.description).toBe('AuditEvent?outcome=4');
    expect(dataOf(event).every((reference) => reference.startsWith('AuditEvent/'))).toBe(true);
    expect(dataOf(event).length).toBeGreaterThan(0);
  });
});

describe('the audit trail and Patient/$everything', () => {
  it('leaves AuditEvents out of the record unless asked for with _type', async () => {
    await send(doctor, 'Patient/alice');
    const everything = (await (await server.fetch(url('Patient/alice/$everything?_count=100'))).json()) as Bundle;
    const types = new Set((everything.entry ?? []).map((e) => e.resource?.resourceType));
    expect(types.has('Patient')).toBe(true);
    expect(types.has('AuditEvent')).toBe(false);
    const audit = (await (await server.fetch(url('Patient/alice/$everything?_type=AuditEvent&_count=100'))).json()) as Bundle;
    expect((audit.entry ?? []).length).toBeGreaterThan(0);
    expect(new Set((audit.entry ?? []).map((e) => e.resource?.resourceType))).toEqual(new Set(['AuditEvent']));
  });
});
