/**
 * Time-boxed elevated permissions for department heads (requirements seed 000 5.3; issue 6): a request needs two
 * approvals (an organization administrator, then a system administrator, never the requester), adds its
 * permissions only while it lasts, rolls back by itself at its end and on revocation, and cannot be forged by
 * writing the Task directly.
 */
import type { OperationOutcome, Parameters, Resource, Task } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../support/fhir-server';
import { userClient, type TokenClient } from '../support/smart-tokens';
import { ELEVATION_CODE, ELEVATION_SYSTEM } from '../../src/access/elevations';

let server: FhirTestServer;
let head: TokenClient;
let orgAdmin: TokenClient;
let sysAdmin: TokenClient;

async function put(resource: Resource & { id: string }): Promise<void> {
  const response = await server.fetch(`${server.baseUrl}/${resource.resourceType}/${resource.id}`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(resource) });
  expect(response.status).toBeLessThan(300);
}

type Answer = Pick<Task, 'id' | 'status' | 'note'> & Pick<OperationOutcome, 'issue'>;

async function call(client: TokenClient, method: string, path: string, body?: unknown): Promise<{ status: number; body: Answer }> {
  const response = await client.fetch(`${server.baseUrl}/${path}`, { method, ...(body ? { headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) } : {}) });
  return { status: response.status, body: (await response.json()) as Answer };
}

const parameters = (...pairs: [string, string][]): Parameters => ({ resourceType: 'Parameters', parameter: pairs.map(([name, value]) => ({ name, valueString: value })) });
const inDays = (days: number): string => new Date(Date.now() + days * 86_400_000).toISOString();

/** Each case asks for a type of its own, so that the elevations of other cases never grant it. */
async function requestFor(type: string, end: string): Promise<string> {
  const { status, body } = await call(head, 'POST', '$request-elevation', parameters(['type', type], ['permissions', 'rs'], ['end', end], ['reason', 'Quarterly budget review of the department']));
  expect(status).toBe(201);
  return body.id as string;
}

beforeAll(async () => {
  server = await startFhirServer();
  for (const id of ['head', 'orgadmin', 'sysadmin']) await put({ resourceType: 'Practitioner', id });
  // A department head reviews its billing but does not see the organization's price configuration.
  await put({ resourceType: 'ChargeItemDefinition', id: 'prices', url: 'http://example.org/ChargeItemDefinition/prices', status: 'active' } as Resource & { id: string });
  head = await userClient(server, { role: 'department-head', fhirUser: 'Practitioner/head', department: 'cardiology', scope: 'user/*.cruds' });
  orgAdmin = await userClient(server, { role: 'org-admin', fhirUser: 'Practitioner/orgadmin', scope: 'user/*.cruds notifications:inbox' });
  sysAdmin = await userClient(server, { role: 'system-admin', fhirUser: 'Practitioner/sysadmin', scope: 'user/*.cruds' });
});

afterAll(async () => {
  await server.stop();
});

describe('elevated permissions', () => {
  it('are asked for by department heads only, with a reason and a bounded end', async () => {
    const refused = await call(orgAdmin, 'POST', '$request-elevation', parameters(['type', 'Claim'], ['permissions', 'rs'], ['end', inDays(1)], ['reason', 'Because of the audit']));
    expect(refused.status).toBe(403);
    expect(refused.body.issue[1]).toMatchObject({ severity: 'information', code: 'informational' });
    expect((await call(head, 'POST', '$request-elevation', parameters(['type', 'Claim'], ['permissions', 'rs'], ['end', inDays(30)], ['reason', 'Because of the audit']))).status).toBe(400);
    expect((await call(head, 'POST', '$request-elevation', parameters(['type', 'Claim'], ['permissions', 'xyz'], ['end', inDays(1)], ['reason', 'Because of the audit']))).status).toBe(400);
  });

  it('take effect only after both levels approve, neither by the requester', async () => {
    const task = await requestFor('ChargeItemDefinition', inDays(1));
    expect((await call(head, 'GET', 'ChargeItemDefinition/prices')).status).toBe(403);
    expect((await call(sysAdmin, 'POST', `Task/${task}/$approve-elevation`)).status).toBe(403);
    expect((await call(orgAdmin, 'POST', `Task/${task}/$approve-elevation`, parameters(['note', 'fine by me']))).body.status).toBe('accepted');
    expect((await call(head, 'GET', 'ChargeItemDefinition/prices')).status).toBe(403);
    const approved = await call(sysAdmin, 'POST', `Task/${task}/$approve-elevation`);
    expect(approved.body.status).toBe('in-progress');
    expect(approved.body.note?.map((n) => n.text)).toEqual(['requested', 'approved (level 1): fine by me', 'approved (level 2)']);
    expect((await call(head, 'GET', 'ChargeItemDefinition/prices')).status).toBe(200);
    expect((await call(head, 'POST', 'ChargeItemDefinition', { resourceType: 'ChargeItemDefinition', url: 'http://example.org/x', status: 'draft' })).status).toBe(403);
  });

  it('roll back on revocation at the next request', async () => {
    const task = await requestFor('InsurancePlan', inDays(1));
    await call(orgAdmin, 'POST', `Task/${task}/$approve-elevation`);
    await call(sysAdmin, 'POST', `Task/${task}/$approve-elevation`);
    expect((await call(head, 'GET', 'InsurancePlan?_count=1')).status).toBe(200);
    expect((await call(head, 'POST', `Task/${task}/$revoke-elevation`, parameters(['note', 'done early']))).body.status).toBe('cancelled');
    expect((await call(head, 'GET', 'InsurancePlan?_count=1')).status).toBe(403);
    // Organization (and system) administrators hear of the grant and of its revocation.
    const inbox = (await (await orgAdmin.fetch(`${server.origin}/notifications/inbox`)).json()) as { items: { topic: string; about?: string }[] };
    expect(inbox.items.filter((item) => item.about === `Task/${task}`).map((item) => item.topic).sort()).toEqual(['elevation-granted', 'elevation-revoked']);
  });

  it('roll back by themselves at their end', async () => {
    const task = await requestFor('SpecimenDefinition', new Date(Date.now() + 1500).toISOString());
    await call(orgAdmin, 'POST', `Task/${task}/$approve-elevation`);
    await call(sysAdmin, 'POST', `Task/${task}/$approve-elevation`);
    expect((await call(head, 'GET', 'SpecimenDefinition?_count=1')).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1600));
    const refused = await call(head, 'GET', 'SpecimenDefinition?_count=1');
    expect(refused.status).toBe(403);
    expect(refused.body.issue[0]?.diagnostics).toContain("rule 'persona-permissions'");
  });

  it('can be rejected, and cannot be forged by writing the Task directly', async () => {
    const task = await requestFor('ObservationDefinition', inDays(1));
    expect((await call(orgAdmin, 'POST', `Task/${task}/$approve-elevation`, parameters(['decision', 'reject']))).body.status).toBe('rejected');
    const forged: Task = { resourceType: 'Task', status: 'in-progress', intent: 'order', code: { coding: [{ system: ELEVATION_SYSTEM, code: ELEVATION_CODE }] }, for: { reference: 'Practitioner/head' }, restriction: { period: { end: inDays(1) } }, input: [{ type: { text: 'grant' }, valueString: 'Claim cruds' }] };
    const refused = await call(head, 'POST', 'Task', forged);
    expect(refused.status).toBe(403);
    expect(refused.body.issue[0]?.diagnostics).toContain("rule 'server-managed'");
  });
});
