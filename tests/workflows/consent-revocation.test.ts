/**
 * Consent revocation (requirements seed 001 scenario 5): when a patient's consent stops being in force, the
 * organization administrators and the providers involved with the patient (general practitioner, care teams) are
 * notified in their inbox; consents that were never in force notify nobody.
 */
import { startFhirServer, type FhirTestServer } from '../support/fhir-server';
import { putResource } from '../auth/support/smart-harness';
import { personaClient, type PersonaClient } from '../notifications/support/notification-clients';
import { eventually } from '../support/eventually';

let server: FhirTestServer;
let admin: PersonaClient;
let doctor: PersonaClient;
let bystander: PersonaClient;

const consent = (id: string, status: string): { resourceType: string; id: string } & Record<string, unknown> => ({
    resourceType: 'Consent',
    id,
    status,
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: 'Patient/revoker' },
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: { type: 'permit' },
  });

async function inboxTopics(client: PersonaClient): Promise<string[]> {
  const body = (await (await client.fetch('/notifications/inbox')).json()) as { items: { topic: string; about?: string }[] };
  return body.items.filter((item) => item.about === 'Patient/revoker').map((item) => item.topic);
}

beforeAll(async () => {
  server = await startFhirServer();
  await putResource(server, { resourceType: 'Practitioner', id: 'gp' });
  await putResource(server, { resourceType: 'Practitioner', id: 'other' });
  await putResource(server, { resourceType: 'Patient', id: 'revoker', generalPractitioner: [{ reference: 'Practitioner/gp' }] });
  admin = await personaClient(server, 'org-admin', 'notifications:inbox');
  doctor = await personaClient(server, 'doctor', 'notifications:inbox', { fhirUser: 'Practitioner/gp' });
  bystander = await personaClient(server, 'doctor', 'notifications:inbox', { fhirUser: 'Practitioner/other' });
});

afterAll(async () => {
  await server.stop();
});

describe('revoking a consent', () => {
  it('notifies the organization administrators and the providers involved, nobody else', async () => {
    await putResource(server, consent('sharing', 'active'));
    await putResource(server, consent('sharing', 'inactive'));
    expect(await eventually(async () => ((await inboxTopics(admin)).length > 0 ? inboxTopics(admin) : undefined))).toEqual(['consent-revoked']);
    expect(await eventually(async () => ((await inboxTopics(doctor)).length > 0 ? inboxTopics(doctor) : undefined))).toEqual(['consent-revoked']);
    expect(await inboxTopics(bystander)).toEqual([]);
  });

  it('notifies nobody for a consent that was never in force', async () => {
    await putResource(server, consent('draft', 'draft'));
    await putResource(server, consent('draft', 'inactive'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await inboxTopics(admin)).toEqual(['consent-revoked']);
  });
});
