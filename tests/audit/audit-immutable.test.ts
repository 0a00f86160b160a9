/**
 * Issue 6 "Audit": an audit record cannot be changed or deleted through the API. The access rule
 * `audit-immutable` refuses create, update, patch and delete of AuditEvent on every path (direct, conditional,
 * batch and transaction entries) with a 403 OperationOutcome naming it, whatever the token's scopes (here
 * system/*.cruds); the refusals are themselves audited and the trail stays intact.
 */
import type { AuditEvent, Bundle, BundleEntry, OperationOutcome } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../support/fhir-server';

let server: FhirTestServer;
let event: AuditEvent & { id: string };
const url = (path: string): string => `${server.baseUrl}/${path}`;
const FHIR_JSON = { 'content-type': 'application/fhir+json' };

beforeAll(async () => {
  server = await startFhirServer();
  await server.fetch(url('Patient/imm'), { method: 'PUT', headers: FHIR_JSON, body: JSON.stringify({ resourceType: 'Patient', id: 'imm' }) });
  const bundle = (await (await server.fetch(url('AuditEvent?patient=Patient/imm'))).json()) as Bundle;
  event = bundle.entry?.[0]?.resource as AuditEvent & { id: string };
  expect(event.id).toMatch(/^\d{16}$/);
});

afterAll(async () => {
  await server.stop();
});

async function expectRefused(response: Response, location?: string): Promise<void> {
  const outcome = (await response.json()) as OperationOutcome;
  expect({ status: response.status, issue: outcome.issue?.[0]?.code }).toEqual({ status: 403, issue: 'forbidden' });
  expect(outcome.issue[0]?.diagnostics).toContain("Access denied by rule 'audit-immutable'");
  expect(outcome.issue[0]?.diagnostics).toContain('can never be created, changed or deleted through the API');
  if (location) expect(outcome.issue[0]?.diagnostics).toMatch(new RegExp(`^${location.replace(/[[\]]/g, '\\$&')}: `));
}

const changed = (): AuditEvent => ({ ...event, outcome: '8', outcomeDesc: 'rewritten' });
const jsonPatch = JSON.stringify([{ op: 'replace', path: '/outcome', value: '8' }]);

describe('AuditEvent writes through the API', () => {
  const direct: [string, string, RequestInit][] = [
    ['create', 'AuditEvent', { method: 'POST', headers: FHIR_JSON }],
    ['update', 'AuditEvent/{id}', { method: 'PUT', headers: FHIR_JSON }],
    ['conditional update', 'AuditEvent?_id={id}', { method: 'PUT', headers: FHIR_JSON }],
    ['patch', 'AuditEvent/{id}', { method: 'PATCH', headers: { 'content-type': 'application/json-patch+json' }, body: jsonPatch }],
    ['conditional patch', 'AuditEvent?_id={id}', { method: 'PATCH', headers: { 'content-type': 'application/json-patch+json' }, body: jsonPatch }],
    ['delete', 'AuditEvent/{id}', { method: 'DELETE' }],
    ['conditional delete', 'AuditEvent?_id={id}', { method: 'DELETE' }],
  ];

  it.each(direct)('refuses a %s with 403 naming the rule', async (_name, path, init) => {
    const body = init.body ?? (init.method === 'POST' || init.method === 'PUT' ? JSON.stringify(init.method === 'POST' ? { ...changed(), id: undefined } : changed()) : undefined);
    await expectRefused(await server.fetch(url(path.replace('{id}', event.id)), { ...init, ...(body ? { body } : {}) }));
  });

  const entries = (): [string, BundleEntry][] => [
    ['create', { resource: { ...changed(), id: undefined } as AuditEvent, request: { method: 'POST', url: 'AuditEvent' } }],
    ['update', { resource: changed(), request: { method: 'PUT', url: `AuditEvent/${event.id}` } }],
    ['conditional update', { resource: changed(), request: { method: 'PUT', url: `AuditEvent?_id=${event.id}` } }],
    ['patch', { resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(jsonPatch).toString('base64') }, request: { method: 'PATCH', url: `AuditEvent/${event.id}` } }],
    ['delete', { request: { method: 'DELETE', url: `AuditEvent/${event.id}` } }],
    ['conditional delete', { request: { method: 'DELETE', url: `AuditEvent?_id=${event.id}` } }],
  ];

  const ENTRY_KINDS = ['create', 'update', 'conditional update', 'patch', 'delete', 'conditional delete'];

  it.each(ENTRY_KINDS)('refuses a %s inside a transaction, which then changes nothing', async (name) => {
    const entry = entries().find(([n]) => n === name)?.[1] as BundleEntry;
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [entry, { resource: { resourceType: 'Patient', name: [{ family: `Tx ${name}` }] }, request: { method: 'POST', url: 'Patient' } }],
    };
    await expectRefused(await server.fetch(url(''), { method: 'POST', headers: FHIR_JSON, body: JSON.stringify(bundle) }), 'Bundle.entry[0]');
    const created = (await (await server.fetch(url(`Patient?family=${encodeURIComponent(`Tx ${name}`)}`))).json()) as Bundle;
    expect(created.entry ?? []).toEqual([]);
  });

  it('refuses every such entry of a batch, each with its own 403', async () => {
    const bundle: Bundle = { resourceType: 'Bundle', type: 'batch', entry: entries().map(([, entry]) => entry) };
    const response = await server.fetch(url(''), { method: 'POST', headers: FHIR_JSON, body: JSON.stringify(bundle) });
    expect(response.status).toBe(200);
    const result = (await response.json()) as Bundle;
    expect(result.entry).toHaveLength(6);
    for (const entry of result.entry ?? []) {
      expect(entry.response?.status).toBe('403');
      const outcome = entry.response?.outcome as OperationOutcome;
      expect(outcome.issue[0]).toMatchObject({ code: 'forbidden' });
      expect(outcome.issue[0]?.diagnostics).toContain("rule 'audit-immutable'");
    }
  });

  it('leaves the AuditEvent as it was recorded, the trail intact, and the refusals audited', async () => {
    const current = (await (await server.fetch(url(`AuditEvent/${event.id}`))).json()) as AuditEvent;
    expect(current).toEqual(event);
    const history = (await (await server.fetch(url(`AuditEvent/${event.id}/_history`))).json()) as Bundle;
    expect(history.total).toBe(1);
    const verdict = (await (await server.fetch(url('AuditEvent/$verify-chain'))).json()) as { parameter: { name: string; valueBoolean?: boolean }[] };
    expect(verdict.parameter.find((p) => p.name === 'valid')?.valueBoolean).toBe(true);
    const refusals = (await (await server.fetch(url('AuditEvent?outcome=4&_count=100'))).json()) as Bundle;
    const descriptions = (refusals.entry ?? []).map((e) => (e.resource as AuditEvent).outcomeDesc ?? '');
    expect(descriptions.filter((d) => d.startsWith("Refused by access rule 'audit-immutable'"))).toHaveLength(7 + 6);
    expect(descriptions.filter((d) => /^1 batch entries failed|^6 batch entries failed/.test(d))).toHaveLength(1);
  });
});
