/**
 * The persona permission table (issue 6 "Roles", requirements seed 001; docs/permissions.md) proven end to end:
 * each persona signs in through the real authorization code flow with `user/*.cruds` and is allowed, or refused
 * with a 403 naming the rule `persona-permissions`, the reason and the escalation path, on representative resources;
 * every refusal leaves an AuditEvent with outcome 4 naming the deciding rule (seed 000 4.3, seed 001 EARS summary:
 * "deny the action, notify the user, and record the failed attempt").
 * Conditional grants: doctors and nurses reach the patients they care for, technicians the orders of their
 * department and those patients, department heads their department's schedules, patients their own record.
 */
import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { Persona } from '../../src/auth/principal';
import { renderPermissionsDoc } from '../../src/access/permissions';
import { PERMISSIONS_DOC } from '../../src/cli/write-permissions-doc';
import { readFile } from 'node:fs/promises';
import { startFhirServer, type FhirTestServer } from '../support/fhir-server';
import { userClient, type TokenClient } from '../support/smart-tokens';
import { auditOf } from '../support/audit-events';

let server: FhirTestServer;

async function put(resource: Resource & { id: string }): Promise<void> {
  const response = await server.fetch(`${server.baseUrl}/${resource.resourceType}/${resource.id}`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(resource) });
  expect(response.status).toBeLessThan(300);
}

const observation = (id: string, patient: string): Resource & { id: string } => ({ resourceType: 'Observation', id, status: 'final', code: { text: 'Heart rate' }, subject: { reference: `Patient/${patient}` } });

beforeAll(async () => {
  server = await startFhirServer();
  for (const id of ['doc', 'nurse', 'tech', 'head', 'admin', 'sysadmin', 'reception']) await put({ resourceType: 'Practitioner', id, name: [{ family: id }] });
  await put({ resourceType: 'HealthcareService', id: 'cardiology', name: 'Cardiology' });
  await put({ resourceType: 'HealthcareService', id: 'radiology', name: 'Radiology' });
  await put({ resourceType: 'Patient', id: 'cared', name: [{ family: 'Cared' }] });
  await put({ resourceType: 'Patient', id: 'stranger', name: [{ family: 'Stranger' }] });
  await put({ resourceType: 'CareTeam', id: 'team', subject: { reference: 'Patient/cared' }, participant: [{ member: { reference: 'Practitioner/doc' } }, { member: { reference: 'Practitioner/nurse' } }] });
  await put(observation('obs-cared', 'cared'));
  await put(observation('obs-stranger', 'stranger'));
  await put({ resourceType: 'Condition', id: 'cond-cared', subject: { reference: 'Patient/cared' } });
  await put({ resourceType: 'ServiceRequest', id: 'xray', status: 'active', intent: 'order', subject: { reference: 'Patient/cared' }, performer: [{ reference: 'HealthcareService/radiology' }] });
  await put({ resourceType: 'ServiceRequest', id: 'ecg', status: 'active', intent: 'order', subject: { reference: 'Patient/stranger' }, performer: [{ reference: 'HealthcareService/cardiology' }] });
  await put({ resourceType: 'Schedule', id: 'cardio-schedule', actor: [{ reference: 'HealthcareService/cardiology' }] });
  await put({ resourceType: 'Schedule', id: 'radio-schedule', actor: [{ reference: 'HealthcareService/radiology' }] });
  await put({ resourceType: 'Coverage', id: 'cov', status: 'active', beneficiary: { reference: 'Patient/cared' }, payor: [{ display: 'Insurer' }] });
});

afterAll(async () => {
  await server.stop();
});

const clients = new Map<string, TokenClient>();

async function as(role: Persona, fhirUser: string, department?: string): Promise<TokenClient> {
  const key = `${role}:${fhirUser}`;
  let client = clients.get(key);
  if (!client) {
    client = await userClient(server, { role, fhirUser, scope: 'user/*.cruds', ...(department ? { department } : {}) });
    clients.set(key, client);
  }
  return client;
}

async function call(client: TokenClient, method: string, path: string, body?: unknown): Promise<Response> {
  return client.fetch(`${server.baseUrl}/${path}`, { method, ...(body ? { headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) } : {}) });
}

async function allowed(client: TokenClient, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await call(client, method, path, body);
  const payload = response.status === 204 ? undefined : await response.json();
  expect({ status: response.status, path, payload: response.status < 300 ? 'ok' : payload }).toMatchObject({ status: expect.any(Number), payload: 'ok' });
  return payload;
}

/** A refusal (seed 000 4.3): 403 saying what, by which rule and why, with the escalation path, and audited. */
async function refused(client: TokenClient, method: string, path: string, body?: unknown, reason?: string): Promise<void> {
  const response = await call(client, method, path, body);
  const outcome = (await response.json()) as OperationOutcome;
  expect({ status: response.status, code: outcome.issue?.[0]?.code }).toEqual({ status: 403, code: 'forbidden' });
  const [refusal, escalation] = outcome.issue;
  expect(refusal?.diagnostics).toContain("rule 'persona-permissions'");
  if (reason) expect(refusal?.diagnostics).toContain(reason);
  expect(escalation).toMatchObject({ severity: 'information', diagnostics: expect.stringMatching(/ask|request/) });
  const event = await auditOf(server, response.headers.get('x-request-id') ?? '');
  expect({ outcome: event.outcome, outcomeDesc: event.outcomeDesc }).toEqual({ outcome: '4', outcomeDesc: `Refused by access rule 'persona-permissions': ${refusal?.diagnostics}` });
}

const ids = async (client: TokenClient, query: string): Promise<string[]> => ((await allowed(client, 'GET', query)) as Bundle).entry?.map((e) => e.resource?.id as string).sort() ?? [];

describe('doctor (full record of the patients it cares for)', () => {
  it('reads, searches and prescribes for its patients only', async () => {
    const doctor = await as('doctor', 'Practitioner/doc');
    await allowed(doctor, 'GET', 'Observation/obs-cared');
    await refused(doctor, 'GET', 'Observation/obs-stranger', undefined, 'lies outside');
    expect(await ids(doctor, 'Observation')).toEqual(['obs-cared']);
    expect(await ids(doctor, 'Patient')).toEqual(['cared']);
    await allowed(doctor, 'POST', 'MedicationRequest', { resourceType: 'MedicationRequest', status: 'active', intent: 'order', medicationCodeableConcept: { text: 'aspirin' }, subject: { reference: 'Patient/cared' } });
    await refused(doctor, 'POST', 'MedicationRequest', { resourceType: 'MedicationRequest', status: 'active', intent: 'order', medicationCodeableConcept: { text: 'aspirin' }, subject: { reference: 'Patient/stranger' } });
  });
});

describe('nurse (reads its patients, records vitals and notes; no prescribing)', () => {
  it('records an observation but may not prescribe', async () => {
    const nurse = await as('nurse', 'Practitioner/nurse');
    await allowed(nurse, 'GET', 'Condition/cond-cared');
    await allowed(nurse, 'POST', 'Observation', { ...observation('x', 'cared'), id: undefined });
    await refused(nurse, 'POST', 'MedicationRequest', { resourceType: 'MedicationRequest', status: 'active', intent: 'order', medicationCodeableConcept: { text: 'aspirin' }, subject: { reference: 'Patient/cared' } }, 'the nurse role may not create MedicationRequest');
    await refused(nurse, 'GET', 'Observation/obs-stranger');
  });
});

describe('technician (orders of its department, results for those patients)', () => {
  it('works on the orders of its department only', async () => {
    const tech = await as('technician', 'Practitioner/tech', 'radiology');
    expect(await ids(tech, 'ServiceRequest')).toEqual(['xray']);
    await refused(tech, 'GET', 'ServiceRequest/ecg', undefined, 'lies outside');
    await allowed(tech, 'POST', 'DiagnosticReport', { resourceType: 'DiagnosticReport', status: 'final', code: { text: 'Chest X-ray' }, subject: { reference: 'Patient/cared' }, basedOn: [{ reference: 'ServiceRequest/xray' }] });
    await refused(tech, 'GET', 'Condition/cond-cared', undefined, 'the technician role may not read Condition');
  });
});

describe('department head (schedules of its department)', () => {
  it("manages its department's schedules and slots and no clinical data", async () => {
    const head = await as('department-head', 'Practitioner/head', 'cardiology');
    expect(await ids(head, 'Schedule')).toEqual(['cardio-schedule']);
    await allowed(head, 'POST', 'Slot', { resourceType: 'Slot', status: 'free', schedule: { reference: 'Schedule/cardio-schedule' }, start: '2030-01-01T09:00:00Z', end: '2030-01-01T09:30:00Z' });
    await refused(head, 'POST', 'Slot', { resourceType: 'Slot', status: 'free', schedule: { reference: 'Schedule/radio-schedule' }, start: '2030-01-01T09:00:00Z', end: '2030-01-01T09:30:00Z' }, 'lies outside');
    await refused(head, 'GET', 'Observation/obs-cared', undefined, 'the department-head role may not read Observation');
  });
});

describe('receptionist (appointments, check-in/out, demographics; no clinical data)', () => {
  it('books and registers but reads no clinical data', async () => {
    const reception = await as('receptionist', 'Practitioner/reception');
    await allowed(reception, 'POST', 'Appointment', { resourceType: 'Appointment', status: 'booked', start: '2030-01-02T10:00:00Z', end: '2030-01-02T10:30:00Z', participant: [{ actor: { reference: 'Patient/stranger' }, status: 'accepted' }] });
    await allowed(reception, 'PUT', 'Patient/stranger', { resourceType: 'Patient', id: 'stranger', name: [{ family: 'Stranger', given: ['Sam'] }] });
    await refused(reception, 'GET', 'Observation/obs-cared', undefined, 'the receptionist role may not read Observation');
  });

  it('is not granted a user scope beyond the table', async () => {
    const reception = await userClient(server, { role: 'receptionist', fhirUser: 'Practitioner/reception', scope: 'user/Observation.rs user/Patient.rs' });
    expect(String(reception.tokenResponse.scope).split(' ')).toEqual(['user/Patient.rs']);
  });
});

describe('organization administrator (staff, facilities, billing, audit)', () => {
  it('manages the directory and billing but reads no clinical data', async () => {
    const admin = await as('org-admin', 'Practitioner/admin');
    await allowed(admin, 'POST', 'Practitioner', { resourceType: 'Practitioner', name: [{ family: 'New hire' }] });
    await allowed(admin, 'GET', 'Coverage/cov');
    await refused(admin, 'GET', 'Observation/obs-cared');
    await refused(admin, 'POST', 'Appointment', { resourceType: 'Appointment', status: 'booked', participant: [{ actor: { reference: 'Patient/cared' }, status: 'accepted' }] }, 'the org-admin role may not create Appointment');
  });
});

describe('system administrator (platform configuration, no routine clinical reading)', () => {
  it('configures the platform but reads no patient data', async () => {
    const sysadmin = await as('system-admin', 'Practitioner/sysadmin');
    await allowed(sysadmin, 'GET', 'HealthcareService?_count=1'.replace('HealthcareService', 'Organization'));
    await refused(sysadmin, 'GET', 'Patient/cared', undefined, 'the system-admin role may not read Patient');
  });
});

describe('patient (its own record)', () => {
  it('reads its own record and manages its consents, nothing of other patients', async () => {
    const patient = await as('patient', 'Patient/cared');
    await allowed(patient, 'GET', 'Observation/obs-cared');
    await refused(patient, 'GET', 'Observation/obs-stranger', undefined, 'lies outside');
    expect(await ids(patient, 'Patient')).toEqual(['cared']);
    await allowed(patient, 'POST', 'Consent', { resourceType: 'Consent', status: 'active', scope: { text: 'privacy' }, category: [{ text: 'privacy' }], patient: { reference: 'Patient/cared' }, policyRule: { text: 'opt-in' } });
    await refused(patient, 'POST', 'Observation', { ...observation('y', 'cared'), id: undefined }, 'the patient role may not create Observation');
  });
});

describe('writes beyond the table, one per persona', () => {
  // seed 001 "Permission boundaries": each persona keeps to its workflows, and what it may read or update it may
  // not necessarily delete. Each refusal is audited (checked by `refused`) and changes nothing.
  const cases: [Persona, string, string | undefined, string, string][] = [
    ['system-admin', 'Practitioner/sysadmin', undefined, 'Patient/cared', 'the system-admin role may not delete Patient'],
    ['org-admin', 'Practitioner/admin', undefined, 'Observation/obs-cared', 'the org-admin role may not delete Observation'],
    ['department-head', 'Practitioner/head', 'cardiology', 'ServiceRequest/ecg', 'the department-head role may not delete ServiceRequest'],
    ['doctor', 'Practitioner/doc', undefined, 'Patient/cared', 'the doctor role may not delete Patient'],
    ['nurse', 'Practitioner/nurse', undefined, 'Observation/obs-cared', 'the nurse role may not delete Observation'],
    ['technician', 'Practitioner/tech', 'radiology', 'ServiceRequest/xray', 'the technician role may not delete ServiceRequest'],
    ['receptionist', 'Practitioner/reception', undefined, 'Coverage/cov', 'the receptionist role may not delete Coverage'],
    ['patient', 'Patient/cared', undefined, 'Observation/obs-cared', 'the patient role may not delete Observation'],
  ];

  it.each(cases)('%s may not delete a record beyond its grants', async (role, fhirUser, department, path, reason) => {
    await refused(await as(role, fhirUser, department), 'DELETE', path, undefined, reason);
    expect((await server.fetch(`${server.baseUrl}/${path}`)).status).toBe(200);
  });
});

describe('refusals', () => {
  it('say what was refused, by which rule and why, and give the escalation path', async () => {
    const reception = await as('receptionist', 'Practitioner/reception');
    const response = await call(reception, 'GET', 'Condition/cond-cared');
    const outcome = (await response.json()) as OperationOutcome;
    expect(outcome.issue).toEqual([
      { severity: 'error', code: 'forbidden', diagnostics: "Access denied by rule 'persona-permissions': read on Condition is not permitted (the receptionist role may not read Condition resources)" },
      { severity: 'information', code: 'informational', diagnostics: expect.stringContaining('ask an organization administrator') },
    ]);
  });
});

describe('docs/permissions.md', () => {
  it('is the table the server enforces', async () => {
    expect(await readFile(PERMISSIONS_DOC, 'utf8')).toBe(renderPermissionsDoc());
  });
});
