/**
 * Number (https://hl7.org/fhir/R4/search.html#number), quantity (search.html#quantity) and uri (search.html#uri)
 * search parameters.
 * - number: "[parameter]=100: Values that equal 100, to 3 significant figures precision, so this is actually
 *   searching for values in the range [99.5 ... 100.5)"; "100.00 ... [99.995 ... 100.005)"; "1e2 ... [95 ... 105)" (but see the case below);
 *   "lt100 Values that are less than exactly 100" (and le, gt, ge alike); "ne100 Values that are not equal to 100
 *   (actually, in the range 99.5 to 100.5)"; "When a comparison prefix in the set lgt, lt, ge, le, sa & eb is
 *   provided, the implicit precision of the number is ignored"; "100 and 1.00e2 both have the same number of
 *   significant digits - three". A Range in the resource is explicitly a range (search.html#prefix).
 * - quantity: `[prefix][number]|[system]|[code]`; `5.4||mg` matches "either the code (code) or the stated human unit
 *   (unit)"; `5.4` alone is "irrespective of the unit". This server does not convert units (UCUM canonical forms):
 *   the specification leaves that to the server ("The search processor may choose to perform a search based on
 *   canonical units"), so `mg` never matches a value stored in `g`.
 * - uri: "matches are precise (e.g. case, accent, and escape) sensitive, and the entire URI must match"; `:below`
 *   and `:above`; "the :above and :below modifiers only apply to URLs, and not URNS such as OIDs".
 */
import type { Bundle, ChargeItem, Observation, Quantity, RiskAssessment, ValueSet } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../../support/fhir-server';
import { expectInvalidParameter, idsOf, matches, searchClient, searchUrl, type SearchClient } from './search-client';

const UCUM = 'http://unitsofmeasure.org';

let server: FhirTestServer;
let api: SearchClient;

/** The decimals stored, one ChargeItem.factorOverride each (the `factor-override` number parameter). */
const factors = [94, 96, 99.4, 99.5, 99.6, 99.9, 99.99, 99.996, 100, 100.004, 100.01, 100.1, 100.4, 100.5, 100.6, 104, 106, 109, 115];

/** The factors of the ChargeItems a search matched, ascending. */
async function factorsMatching(search: string): Promise<number[]> {
  const bundle = await api.search(`ChargeItem?factor-override=${search}&_count=100`);
  return matches(bundle)
    .map((entry) => (entry.resource as ChargeItem).factorOverride as number)
    .sort((a, b) => a - b);
}

let rangeRisk: RiskAssessment & { id: string };
let pointRisk: RiskAssessment & { id: string };
let highRisk: RiskAssessment & { id: string };

const quantities: Record<string, Quantity> = {
  '5.4 mg (UCUM)': { value: 5.4, unit: 'mg', system: UCUM, code: 'mg' },
  '5.4 unit "mg" without system or code': { value: 5.4, unit: 'mg' },
  '5.4 g (UCUM)': { value: 5.4, unit: 'g', system: UCUM, code: 'g' },
  '0.0054 g (UCUM)': { value: 0.0054, unit: 'g', system: UCUM, code: 'g' },
  '5.46 mg (UCUM)': { value: 5.46, unit: 'mg', system: UCUM, code: 'mg' },
};
const observations: Record<string, Observation & { id: string }> = {};
const obs = (name: keyof typeof quantities): Observation & { id: string } => observations[name] as Observation & { id: string };

const valueSets: Record<string, ValueSet & { id: string }> = {};
const vs = (url: string): ValueSet & { id: string } => valueSets[url] as ValueSet & { id: string };
const VS_123 = 'http://acme.org/fhir/ValueSet/123';
const VS_124 = 'http://acme.org/fhir/ValueSet/124';
const VS_OTHER = 'http://acme.org/other/ValueSet/9';
const VS_OID = 'urn:oid:1.2.3.4.5';

beforeAll(async () => {
  server = await startFhirServer();
  api = searchClient(server);
  const patient = await api.create({ resourceType: 'Patient' });
  const subject = { reference: `Patient/${patient.id}` };
  for (const factorOverride of factors) {
    await api.create<ChargeItem>({ resourceType: 'ChargeItem', status: 'billable', code: { text: 'consultation' }, subject, factorOverride });
  }
  rangeRisk = await api.create<RiskAssessment>({
    resourceType: 'RiskAssessment',
    status: 'final',
    subject,
    // ras-1: a probability Range is in percent
    prediction: [{ probabilityRange: { low: { value: 20, unit: '%', system: UCUM, code: '%' }, high: { value: 40, unit: '%', system: UCUM, code: '%' } } }],
  });
  pointRisk = await api.create<RiskAssessment>({ resourceType: 'RiskAssessment', status: 'final', subject, prediction: [{ probabilityDecimal: 30 }] });
  highRisk = await api.create<RiskAssessment>({ resourceType: 'RiskAssessment', status: 'final', subject, prediction: [{ probabilityDecimal: 90 }] });
  const code = { coding: [{ system: 'http://loinc.org', code: '2823-3' }] };
  for (const [name, valueQuantity] of Object.entries(quantities)) {
    observations[name] = await api.create<Observation>({ resourceType: 'Observation', status: 'final', code, valueQuantity });
  }
  for (const url of [VS_123, VS_124, VS_OTHER, VS_OID]) {
    valueSets[url] = await api.create<ValueSet>({ resourceType: 'ValueSet', status: 'active', url });
  }
});

afterAll(async () => {
  await server.stop();
});

describe('number: the implicit range of the search value (search.html#number)', () => {
  it('factor-override=100 matches [99.5, 100.5): 99.5 in, 100.5 out', async () => {
    expect(await factorsMatching('100')).toEqual([99.5, 99.6, 99.9, 99.99, 99.996, 100, 100.004, 100.01, 100.1, 100.4]);
  });

  it('factor-override=100.00 matches [99.995, 100.005)', async () => {
    expect(await factorsMatching('100.00')).toEqual([99.996, 100, 100.004]);
  });

  it('factor-override=1.00e2 has three significant digits like 100: [99.5, 100.5)', async () => {
    expect(await factorsMatching('1.00e2')).toEqual(await factorsMatching('100'));
  });

  // The table of search.html#number gives 1e2 the range [95 ... 105), but the rule below it ("The number of
  // significant digits of the implicit range is the number of digits specified in the search parameter value")
  // gives 1e2 one significant digit, so [50, 150): the specification contradicts itself, and the server follows the
  // rule, which also explains every other row of the table (100 -> [99.5, 100.5), 100.00 -> [99.995, 100.005)).
  it('factor-override=1e2 matches [50, 150), the range of one significant digit', async () => {
    expect(await factorsMatching('1e2')).toEqual([...factors].filter((f) => f >= 50 && f < 150).sort((a, b) => a - b));
  });

  it('factor-override=ne100 matches values outside [99.5, 100.5)', async () => {
    expect(await factorsMatching('ne100')).toEqual([94, 96, 99.4, 100.5, 100.6, 104, 106, 109, 115]);
  });
});

describe('number: prefixes compare with the exact value, the precision is ignored (search.html#number)', () => {
  it('lt100: less than exactly 100', async () => {
    expect(await factorsMatching('lt100')).toEqual([94, 96, 99.4, 99.5, 99.6, 99.9, 99.99, 99.996]);
  });

  it('le100: less than or equal to exactly 100', async () => {
    expect(await factorsMatching('le100')).toEqual([94, 96, 99.4, 99.5, 99.6, 99.9, 99.99, 99.996, 100]);
  });

  it('gt100: greater than exactly 100', async () => {
    expect(await factorsMatching('gt100')).toEqual([100.004, 100.01, 100.1, 100.4, 100.5, 100.6, 104, 106, 109, 115]);
  });

  it('ge100: greater than or equal to exactly 100', async () => {
    expect(await factorsMatching('ge100')).toEqual([100, 100.004, 100.01, 100.1, 100.4, 100.5, 100.6, 104, 106, 109, 115]);
  });

  it('sa100.5 and eb99.5: start after / end before the exact value', async () => {
    expect(await factorsMatching('sa100.5')).toEqual([100.6, 104, 106, 109, 115]);
    expect(await factorsMatching('eb99.5')).toEqual([94, 96, 99.4]);
  });

  it('ap100: within the recommended 10% of the value (109 in, 115 out)', async () => {
    const found = await factorsMatching('ap100');
    expect(found).toEqual(expect.arrayContaining([94, 96, 100, 104, 106, 109]));
    expect(found).not.toContain(115);
  });

  it('factor-override=99.5,115 is an OR list', async () => {
    expect(await factorsMatching('99.5,115')).toEqual([99.5, 115]);
  });

  it('rejects factor-override=abc and factor-override=zz100 with 400', async () => {
    expectInvalidParameter(await api.fails('ChargeItem?factor-override=abc'), 'factor-override', "'abc'");
    expectInvalidParameter(await api.fails('ChargeItem?factor-override=zz100'), 'factor-override', "'zz100'");
  });
});

describe('number on a Range: RiskAssessment.prediction.probability[x] (search.html#prefix "the target is explicitly a range")', () => {
  // Stored: the decimal 30, the decimal 90 and the Range 20..40 (in percent, as invariant ras-1 requires).
  // search.html#number: "GET [base]/RiskAssessment?probability=gt0.8 ... (could also be probability=gt8e-1)".
  it('probability=gt80 and probability=gt8e1 find the prediction 90', async () => {
    expect(await api.ids('RiskAssessment?probability=gt80')).toEqual(idsOf(highRisk));
    expect(await api.ids('RiskAssessment?probability=gt8e1')).toEqual(idsOf(highRisk));
  });

  it('probability=30 matches the point 30 but not the range 20..40, which [29.5, 30.5) does not contain', async () => {
    expect(await api.ids('RiskAssessment?probability=30')).toEqual(idsOf(pointRisk));
  });

  it('probability=gt30 matches the range 20..40, whose part above 30 overlaps, not the point 30', async () => {
    expect(await api.ids('RiskAssessment?probability=gt30')).toEqual(idsOf(rangeRisk, highRisk));
  });

  it('probability=lt25 matches the range 20..40 only', async () => {
    expect(await api.ids('RiskAssessment?probability=lt25')).toEqual(idsOf(rangeRisk));
  });

  it('probability=eb35 matches the point 30, not the range that ends at 40', async () => {
    expect(await api.ids('RiskAssessment?probability=eb35')).toEqual(idsOf(pointRisk));
  });

  it('probability=sa10 matches every prediction, all starting after 10', async () => {
    expect(await api.ids('RiskAssessment?probability=sa10')).toEqual(idsOf(rangeRisk, pointRisk, highRisk));
  });
});

describe('quantity: [prefix][number]|[system]|[code] (search.html#quantity)', () => {
  // "value-quantity=5.4|http://unitsofmeasure.org|mg: a value of 5.4(+/-0.05) mg where mg is understood as a UCUM unit"
  it('value-quantity=5.4|http://unitsofmeasure.org|mg matches 5.4 mg in UCUM only', async () => {
    expect(await api.ids(`Observation?value-quantity=5.4|${UCUM}|mg`)).toEqual(idsOf(obs('5.4 mg (UCUM)')));
  });

  // "value-quantity=5.4||mg: ... where the unit - either the code (code) or the stated human unit (unit) are mg"
  it('value-quantity=5.4||mg matches the code or the human unit "mg"', async () => {
    expect(await api.ids('Observation?value-quantity=5.4||mg')).toEqual(idsOf(obs('5.4 mg (UCUM)'), obs('5.4 unit "mg" without system or code')));
  });

  // "value-quantity=5.4: ... a value of 5.4(+/-0.05) irrespective of the unit"
  it('value-quantity=5.4 matches 5.4 in any unit, not 5.46', async () => {
    expect(await api.ids('Observation?value-quantity=5.4')).toEqual(
      idsOf(obs('5.4 mg (UCUM)'), obs('5.4 unit "mg" without system or code'), obs('5.4 g (UCUM)')),
    );
  });

  // "value-quantity=5.40e-3|http://unitsofmeasure.org|g: a value of 0.0054(+/-0.000005) g"
  it('value-quantity=5.40e-3|http://unitsofmeasure.org|g matches 0.0054 g', async () => {
    expect(await api.ids(`Observation?value-quantity=5.40e-3|${UCUM}|g`)).toEqual(idsOf(obs('0.0054 g (UCUM)')));
  });

  // "value-quantity=le5.4|http://unitsofmeasure.org|mg: less than 5.4 mg exactly"
  it('value-quantity=le5.4|http://unitsofmeasure.org|mg matches 5.4 mg, not 5.46 mg', async () => {
    expect(await api.ids(`Observation?value-quantity=le5.4|${UCUM}|mg`)).toEqual(idsOf(obs('5.4 mg (UCUM)')));
  });

  it('value-quantity=gt5.4|http://unitsofmeasure.org|mg matches 5.46 mg', async () => {
    expect(await api.ids(`Observation?value-quantity=gt5.4|${UCUM}|mg`)).toEqual(idsOf(obs('5.46 mg (UCUM)')));
  });

  // "value-quantity=ap5.4|http://unitsofmeasure.org|mg: about 5.4 mg ... (typically, within 10% of the value)"
  it('value-quantity=ap5.4|http://unitsofmeasure.org|mg matches 5.4 mg and 5.46 mg', async () => {
    expect(await api.ids(`Observation?value-quantity=ap5.4|${UCUM}|mg`)).toEqual(idsOf(obs('5.4 mg (UCUM)'), obs('5.46 mg (UCUM)')));
  });

  it('does not convert units: 5.4 mg does not match 0.0054 g (canonical units are optional in search.html#quantity)', async () => {
    expect(await api.ids(`Observation?value-quantity=5.4|${UCUM}|mg`)).not.toContain(obs('0.0054 g (UCUM)').id);
  });

  it('rejects value-quantity=5.4|mg (two parts) with 400', async () => {
    expectInvalidParameter(await api.fails('Observation?value-quantity=5.4|mg'), 'value-quantity', "'5.4|mg'");
  });
});

describe('uri (search.html#uri)', () => {
  // "GET [base]/ValueSet?url=http://acme.org/fhir/ValueSet/123"
  it('url=http://acme.org/fhir/ValueSet/123 matches that exact URL only', async () => {
    expect(await api.ids(`ValueSet?url=${VS_123}`)).toEqual(idsOf(vs(VS_123)));
  });

  it('matches the entire URI: url=http://acme.org/fhir/ValueSet/12 finds nothing', async () => {
    expect(await api.ids('ValueSet?url=http://acme.org/fhir/ValueSet/12')).toEqual([]);
  });

  it('is case-sensitive: url=http://acme.org/fhir/valueset/123 finds nothing', async () => {
    expect(await api.ids('ValueSet?url=http://acme.org/fhir/valueset/123')).toEqual([]);
  });

  // "GET [base]/ValueSet?url=urn:oid:1.2.3.4.5"
  it('url=urn:oid:1.2.3.4.5 matches the OID', async () => {
    expect(await api.ids(`ValueSet?url=${VS_OID}`)).toEqual(idsOf(vs(VS_OID)));
  });

  // search.html#escaping: "GET [base]/ValueSet?url=http://acme.org/fhir/ValueSet/123,http://acme.org/fhir/ValueSet/124"
  it('url=[123],[124] is an OR list', async () => {
    expect(await api.ids(`ValueSet?url=${VS_123},${VS_124}`)).toEqual(idsOf(vs(VS_123), vs(VS_124)));
  });

  // "GET [base]/ValueSet?url:below=http://acme.org/fhir/ ... any value sets that have a URL that starts with"
  it('url:below=http://acme.org/fhir/ matches the URLs that start with it', async () => {
    expect(await api.ids('ValueSet?url:below=http://acme.org/fhir/')).toEqual(idsOf(vs(VS_123), vs(VS_124)));
  });

  // "GET [base]/ValueSet?url:above=http://acme.org/fhir/ValueSet/123/_history/5 ... will match on any value set with
  // the specified URL"
  it('url:above=http://acme.org/fhir/ValueSet/123/_history/5 matches http://acme.org/fhir/ValueSet/123', async () => {
    expect(await api.ids('ValueSet?url:above=http://acme.org/fhir/ValueSet/123/_history/5')).toEqual(idsOf(vs(VS_123)));
  });

  // "Note that the :above and :below modifiers only apply to URLs, and not URNS such as OIDs"
  // (Whether the server rejects the modifier on a URN or applies it as an exact match is not specified; either is fine.)
  it('url:below=urn:oid:1.2.3 does not left-match urn:oid:1.2.3.4.5 (:below is not for URNs)', async () => {
    const response = await server.fetch(searchUrl(server.baseUrl, 'ValueSet?url:below=urn:oid:1.2.3'));
    const body = (await response.json()) as Bundle;
    expect([200, 400]).toContain(response.status);
    const found = response.status === 200 ? matches(body).map((entry) => entry.resource?.id) : [];
    expect(found).not.toContain(vs(VS_OID).id);
  });
});
