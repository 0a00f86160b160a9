/**
 * String search parameters (https://hl7.org/fhir/R4/search.html#string): "This search is insensitive to casing and
 * included combining characters, like accents or other diacritical marks. Punctuation and non-significant whitespace
 * (e.g. repeated space characters, tab vs space) should also be ignored. By default, a field matches a string query
 * if the value of the field equals or starts with the supplied parameter value"; `:contains` and `:exact`
 * (search.html#modifiers), OR with `,` and AND by repetition (search.html#combining), `\,` (search.html#escaping),
 * `:missing` (search.html#missing). On HumanName and Address "the search covers the elements of type string, and does
 * not cover elements such as `use` and `period`".
 */
import type { Patient } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../../support/fhir-server';
import { expectInvalidParameter, idsOf, searchClient, type SearchClient } from './search-client';

let server: FhirTestServer;
let api: SearchClient;

const patients: Record<string, Patient & { id: string }> = {};
const patient = (key: string): Patient & { id: string } => patients[key] as Patient & { id: string };

const fixtures: Record<string, Patient> = {
  chalmers: {
    resourceType: 'Patient',
    name: [{ use: 'official', family: 'Chalmers', given: ['Peter', 'James'], prefix: ['Dr'], suffix: ['III'], text: 'Dr Peter James Chalmers III', period: { start: '1974-12-25' } }],
    address: [{ use: 'home', line: ['534 Erewhon St'], city: 'PleasantVille', district: 'Rainbow', state: 'Vic', postalCode: '3999', country: 'Australia', text: '534 Erewhon St PleasantVille Vic 3999' }],
  },
  muller: { resourceType: 'Patient', name: [{ family: 'Müller', given: ['Zoë'] }], address: [{ city: 'Zürich' }] },
  eve: { resourceType: 'Patient', name: [{ family: 'Adams', given: ['Eve'] }] },
  eveLower: { resourceType: 'Patient', name: [{ family: 'Baker', given: ['eve'] }] },
  eveUpper: { resourceType: 'Patient', name: [{ family: 'Clarke', given: ['EVE'] }] },
  evelyn: { resourceType: 'Patient', name: [{ family: 'Dodd', given: ['Evelyn'] }] },
  severine: { resourceType: 'Patient', name: [{ family: 'Ellis', given: ['Severine'] }] },
  carrenoQuinones: { resourceType: 'Patient', name: [{ family: 'Carreno Quinones', given: ['Maria'] }] },
  obrien: { resourceType: 'Patient', name: [{ family: "O'Brien", given: ['Sean'] }] },
  smithJones: { resourceType: 'Patient', name: [{ family: 'Smith,Jones', given: ['Alex'] }] },
  smith: { resourceType: 'Patient', name: [{ family: 'Smith', given: ['Blair'] }] },
  jones: { resourceType: 'Patient', name: [{ family: 'Jones', given: ['Casey'] }] },
  backslash: { resourceType: 'Patient', name: [{ family: 'Back\\slash', given: ['Dana'] }] },
  nameless: { resourceType: 'Patient', gender: 'unknown' },
};

beforeAll(async () => {
  server = await startFhirServer();
  api = searchClient(server);
  for (const [key, resource] of Object.entries(fixtures)) patients[key] = await api.create(resource);
});

afterAll(async () => {
  await server.stop();
});

describe('default matching: case- and accent-insensitive, equal to or starting the value (search.html#string)', () => {
  it('given=eve finds given names starting with "eve" in any case (Eve, eve, EVE, Evelyn) but not Severine', async () => {
    expect(await api.ids('Patient?given=eve')).toEqual(idsOf(patient('eve'), patient('eveLower'), patient('eveUpper'), patient('evelyn')));
  });

  it('ignores case in the search value: family=CHALMERS finds Chalmers', async () => {
    expect(await api.ids('Patient?family=CHALMERS')).toEqual(idsOf(patient('chalmers')));
  });

  it('ignores accents in the stored value: family=muller finds Müller', async () => {
    expect(await api.ids('Patient?family=muller')).toEqual(idsOf(patient('muller')));
  });

  it('ignores accents in the search value: given=Zoé finds Zoë', async () => {
    expect(await api.ids('Patient?given=Zoé')).toEqual(idsOf(patient('muller')));
  });

  it('does not match text in the middle of a value without :contains: family=almers finds nothing', async () => {
    expect(await api.ids('Patient?family=almers')).toEqual([]);
  });

  it('ignores repeated whitespace and tabs: name=Dr  Peter and name=Dr<TAB>Peter find "Dr Peter James Chalmers III"', async () => {
    expect(await api.ids('Patient?name=Dr  Peter')).toEqual(idsOf(patient('chalmers')));
    expect(await api.ids('Patient?name=Dr\tPeter')).toEqual(idsOf(patient('chalmers')));
  });

  // search.html#string: "Punctuation ... should also be ignored" (a SHOULD).
  it('ignores punctuation: family=obrien finds O\'Brien', async () => {
    expect(await api.ids('Patient?family=obrien')).toEqual(idsOf(patient('obrien')));
  });

  // search.html#string: "servers should search the parts of a family name independently. E.g. searching either
  // "Carreno" or "Quinones" should match a family name of "Carreno Quinones"" (a SHOULD).
  it('matches each part of a family name independently: family=Quinones finds "Carreno Quinones"', async () => {
    expect(await api.ids('Patient?family=Carreno')).toEqual(idsOf(patient('carrenoQuinones')));
    expect(await api.ids('Patient?family=Quinones')).toEqual(idsOf(patient('carrenoQuinones')));
  });
});

describe('HumanName and Address: every element of type string, not use or period (search.html#string)', () => {
  it.each([
    ['family', 'Chalmers'],
    ['first given', 'Peter'],
    ['second given', 'James'],
    ['prefix', 'Dr'],
    ['suffix', 'III'],
    ['text', 'Dr Peter James Chalmers'],
  ])('name matches the %s of a HumanName (name=%s)', async (_part, value) => {
    expect(await api.ids(`Patient?name=${value}`)).toEqual(idsOf(patient('chalmers')));
  });

  it('name does not match HumanName.use: name=official finds nothing', async () => {
    expect(await api.ids('Patient?name=official')).toEqual([]);
  });

  it('name does not match HumanName.period: name=1974 finds nothing', async () => {
    expect(await api.ids('Patient?name=1974')).toEqual([]);
  });

  it.each([
    ['line', '534 Erewhon'],
    ['city', 'PleasantVille'],
    ['district', 'Rainbow'],
    ['state', 'Vic'],
    ['postalCode', '3999'],
    ['country', 'Australia'],
    ['text', '534 Erewhon St PleasantVille'],
  ])('address matches the %s of an Address (address=%s)', async (_part, value) => {
    expect(await api.ids(`Patient?address=${value}`)).toEqual(idsOf(patient('chalmers')));
  });

  it('address does not match Address.use: address=home finds nothing', async () => {
    expect(await api.ids('Patient?address=home')).toEqual([]);
  });

  it('address-city matches the city only, by its start and without accents: address-city=zur finds Zürich', async () => {
    expect(await api.ids('Patient?address-city=zur')).toEqual(idsOf(patient('muller')));
    expect(await api.ids('Patient?address-city=Vic')).toEqual([]);
  });
});

describe(':exact (search.html#modifiers: "the entire supplied parameter, including casing and combining characters")', () => {
  it('given:exact=Eve finds "Eve" but neither "eve", "EVE" nor "Evelyn"', async () => {
    expect(await api.ids('Patient?given:exact=Eve')).toEqual(idsOf(patient('eve')));
  });

  it('is accent-sensitive: family:exact=Muller finds nothing, family:exact=Müller finds Müller', async () => {
    expect(await api.ids('Patient?family:exact=Muller')).toEqual([]);
    expect(await api.ids('Patient?family:exact=Müller')).toEqual(idsOf(patient('muller')));
  });

  it('matches whole values only: family:exact=Chalm finds nothing', async () => {
    expect(await api.ids('Patient?family:exact=Chalm')).toEqual([]);
  });
});

describe(':contains (search.html#string: "the supplied parameter value anywhere within the field being searched")', () => {
  it('given:contains=eve finds Eve, eve, EVE, Evelyn and also Severine', async () => {
    expect(await api.ids('Patient?given:contains=eve')).toEqual(
      idsOf(patient('eve'), patient('eveLower'), patient('eveUpper'), patient('evelyn'), patient('severine')),
    );
  });

  it('is case- and accent-insensitive: family:contains=ULL finds Müller', async () => {
    expect(await api.ids('Patient?family:contains=ULL')).toEqual(idsOf(patient('muller')));
  });

  it('searches inside an address line: address:contains=rewhon finds "534 Erewhon St"', async () => {
    expect(await api.ids('Patient?address:contains=rewhon')).toEqual(idsOf(patient('chalmers')));
  });
});

describe('several values: a comma is OR, a repeated parameter is AND (search.html#combining)', () => {
  it('given=Evelyn,Severine finds patients with either name', async () => {
    expect(await api.ids('Patient?given=Evelyn,Severine')).toEqual(idsOf(patient('evelyn'), patient('severine')));
  });

  it('given=Peter&given=James finds the patient with both names', async () => {
    expect(await api.ids('Patient?given=Peter&given=James')).toEqual(idsOf(patient('chalmers')));
  });

  it('given=Peter&given=Evelyn finds nothing: no patient has both', async () => {
    expect(await api.ids('Patient?given=Peter&given=Evelyn')).toEqual([]);
  });
});

describe('escaping (search.html#escaping)', () => {
  it('family=Smith\\,Jones is the one value "Smith,Jones"', async () => {
    expect(await api.ids('Patient?family=Smith\\,Jones')).toEqual(idsOf(patient('smithJones')));
  });

  it('family=Smith,Jones is Smith OR Jones (and "Smith,Jones" starts with Smith)', async () => {
    expect(await api.ids('Patient?family=Smith,Jones')).toEqual(idsOf(patient('smith'), patient('jones'), patient('smithJones')));
  });

  it('family=Back\\\\slash is the literal value "Back\\slash"', async () => {
    expect(await api.ids('Patient?family=Back\\\\slash')).toEqual(idsOf(patient('backslash')));
  });

  // search.html#escaping: "The parameter value xx\xx is illegal"; search.html#errors: "Where the content of the
  // parameter is syntactically incorrect, servers SHOULD return an error".
  it('rejects a backslash that escapes nothing (family=Back\\slash) with 400', async () => {
    const outcome = await api.fails('Patient?family=Back\\slash');
    expectInvalidParameter(outcome, 'family');
  });
});

describe(':missing (search.html#modifiers, #missing)', () => {
  it('name:missing=true finds only the patient without a name', async () => {
    expect(await api.ids('Patient?name:missing=true')).toEqual(idsOf(patient('nameless')));
  });

  it('name:missing=false finds every patient with a name', async () => {
    const named = Object.entries(patients).filter(([key]) => key !== 'nameless').map(([, p]) => p);
    expect(await api.ids('Patient?name:missing=false&_count=100')).toEqual(idsOf(...named));
  });

  it('rejects name:missing=maybe with 400', async () => {
    const outcome = await api.fails('Patient?name:missing=maybe');
    expectInvalidParameter(outcome, 'name:missing', "'maybe'");
  });
});

describe('modifiers the server does not support (search.html#modifiers: "Server SHALL reject ... using an HTTP 400")', () => {
  it('rejects name:text=peter with 400 saying :text is not supported', async () => {
    const outcome = await api.fails('Patient?name:text=peter');
    expectInvalidParameter(outcome, 'name:text', ':text', 'not supported');
  });

  it('rejects an unknown modifier, name:sounds-like=peter, with 400 naming it', async () => {
    const outcome = await api.fails('Patient?name:sounds-like=peter');
    expectInvalidParameter(outcome, 'name:sounds-like', ':sounds-like');
  });
});
