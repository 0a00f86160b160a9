/**
 * Sharing a patient's record with another organization (requirements seed 000 2.5; issue 6 "Organizations and
 * patients"): only Patient/$share, started by an organization administrator, with the patient's active Consent
 * permitting the receiving organization; the record is copied under new ids with a Provenance naming the consent,
 * the source is unchanged, and without consent (or after its revocation) nothing crosses.
 */
import type { Bundle, OperationOutcome, Parameters, Provenance, Resource } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../support/fhir-server';
import { backendClient, userClient, type TokenClient } from '../support/smart-tokens';
import { ORGANIZATION_SYSTEM, SOURCE_REFERENCE_SYSTEM } from '../../src/fhir/operations/patient-share';

let server: FhirTestServer;
let admin: TokenClient;
let receiving: TokenClient;

async function put(resource: Resource & { id: string }): Promise<void> {
  const response = await server.fetch(`${server.baseUrl}/${resource.resourceType}/${resource.id}`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(resource) });
  expect(response.status).toBeLessThan(300);
}

const consent = (status: 'active' | 'inactive'): Resource & { id: string } => ({
  resourceType: 'Consent',
  id: 'share-with-b',
  status,
  scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
  category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
  patient: { reference: 'Patient/mover' },
  policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
  provision: { type: 'permit', actor: [{ role: { text: 'recipient' }, reference: { identifier: { system: ORGANIZATION_SYSTEM, value: 'org-b' } } }] },
} as Resource & { id: string });

/** The operation's Parameters, or the OperationOutcome of a refusal. */
type Answer = Pick<Parameters, 'parameter'> & Pick<OperationOutcome, 'issue'>;

async function share(client: TokenClient, organization = 'org-b'): Promise<{ status: number; body: Answer }> {
  const response = await client.fetch(`${server.baseUrl}/Patient/mover/$share`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'organization', valueId: organization }] }),
  });
  return { status: response.status, body: (await response.json()) as never };
}

beforeAll(async () => {
  server = await startFhirServer();
  await put({ resourceType: 'Practitioner', id: 'admin' });
  await put({ resourceType: 'Practitioner', id: 'gp', name: [{ family: 'General' }] });
  await put({ resourceType: 'Patient', id: 'mover', name: [{ family: 'Mover' }], generalPractitioner: [{ reference: 'Practitioner/gp' }] });
  await put({ resourceType: 'Encounter', id: 'visit', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/mover' } });
  await put({ resourceType: 'Observation', id: 'bp', status: 'final', code: { text: 'Blood pressure' }, subject: { reference: 'Patient/mover' }, encounter: { reference: 'Encounter/visit' } });
  admin = await userClient(server, { role: 'org-admin', fhirUser: 'Practitioner/admin', scope: 'user/*.cruds' });
  receiving = await backendClient(server, 'system/*.cruds', { tenant: 'org-b' });
  expect((await receiving.fetch(`${server.baseUrl}/Organization`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'Organization', name: 'Org B' }) })).status).toBe(201);
});

afterAll(async () => {
  await server.stop();
});

async function inB(path: string): Promise<Bundle> {
  return (await (await receiving.fetch(`${server.baseUrl}/${path}`)).json()) as Bundle;
}

describe('Patient/$share', () => {
  it('refuses without an active consent of the patient naming the receiving organization', async () => {
    const { status, body } = await share(admin);
    expect(status).toBe(403);
    expect(body.issue[0]?.diagnostics).toBe("Access denied by rule 'sharing-consent': Patient/mover has no active Consent permitting disclosure to organization 'org-b'");
    expect(body.issue[1]?.diagnostics).toMatch(/^Sharing or moving a record is started by an organization administrator/);
    expect((await inB('Patient')).entry ?? []).toEqual([]);
  });

  it('is started by organization administrators only', async () => {
    await put(consent('active'));
    const doctor = await userClient(server, { role: 'doctor', fhirUser: 'Practitioner/gp', scope: 'user/*.cruds' });
    expect((await share(doctor)).status).toBe(403);
    expect((await share(admin, 'nowhere')).status).toBe(404);
  });

  it('copies the record under new ids with rewritten references and a Provenance naming the consent', async () => {
    const { status, body } = await share(admin);
    expect(status).toBe(200);
    const value = (name: string) => body.parameter?.find((p) => p.name === name);
    expect(value('copied')?.valueInteger).toBe(4);
    const patientRef = value('patient')?.valueReference?.reference as string;
    const copiedObservation = (await inB(`Observation?subject=${patientRef}`)).entry?.[0]?.resource as Resource & { encounter: { reference: string }; subject: { reference: string } };
    expect(copiedObservation.subject.reference).toBe(patientRef);
    expect(copiedObservation.id).not.toBe('bp');
    const encounter = (await inB(copiedObservation.encounter.reference.replace('/', '?_id='))).entry?.[0]?.resource;
    expect(encounter?.resourceType).toBe('Encounter');
    const copiedPatient = (await inB(`Patient?_id=${patientRef.split('/')[1]}`)).entry?.[0]?.resource as Resource & { generalPractitioner: unknown[] };
    expect(copiedPatient.generalPractitioner).toEqual([{ type: 'Practitioner', identifier: { system: SOURCE_REFERENCE_SYSTEM, value: `${server.tenant}/Practitioner/gp` } }]);
    const provenance = (await inB(`Provenance?_id=${(value('provenance')?.valueReference?.reference as string).split('/')[1]}`)).entry?.[0]?.resource as Provenance;
    expect(provenance.policy).toEqual([`${server.baseUrl}/Consent/share-with-b`]);
    expect(provenance.target).toHaveLength(4);
    expect((await (await server.fetch(`${server.baseUrl}/Observation/bp`)).json()) as Resource).toMatchObject({ id: 'bp', meta: { versionId: '1' } });
  });

  it('refuses again once the consent is revoked', async () => {
    await put(consent('inactive'));
    expect((await share(admin)).status).toBe(403);
  });
});
