/**
 * Composite search parameters (https://hl7.org/fhir/R4/search.html#composite): "take sequences of single values that
 * match other defined parameters as an argument ... formed by joining the single values with a $", so that a search
 * is "based on a pair of values" of the same element, not on an intersection of separate matches: "searching on
 * Group.characteristic where you need find a combination of key/value, not an intersection of separate matches on
 * key and value". "This sequence is a single value and itself can be composed into a set of values" (OR with `,`);
 * repetition is AND (search.html#combining). "Note: Modifiers are not used on composite parameters."
 */
import type { Observation, Quantity } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../../support/fhir-server';
import { expectInvalidParameter, idsOf, searchClient, type SearchClient } from './search-client';

const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';
const UCUM = 'http://unitsofmeasure.org';
const SYSTOLIC = `${LOINC}|8480-6`;
const DIASTOLIC = `${LOINC}|8462-4`;

let server: FhirTestServer;
let api: SearchClient;

let bloodPressure: Observation & { id: string };
let systolic130: Observation & { id: string };
let systolic110: Observation & { id: string };
let smoker: Observation & { id: string };
let smokerAsString: Observation & { id: string };
let onset: Observation & { id: string };

const mmHg = (value: number): Quantity => ({ value, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' });
const coded = (system: string, code: string) => ({ coding: [{ system, code }] });

beforeAll(async () => {
  server = await startFhirServer();
  api = searchClient(server);
  // systolic 130 and diastolic 80 as two components of one panel
  bloodPressure = await api.create<Observation>({
    resourceType: 'Observation',
    status: 'final',
    code: coded(LOINC, '85354-9'),
    component: [
      { code: coded(LOINC, '8480-6'), valueQuantity: mmHg(130) },
      { code: coded(LOINC, '8462-4'), valueQuantity: mmHg(80) },
    ],
  });
  systolic130 = await api.create<Observation>({ resourceType: 'Observation', status: 'final', code: coded(LOINC, '8480-6'), valueQuantity: mmHg(130) });
  systolic110 = await api.create<Observation>({ resourceType: 'Observation', status: 'final', code: coded(LOINC, '8480-6'), valueQuantity: mmHg(110) });
  smoker = await api.create<Observation>({
    resourceType: 'Observation',
    status: 'final',
    code: coded(LOINC, '72166-2'),
    valueCodeableConcept: coded(SNOMED, '449868002'),
  });
  // the same code as a string value: not a CodeableConcept, so not a value of code-value-concept
  smokerAsString = await api.create<Observation>({ resourceType: 'Observation', status: 'final', code: coded(LOINC, '72166-2'), valueString: '449868002' });
  onset = await api.create<Observation>({ resourceType: 'Observation', status: 'final', code: coded(LOINC, '11368-8'), valueDateTime: '2020-06-15' });
});

afterAll(async () => {
  await server.stop();
});

describe('code-value-quantity: code and value of the Observation itself', () => {
  it('code-value-quantity=http://loinc.org|8480-6$gt120 finds the systolic 130', async () => {
    expect(await api.ids(`Observation?code-value-quantity=${SYSTOLIC}$gt120`)).toEqual(idsOf(systolic130));
  });

  it('takes the quantity with its unit: ...$gt120|http://unitsofmeasure.org|mm[Hg]', async () => {
    expect(await api.ids(`Observation?code-value-quantity=${SYSTOLIC}$gt120|${UCUM}|mm[Hg]`)).toEqual(idsOf(systolic130));
  });

  it('does not look into components: the panel has no value of its own', async () => {
    expect(await api.ids(`Observation?code-value-quantity=${SYSTOLIC}$gt0`)).toEqual(idsOf(systolic110, systolic130));
  });

  it('a comma joins alternatives: ...8480-6$gt120,...8480-6$lt115 finds 130 and 110', async () => {
    expect(await api.ids(`Observation?code-value-quantity=${SYSTOLIC}$gt120,${SYSTOLIC}$lt115`)).toEqual(idsOf(systolic110, systolic130));
  });
});

describe('component-code-value-quantity: code and value of the same component', () => {
  it('component-code-value-quantity=http://loinc.org|8480-6$gt120 finds the panel with systolic 130', async () => {
    expect(await api.ids(`Observation?component-code-value-quantity=${SYSTOLIC}$gt120`)).toEqual(idsOf(bloodPressure));
  });

  it('component-code-value-quantity=http://loinc.org|8480-6$lt100 does not match the panel, although its diastolic component is 80', async () => {
    expect(await api.ids(`Observation?component-code-value-quantity=${SYSTOLIC}$lt100`)).toEqual([]);
  });

  it('component-code-value-quantity=http://loinc.org|8462-4$lt100 finds the panel by its diastolic 80', async () => {
    expect(await api.ids(`Observation?component-code-value-quantity=${DIASTOLIC}$lt100`)).toEqual(idsOf(bloodPressure));
  });

  // search.html#composite: "component-code-value-quantity=http://loinc.org|8480-6$lt60 ... systolic blood pressure < 60"
  it('component-code-value-quantity=http://loinc.org|8480-6$lt60 finds nothing', async () => {
    expect(await api.ids(`Observation?component-code-value-quantity=${SYSTOLIC}$lt60`)).toEqual([]);
  });

  it('repeating the parameter requires both pairs: systolic > 120 AND diastolic < 90', async () => {
    const query = `Observation?component-code-value-quantity=${SYSTOLIC}$gt120&component-code-value-quantity=${DIASTOLIC}$lt90`;
    expect(await api.ids(query)).toEqual(idsOf(bloodPressure));
  });

  it('repeating the parameter requires both pairs: systolic > 120 AND diastolic > 90 finds nothing', async () => {
    const query = `Observation?component-code-value-quantity=${SYSTOLIC}$gt120&component-code-value-quantity=${DIASTOLIC}$gt90`;
    expect(await api.ids(query)).toEqual([]);
  });
});

// observation.html#search: combo-code-value-quantity is "Code and quantity value parameter pair, including in
// components", expression `Observation | Observation.component`.
describe('combo-code-value-quantity: the Observation or any of its components', () => {
  it('combo-code-value-quantity=http://loinc.org|8480-6$gt120 finds the panel and the single systolic 130', async () => {
    expect(await api.ids(`Observation?combo-code-value-quantity=${SYSTOLIC}$gt120`)).toEqual(idsOf(bloodPressure, systolic130));
  });
});

describe('composites of other component types', () => {
  it('code-value-concept=token$token: http://loinc.org|72166-2$http://snomed.info/sct|449868002', async () => {
    expect(await api.ids(`Observation?code-value-concept=${LOINC}|72166-2$${SNOMED}|449868002`)).toEqual(idsOf(smoker));
    expect(await api.ids(`Observation?code-value-concept=${LOINC}|72166-2$${SNOMED}|266919005`)).toEqual([]);
  });

  // The components' expressions are `value.as(CodeableConcept)` and `value.as(string)`: a value of another type is none.
  it('code-value-concept does not match a string value that looks like the code', async () => {
    expect(await api.ids(`Observation?code-value-concept=${LOINC}|72166-2$449868002`)).toEqual(idsOf(smoker));
    expect(await api.ids(`Observation?code-value-concept=${LOINC}|72166-2$${SNOMED}|449868002`)).not.toContain(smokerAsString.id);
  });

  it('code-value-string does not match a Quantity value: ...8480-6$130 finds nothing', async () => {
    expect(await api.ids(`Observation?code-value-string=${SYSTOLIC}$130`)).toEqual([]);
  });

  it('code-value-string=token$string matches the string value by its start', async () => {
    expect(await api.ids(`Observation?code-value-string=${LOINC}|72166-2$4498`)).toEqual(idsOf(smokerAsString));
  });

  it('code-value-date=token$date applies the date prefix: ...11368-8$ge2020-06 matches, ...$lt2020-06 does not', async () => {
    expect(await api.ids(`Observation?code-value-date=${LOINC}|11368-8$ge2020-06`)).toEqual(idsOf(onset));
    expect(await api.ids(`Observation?code-value-date=${LOINC}|11368-8$lt2020-06`)).toEqual([]);
  });
});

describe('malformed composite values are 400 (search.html#errors)', () => {
  it('rejects a value with one component where two are defined', async () => {
    const outcome = await api.fails(`Observation?code-value-quantity=${SYSTOLIC}`);
    expectInvalidParameter(outcome, 'code-value-quantity', "'$'");
  });

  it('rejects a bad number in the quantity component', async () => {
    const outcome = await api.fails(`Observation?code-value-quantity=${SYSTOLIC}$high`);
    expectInvalidParameter(outcome, 'code-value-quantity', "'high'");
  });

  // "Modifiers are not used on composite parameters"; search.html#modifiers: unsupported modifiers are a 400.
  it('rejects a modifier such as :exact on a composite parameter', async () => {
    const outcome = await api.fails(`Observation?code-value-quantity:exact=${SYSTOLIC}$gt120`);
    expectInvalidParameter(outcome, 'code-value-quantity:exact', ':exact');
  });
});
