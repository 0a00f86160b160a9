/**
 * Sorting and paging of search results (search.html#sort, #count, #paging, #total): `_sort` on several keys with
 * `-` for descending and a deterministic tie-break, `_count` within the configured maximum, next/previous/self
 * links that stay correct while the data changes (keyset positions, not a skip over a moving set), and `_total`.
 */
import type { Bundle, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../../support/fhir-server';

let server: FhirTestServer;
const run = Math.random().toString(36).slice(2, 8);

beforeAll(async () => {
  server = await startFhirServer({ maxCount: 50 });
});

afterAll(async () => {
  await server.stop();
});

async function create(patient: Patient): Promise<Patient> {
  const response = await server.fetch(`${server.baseUrl}/Patient`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ ...patient, identifier: [{ system: 'urn:run', value: run }, ...(patient.identifier ?? [])] }),
  });
  return (await response.json()) as Patient;
}

async function search(query: string): Promise<Bundle<Patient>> {
  const url = query.startsWith('http') ? query : `${server.baseUrl}/Patient?identifier=urn:run|${run}&${query}`;
  const response = await server.fetch(url);
  expect(response.status).toBe(200);
  return (await response.json()) as Bundle<Patient>;
}

const families = (bundle: Bundle<Patient>): string[] => (bundle.entry ?? []).map((e) => e.resource?.name?.[0]?.family ?? '');
const link = (bundle: Bundle, relation: string): string | undefined => bundle.link?.find((l) => l.relation === relation)?.url;

describe('_sort (search.html#sort)', () => {
  beforeAll(async () => {
    await create({ resourceType: 'Patient', name: [{ family: 'Sort-C' }], birthDate: '1990-05-01', gender: 'male' });
    await create({ resourceType: 'Patient', name: [{ family: 'Sort-A' }], birthDate: '1980', gender: 'female' });
    await create({ resourceType: 'Patient', name: [{ family: 'Sort-B' }], birthDate: '1990-05-01', gender: 'female' });
    await create({ resourceType: 'Patient', name: [{ family: 'Sort-D' }], gender: 'other' });
  });

  it('sorts ascending by a string parameter, case-insensitively', async () => {
    expect(families(await search('name=sort-&_sort=family'))).toEqual(['Sort-A', 'Sort-B', 'Sort-C', 'Sort-D']);
  });

  it('sorts descending with a leading -', async () => {
    expect(families(await search('name=sort-&_sort=-family'))).toEqual(['Sort-D', 'Sort-C', 'Sort-B', 'Sort-A']);
  });

  it('sorts by several keys, later keys breaking ties of earlier ones', async () => {
    expect(families(await search('name=sort-&_sort=-birthdate,family'))).toEqual(['Sort-B', 'Sort-C', 'Sort-A', 'Sort-D']);
    expect(families(await search('name=sort-&_sort=-birthdate,-family'))).toEqual(['Sort-C', 'Sort-B', 'Sort-A', 'Sort-D']);
  });

  it('puts resources without a value first ascending and last descending', async () => {
    expect(families(await search('name=sort-&_sort=birthdate,family'))[0]).toBe('Sort-D');
    expect(families(await search('name=sort-&_sort=-birthdate,family')).at(-1)).toBe('Sort-D');
  });

  it('orders a date by the start of its range ascending and by its end descending', async () => {
    // '1990' covers the whole year: it starts before 1990-05-01 and ends after it, so it comes first both ways.
    await create({ resourceType: 'Patient', name: [{ family: `Range-${run}-year` }], birthDate: '1990' });
    await create({ resourceType: 'Patient', name: [{ family: `Range-${run}-day` }], birthDate: '1990-05-01' });
    expect(families(await search(`name=range-${run}&_sort=birthdate`))).toEqual([`Range-${run}-year`, `Range-${run}-day`]);
    expect(families(await search(`name=range-${run}&_sort=-birthdate`))).toEqual([`Range-${run}-year`, `Range-${run}-day`]);
  });

  it('breaks ties deterministically by id and sorts by _lastUpdated', async () => {
    const first = await search('name=sort-&_sort=gender');
    const again = await search('name=sort-&_sort=gender');
    expect(families(first)).toEqual(families(again));
    expect(families(await search('name=sort-&_sort=_lastUpdated'))).toEqual(['Sort-C', 'Sort-A', 'Sort-B', 'Sort-D']);
    expect(families(await search('name=sort-&_sort=-_lastUpdated'))).toEqual(['Sort-D', 'Sort-B', 'Sort-A', 'Sort-C']);
  });

  it('answers 400 for a parameter that cannot be sorted on', async () => {
    const response = await server.fetch(`${server.baseUrl}/Patient?_sort=shoe-size`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as OperationOutcome).issue[0]).toMatchObject({
      code: 'invalid',
      diagnostics: "Parameter '_sort': 'shoe-size' is not a sortable search parameter of Patient",
      expression: ['_sort'],
    });
  });
});

describe('paging (search.html#paging, #count)', () => {
  const family = `Page-${run}`;

  beforeAll(async () => {
    for (let i = 0; i < 7; i++) await create({ resourceType: 'Patient', name: [{ family, given: [`G${i}`] }], birthDate: `200${i}-01-01` });
  });

  async function walk(first: string): Promise<string[][]> {
    const pages: string[][] = [];
    let url: string | undefined = first;
    while (url) {
      const bundle: Bundle<Patient> = await search(url);
      pages.push((bundle.entry ?? []).map((e) => e.resource?.name?.[0]?.given?.[0] ?? ''));
      url = link(bundle, 'next');
    }
    return pages;
  }

  it('returns _count entries per page and follows next links to the end, each entry once', async () => {
    const pages = await walk(`${server.baseUrl}/Patient?family=${family}&_sort=birthdate&_count=3`);
    expect(pages).toEqual([['G0', 'G1', 'G2'], ['G3', 'G4', 'G5'], ['G6']]);
  });

  it('gives a self link with the applied parameters and a previous link from the second page on', async () => {
    const first = await search(`${server.baseUrl}/Patient?family=${family}&_sort=birthdate&_count=3&unknown-param=1`);
    expect(link(first, 'self')).toBe(`${server.baseUrl}/Patient?family=${family}&_sort=birthdate&_count=3`);
    expect(link(first, 'previous')).toBeUndefined();
    const second = await search(link(first, 'next') as string);
    expect(link(second, 'self')).toMatch(/&_page=/);
    const back = await search(link(second, 'previous') as string);
    expect(families(back).length).toBe(3);
    expect((back.entry ?? []).map((e) => e.resource?.name?.[0]?.given?.[0])).toEqual(['G0', 'G1', 'G2']);
  });

  it('stays correct while resources are added and removed between pages', async () => {
    const moving = `Moving-${run}`;
    const made: Patient[] = [];
    for (let i = 0; i < 6; i++) made.push(await create({ resourceType: 'Patient', name: [{ family: moving, given: [`M${i}`] }], birthDate: `201${i}-01-01` }));
    const first = await search(`${server.baseUrl}/Patient?family=${moving}&_sort=birthdate&_count=2`);
    expect((first.entry ?? []).map((e) => e.resource?.name?.[0]?.given?.[0])).toEqual(['M0', 'M1']);
    // A resource sorting before the page boundary and the deletion of a passed one shift nothing.
    await create({ resourceType: 'Patient', name: [{ family: moving, given: ['Early'] }], birthDate: '2000-01-01' });
    await server.fetch(`${server.baseUrl}/Patient/${made[0]?.id}`, { method: 'DELETE' });
    const second = await search(link(first, 'next') as string);
    expect((second.entry ?? []).map((e) => e.resource?.name?.[0]?.given?.[0])).toEqual(['M2', 'M3']);
  });

  it('caps _count at the configured maximum', async () => {
    const bundle = await search(`${server.baseUrl}/Patient?_count=500`);
    expect((bundle.entry ?? []).length).toBeLessThanOrEqual(50);
  });

  it('answers 400 for a page position the server did not issue', async () => {
    const response = await server.fetch(`${server.baseUrl}/Patient?_page=not-a-page`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as OperationOutcome).issue[0]).toMatchObject({ code: 'invalid', expression: ['_page'] });
  });
});

describe('_total (search.html#total)', () => {
  const family = `Total-${run}`;

  beforeAll(async () => {
    for (let i = 0; i < 5; i++) await create({ resourceType: 'Patient', name: [{ family }] });
  });

  it('counts every match with _total=accurate, whatever the page size', async () => {
    const bundle = await search(`${server.baseUrl}/Patient?family=${family}&_count=2&_total=accurate`);
    expect(bundle.total).toBe(5);
    expect(bundle.entry).toHaveLength(2);
  });

  it('leaves the total out with _total=none', async () => {
    expect((await search(`${server.baseUrl}/Patient?family=${family}&_total=none`)).total).toBeUndefined();
  });

  it('gives the total without being asked when the whole result fits on the first page', async () => {
    expect((await search(`${server.baseUrl}/Patient?family=${family}`)).total).toBe(5);
    expect((await search(`${server.baseUrl}/Patient?family=${family}&_count=2`)).total).toBeUndefined();
  });

  it('counts with _total=estimate when the count is small', async () => {
    expect((await search(`${server.baseUrl}/Patient?family=${family}&_count=1&_total=estimate`)).total).toBe(5);
  });

  it('answers only the count for _summary=count and _count=0', async () => {
    for (const query of ['_summary=count', '_count=0']) {
      const bundle = await search(`${server.baseUrl}/Patient?family=${family}&${query}`);
      expect(bundle).toMatchObject({ total: 5, entry: [] });
    }
  });
});
