/**
 * Errors a client can cause (http.html#summary, #mime-type, #ops): each answered with its 4xx status and an
 * OperationOutcome that names the element and the reason; never a 500, never a partial write.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../../support/fhir-server';

let server: FhirTestServer;

beforeAll(async () => {
  server = await startFhirServer({ maxBodyBytes: 64 * 1024 });
});

afterAll(async () => {
  await server.stop();
});

async function outcome(response: Response, status: number): Promise<OperationOutcome> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
  const body = (await response.json()) as OperationOutcome;
  expect(body.resourceType).toBe('OperationOutcome');
  expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/);
  return body;
}

function post(path: string, body: string, contentType = 'application/fhir+json', headers: Record<string, string> = {}): Promise<Response> {
  return server.fetch(`${server.baseUrl}/${path}`, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body });
}

describe('request errors', () => {
  it('rejects malformed JSON with 400', async () => {
    const body = await outcome(await post('Patient', '{"resourceType": "Patient",'), 400);
    expect(body.issue[0]?.diagnostics).toContain('not valid JSON');
  });

  it('rejects an unsupported media type with 415', async () => {
    await outcome(await post('Patient', '<Patient xmlns="http://hl7.org/fhir"/>', 'application/fhir+xml'), 415);
  });

  it('rejects _format=xml and an Accept of XML only with 406', async () => {
    await outcome(await server.fetch(`${server.baseUrl}/metadata?_format=xml`), 406);
    await outcome(await server.fetch(`${server.baseUrl}/metadata`, { headers: { accept: 'application/fhir+xml' } }), 406);
  });

  it('answers 404 for an unknown resource type', async () => {
    const body = await outcome(await server.fetch(`${server.baseUrl}/Spaceship/1`), 404);
    expect(body.issue[0]?.diagnostics).toContain("'Spaceship'");
  });

  it('answers 405 for a method the path does not take', async () => {
    await outcome(await server.fetch(`${server.baseUrl}/Patient/1/_history`, { method: 'DELETE' }), 405);
  });

  it('answers 413 for a body over the configured limit', async () => {
    const huge = JSON.stringify({ resourceType: 'Patient', text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${'x'.repeat(100_000)}</div>` } });
    await outcome(await post('Patient', huge), 413);
  });

  it('rejects ids longer than 64 characters', async () => {
    const id = 'a'.repeat(65);
    const response = await server.fetch(`${server.baseUrl}/Patient/${id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', id }),
    });
    const body = await outcome(response, 400);
    expect(body.issue[0]?.expression).toEqual(['id']);
  });

  it('rejects deeply nested payloads', async () => {
    const deep = `{"resourceType":"Patient","extension":[${'{"extension":['.repeat(200)}${']}'.repeat(200)}]}`;
    await outcome(await post('Patient', deep), 400);
  });

  it('rejects a resourceType that does not match the URL', async () => {
    const body = await outcome(await post('Patient', JSON.stringify({ resourceType: 'Observation', status: 'final', code: {} })), 400);
    expect(body.issue[0]?.expression).toEqual(['resourceType']);
  });
});

describe('validation on write', () => {
  it('reports every problem at once with its FHIRPath location', async () => {
    const body = await outcome(
      await post('Patient', JSON.stringify({ resourceType: 'Patient', birthDate: '1990-13-01', active: 'yes', gender: 'robot', unknownThing: 1 })),
      400,
    );
    const locations = body.issue.flatMap((issue) => issue.expression ?? []);
    expect(locations).toEqual(expect.arrayContaining(['Patient.birthDate', 'Patient.active', 'Patient.gender', 'Patient.unknownThing']));
  });

  it('stores nothing when validation fails', async () => {
    const marker = `invalid-${Date.now()}`;
    await post('Patient', JSON.stringify({ resourceType: 'Patient', identifier: [{ value: marker }], birthDate: 'nope' }));
    const check = await post('Patient', JSON.stringify({ resourceType: 'Patient' }), 'application/fhir+json', { 'if-none-exist': `identifier=${marker}` });
    expect(check.status).toBe(201);
  });
});
