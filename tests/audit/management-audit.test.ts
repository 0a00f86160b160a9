/**
 * Issue 6 "Audit" (seed 000 section 7, seed 001 EARS summary): requests to the management APIs are recorded too,
 * allowed or refused, before the response is sent: listing emergency accesses (which names patients and the
 * reasons given), the notifications log, registering applications. Requests without a valid token have no
 * organization and leave nothing.
 */
import type { AuditEventAgent } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../support/fhir-server';
import { userClient, type TokenClient } from '../support/smart-tokens';
import { auditOf, storedAuditOf } from '../support/audit-events';
import { PERSONA_SYSTEM } from '../../src/audit/audit-codes';

let server: FhirTestServer;
let admin: TokenClient;
let receptionist: TokenClient;
let counter = 0;

beforeAll(async () => {
  server = await startFhirServer();
  admin = await userClient(server, { role: 'org-admin', scope: 'break-glass:admin notifications:admin', fhirUser: 'Practitioner/admin' });
  receptionist = await userClient(server, { role: 'receptionist', scope: 'user/Patient.rs notifications:inbox', fhirUser: 'Practitioner/desk' });
});

afterAll(async () => {
  await server.stop();
});

async function send(client: Pick<TokenClient, 'fetch'>, path: string, init: RequestInit = {}): Promise<{ status: number; requestId: string }> {
  const requestId = `management-audit-${++counter}`;
  const response = await client.fetch(`${server.origin}${path}`, { ...init, headers: { 'x-request-id': requestId, ...(init.headers as Record<string, string> | undefined) } });
  await response.arrayBuffer();
  return { status: response.status, requestId };
}

const user = (agents: AuditEventAgent[]): AuditEventAgent | undefined => agents.find((agent) => agent.requestor && agent.role);

describe('the management APIs in the audit trail', () => {
  it('records the list of emergency accesses: who asked, with which application, for what, and the outcome', async () => {
    const { status, requestId } = await send(admin, '/admin/break-glass?status=active');
    expect(status).toBe(200);
    const event = await auditOf(server, requestId);
    expect(event).toMatchObject({
      type: { system: 'https://fhir-interop-server.org/fhir/CodeSystem/audit-event-type', code: 'management-api' },
      subtype: [{ system: 'http://hl7.org/fhir/http-verb', code: 'GET' }],
      action: 'R',
      outcome: '0',
      outcomeDesc: '200 GET /admin/break-glass?status=active',
    });
    expect(user(event.agent)).toMatchObject({ who: { reference: 'Practitioner/admin' }, role: [{ coding: [{ system: PERSONA_SYSTEM, code: 'org-admin' }] }] });
    expect(event.entity?.find((e) => e.role?.code === '24')?.description).toBe('/admin/break-glass?status=active');
  });

  it('names the patients of the emergency accesses it listed', async () => {
    const now = Date.now();
    await server.db.collection('break_glass_overrides').insertOne({
      _id: 'audited-override' as never,
      grantId: 'grant-audited',
      tenant: server.tenant,
      accountId: 'acct-doctor',
      userName: 'Dr Test',
      role: 'doctor',
      clientId: 'app',
      patient: 'p-emergency',
      purpose: 'ETREAT',
      reason: 'Unconscious patient in the emergency room',
      startedAt: new Date(now - 60_000),
      expiresAt: new Date(now + 600_000),
      status: 'active',
    });
    const { status, requestId } = await send(admin, '/admin/break-glass');
    expect(status).toBe(200);
    const event = await auditOf(server, requestId);
    expect(event.entity?.filter((e) => e.role?.code === '1').map((e) => e.what?.reference)).toEqual(['Patient/p-emergency']);
  });

  it('records a refused request as a minor failure', async () => {
    const { status, requestId } = await send(receptionist, '/notifications/log');
    expect(status).toBe(403);
    const event = await auditOf(server, requestId);
    expect(event).toMatchObject({ outcome: '4', outcomeDesc: '403 GET /notifications/log' });
    expect(user(event.agent)?.role?.[0]?.coding?.[0]?.code).toBe('receptionist');
  });

  it('records a write as an execution authored by the user', async () => {
    const { status, requestId } = await send(admin, '/notifications', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ topic: 'audit-test', recipients: [{ role: 'receptionist' }], subject: { en: 'Hello', es: 'Hola' }, body: { en: 'A test', es: 'Una prueba' } }),
    });
    expect(status).toBeLessThan(300);
    const event = await auditOf(server, requestId);
    expect(event).toMatchObject({ subtype: [{ code: 'POST' }], action: 'E', outcome: '0' });
    expect(user(event.agent)?.type?.coding?.[0]?.code).toBe('AUT');
  });

  it('records nothing for a request without a valid token, which names no organization', async () => {
    const { status, requestId } = await send({ fetch: (url, init) => fetch(url, init) }, '/admin/break-glass');
    expect(status).toBe(401);
    expect(await storedAuditOf(server, requestId)).toBeUndefined();
  });
});
