/**
 * history at instance, type and system level (http.html#history): Bundle type history, newest first, request
 * and response per entry, `_since`, `_at`, `_count` and next links that page through every version once.
 */
import type { Bundle, Observation } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../../support/fhir-server';

let server: FhirTestServer;

beforeAll(async () => {
  server = await startFhirServer();
});

afterAll(async () => {
  await server.stop();
});

async function json<T>(path: string): Promise<T> {
  const response = await server.fetch(path.startsWith('http') ? path : `${server.baseUrl}/${path}`);
  expect(response.status).toBe(200);
  return (await response.json()) as T;
}

async function write(method: string, path: string, body: unknown): Promise<Observation> {
  const response = await server.fetch(`${server.baseUrl}/${path}`, { method, headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) });
  return (await response.json()) as Observation;
}

const observation: Observation = { resourceType: 'Observation', status: 'final', code: { text: 'weight' } };

describe('history', () => {
  it('lists an instance history newest first with request and response per entry', async () => {
    const created = await write('POST', 'Observation', observation);
    await write('PUT', `Observation/${created.id}`, { ...observation, id: created.id, status: 'amended' });
    const bundle = await json<Bundle>(`Observation/${created.id}/_history`);
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'history', total: 2 });
    expect(bundle.entry?.map((e) => [e.request?.method, e.response?.status, e.response?.etag])).toEqual([
      ['PUT', '200 OK', 'W/"2"'],
      ['POST', '201 Created', 'W/"1"'],
    ]);
    expect(bundle.entry?.[1]?.request?.url).toBe('Observation');
    expect(bundle.entry?.[0]?.fullUrl).toBe(`${server.baseUrl}/Observation/${created.id}`);
  });

  it('pages with _count and next links, visiting every version once', async () => {
    const created = await write('POST', 'Observation', observation);
    for (let i = 0; i < 6; i++) await write('PUT', `Observation/${created.id}`, { ...observation, id: created.id, valueString: `v${i}` });
    const seen: string[] = [];
    let url: string | undefined = `${server.baseUrl}/Observation/${created.id}/_history?_count=3`;
    while (url) {
      const page: Bundle = await json<Bundle>(url);
      seen.push(...(page.entry ?? []).map((e) => e.response?.etag ?? ''));
      url = page.link?.find((l) => l.relation === 'next')?.url;
    }
    expect(seen).toEqual(['W/"7"', 'W/"6"', 'W/"5"', 'W/"4"', 'W/"3"', 'W/"2"', 'W/"1"']);
  });

  it('filters type history with _since', async () => {
    await write('POST', 'Observation', observation);
    const since = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    const later = await write('POST', 'Observation', observation);
    const bundle = await json<Bundle>(`Observation/_history?_since=${encodeURIComponent(since)}`);
    expect(bundle.entry?.map((e) => e.resource?.id)).toEqual([later.id]);
  });

  it('answers _at with the version current at that instant', async () => {
    const created = await write('POST', 'Observation', observation);
    await new Promise((r) => setTimeout(r, 5));
    const at = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    await write('PUT', `Observation/${created.id}`, { ...observation, id: created.id, status: 'amended' });
    const bundle = await json<Bundle>(`Observation/${created.id}/_history?_at=${encodeURIComponent(at)}`);
    expect(bundle.entry?.map((e) => e.response?.etag)).toEqual(['W/"1"']);
  });

  it('spans resource types at system level', async () => {
    const org = await write('POST', 'Organization', { resourceType: 'Organization', name: 'History Org' });
    const bundle = await json<Bundle>('_history?_count=2');
    // The newest version is the AuditEvent recording that POST (every request is audited), the one before it the Organization.
    expect(bundle.entry?.map((e) => e.resource?.resourceType)).toEqual(['AuditEvent', 'Organization']);
    expect(bundle.entry?.[1]?.resource).toMatchObject({ resourceType: 'Organization', id: org.id });
  });

  it('rejects a _page cursor it did not issue with 400', async () => {
    const response = await server.fetch(`${server.baseUrl}/Observation/_history?_page=forged`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { issue: { expression?: string[] }[] }).issue[0]?.expression).toEqual(['_page']);
  });

  it('rejects a malformed _since with 400', async () => {
    const response = await server.fetch(`${server.baseUrl}/Observation/_history?_since=yesterday`);
    expect(response.status).toBe(400);
  });
});
