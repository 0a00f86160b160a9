/**
 * Chained parameters (search.html#chaining), reverse chaining (search.html#has), and included resources
 * (search.html#include: `_include`, `_revinclude`, `:iterate`, `*`, entry.search.mode match/include), plus the
 * compartment search (search.html#compartment) and the system-level search with `_type` (search.html#all).
 */
import type { Bundle, BundleEntry, Encounter, Observation, OperationOutcome, Organization, Patient, Practitioner, Provenance, Resource } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../../support/fhir-server';

let server: FhirTestServer;
const run = Math.random().toString(36).slice(2, 8);

let org: Organization;
let doctor: Practitioner;
let alice: Patient;
let bob: Patient;
let aliceHeight: Observation;
let bobHeight: Observation;
let aliceWeight: Observation;
let encounter: Encounter;
let provenance: Provenance;

async function create<T extends Resource>(resource: T): Promise<T> {
  const response = await server.fetch(`${server.baseUrl}/${resource.resourceType}`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify(resource),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as T;
}

async function search(query: string, status = 200): Promise<Bundle> {
  const response = await server.fetch(`${server.baseUrl}/${query}`);
  expect(response.status).toBe(status);
  return (await response.json()) as Bundle;
}

const ids = (bundle: Bundle, mode?: 'match' | 'include'): string[] =>
  (bundle.entry ?? [])
    .filter((e: BundleEntry) => !mode || e.search?.mode === mode)
    .map((e) => `${e.resource?.resourceType}/${e.resource?.id}`)
    .sort();

const ref = (resource: Resource): string => `${resource.resourceType}/${resource.id}`;

const height = (subject: Patient, value: number): Observation => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8302-2', display: 'Body height' }] },
  subject: { reference: ref(subject) },
  valueQuantity: { value, unit: 'cm', system: 'http://unitsofmeasure.org', code: 'cm' },
});

beforeAll(async () => {
  server = await startFhirServer();
  org = await create<Organization>({ resourceType: 'Organization', name: `Clinic ${run}` });
  doctor = await create<Practitioner>({ resourceType: 'Practitioner', name: [{ family: `House${run}` }] });
  alice = await create<Patient>({
    resourceType: 'Patient',
    name: [{ family: `Alice${run}` }],
    identifier: [{ system: 'urn:mrn', value: `A-${run}` }],
    generalPractitioner: [{ reference: ref(doctor) }],
    managingOrganization: { reference: ref(org) },
  });
  bob = await create<Patient>({ resourceType: 'Patient', name: [{ family: `Bob${run}` }], identifier: [{ system: 'urn:mrn', value: `B-${run}` }] });
  aliceHeight = await create(height(alice, 170));
  bobHeight = await create(height(bob, 180));
  aliceWeight = await create<Observation>({
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] },
    subject: { reference: ref(alice) },
    performer: [{ reference: ref(doctor) }],
  });
  encounter = await create<Encounter>({
    resourceType: 'Encounter',
    status: 'finished',
    class: { code: 'AMB' },
    subject: { reference: ref(alice) },
    participant: [{ individual: { reference: ref(doctor) } }],
    serviceProvider: { reference: ref(org) },
  });
  provenance = await create<Provenance>({ resourceType: 'Provenance', target: [{ reference: ref(aliceHeight) }], recorded: '2024-01-01T00:00:00Z', agent: [{ who: { reference: ref(doctor) } }] });
});

afterAll(async () => {
  await server.stop();
});

describe('chaining (search.html#chaining)', () => {
  it('matches through a reference to a resource with the chained value', async () => {
    expect(ids(await search(`Observation?subject.name=alice${run}`))).toEqual([ref(aliceHeight), ref(aliceWeight)].sort());
  });

  it('narrows the chain to a type with :Type', async () => {
    expect(ids(await search(`Observation?subject:Patient.identifier=urn:mrn|B-${run}`))).toEqual([ref(bobHeight)]);
  });

  it('chains several levels', async () => {
    expect(ids(await search(`Observation?code=8302-2&subject:Patient.general-practitioner:Practitioner.name=house${run}`))).toEqual([ref(aliceHeight)]);
  });

  it('ANDs a chain with other parameters and matches nothing when the chain matches nothing', async () => {
    expect(ids(await search(`Observation?subject.name=alice${run}&code=29463-7`))).toEqual([ref(aliceWeight)]);
    expect(ids(await search(`Observation?subject.name=nobody${run}`))).toEqual([]);
  });

  it('answers 400 when the chained parameter is unknown on every target', async () => {
    const bundle = (await search(`Observation?subject:Patient.shoe-size=44`, 400)) as unknown as OperationOutcome;
    expect(bundle.issue[0]?.diagnostics).toBe("Parameter 'subject:Patient.shoe-size': no target of subject (Patient) has a search parameter 'shoe-size'");
  });
});

describe('reverse chaining (search.html#has)', () => {
  it('matches resources referred to by resources with the given value', async () => {
    expect(ids(await search(`Patient?_has:Observation:subject:code=29463-7`))).toContain(ref(alice));
    expect(ids(await search(`Patient?_has:Observation:subject:code=29463-7`))).not.toContain(ref(bob));
  });

  it('nests _has', async () => {
    expect(ids(await search(`Patient?_has:Observation:subject:_has:Provenance:target:agent=${ref(doctor)}`))).toEqual([ref(alice)]);
  });

  it('answers 400 for a _has through a parameter that is not a reference', async () => {
    await search(`Patient?_has:Observation:code:status=final`, 400);
  });
});

describe('_include and _revinclude (search.html#include)', () => {
  it('adds the referenced resources as include entries after the matches', async () => {
    const bundle = await search(`Encounter?_id=${encounter.id}&_include=Encounter:participant&_include=Encounter:service-provider`);
    expect(ids(bundle, 'match')).toEqual([ref(encounter)]);
    expect(ids(bundle, 'include')).toEqual([ref(doctor), ref(org)].sort());
    expect(bundle.entry?.[0]?.search?.mode).toBe('match');
    expect(bundle.total).toBe(1);
  });

  it('limits an include to a target type', async () => {
    const bundle = await search(`Observation?_id=${aliceWeight.id}&_include=Observation:performer:Organization`);
    expect(ids(bundle, 'include')).toEqual([]);
  });

  it('follows every reference parameter with *', async () => {
    expect(ids(await search(`Encounter?_id=${encounter.id}&_include=*`), 'include')).toEqual([ref(alice), ref(doctor), ref(org)].sort());
  });

  it('adds the resources that refer to the matches with _revinclude', async () => {
    const bundle = await search(`Patient?_id=${alice.id}&_revinclude=Observation:subject`);
    expect(ids(bundle, 'include')).toEqual([ref(aliceHeight), ref(aliceWeight)].sort());
  });

  it('repeats on included resources with :iterate', async () => {
    const plain = await search(`Patient?_id=${alice.id}&_revinclude=Observation:subject&_revinclude=Provenance:target`);
    expect(ids(plain, 'include')).not.toContain(ref(provenance));
    const iterated = await search(`Patient?_id=${alice.id}&_revinclude=Observation:subject&_revinclude:iterate=Provenance:target`);
    expect(ids(iterated, 'include')).toContain(ref(provenance));
    const forward = await search(`Provenance?_id=${provenance.id}&_include=Provenance:target&_include:iterate=Observation:subject&_include:iterate=Patient:general-practitioner`);
    expect(ids(forward, 'include')).toEqual([ref(aliceHeight), ref(alice), ref(doctor)].sort());
  });

  it('includes a resource once even when several matches refer to it', async () => {
    const bundle = await search(`Observation?subject=${ref(alice)}&_include=Observation:subject`);
    expect(ids(bundle, 'include')).toEqual([ref(alice)]);
  });

  it('answers 400 for an include through a parameter that is not a reference', async () => {
    const outcome = (await search(`Patient?_include=Patient:gender`, 400)) as unknown as OperationOutcome;
    expect(outcome.issue[0]?.diagnostics).toBe("Parameter '_include': gender is not a reference parameter of Patient");
  });
});

describe('compartment search (search.html#compartment)', () => {
  it('finds the resources in a patient compartment', async () => {
    expect(ids(await search(`Patient/${alice.id}/Observation`))).toEqual([ref(aliceHeight), ref(aliceWeight)].sort());
    expect(ids(await search(`Patient/${alice.id}/Observation?code=8302-2`))).toEqual([ref(aliceHeight)]);
    expect(ids(await search(`Patient/${bob.id}/Encounter`))).toEqual([]);
  });

  it('answers 404 for a type that is not in the compartment', async () => {
    await search(`Patient/${alice.id}/Organization`, 404);
  });
});

describe('system-level search (search.html#all)', () => {
  it('searches the types named in _type with parameters common to all of them', async () => {
    const bundle = await search(`?_type=Patient,Practitioner&_id=${alice.id},${doctor.id}`);
    expect(ids(bundle)).toEqual([ref(alice), ref(doctor)].sort());
  });

  it('answers 400 for an unknown type in _type', async () => {
    await search(`?_type=Patient,Spaceship`, 400);
  });

  it('pages across types with links that keep _type', async () => {
    const first = await search(`?_type=Observation,Encounter&_id=${aliceHeight.id},${aliceWeight.id},${encounter.id}&_count=2`);
    expect(first.entry).toHaveLength(2);
    const next = first.link?.find((l) => l.relation === 'next')?.url as string;
    expect(next).toContain('_type=Observation%2CEncounter');
    const second = (await (await server.fetch(next)).json()) as Bundle;
    expect([...ids(first), ...ids(second)].sort()).toEqual([ref(aliceHeight), ref(aliceWeight), ref(encounter)].sort());
  });
});
