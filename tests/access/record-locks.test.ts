/**
 * Record locks (requirements seed 000 4.4; issue 6 "Record locks"): an organization administrator locks a
 * patient's record for an audit, a legal hold or an investigation; the record stays readable, the lock is visible
 * as a Flag, every write to the record is refused with the lock's reason, lock Flags cannot be written outside
 * $lock/$unlock, and lifting the lock restores writes on the next request.
 */
import type { Flag, OperationOutcome, Parameters, Resource } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../support/fhir-server';
import { userClient, type TokenClient } from '../support/smart-tokens';
import { RECORD_LOCK_SYSTEM } from '../../src/access/record-locks';

let server: FhirTestServer;
let admin: TokenClient;
let doctor: TokenClient;

async function put(resource: Resource & { id: string }): Promise<void> {
  const response = await server.fetch(`${server.baseUrl}/${resource.resourceType}/${resource.id}`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(resource) });
  expect(response.status).toBeLessThan(300);
}

const parameters = (...pairs: [string, string][]): Parameters => ({ resourceType: 'Parameters', parameter: pairs.map(([name, value]) => ({ name, valueString: value })) });

/** What an answer may hold: a refusal's issues, a Flag's code, a Parameters' parameters. */
type Answer = Pick<OperationOutcome, 'issue'> & Pick<Flag, 'code'> & Pick<Parameters, 'parameter'>;

async function call(client: TokenClient, method: string, path: string, body?: unknown): Promise<{ status: number; body: Answer }> {
  const response = await client.fetch(`${server.baseUrl}/${path}`, { method, ...(body ? { headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) } : {}) });
  return { status: response.status, body: response.status === 204 ? ({} as never) : ((await response.json()) as never) };
}

const heartRate = { resourceType: 'Observation', status: 'final', code: { text: 'Heart rate' }, subject: { reference: 'Patient/held' } };

beforeAll(async () => {
  server = await startFhirServer();
  await put({ resourceType: 'Practitioner', id: 'doc' });
  await put({ resourceType: 'Practitioner', id: 'admin' });
  await put({ resourceType: 'Patient', id: 'held', name: [{ family: 'Held' }] });
  await put({ resourceType: 'Patient', id: 'free', name: [{ family: 'Free' }] });
  for (const p of ['held', 'free']) await put({ resourceType: 'CareTeam', id: `team-${p}`, subject: { reference: `Patient/${p}` }, participant: [{ member: { reference: 'Practitioner/doc' } }] });
  await put({ ...heartRate, id: 'held-obs' } as Resource & { id: string });
  admin = await userClient(server, { role: 'org-admin', fhirUser: 'Practitioner/admin', scope: 'user/*.cruds' });
  doctor = await userClient(server, { role: 'doctor', fhirUser: 'Practitioner/doc', scope: 'user/*.cruds' });
});

afterAll(async () => {
  await server.stop();
});

describe('locking a record (Patient/$lock)', () => {
  it('is refused to anyone but organization administrators', async () => {
    const { status, body } = await call(doctor, 'POST', 'Patient/held/$lock', parameters(['reason', 'legal-hold']));
    expect(status).toBe(403);
    expect(body.issue[0]?.diagnostics).toBe("Access denied by rule 'record-lock': $lock is for organization administrators");
    expect(body.issue[1]).toMatchObject({ severity: 'information', diagnostics: 'Ask an organization administrator of your organization to place the lock.' });
  });

  it('rejects an unknown reason', async () => {
    expect((await call(admin, 'POST', 'Patient/held/$lock', parameters(['reason', 'because']))).status).toBe(400);
  });

  it('makes the record read-only, saying why on every refused write, and leaves other records alone', async () => {
    const lock = await call(admin, 'POST', 'Patient/held/$lock', parameters(['reason', 'legal-hold'], ['note', 'Litigation case 2026-17']));
    expect(lock.status).toBe(201);
    expect(lock.body.code?.coding?.[0]).toEqual({ system: RECORD_LOCK_SYSTEM, code: 'legal-hold' });
    for (const [method, path, body] of [
      ['PUT', 'Observation/held-obs', { ...heartRate, id: 'held-obs', status: 'amended' }],
      ['POST', 'Observation', heartRate],
      ['DELETE', 'Observation/held-obs', undefined],
    ] as const) {
      const refused = await call(doctor, method, path, body);
      expect(refused.status).toBe(403);
      expect(refused.body.issue[0]?.diagnostics).toContain("rule 'record-lock'");
      expect(refused.body.issue[0]?.diagnostics).toContain('is locked for a legal hold (Litigation case 2026-17) and is read-only');
      // seed 000 4.3: a refused write on a locked record names the escalation path.
      expect(refused.body.issue[1]).toMatchObject({ severity: 'information', diagnostics: expect.stringContaining('to lift it (Patient/$unlock)') });
    }
    expect((await call(doctor, 'GET', 'Observation/held-obs')).status).toBe(200);
    expect((await call(doctor, 'POST', 'Observation', { ...heartRate, subject: { reference: 'Patient/free' } })).status).toBe(201);
  });

  it('shows the lock to whoever reads the patient flags', async () => {
    const { body } = await call(doctor, 'GET', 'Flag?patient=Patient/held');
    expect(JSON.stringify(body)).toContain('Litigation case 2026-17');
  });

  it('cannot be placed, changed or lifted by writing Flags directly', async () => {
    const forged = { resourceType: 'Flag', status: 'active', code: { coding: [{ system: RECORD_LOCK_SYSTEM, code: 'audit' }] }, subject: { reference: 'Patient/free' } };
    const { status, body } = await call(doctor, 'POST', 'Flag', forged);
    expect(status).toBe(403);
    expect(body.issue[0]?.diagnostics).toContain('placed and lifted only with the $lock and $unlock operations');
  });

  it('is lifted by $unlock, and writes work again on the next request', async () => {
    expect((await call(doctor, 'POST', 'Patient/held/$unlock')).status).toBe(403);
    const released = await call(admin, 'POST', 'Patient/held/$unlock');
    expect(released.body.parameter?.[0]).toEqual({ name: 'released', valueInteger: 1 });
    expect((await call(doctor, 'PUT', 'Observation/held-obs', { ...heartRate, id: 'held-obs', status: 'amended' })).status).toBe(200);
  });
});
