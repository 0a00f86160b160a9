/**
 * Parameters for all resources and the handling of what a server does not apply
 * (https://hl7.org/fhir/R4/search.html#all, #id, #lastUpdated, #errors, #conformance, #Introduction):
 * - `_id`: "servers SHALL use exact match with it" and "matches on _id are always case sensitive";
 * - `_lastUpdated`: a date parameter on Resource.meta.lastUpdated, e.g. "_lastUpdated=gt2010-10-01";
 * - "servers SHOULD ignore unknown or unsupported parameters" and "The client can determine what parameters the
 *   server used by examining the self link"; "Prefer: handling=strict: Client requests that the server return an
 *   error for any unknown or unsupported parameter"; an OperationOutcome about the search may be "included in the
 *   search results as an entry with search mode = outcome";
 * - "Note: Empty parameters are not an error - they are just ignored by the server.";
 * - the same search as "an application/x-www-form-urlencoded submission for a POST: POST [base]/[type]/_search".
 */
import type { Bundle, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../../support/fhir-server';
import { expectInvalidParameter, idsOf, matches, searchClient, uniqueSuffix, type SearchClient } from './search-client';

const suffix = uniqueSuffix();
const FAMILY = `Special${suffix}`;

let server: FhirTestServer;
let api: SearchClient;

let first: Patient & { id: string };
let second: Patient & { id: string };
let third: Patient & { id: string };
let caseSensitive: Patient & { id: string };

/** The (name, value) pairs of a Bundle link, in order. */
function linkParameters(bundle: Bundle, relation = 'self'): [string, string][] {
  const url = bundle.link?.find((l) => l.relation === relation)?.url;
  if (!url) throw new Error(`no ${relation} link`);
  return [...new URL(url).searchParams];
}

/** The OperationOutcome entries of a searchset. */
function outcomes(bundle: Bundle): OperationOutcome[] {
  return (bundle.entry ?? []).filter((entry) => entry.search?.mode === 'outcome').map((entry) => entry.resource as OperationOutcome);
}

beforeAll(async () => {
  server = await startFhirServer();
  api = searchClient(server);
  first = await api.create<Patient>({ resourceType: 'Patient', name: [{ family: FAMILY, given: ['Ann'] }], gender: 'female' });
  second = await api.create<Patient>({ resourceType: 'Patient', name: [{ family: FAMILY, given: ['Bob'] }], gender: 'male' });
  third = await api.create<Patient>({ resourceType: 'Patient', name: [{ family: FAMILY, given: ['Cid'] }], gender: 'male' });
  const id = `CaseSensitive-${suffix}`;
  const put = await server.fetch(`${server.baseUrl}/Patient/${id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Patient', id }),
  });
  caseSensitive = (await put.json()) as Patient & { id: string };
});

afterAll(async () => {
  await server.stop();
});

describe('_id (search.html#id)', () => {
  it('_id=[id] finds that resource, like a read', async () => {
    expect(await api.ids(`Patient?_id=${first.id}`)).toEqual(idsOf(first));
  });

  it('_id=[a],[b] is an OR list', async () => {
    expect(await api.ids(`Patient?_id=${first.id},${third.id}`)).toEqual(idsOf(first, third));
  });

  it('_id is an exact, case-sensitive match', async () => {
    expect(await api.ids(`Patient?_id=${caseSensitive.id}`)).toEqual(idsOf(caseSensitive));
    expect(await api.ids(`Patient?_id=${caseSensitive.id.toLowerCase()}`)).toEqual([]);
    expect(await api.ids(`Patient?_id=${caseSensitive.id.slice(0, -1)}`)).toEqual([]);
  });

  it('_id of no resource gives an empty searchset, not an error ("An empty search result is not a failure")', async () => {
    const bundle = await api.search(`Patient?_id=missing-${suffix}`);
    expect(matches(bundle)).toEqual([]);
  });

  it('combines with other parameters (AND): _id=[a],[b]&gender=male', async () => {
    expect(await api.ids(`Patient?_id=${first.id},${second.id}&gender=male`)).toEqual(idsOf(second));
  });
});

describe('_lastUpdated (search.html#lastUpdated) with prefixes', () => {
  let before: Patient & { id: string };
  let after: Patient & { id: string };
  let between: string;

  beforeAll(async () => {
    before = await api.create<Patient>({ resourceType: 'Patient', name: [{ family: `Updated${suffix}` }] });
    await new Promise((resolve) => setTimeout(resolve, 20));
    after = await api.create<Patient>({ resourceType: 'Patient', name: [{ family: `Updated${suffix}` }] });
    const t1 = new Date(before.meta?.lastUpdated as string).getTime();
    const t2 = new Date(after.meta?.lastUpdated as string).getTime();
    between = new Date(Math.floor((t1 + t2) / 2)).toISOString();
  });

  const updated = (prefixAndValue: string) => api.ids(`Patient?family=Updated${suffix}&_lastUpdated=${prefixAndValue}`);

  it('_lastUpdated=gt2010-10-01 finds resources changed since 1-Oct 2010', async () => {
    expect(await updated('gt2010-10-01')).toEqual(idsOf(before, after));
  });

  it('_lastUpdated=lt2010-10-01 finds nothing changed before', async () => {
    expect(await updated('lt2010-10-01')).toEqual([]);
  });

  it('gt and lt split at an instant between two writes', async () => {
    expect(await updated(`gt${between}`)).toEqual(idsOf(after));
    expect(await updated(`lt${between}`)).toEqual(idsOf(before));
  });

  it('ge and le at an instant include a resource written at exactly that instant', async () => {
    expect(await updated(`ge${after.meta?.lastUpdated}`)).toEqual(idsOf(after));
    expect(await updated(`le${before.meta?.lastUpdated}`)).toEqual(idsOf(before));
  });

  it('sa and eb at an instant between two writes', async () => {
    expect(await updated(`sa${between}`)).toEqual(idsOf(after));
    expect(await updated(`eb${between}`)).toEqual(idsOf(before));
  });

  it('eq at an instant finds only the resource written at that instant', async () => {
    expect(await updated(`eq${before.meta?.lastUpdated}`)).toEqual(idsOf(before));
    expect(await updated(`eq${after.meta?.lastUpdated}`)).toEqual(idsOf(after));
  });

  it('ne at an instant finds the others', async () => {
    expect(await updated(`ne${before.meta?.lastUpdated}`)).toEqual(idsOf(after));
  });

  it('eq on a year finds nothing written outside it: _lastUpdated=eq2010 and _lastUpdated=eq2099', async () => {
    expect(await updated('eq2010')).toEqual([]);
    expect(await updated('eq2099')).toEqual([]);
  });

  it('ap on a date long ago finds nothing written now: _lastUpdated=ap2010-10-01', async () => {
    expect(await updated('ap2010-10-01')).toEqual([]);
  });

  it('repetition is AND: ge[before]&le[before] is the one instant', async () => {
    const instant = before.meta?.lastUpdated as string;
    expect(await api.ids(`Patient?family=Updated${suffix}&_lastUpdated=ge${instant}&_lastUpdated=le${instant}`)).toEqual(idsOf(before));
  });
});

describe('unknown and unsupported parameters (search.html#errors, #conformance)', () => {
  it('lenient by default: an unknown parameter is ignored and the search runs on the others', async () => {
    expect(await api.ids(`Patient?_id=${first.id}&shoe-size=44`)).toEqual(idsOf(first));
  });

  it('reports the ignored parameter in an OperationOutcome entry with search.mode = outcome', async () => {
    const bundle = await api.search(`Patient?_id=${first.id}&shoe-size=44`);
    const [outcome] = outcomes(bundle);
    expect(outcomes(bundle)).toHaveLength(1);
    expect(outcome?.issue).toHaveLength(1);
    expect(outcome?.issue[0]).toMatchObject({ severity: 'warning', code: 'not-supported', expression: ['shoe-size'] });
    expect(outcome?.issue[0]?.diagnostics).toContain("'shoe-size'");
    expect(outcome?.issue[0]?.diagnostics).toContain('ignored');
  });

  it('lists only the parameters applied in the self link', async () => {
    const bundle = await api.search(`Patient?shoe-size=44&_id=${first.id}`);
    expect(linkParameters(bundle)).toEqual([['_id', first.id]]);
  });

  it('Prefer: handling=lenient behaves as the default', async () => {
    expect(await api.ids(`Patient?_id=${first.id}&shoe-size=44`, { prefer: 'handling=lenient' })).toEqual(idsOf(first));
  });

  it('Prefer: handling=strict rejects an unknown parameter with 400 naming it', async () => {
    const outcome = await api.fails(`Patient?_id=${first.id}&shoe-size=44`, 400, { prefer: 'handling=strict' });
    expectInvalidParameter(outcome, 'shoe-size', 'not a search parameter of Patient');
  });

  it('Prefer: handling=strict rejects a known parameter the server does not support (_text) with 400 naming it', async () => {
    const outcome = await api.fails(`Patient?_text=chalmers`, 400, { prefer: 'handling=strict' });
    expectInvalidParameter(outcome, '_text', 'not supported');
  });

  it('lenient: a known but unsupported parameter (_text) is ignored and reported', async () => {
    const bundle = await api.search(`Patient?_id=${first.id}&_text=chalmers`);
    expect(matches(bundle).map((entry) => entry.resource?.id)).toEqual([first.id]);
    expect(outcomes(bundle)[0]?.issue[0]).toMatchObject({ severity: 'warning', code: 'not-supported', expression: ['_text'] });
    expect(linkParameters(bundle)).toEqual([['_id', first.id]]);
  });

  it('an unknown modifier is a 400 even in lenient mode (search.html#modifiers "SHALL reject"): gender:sounds-like=m', async () => {
    const outcome = await api.fails('Patient?gender:sounds-like=m');
    expectInvalidParameter(outcome, 'gender:sounds-like', ':sounds-like');
  });
});

describe('empty parameters ("Empty parameters are not an error - they are just ignored by the server", search.html#errors)', () => {
  it('family= is ignored: the search runs on the other parameters', async () => {
    expect(await api.ids(`Patient?_id=${second.id}&family=`)).toEqual(idsOf(second));
  });

  it('family= is not in the self link', async () => {
    const bundle = await api.search(`Patient?_id=${second.id}&family=`);
    expect(linkParameters(bundle)).toEqual([['_id', second.id]]);
  });

  it('family= is not an error with Prefer: handling=strict either (it is neither unknown nor unsupported)', async () => {
    expect(await api.ids(`Patient?_id=${second.id}&family=`, { prefer: 'handling=strict' })).toEqual(idsOf(second));
  });
});

describe('POST [type]/_search with a form body (search.html#Introduction)', () => {
  async function postSearch(body: string, query = ''): Promise<Response> {
    return server.fetch(`${server.baseUrl}/Patient/_search${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
  }

  it('gives the same matches as the GET with the same parameters', async () => {
    const response = await postSearch(new URLSearchParams({ family: FAMILY, gender: 'male' }).toString());
    expect(response.status).toBe(200);
    const posted = (await response.json()) as Bundle;
    expect(posted).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    const got = await api.ids(`Patient?family=${FAMILY}&gender=male`);
    expect(got).toEqual(idsOf(second, third));
    expect(matches(posted).map((entry) => entry.resource?.id as string).sort()).toEqual(got);
  });

  it('combines parameters in the URL and in the body (AND)', async () => {
    const response = await postSearch(new URLSearchParams({ gender: 'male' }).toString(), `?_id=${third.id},${first.id}`);
    expect(response.status).toBe(200);
    expect(matches((await response.json()) as Bundle).map((entry) => entry.resource?.id)).toEqual([third.id]);
  });

  it('lists the parameters it applied in the self link', async () => {
    const response = await postSearch(new URLSearchParams({ family: FAMILY, 'shoe-size': '44' }).toString());
    expect(linkParameters((await response.json()) as Bundle)).toEqual([['family', FAMILY]]);
  });
});
