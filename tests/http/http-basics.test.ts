/**
 * The HTTP shell every request passes through: health check, request ids, the OperationOutcome error renderer
 * (English or Spanish), security headers, and no stack trace ever reaching a client.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../support/fhir-server';

let server: FhirTestServer;

beforeAll(async () => {
  server = await startFhirServer();
});

afterAll(async () => {
  await server.stop();
});

describe('HTTP basics', () => {
  it('answers /healthz with 200 when the database answers', async () => {
    const response = await server.fetch(`${server.origin}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('echoes a sane X-Request-Id and generates one otherwise', async () => {
    const echoed = await server.fetch(`${server.origin}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
    expect(echoed.headers.get('x-request-id')).toBe('abc-123');
    const replaced = await server.fetch(`${server.origin}/healthz`, { headers: { 'x-request-id': 'bad id <script>' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sets security headers', async () => {
    const response = await server.fetch(`${server.baseUrl}/metadata`);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('answers an unknown route with a 404 OperationOutcome', async () => {
    const response = await server.fetch(`${server.origin}/nowhere`);
    expect(response.status).toBe(404);
    const outcome = (await response.json()) as OperationOutcome;
    expect(outcome.issue[0]).toMatchObject({ severity: 'error', code: 'not-found' });
  });

  it('adds the Spanish text of the error when the client prefers Spanish', async () => {
    const response = await server.fetch(`${server.baseUrl}/Patient/missing`, { headers: { 'accept-language': 'es-ES,es;q=0.9,en;q=0.5' } });
    const outcome = (await response.json()) as OperationOutcome;
    expect(outcome.issue[0]?.details?.text).toBe('El recurso no existe');
  });

  it('answers 503 with an OperationOutcome when the database is gone, without internals', async () => {
    const broken = await startFhirServer();
    await broken.stopDatabaseOnly();
    const response = await broken.fetch(`${broken.origin}/healthz`);
    expect(response.status).toBe(503);
    const text = await response.text();
    expect(text).toContain('OperationOutcome');
    expect(text).not.toMatch(/\.ts:\d+|MongoNotConnected|at /);
    const failing = await broken.fetch(`${broken.baseUrl}/Patient/x`);
    expect(failing.status).toBe(500);
    const outcome = (await failing.json()) as OperationOutcome;
    expect(outcome.issue[0]?.diagnostics).toContain(failing.headers.get('x-request-id') as string);
    expect(JSON.stringify(outcome)).not.toMatch(/\.ts:\d+|Mongo/);
    await broken.stop();
  });
});
