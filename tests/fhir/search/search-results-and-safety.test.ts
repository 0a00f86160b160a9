/**
 * What a search returns and what it never does: `_summary` and `_elements` (search.html#summary, #elements) return
 * marked subsets; search input is data, never query syntax (search.html#escaping; no operator, regular expression
 * or NUL in a value changes what is matched or breaks the server); malformed input is a 400, never a 500.
 */
import type { Bundle, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../../support/fhir-server';

let server: FhirTestServer;
let patient: Patient;
const run = Math.random().toString(36).slice(2, 8);

beforeAll(async () => {
  server = await startFhirServer();
  const response = await server.fetch(`${server.baseUrl}/Patient`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify({
      resourceType: 'Patient',
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Peter Chalmers</div>' },
      identifier: [{ system: 'urn:run', value: run }],
      active: true,
      name: [{ family: 'Chalmers', given: ['Peter'] }],
      gender: 'male',
      birthDate: '1974-12-25',
      maritalStatus: { text: 'Married' },
    }),
  });
  patient = (await response.json()) as Patient;
});

afterAll(async () => {
  await server.stop();
});

/** A search response: a Bundle, or an OperationOutcome when refused. */
type Answer = Pick<Bundle, 'entry'> & Pick<OperationOutcome, 'issue'> & { resourceType: string };

async function search(query: string): Promise<{ status: number; body: Answer }> {
  const response = await server.fetch(`${server.baseUrl}/Patient?${query}`);
  return { status: response.status, body: (await response.json()) as Answer };
}

async function first(query: string): Promise<Patient> {
  const { status, body } = await search(`identifier=urn:run|${run}&${query}`);
  expect(status).toBe(200);
  return body.entry?.[0]?.resource as Patient;
}

const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };

describe('_summary and _elements (search.html#summary, #elements)', () => {
  it('_summary=true keeps the summary elements and marks the resource SUBSETTED', async () => {
    const summary = await first('_summary=true');
    expect(Object.keys(summary).sort()).toEqual(['active', 'birthDate', 'gender', 'id', 'identifier', 'meta', 'name', 'resourceType']);
    expect(summary.meta?.tag).toContainEqual(SUBSETTED);
  });

  it('_summary=text keeps the narrative, id and meta', async () => {
    expect(Object.keys(await first('_summary=text')).sort()).toEqual(['id', 'meta', 'resourceType', 'text']);
  });

  it('_summary=data removes the narrative only', async () => {
    const data = await first('_summary=data');
    expect(data.text).toBeUndefined();
    expect(data.maritalStatus).toEqual({ text: 'Married' });
  });

  it('_summary=false returns the whole resource, unmarked', async () => {
    expect(await first('_summary=false')).toEqual(patient);
  });

  it('_elements keeps the listed top-level elements plus id and meta', async () => {
    const subset = await first('_elements=gender,birthDate');
    expect(Object.keys(subset).sort()).toEqual(['birthDate', 'gender', 'id', 'meta', 'resourceType']);
    expect(subset.meta?.tag).toContainEqual(SUBSETTED);
  });

  it('answers 400 for an unknown _summary value', async () => {
    const { status, body } = await search('_summary=brief');
    expect(status).toBe(400);
    expect(body.issue[0]).toMatchObject({ code: 'invalid', diagnostics: "Parameter '_summary': 'brief' is not one of true, text, data, count, false" });
  });
});

describe('search input is data, never query syntax', () => {
  const hostile = [
    '{"$where":"sleep(5000)"}',
    '{"$ne":null}',
    '$gt',
    '.*',
    '^',
    'a|b',
    '(a+)+$',
    '\u0000',
    'x\u0000y',
    "'; db.dropDatabase(); '",
    '[object Object]',
    'x'.repeat(5000),
  ];

  it.each(hostile.map((value) => [JSON.stringify(value).slice(0, 30), value]))('matches nothing for %s in string, token, reference and uri parameters, and never fails with 5xx', async (_label, value) => {
    const encoded = encodeURIComponent(value);
    for (const query of [`family:exact=${encoded}`, `name:contains=${encoded}`, `identifier=${encoded}`, `general-practitioner=${encodeURIComponent(`Practitioner/${value}`)}`, `_profile=${encoded}`]) {
      const { status, body } = await search(query);
      expect(status).toBeLessThan(500);
      if (status === 200) expect(body.entry ?? []).toEqual([]);
      else expect(body.resourceType).toBe('OperationOutcome');
    }
  });

  it('treats regular-expression characters in :contains and :below literally', async () => {
    expect((await search('name:contains=ch.lmers')).body.entry ?? []).toEqual([]);
    expect((await search(`identifier=urn:run|${run}&name:contains=halmer`)).body.entry).toHaveLength(1);
  });

  it('does not let an _id value become an operator', async () => {
    const { status, body } = await search(`_id=${encodeURIComponent('{"$ne":null}')}`);
    expect(status).toBe(400);
    expect(body.issue[0]?.expression).toEqual(['_id']);
  });

  it('rejects a page position that was not issued, and never 500s on a forged one', async () => {
    const forged = Buffer.from(JSON.stringify(['n', 'Patient', '{"$gt":""}', [{ d: 'x' }]])).toString('base64url');
    const { status, body } = await search(`_page=${forged}`);
    expect(status).toBe(400);
    expect(body.issue[0]?.expression).toEqual(['_page']);
  });

  it('stores the operator-looking content of a resource as data too', async () => {
    const response = await server.fetch(`${server.baseUrl}/Patient`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', identifier: [{ system: 'urn:run', value: `${run}-$where` }], name: [{ family: '$gt' }] }),
    });
    expect(response.status).toBe(201);
    const { body } = await search(`identifier=${encodeURIComponent(`urn:run|${run}-$where`)}&family:exact=${encodeURIComponent('$gt')}`);
    expect(body.entry).toHaveLength(1);
  });
});
