/**
 * Patients' consents on every read path (consent.html privacy directives; issue 6 "Consent resources drive
 * access"): a deny provision naming an actor, a data class, a security label, a purpose or a period hides the
 * patient's matching data from the bound callers on read, vread, history, search (totals included), _include,
 * _revinclude, chains, _has, $everything, inside batch and transaction Bundles and in conditional matches, and is
 * refused with the escalation path and audited (seed 000 4.3); revocation takes effect on the next request.
 */
import type { Bundle, Consent, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../support/fhir-server';
import { userClient, type TokenClient } from '../support/smart-tokens';
import { auditOf } from '../support/audit-events';

let server: FhirTestServer;
let doctor: TokenClient;
let nurse: TokenClient;
let patient: TokenClient;
/** A nurse who may also record observations. */
let nurseWriter: TokenClient;

async function put(resource: Resource & { id: string }): Promise<void> {
  const response = await server.fetch(`${server.baseUrl}/${resource.resourceType}/${resource.id}`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(resource) });
  expect(response.status).toBeLessThan(300);
}

const RESTRICTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' };

function consent(id: string, provision: Consent['provision'], status: Consent['status'] = 'active'): Consent & { id: string } {
  return {
    resourceType: 'Consent',
    id,
    status,
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: 'Patient/pat' },
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision,
  };
}

const denyDoctorObservations = consent('no-doc-obs', { type: 'deny', actor: [{ role: { text: 'provider' }, reference: { reference: 'Practitioner/doc' } }], class: [{ system: 'http://hl7.org/fhir/resource-types', code: 'Observation' }] });

beforeAll(async () => {
  server = await startFhirServer();
  await put({ resourceType: 'Practitioner', id: 'doc' });
  await put({ resourceType: 'Practitioner', id: 'nurse' });
  await put({ resourceType: 'Patient', id: 'pat', name: [{ family: 'Private' }] });
  await put({ resourceType: 'Patient', id: 'open', name: [{ family: 'Open' }] });
  for (const p of ['pat', 'open']) {
    await put({ resourceType: 'CareTeam', id: `team-${p}`, subject: { reference: `Patient/${p}` }, participant: [{ member: { reference: 'Practitioner/doc' } }, { member: { reference: 'Practitioner/nurse' } }] });
  }
  await put({ resourceType: 'Observation', id: 'pat-hr', status: 'final', code: { coding: [{ code: 'hr' }] }, subject: { reference: 'Patient/pat' }, performer: [{ reference: 'Practitioner/doc' }] });
  await put({ resourceType: 'Observation', id: 'pat-hiv', meta: { security: [RESTRICTED] }, status: 'final', code: { coding: [{ code: 'hiv' }] }, subject: { reference: 'Patient/pat' } });
  await put({ resourceType: 'Observation', id: 'open-hr', status: 'final', code: { coding: [{ code: 'hr' }] }, subject: { reference: 'Patient/open' }, performer: [{ reference: 'Practitioner/doc' }] });
  await put({ resourceType: 'Condition', id: 'pat-cond', subject: { reference: 'Patient/pat' } });
  await put({ resourceType: 'DiagnosticReport', id: 'pat-dr', status: 'final', code: { text: 'Vitals' }, subject: { reference: 'Patient/pat' }, result: [{ reference: 'Observation/pat-hr' }] });
  await put(denyDoctorObservations);
  doctor = await userClient(server, { role: 'doctor', fhirUser: 'Practitioner/doc', scope: 'user/*.cruds' });
  nurse = await userClient(server, { role: 'nurse', fhirUser: 'Practitioner/nurse', scope: 'user/*.rs' });
  patient = await userClient(server, { role: 'patient', fhirUser: 'Patient/pat', scope: 'user/*.rs' });
  nurseWriter = await userClient(server, { role: 'nurse', fhirUser: 'Practitioner/nurse', scope: 'user/*.cruds' });
});

afterAll(async () => {
  await server.stop();
});

/** A Bundle, or the OperationOutcome of a refusal. */
type Answer = Pick<Bundle, 'entry' | 'total' | 'link'> & Pick<OperationOutcome, 'issue'> & Pick<Resource, 'id'>;

async function call(client: TokenClient, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Answer }> {
  const response = await client.fetch(`${server.baseUrl}/${path}`, { method, headers: { ...(body ? { 'content-type': 'application/fhir+json' } : {}), ...headers }, ...(body ? { body: JSON.stringify(body) } : {}) });
  return { status: response.status, body: response.status === 204 ? ({} as Answer) : ((await response.json()) as Answer) };
}

const get = (client: TokenClient, path: string): Promise<{ status: number; body: Answer }> => call(client, 'GET', path);

/** Whether an answer shows anything of a restricted record (its id or its code). */
const reveals = (body: unknown, id: string): boolean => JSON.stringify(body).includes(id);

async function ids(client: TokenClient, path: string): Promise<string[]> {
  const { status, body } = await get(client, path);
  expect(status).toBe(200);
  return (body.entry ?? []).filter((e) => e.resource?.resourceType !== 'OperationOutcome').map((e) => `${e.resource?.resourceType}/${e.resource?.id}`).sort();
}

describe('a deny provision for one actor and one data class', () => {
  it('refuses the restricted record by id, version and history, naming the consent rule and the escalation path, audited', async () => {
    for (const path of ['Observation/pat-hr', 'Observation/pat-hr/_history/1', 'Observation/pat-hr/_history']) {
      const response = await doctor.fetch(`${server.baseUrl}/${path}`);
      const { issue } = (await response.json()) as OperationOutcome;
      expect(response.status).toBe(403);
      expect(issue[0]?.diagnostics).toContain("rule 'consent'");
      // seed 000 4.3: restricted data is refused with the escalation path, and the attempt is logged.
      expect(issue[1]?.diagnostics).toContain('break-the-glass');
      expect(await auditOf(server, response.headers.get('x-request-id') ?? '')).toMatchObject({ outcome: '4', outcomeDesc: `Refused by access rule 'consent': ${issue[0]?.diagnostics}` });
    }
  });

  it('hides it from searches before paging and totals, and from includes, chains, _has and $everything', async () => {
    expect(await ids(doctor, 'Observation?_total=accurate')).toEqual(['Observation/open-hr']);
    expect((await get(doctor, 'Observation?_total=accurate')).body.total).toBe(1);
    expect(await ids(doctor, 'Patient?_id=pat&_revinclude=Observation:subject')).toEqual(['Patient/pat']);
    expect(await ids(doctor, 'Practitioner?_id=doc&_revinclude=Observation:performer')).toEqual(['Observation/open-hr', 'Practitioner/doc']);
    expect(await ids(doctor, 'Observation?subject.name=private')).toEqual([]);
    expect(await ids(doctor, 'Patient?_has:Observation:subject:code=hr')).toEqual(['Patient/open']);
    expect(await ids(doctor, 'Patient/pat/$everything')).toEqual(['CareTeam/team-pat', 'Condition/pat-cond', 'Consent/no-doc-obs', 'DiagnosticReport/pat-dr', 'Patient/pat']);
    // The restricted record is neither included nor a link of a chain from a resource the caller may see.
    expect(await ids(doctor, 'DiagnosticReport?_include=DiagnosticReport:result')).toEqual(['DiagnosticReport/pat-dr']);
    expect(await ids(doctor, 'DiagnosticReport?result.code=hr')).toEqual([]);
  });

  it('counts and pages only what the caller may see (issue 6 "totals and includes filtered before paging")', async () => {
    expect((await get(doctor, 'Observation?_summary=count')).body.total).toBe(1);
    const page = await get(doctor, 'Observation?_total=accurate&_count=1');
    expect({ total: page.body.total, found: page.body.entry?.map((e) => e.resource?.id), next: page.body.link?.some((l) => l.relation === 'next') }).toEqual({ total: 1, found: ['open-hr'], next: false });
  });

  it('shows nothing of it in type or system history', async () => {
    for (const path of ['Observation/_history', '_history']) {
      const { status, body } = await get(doctor, path);
      expect({ path, status: status === 200 || status === 403, leak: reveals(body, 'pat-hr') }).toEqual({ path, status: true, leak: false });
    }
  });

  it('hides it inside batch entries', async () => {
    const response = await doctor.fetch(server.baseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Observation/pat-hr' } }, { request: { method: 'GET', url: 'Observation?subject=Patient/pat' } }] }),
    });
    const bundle = (await response.json()) as Bundle;
    expect(bundle.entry?.[0]?.response?.status).toBe('403');
    expect((bundle.entry?.[1]?.resource as Bundle).entry ?? []).toEqual([]);
  });

  it('refuses it as a transaction entry, read or written, and the transaction changes nothing', async () => {
    const amended = { resourceType: 'Observation', id: 'pat-hr', status: 'amended', code: { coding: [{ code: 'hr' }] }, subject: { reference: 'Patient/pat' } };
    for (const entry of [{ request: { method: 'GET', url: 'Observation/pat-hr' } }, { resource: amended, request: { method: 'PUT', url: 'Observation/pat-hr' } }, { request: { method: 'DELETE', url: 'Observation/pat-hr' } }]) {
      const { status, body } = await call(doctor, 'POST', '', { resourceType: 'Bundle', type: 'transaction', entry: [entry] });
      expect({ method: entry.request.method, status, rule: body.issue?.[0]?.diagnostics?.includes("rule 'consent'") }).toEqual({ method: entry.request.method, status: 403, rule: true });
    }
    const stored = (await (await server.fetch(`${server.baseUrl}/Observation/pat-hr`)).json()) as Resource;
    expect(stored.meta?.versionId).toBe('1');
  });

  it('leaves the other data classes and the other actors alone', async () => {
    expect((await get(doctor, 'Condition/pat-cond')).status).toBe(200);
    expect((await get(nurse, 'Observation/pat-hr')).status).toBe(200);
  });

  it('never restricts the patient itself', async () => {
    expect(await ids(patient, 'Observation')).toEqual(['Observation/pat-hiv', 'Observation/pat-hr']);
  });
});

describe('other kinds of provisions', () => {
  it('a security label restricts the labelled data for everyone', async () => {
    await put(consent('no-restricted', { type: 'deny', securityLabel: [RESTRICTED] }));
    expect(await ids(nurse, 'Observation?subject=Patient/pat')).toEqual(['Observation/pat-hr']);
    await put(consent('no-restricted', { type: 'deny', securityLabel: [RESTRICTED] }, 'inactive'));
  });

  it('a purpose restricts only requests made for it (research, not treatment)', async () => {
    await put(consent('no-research', { type: 'deny', purpose: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HRESCH' }] }));
    expect(await ids(nurse, 'Observation?subject=Patient/pat')).toEqual(['Observation/pat-hiv', 'Observation/pat-hr']);
  });

  it('a period restricts only while it lasts', async () => {
    await put(consent('past', { type: 'deny', period: { start: '2001-01-01', end: '2002-01-01' } }));
    expect(await ids(nurse, 'Observation?subject=Patient/pat')).toEqual(['Observation/pat-hiv', 'Observation/pat-hr']);
    await put(consent('current', { type: 'deny', period: { start: '2001-01-01' }, actor: [{ role: { text: 'nurse' }, reference: { reference: 'Practitioner/nurse' } }] }));
    expect(await ids(nurse, 'Observation?subject=Patient/pat')).toEqual([]);
    await put(consent('current', { type: 'deny', period: { start: '2001-01-01' } }, 'inactive'));
  });

  it('a permit consent with a nested deny restricts what the deny names', async () => {
    await put(consent('nested', { type: 'permit', provision: [{ type: 'deny', actor: [{ role: { text: 'nurse' }, reference: { reference: 'Practitioner/nurse' } }], class: [{ system: 'http://hl7.org/fhir/resource-types', code: 'Condition' }] }] }));
    expect((await get(nurse, 'Condition/pat-cond')).status).toBe(403);
    await put(consent('nested', { type: 'permit' }, 'inactive'));
  });
});

describe('provisions about other actions', () => {
  it('a deny of contact channels only (notifications) hides no data', async () => {
    const channel = (code: string) => ({ coding: [{ system: 'http://hl7.org/fhir/contact-point-system', code }] });
    await put(consent('channels', { type: 'deny', action: [channel('email'), channel('sms')], provision: [{ type: 'permit', action: [channel('email')] }] }));
    expect(await ids(nurse, 'Observation?subject=Patient/pat')).toEqual(['Observation/pat-hiv', 'Observation/pat-hr']);
    await put(consent('channels', { type: 'deny' }, 'inactive'));
  });

  it('a deny of a consent action on data (access) restricts as one without actions', async () => {
    await put(consent('no-access', { type: 'deny', action: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'access' }] }], actor: [{ role: { text: 'nurse' }, reference: { reference: 'Practitioner/nurse' } }] }));
    expect(await ids(nurse, 'Observation?subject=Patient/pat')).toEqual([]);
    await put(consent('no-access', { type: 'deny' }, 'inactive'));
  });
});

describe('revocation (seed 001 scenario 5)', () => {
  it('takes effect on the very next request', async () => {
    expect((await get(doctor, 'Observation/pat-hr')).status).toBe(403);
    await put({ ...denyDoctorObservations, status: 'inactive' });
    expect((await get(doctor, 'Observation/pat-hr')).status).toBe(200);
    await put(denyDoctorObservations);
    expect((await get(doctor, 'Observation/pat-hr')).status).toBe(403);
  });
});

describe('conditional interactions (http.html#cond-update, #ccreate, #cdelete; issue 6 "conditional match")', () => {
  // A restricted record does not exist for the bound caller: a condition naming it matches nothing, so conditional
  // creates and updates make new records, conditional deletes delete nothing and conditional references fail.
  const heartRate = { resourceType: 'Observation', status: 'final', code: { coding: [{ code: 'hr' }] }, subject: { reference: 'Patient/pat' } };

  beforeAll(async () => {
    await put(consent('no-restricted', { type: 'deny', securityLabel: [RESTRICTED] }));
  });

  afterAll(async () => {
    await put(consent('no-restricted', { type: 'deny', securityLabel: [RESTRICTED] }, 'inactive'));
  });

  it('never matches the restricted record in conditional creates and updates, directly or as transaction entries', async () => {
    const created = await call(nurseWriter, 'POST', 'Observation', heartRate, { 'if-none-exist': '_id=pat-hiv' });
    expect({ status: created.status, leak: reveals(created.body, 'pat-hiv') }).toEqual({ status: 201, leak: false });
    const updated = await call(nurseWriter, 'PUT', 'Observation?_id=pat-hiv', heartRate);
    expect({ status: updated.status, leak: reveals(updated.body, 'pat-hiv') }).toEqual({ status: 201, leak: false });
    const transaction = await call(nurseWriter, 'POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: heartRate, request: { method: 'POST', url: 'Observation', ifNoneExist: '_id=pat-hiv' } },
        { resource: heartRate, request: { method: 'PUT', url: 'Observation?_id=pat-hiv' } },
      ],
    });
    expect({ status: transaction.status, leak: reveals(transaction.body, 'pat-hiv') }).toEqual({ status: 200, leak: false });
    expect(transaction.body.entry?.map((e) => e.response?.status)).toEqual([expect.stringMatching(/^201/), expect.stringMatching(/^201/)]);
    // The patient, whom no consent of its own restricts, sees the record unchanged.
    expect((await get(patient, 'Observation/pat-hiv')).body).toMatchObject({ id: 'pat-hiv', meta: { versionId: '1' } });
  });

  it('resolves no conditional reference to it', async () => {
    const { status, body } = await call(nurseWriter, 'POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: { ...heartRate, hasMember: [{ reference: 'Observation?_id=pat-hiv' }] }, request: { method: 'POST', url: 'Observation' } }],
    });
    expect({ status, diagnostics: body.issue?.[0]?.diagnostics }).toEqual({ status: 400, diagnostics: expect.stringContaining("Conditional reference 'Observation?_id=pat-hiv' matches no Observation") });
  });

  it('deletes no restricted record by a condition, directly or as a transaction entry', async () => {
    expect([200, 204, 404]).toContain((await call(doctor, 'DELETE', 'Observation?subject=Patient/pat')).status);
    const transaction = await call(doctor, 'POST', '', { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'DELETE', url: 'Observation?_id=pat-hiv' } }] });
    expect(transaction.status).toBe(200);
    for (const id of ['pat-hr', 'pat-hiv']) expect((await get(patient, `Observation/${id}`)).status).toBe(200);
  });
});
