/**
 * Search parameters defined at run time (search.html#custom, SearchParameter resources): an organization stores an
 * active SearchParameter; resources written from then on are indexed with it, a reindex job computes its values
 * for the resources stored before without blocking requests, and the parameter is searchable once the job has
 * finished (until then a search reports it as not yet applied rather than silently missing older resources).
 * Definitions the server cannot evaluate are refused; other organizations are unaffected.
 */
import type { Bundle, OperationOutcome, Patient, SearchParameter } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../../support/fhir-server';
import { backendClient } from '../../support/smart-tokens';

let server: FhirTestServer;

const nickname: SearchParameter = {
  resourceType: 'SearchParameter',
  url: 'http://example.org/fhir/SearchParameter/patient-nickname',
  name: 'nickname',
  status: 'active',
  description: 'A nickname of the patient (a HumanName with use nickname)',
  code: 'nickname',
  base: ['Patient'],
  type: 'string',
  expression: "Patient.name.where(use = 'nickname')",
};

beforeAll(async () => {
  server = await startFhirServer();
});

afterAll(async () => {
  await server.stop();
});

async function post(body: unknown, path = (body as { resourceType: string }).resourceType): Promise<Response> {
  return server.fetch(`${server.baseUrl}/${path}`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) });
}

async function search(query: string): Promise<Bundle> {
  const response = await server.fetch(`${server.baseUrl}/${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as Bundle;
}

const matches = (bundle: Bundle): string[] =>
  (bundle.entry ?? [])
    .filter((e) => e.search?.mode === 'match')
    .map((e) => (e.resource as Patient).name?.[0]?.family ?? '')
    .sort();
const notApplied = (bundle: Bundle): boolean => (bundle.entry ?? []).some((e) => e.search?.mode === 'outcome');

async function searchWhenIndexed(query: string): Promise<Bundle> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const bundle = await search(query);
    if (!notApplied(bundle)) return bundle;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${query} was never applied`);
}

describe('SearchParameter resources at run time (search.html#custom)', () => {
  it('indexes resources stored before and after the definition, and searches them once the job is done', async () => {
    for (let i = 0; i < 30; i++) {
      expect((await post({ resourceType: 'Patient', name: [{ family: `Before${i}` }, { use: 'nickname', given: [i === 7 ? 'Bubbles' : `Nick${i}`] }] })).status).toBe(201);
    }
    expect((await search('Patient?nickname=bubbles')).entry?.find((e) => e.search?.mode === 'outcome')).toBeDefined();
    expect((await post(nickname)).status).toBe(201);
    expect((await post({ resourceType: 'Patient', name: [{ family: 'After' }, { use: 'nickname', given: ['Bubbly'] }] })).status).toBe(201);
    expect(matches(await searchWhenIndexed('Patient?nickname=bubb'))).toEqual(['After', 'Before7']);
    expect(matches(await search('Patient?nickname:exact=Bubbles'))).toEqual(['Before7']);
  });

  it('leaves the search parameters of other organizations unchanged', async () => {
    const other = await backendClient(server, 'system/Patient.rs', { tenant: 'another-org' });
    const response = await other.fetch(`${server.baseUrl}/Patient?nickname=bubbles`, { headers: { prefer: 'handling=strict' } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as OperationOutcome).issue[0]?.diagnostics).toBe("Parameter 'nickname' is not a search parameter of Patient");
  });

  it('refuses an active definition the server cannot evaluate, naming the element', async () => {
    const response = await post({ ...nickname, url: 'http://example.org/bad', code: 'bad code', expression: 'Patient.name.where(' });
    expect(response.status).toBe(400);
    const outcome = (await response.json()) as OperationOutcome;
    expect(outcome.issue.map((i) => i.expression?.[0])).toEqual(expect.arrayContaining(['SearchParameter.code', 'SearchParameter.expression']));
  });

  it('stores a definition it does not index when it is not active', async () => {
    expect((await post({ ...nickname, url: 'http://example.org/draft', code: 'draftparam', status: 'draft' })).status).toBe(201);
    const bundle = await search('Patient?draftparam=x');
    expect(bundle.entry?.find((e) => e.search?.mode === 'outcome')?.resource).toMatchObject({ issue: [{ expression: ['draftparam'] }] });
  });
});
