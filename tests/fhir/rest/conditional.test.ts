/**
 * Conditional create, update, delete and patch (http.html#ccreate, #cond-update, #cdelete, #patch), including
 * parallel conditional creates that must produce one resource.
 */
import type { OperationOutcome, Patient } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../../support/fhir-server';

let server: FhirTestServer;

beforeAll(async () => {
  server = await startFhirServer();
});

afterAll(async () => {
  await server.stop();
});

function send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return server.fetch(`${server.baseUrl}/${path}`, {
    method,
    headers: { 'content-type': 'application/fhir+json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

const withMrn = (value: string): Patient => ({ resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value }], name: [{ family: value }] });

describe('conditional create (If-None-Exist)', () => {
  it('creates when nothing matches, returns the match with 200 when one does', async () => {
    const first = await send('POST', 'Patient', withMrn('cc-1'), { 'if-none-exist': 'identifier=urn:mrn|cc-1' });
    expect(first.status).toBe(201);
    const created = (await first.json()) as Patient;
    const second = await send('POST', 'Patient', withMrn('cc-1'), { 'if-none-exist': 'identifier=urn:mrn|cc-1' });
    expect(second.status).toBe(200);
    expect(((await second.json()) as Patient).id).toBe(created.id);
  });

  it('answers 412 when several resources match', async () => {
    await send('POST', 'Patient', withMrn('cc-dup'));
    await send('POST', 'Patient', withMrn('cc-dup'));
    const response = await send('POST', 'Patient', withMrn('cc-dup'), { 'if-none-exist': 'identifier=cc-dup' });
    expect(response.status).toBe(412);
    expect(((await response.json()) as OperationOutcome).issue[0]?.diagnostics).toContain('more than one');
  });

  it('rejects a condition with a parameter it cannot evaluate rather than ignore it', async () => {
    const response = await send('POST', 'Patient', withMrn('cc-x'), { 'if-none-exist': 'shoe-size=44' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as OperationOutcome).issue[0]).toMatchObject({ diagnostics: "Parameter 'shoe-size' is not a search parameter of Patient", expression: ['shoe-size'] });
  });

  it('produces exactly one resource from parallel conditional creates', async () => {
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => send('POST', 'Patient', withMrn('cc-race'), { 'if-none-exist': 'identifier=urn:mrn|cc-race' })),
    );
    const ids = new Set(await Promise.all(responses.map(async (r) => ((await r.json()) as Patient).id)));
    expect(ids.size).toBe(1);
    expect(responses.filter((r) => r.status === 201)).toHaveLength(1);
  });
});

describe('conditional update', () => {
  it('creates when nothing matches and updates the single match', async () => {
    const created = await send('PUT', 'Patient?identifier=urn:mrn|cu-1', withMrn('cu-1'));
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as Patient;
    const updated = await send('PUT', 'Patient?identifier=urn:mrn|cu-1', { ...withMrn('cu-1'), active: true });
    expect(updated.status).toBe(200);
    expect(((await updated.json()) as Patient).id).toBe(id);
  });

  it('answers 412 when several resources match', async () => {
    await send('POST', 'Patient', withMrn('cu-dup'));
    await send('POST', 'Patient', withMrn('cu-dup'));
    expect((await send('PUT', 'Patient?identifier=cu-dup', withMrn('cu-dup'))).status).toBe(412);
  });
});

describe('conditional delete', () => {
  it('deletes the single match', async () => {
    const created = (await (await send('POST', 'Patient', withMrn('cd-1'))).json()) as Patient;
    expect((await send('DELETE', 'Patient?identifier=urn:mrn|cd-1')).status).toBe(204);
    expect((await server.fetch(`${server.baseUrl}/Patient/${created.id}`)).status).toBe(410);
  });

  it('answers 412 when several match and multiple deletes are not enabled', async () => {
    await send('POST', 'Patient', withMrn('cd-dup'));
    await send('POST', 'Patient', withMrn('cd-dup'));
    expect((await send('DELETE', 'Patient?identifier=cd-dup')).status).toBe(412);
  });
});

describe('patch (http.html#patch)', () => {
  it('applies a JSON Patch, bumps the version and honours If-Match', async () => {
    const created = (await (await send('POST', 'Patient', withMrn('p-1'))).json()) as Patient;
    const patch = [{ op: 'add', path: '/birthDate', value: '2001-02-03' }];
    const ok = await send('PATCH', `Patient/${created.id}`, patch, { 'content-type': 'application/json-patch+json', 'if-match': 'W/"1"' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).toBe('W/"2"');
    expect(((await ok.json()) as Patient).birthDate).toBe('2001-02-03');
    const stale = await send('PATCH', `Patient/${created.id}`, patch, { 'content-type': 'application/json-patch+json', 'if-match': 'W/"1"' });
    expect(stale.status).toBe(412);
  });

  it('applies a FHIRPath Patch', async () => {
    const created = (await (await send('POST', 'Patient', withMrn('p-2'))).json()) as Patient;
    const body = {
      resourceType: 'Parameters',
      parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'replace' }, { name: 'path', valueString: 'Patient.name[0].family' }, { name: 'value', valueString: 'Replaced' }] }],
    };
    const response = await send('PATCH', `Patient/${created.id}`, body);
    expect(response.status).toBe(200);
    expect(((await response.json()) as Patient).name?.[0]?.family).toBe('Replaced');
  });

  it('validates the patched result like an update', async () => {
    const created = (await (await send('POST', 'Patient', withMrn('p-3'))).json()) as Patient;
    const patch = [{ op: 'add', path: '/birthDate', value: 'not-a-date' }];
    const response = await send('PATCH', `Patient/${created.id}`, patch, { 'content-type': 'application/json-patch+json' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as OperationOutcome).issue.some((i) => i.expression?.includes('Patient.birthDate'))).toBe(true);
    expect((await server.fetch(`${server.baseUrl}/Patient/${created.id}`)).headers.get('etag')).toBe('W/"1"');
  });

  it('answers 422 for a failed JSON Patch test operation', async () => {
    const created = (await (await send('POST', 'Patient', withMrn('p-4'))).json()) as Patient;
    const patch = [{ op: 'test', path: '/name/0/family', value: 'Other' }];
    expect((await send('PATCH', `Patient/${created.id}`, patch, { 'content-type': 'application/json-patch+json' })).status).toBe(422);
  });
});
