/**
 * FHIR R4 RESTful API: create, read, vread, update, delete and their headers (http.html#create, #read, #vread,
 * #update, #delete, #versioning), through HTTP with a real FHIR client (fhir-kit-client) and raw fetch.
 */
import type Client from 'fhir-kit-client';
import type { Bundle, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../../support/fhir-server';

let server: FhirTestServer;
let client: Client;

beforeAll(async () => {
  server = await startFhirServer();
  client = server.fhirClient();
});

afterAll(async () => {
  await server.stop();
});

const patient: Patient = { resourceType: 'Patient', name: [{ family: 'Chalmers', given: ['Peter'] }], birthDate: '1974-12-25' };

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return server.fetch(`${server.baseUrl}/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', ...headers },
    body: JSON.stringify(body),
  });
}

describe('create (http.html#create)', () => {
  it('returns 201 with Location, ETag W/"1", Last-Modified and the stored resource', async () => {
    const response = await post('Patient', { ...patient, id: 'client-chosen' });
    expect(response.status).toBe(201);
    const body = (await response.json()) as Patient;
    expect(body.id).not.toBe('client-chosen');
    expect(response.headers.get('location')).toBe(`${server.baseUrl}/Patient/${body.id}/_history/1`);
    expect(response.headers.get('etag')).toBe('W/"1"');
    expect(new Date(response.headers.get('last-modified') ?? '').getTime()).not.toBeNaN();
    expect(response.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect(body).toMatchObject({ ...patient, meta: { versionId: '1' } });
  });

  it('honours Prefer: return=minimal and return=OperationOutcome', async () => {
    const minimal = await post('Patient', patient, { prefer: 'return=minimal' });
    expect(minimal.status).toBe(201);
    expect(await minimal.text()).toBe('');
    expect(minimal.headers.get('location')).toMatch(/\/Patient\/[^/]+\/_history\/1$/);
    const outcome = await post('Patient', patient, { prefer: 'return=OperationOutcome' });
    expect(((await outcome.json()) as OperationOutcome).resourceType).toBe('OperationOutcome');
  });

  it('works through fhir-kit-client', async () => {
    const created = (await client.create({ resourceType: 'Patient', body: patient })) as Patient;
    const read = (await client.read({ resourceType: 'Patient', id: created.id as string })) as Patient;
    expect(read).toEqual(created);
  });
});

describe('read and vread (http.html#read, #vread)', () => {
  it('returns 404 with an OperationOutcome for an unknown resource', async () => {
    const response = await server.fetch(`${server.baseUrl}/Patient/does-not-exist`);
    expect(response.status).toBe(404);
    const outcome = (await response.json()) as OperationOutcome;
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue[0]).toMatchObject({ severity: 'error', code: 'not-found' });
    expect(outcome.issue[0]?.diagnostics).toContain('Patient/does-not-exist');
  });

  it('returns 410 Gone for a deleted Patient', async () => {
    const created = (await client.create({ resourceType: 'Patient', body: patient })) as Patient;
    await client.delete({ resourceType: 'Patient', id: created.id as string });
    const response = await server.fetch(`${server.baseUrl}/Patient/${created.id}`);
    expect(response.status).toBe(410);
    expect(((await response.json()) as OperationOutcome).issue[0]?.code).toBe('deleted');
  });

  it('answers 304 to If-None-Match with the current ETag and to a later If-Modified-Since', async () => {
    const created = await post('Patient', patient);
    const { id } = (await created.json()) as Patient;
    const etag = created.headers.get('etag') as string;
    const byEtag = await server.fetch(`${server.baseUrl}/Patient/${id}`, { headers: { 'if-none-match': etag } });
    expect(byEtag.status).toBe(304);
    const later = new Date(Date.now() + 60_000).toUTCString();
    expect((await server.fetch(`${server.baseUrl}/Patient/${id}`, { headers: { 'if-modified-since': later } })).status).toBe(304);
    const earlier = new Date(Date.now() - 3_600_000).toUTCString();
    expect((await server.fetch(`${server.baseUrl}/Patient/${id}`, { headers: { 'if-modified-since': earlier } })).status).toBe(200);
  });

  it('reads each version with vread and 404s an unknown version', async () => {
    const created = (await client.create({ resourceType: 'Patient', body: patient })) as Patient;
    await client.update({ resourceType: 'Patient', id: created.id as string, body: { ...created, birthDate: '1975-01-01' } });
    const v1 = (await client.vread({ resourceType: 'Patient', id: created.id as string, version: '1' })) as Patient;
    expect(v1.birthDate).toBe('1974-12-25');
    expect((await server.fetch(`${server.baseUrl}/Patient/${created.id}/_history/9`)).status).toBe(404);
  });
});

describe('update (http.html#update)', () => {
  it('creates with a client-chosen id (update as create) and then updates it', async () => {
    const id = `chosen-${Date.now()}`;
    const put = (body: unknown, headers: Record<string, string> = {}) =>
      server.fetch(`${server.baseUrl}/Patient/${id}`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json', ...headers }, body: JSON.stringify(body) });
    const first = await put({ ...patient, id });
    expect(first.status).toBe(201);
    const second = await put({ ...patient, id, active: true });
    expect(second.status).toBe(200);
    expect(second.headers.get('etag')).toBe('W/"2"');
  });

  it('rejects a body whose id differs from the URL with 400', async () => {
    const response = await server.fetch(`${server.baseUrl}/Patient/abc`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ ...patient, id: 'xyz' }),
    });
    expect(response.status).toBe(400);
    const outcome = (await response.json()) as OperationOutcome;
    expect(outcome.issue[0]?.diagnostics).toContain("'xyz'");
    expect(outcome.issue[0]?.expression).toEqual(['id']);
  });

  it('answers 412 when If-Match names an old version', async () => {
    const created = (await client.create({ resourceType: 'Patient', body: patient })) as Patient;
    const body = JSON.stringify({ ...created, active: true });
    const put = (etag: string) =>
      server.fetch(`${server.baseUrl}/Patient/${created.id}`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json', 'if-match': etag }, body });
    expect((await put('W/"1"')).status).toBe(200);
    const stale = await put('W/"1"');
    expect(stale.status).toBe(412);
    expect(((await stale.json()) as OperationOutcome).issue[0]?.diagnostics).toContain('version 2');
  });

  it('never loses a concurrent update: parallel PUTs get distinct versions, If-Match races have one winner', async () => {
    const created = (await client.create({ resourceType: 'Patient', body: patient })) as Patient;
    const url = `${server.baseUrl}/Patient/${created.id}`;
    const puts = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        server.fetch(url, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify({ ...created, gender: i % 2 ? 'male' : 'female' }) }),
      ),
    );
    expect(puts.map((r) => r.status)).toEqual(Array(10).fill(200));
    const versions = puts.map((r) => Number((r.headers.get('etag') ?? '').replace(/\D/g, ''))).sort((a, b) => a - b);
    expect(versions).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const guarded = await Promise.all(
      Array.from({ length: 5 }, () =>
        server.fetch(url, { method: 'PUT', headers: { 'content-type': 'application/fhir+json', 'if-match': 'W/"11"' }, body: JSON.stringify(created) }),
      ),
    );
    expect(guarded.map((r) => r.status).sort()).toEqual([200, 412, 412, 412, 412]);
  });
});

describe('delete (http.html#delete)', () => {
  it('returns 204, keeps a tombstone in history, and deleting again is 204', async () => {
    const created = (await client.create({ resourceType: 'Patient', body: patient })) as Patient;
    const first = await server.fetch(`${server.baseUrl}/Patient/${created.id}`, { method: 'DELETE' });
    expect(first.status).toBe(204);
    expect(first.headers.get('etag')).toBe('W/"2"');
    expect((await server.fetch(`${server.baseUrl}/Patient/${created.id}`, { method: 'DELETE' })).status).toBe(204);
    const history = (await (await server.fetch(`${server.baseUrl}/Patient/${created.id}/_history`)).json()) as Bundle;
    expect(history.entry?.[0]).toMatchObject({ request: { method: 'DELETE', url: `Patient/${created.id}` }, response: { status: '204 No Content' } });
    expect(history.entry?.[0]?.resource).toBeUndefined();
  });

  it('returns 404 for a resource that never existed', async () => {
    expect((await server.fetch(`${server.baseUrl}/Patient/never-was`, { method: 'DELETE' })).status).toBe(404);
  });
});

describe('what a client stores is what it reads back', () => {
  it('round-trips every element, extensions and contained resources included, without internal fields', async () => {
    const rich: Patient = {
      resourceType: 'Patient',
      meta: { tag: [{ system: 'urn:t', code: 'x' }] },
      extension: [{ url: 'http://example.org/ext', valueString: 'v' }],
      contained: [{ resourceType: 'Organization', id: 'o1', name: 'Org' }],
      identifier: [{ system: 'urn:mrn', value: '12345' }],
      name: [{ use: 'official', family: 'Ñúñez', given: ['José'] }],
      managingOrganization: { reference: '#o1' },
      birthDate: '1980-02-29',
    };
    const created = (await client.create({ resourceType: 'Patient', body: rich })) as Patient;
    const read = (await client.read({ resourceType: 'Patient', id: created.id as string })) as Patient;
    const { id, meta, ...rest } = read;
    expect(id).toBe(created.id);
    expect(meta).toMatchObject({ versionId: '1', tag: rich.meta?.tag });
    expect(Object.keys(meta ?? {}).sort()).toEqual(['lastUpdated', 'tag', 'versionId']);
    const { meta: _m, ...expected } = rich;
    expect(rest).toEqual(expected);
  });
});
