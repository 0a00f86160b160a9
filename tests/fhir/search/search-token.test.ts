/**
 * Token search parameters (https://hl7.org/fhir/R4/search.html#token): `[code]`, `[system]|[code]`, `|[code]` and
 * `[system]|` against Coding, CodeableConcept ("Matches against any coding"), Identifier, ContactPoint, code and
 * boolean; the meta parameters `_tag`, `_security` (tokens), `_profile` and `_source` (uris, search.html#all and the
 * summary table in #table); the modifiers `:not`, `:text`, `:of-type`, `:in`, `:not-in`, `:above`, `:below` and
 * `:missing` (search.html#token "Modifiers", #modifiers).
 */
import type { Condition, Encounter, Observation, Patient } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../../support/fhir-server';
import { expectInvalidParameter, idsOf, searchClient, uniqueSuffix, type SearchClient } from './search-client';

const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const LOINC = 'http://loinc.org';
const suffix = uniqueSuffix();
const ACME_MRN = `http://acme.org/mrn/${suffix}`;
const ACME_CODES = `http://acme.org/codes/${suffix}`;
const PROFILE = `http://example.org/fhir/StructureDefinition/acme-patient-${suffix}`;
const SOURCE = `http://example.org/source/${suffix}#lab-1`;

let server: FhirTestServer;
let api: SearchClient;

let male: Patient & { id: string };
let female: Patient & { id: string };
let unspecified: Patient & { id: string };
let systolic: Observation & { id: string };
let systolicNoSystem: Observation & { id: string };
let systolicOtherSystem: Observation & { id: string };
let twoCodings: Observation & { id: string };
let commaCode: Observation & { id: string };
let headacheDisplay: Condition & { id: string };
let headacheText: Condition & { id: string };
let migraine: Condition & { id: string };
let ambulatory: Encounter & { id: string };
let inpatient: Encounter & { id: string };

const observation = (code: Observation['code'], extra: Partial<Observation> = {}): Observation => ({ resourceType: 'Observation', status: 'final', code, ...extra });

beforeAll(async () => {
  server = await startFhirServer();
  api = searchClient(server);
  male = await api.create<Patient>({
    resourceType: 'Patient',
    meta: {
      tag: [{ system: ACME_CODES, code: 'needs-review', display: 'Needs review' }],
      security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }],
      profile: [PROFILE],
      source: SOURCE,
    },
    gender: 'male',
    active: true,
    identifier: [{ system: ACME_MRN, value: '12345', type: { coding: [{ system: V2_0203, code: 'MR' }], text: 'Medical record number' } }],
    telecom: [
      { system: 'phone', value: '555-0100' },
      { system: 'email', value: 'peter@example.org' },
    ],
  });
  female = await api.create<Patient>({
    resourceType: 'Patient',
    gender: 'female',
    active: false,
    identifier: [{ system: 'http://other.org/ids', value: '12345', type: { coding: [{ system: V2_0203, code: 'DL' }] } }],
    telecom: [{ system: 'phone', value: '555-0199' }],
  });
  unspecified = await api.create<Patient>({ resourceType: 'Patient', identifier: [{ value: '12345' }] });

  systolic = await api.create(
    observation(
      { coding: [{ system: LOINC, code: '8480-6', display: 'Systolic blood pressure' }], text: 'Blood pressure systolic' },
      { category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }] },
    ),
  );
  systolicNoSystem = await api.create(observation({ coding: [{ code: '8480-6' }] }, { status: 'preliminary' }));
  systolicOtherSystem = await api.create(observation({ coding: [{ system: ACME_CODES, code: '8480-6' }] }, { status: 'amended' }));
  twoCodings = await api.create(observation({ coding: [{ system: LOINC, code: '8462-4' }, { system: ACME_CODES, code: 'dia-bp' }] }));
  commaCode = await api.create(observation({ coding: [{ system: ACME_CODES, code: 'a,b' }] }));

  const subject = { reference: `Patient/${male.id}` };
  headacheDisplay = await api.create<Condition>({ resourceType: 'Condition', subject, code: { coding: [{ system: 'http://snomed.info/sct', code: '25064002', display: 'Headache' }] } });
  headacheText = await api.create<Condition>({
    resourceType: 'Condition',
    subject,
    code: { coding: [{ system: 'http://snomed.info/sct', code: '55680006', display: 'Injury' }], text: 'Headache after a fall' },
  });
  migraine = await api.create<Condition>({ resourceType: 'Condition', subject, code: { text: 'Migraine' } });

  const actCode = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
  ambulatory = await api.create<Encounter>({ resourceType: 'Encounter', status: 'finished', class: { system: actCode, code: 'AMB' } });
  inpatient = await api.create<Encounter>({ resourceType: 'Encounter', status: 'finished', class: { system: actCode, code: 'IMP' } });
});

afterAll(async () => {
  await server.stop();
});

describe('the four forms of a token value (search.html#token)', () => {
  it('[code] matches the code in any system or none: code=8480-6', async () => {
    expect(await api.ids('Observation?code=8480-6')).toEqual(idsOf(systolic, systolicNoSystem, systolicOtherSystem));
  });

  it('[system]|[code] matches the code in that system only: code=http://loinc.org|8480-6', async () => {
    expect(await api.ids(`Observation?code=${LOINC}|8480-6`)).toEqual(idsOf(systolic));
  });

  it('|[code] matches the code only where the Coding has no system: code=|8480-6', async () => {
    expect(await api.ids('Observation?code=|8480-6')).toEqual(idsOf(systolicNoSystem));
  });

  it('[system]| matches any code of that system: code=http://loinc.org|', async () => {
    expect(await api.ids(`Observation?code=${LOINC}|`)).toEqual(idsOf(systolic, twoCodings));
  });

  it('codes are matched literally, not by prefix: code=8480 finds nothing', async () => {
    expect(await api.ids('Observation?code=8480')).toEqual([]);
  });

  // search.html#escaping: "GET [base]/Observation?code=a\,b is a request for any Observation that has a code of a,b".
  it('code=a\\,b finds the code "a,b"; code=a,b is "a" OR "b"', async () => {
    expect(await api.ids('Observation?code=a\\,b')).toEqual(idsOf(commaCode));
    expect(await api.ids('Observation?code=a,b')).toEqual([]);
  });
});

describe('token parameters on each data type (search.html#token, table of data types)', () => {
  it('CodeableConcept: matches against any coding (code=http://acme.org/codes|dia-bp finds the second coding)', async () => {
    expect(await api.ids(`Observation?code=${ACME_CODES}|dia-bp`)).toEqual(idsOf(twoCodings));
  });

  it('Coding: Encounter.class, class=http://terminology.hl7.org/CodeSystem/v3-ActCode|AMB', async () => {
    expect(await api.ids('Encounter?class=http://terminology.hl7.org/CodeSystem/v3-ActCode|AMB')).toEqual(idsOf(ambulatory));
    expect(await api.ids('Encounter?class=IMP')).toEqual(idsOf(inpatient));
  });

  it('Identifier: identifier=12345 matches the value in any system', async () => {
    expect(await api.ids('Patient?identifier=12345')).toEqual(idsOf(male, female, unspecified));
  });

  it('Identifier: identifier=[system]|12345 matches Identifier.system and Identifier.value', async () => {
    expect(await api.ids(`Patient?identifier=${ACME_MRN}|12345`)).toEqual(idsOf(male));
  });

  it('Identifier: identifier=|12345 matches the identifier without a system', async () => {
    expect(await api.ids('Patient?identifier=|12345')).toEqual(idsOf(unspecified));
  });

  it('Identifier: identifier=[system]| matches any value in that system', async () => {
    expect(await api.ids(`Patient?identifier=${ACME_MRN}|`)).toEqual(idsOf(male));
  });

  it('code: gender=male', async () => {
    expect(await api.ids('Patient?gender=male')).toEqual(idsOf(male));
  });

  it('boolean: active=true and active=false', async () => {
    expect(await api.ids('Patient?active=true')).toEqual(idsOf(male));
    expect(await api.ids('Patient?active=false')).toEqual(idsOf(female));
  });

  it('ContactPoint: telecom=555-0100 matches ContactPoint.value', async () => {
    expect(await api.ids('Patient?telecom=555-0100')).toEqual(idsOf(male));
  });

  it('ContactPoint: phone and email match only telecoms of that system', async () => {
    expect(await api.ids('Patient?phone=555-0100')).toEqual(idsOf(male));
    expect(await api.ids('Patient?email=peter@example.org')).toEqual(idsOf(male));
    expect(await api.ids('Patient?email=555-0100')).toEqual([]);
  });
});

describe('meta parameters (search.html#all: _tag, _security, _profile, _source)', () => {
  // search.html#tag: "GET [base]/Condition?_tag=http://acme.org/codes|needs-review".
  it('_tag=[system]|needs-review matches Resource.meta.tag', async () => {
    expect(await api.ids(`Patient?_tag=${ACME_CODES}|needs-review`)).toEqual(idsOf(male));
    expect(await api.ids('Patient?_tag=needs-review')).toEqual(idsOf(male));
  });

  it('_security=[system]|R matches Resource.meta.security', async () => {
    expect(await api.ids('Patient?_security=http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R')).toEqual(idsOf(male));
  });

  it('_profile (a uri parameter in R4) matches Resource.meta.profile exactly', async () => {
    expect(await api.ids(`Patient?_profile=${PROFILE}`)).toEqual(idsOf(male));
    expect(await api.ids(`Patient?_profile=${PROFILE}-v2`)).toEqual([]);
  });

  it('_source (a uri parameter) matches Resource.meta.source exactly', async () => {
    expect(await api.ids(`Patient?_source=${SOURCE}`)).toEqual(idsOf(male));
  });
});

describe(':not (search.html#token: "return all resources that do not have a matching item")', () => {
  it('gender:not=male includes patients that do not have a gender at all', async () => {
    expect(await api.ids('Patient?gender:not=male')).toEqual(idsOf(female, unspecified));
  });

  // search.html#token, example Composition?section:not=48765-2: "the negation applies to the set, not each entry".
  it('code:not=[system]|dia-bp excludes an Observation whose other coding does not match', async () => {
    const ids = await api.ids(`Observation?code:not=${ACME_CODES}|dia-bp`);
    expect(ids).not.toContain(twoCodings.id);
    expect(ids).toEqual(idsOf(systolic, systolicNoSystem, systolicOtherSystem, commaCode));
  });
});

describe(':text (search.html#token: "either CodeableConcept.text, Coding.display, or Identifier.type.text ... a normal string search")', () => {
  // search.html#token: "Condition?code:text=headache ... (either in the text, or a display)".
  it('code:text=headache matches Coding.display and CodeableConcept.text', async () => {
    expect(await api.ids('Condition?code:text=headache')).toEqual(idsOf(headacheDisplay, headacheText));
  });

  it('is a case-insensitive starts-with like a string search: code:text=HEAD matches, code:text=fall does not', async () => {
    expect(await api.ids('Condition?code:text=HEAD')).toEqual(idsOf(headacheDisplay, headacheText));
    expect(await api.ids('Condition?code:text=fall')).toEqual([]);
  });

  it('does not match codes: code:text=25064002 finds nothing', async () => {
    expect(await api.ids('Condition?code:text=25064002')).toEqual([]);
  });

  it('identifier:text=medical matches Identifier.type.text', async () => {
    expect(await api.ids('Patient?identifier:text=medical')).toEqual(idsOf(male));
  });

  it('code:text=Migraine,Headache is an OR list', async () => {
    expect(await api.ids('Condition?code:text=Migraine,Headache')).toEqual(idsOf(headacheDisplay, headacheText, migraine));
  });
});

describe(':of-type (search.html#token: "system|code|value ... All 3 parts must be present")', () => {
  it('identifier:of-type=[v2-0203]|MR|12345 matches the identifier with that type and value', async () => {
    expect(await api.ids(`Patient?identifier:of-type=${V2_0203}|MR|12345`)).toEqual(idsOf(male));
  });

  it('does not match another type with the same value', async () => {
    expect(await api.ids(`Patient?identifier:of-type=${V2_0203}|DL|12345`)).toEqual(idsOf(female));
    expect(await api.ids(`Patient?identifier:of-type=${V2_0203}|PPN|12345`)).toEqual([]);
  });

  it('rejects a value with two parts (MR|12345) with 400', async () => {
    const outcome = await api.fails('Patient?identifier:of-type=MR|12345');
    expectInvalidParameter(outcome, 'identifier:of-type', 'MR|12345');
  });
});

describe(':in and :not-in (search.html#token: "tests whether the coding is in the specified value set")', () => {
  // search.html#token, table of data types: for `code` "the system is defined in the value set".
  it('gender:in=http://hl7.org/fhir/ValueSet/administrative-gender matches every patient with a gender (code element)', async () => {
    expect(await api.ids('Patient?gender:in=http://hl7.org/fhir/ValueSet/administrative-gender')).toEqual(idsOf(male, female));
  });

  it('status:in=http://hl7.org/fhir/ValueSet/observation-status matches every Observation (code element)', async () => {
    expect(await api.ids('Observation?status:in=http://hl7.org/fhir/ValueSet/observation-status')).toEqual(
      idsOf(systolic, systolicNoSystem, systolicOtherSystem, twoCodings, commaCode),
    );
  });

  it('category:in=http://hl7.org/fhir/ValueSet/observation-category matches a CodeableConcept coded from it', async () => {
    expect(await api.ids('Observation?category:in=http://hl7.org/fhir/ValueSet/observation-category')).toEqual(idsOf(systolic));
  });

  it('category:not-in=http://hl7.org/fhir/ValueSet/observation-category matches Observations without such a category', async () => {
    expect(await api.ids('Observation?category:not-in=http://hl7.org/fhir/ValueSet/observation-category')).toEqual(
      idsOf(systolicNoSystem, systolicOtherSystem, twoCodings, commaCode),
    );
  });

  it('gender:not-in=http://hl7.org/fhir/ValueSet/administrative-gender matches only the patient without a gender', async () => {
    expect(await api.ids('Patient?gender:not-in=http://hl7.org/fhir/ValueSet/administrative-gender')).toEqual(idsOf(unspecified));
  });

  it('rejects a value set the server does not know with 400 naming it', async () => {
    const url = `http://example.org/fhir/ValueSet/unknown-${suffix}`;
    const outcome = await api.fails(`Observation?code:in=${url}`);
    expectInvalidParameter(outcome, 'code:in', url);
  });

  it('rejects a value set it cannot expand without a terminology service (LOINC observation-codes) with 400', async () => {
    const outcome = await api.fails('Observation?code:in=http://hl7.org/fhir/ValueSet/observation-codes');
    expectInvalidParameter(outcome, 'code:in', 'http://hl7.org/fhir/ValueSet/observation-codes');
  });
});

describe(':above and :below (subsumption) are not supported: 400 (search.html#modifiers "Server SHALL reject")', () => {
  it('rejects code:below=http://snomed.info/sct|126851005 with 400 "not supported"', async () => {
    const outcome = await api.fails('Condition?code:below=http://snomed.info/sct|126851005');
    expectInvalidParameter(outcome, 'code:below', ':below', 'not supported');
  });

  it('rejects code:above=http://snomed.info/sct|126851005 with 400 "not supported"', async () => {
    const outcome = await api.fails('Condition?code:above=http://snomed.info/sct|126851005');
    expectInvalidParameter(outcome, 'code:above', ':above', 'not supported');
  });
});

describe(':missing (search.html#modifiers, #missing)', () => {
  it('gender:missing=true finds the patient without a gender', async () => {
    expect(await api.ids('Patient?gender:missing=true')).toEqual(idsOf(unspecified));
  });

  it('gender:missing=false finds the patients with a gender', async () => {
    expect(await api.ids('Patient?gender:missing=false')).toEqual(idsOf(male, female));
  });

  it('category:missing=true finds Observations without a category', async () => {
    expect(await api.ids('Observation?category:missing=true')).toEqual(idsOf(systolicNoSystem, systolicOtherSystem, twoCodings, commaCode));
  });
});
