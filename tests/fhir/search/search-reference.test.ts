/**
 * Reference search parameters (https://hl7.org/fhir/R4/search.html#reference): `[id]`, `[type]/[id]` and `[url]`;
 * "A relative reference resolving to the same value as a specified absolute URL, or vice versa, qualifies as a
 * match"; the `:[type]` modifier; `:identifier` ("the search value works as a token search"); versioned references
 * (search.html#versions); `:missing` (search.html#missing); a modifier the parameter cannot take is a 400
 * (search.html#modifiers).
 */
import type { Group, Observation, Patient } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../../support/fhir-server';
import { expectInvalidParameter, idsOf, searchClient, uniqueSuffix, type SearchClient } from './search-client';

const suffix = uniqueSuffix();
const MRN = `http://acme.org/fhir/identifier/mrn/${suffix}`;
const EXTERNAL = `http://other.example.org/fhir/Patient/ext-${suffix}`;

let server: FhirTestServer;
let api: SearchClient;

let plainPatient: Patient & { id: string };
let absolutePatient: Patient & { id: string };
let versionedPatient: Patient & { id: string };
let group: Group & { id: string };
let toPatient: Observation & { id: string };
let toGroup: Observation & { id: string };
let toAbsoluteLocal: Observation & { id: string };
let toExternal: Observation & { id: string };
let toVersion: Observation & { id: string };
let byIdentifier: Observation & { id: string };
let withoutSubject: Observation & { id: string };

const observation = (subject?: Observation['subject']): Observation => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
  ...(subject ? { subject } : {}),
});

beforeAll(async () => {
  server = await startFhirServer();
  api = searchClient(server);
  plainPatient = await api.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Plain' }] });
  absolutePatient = await api.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Absolute' }] });
  versionedPatient = await api.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Versioned' }] });
  group = await api.create<Group>({ resourceType: 'Group', type: 'person', actual: true });
  toPatient = await api.create(observation({ reference: `Patient/${plainPatient.id}` }));
  toGroup = await api.create(observation({ reference: `Group/${group.id}` }));
  toAbsoluteLocal = await api.create(observation({ reference: `${server.baseUrl}/Patient/${absolutePatient.id}` }));
  toExternal = await api.create(observation({ reference: EXTERNAL }));
  toVersion = await api.create(observation({ reference: `Patient/${versionedPatient.id}/_history/2` }));
  byIdentifier = await api.create(observation({ identifier: { system: MRN, value: '123456' }, display: 'Logical reference only' }));
  withoutSubject = await api.create(observation());
});

afterAll(async () => {
  await server.stop();
});

describe('[type]/[id], [id] and the :[type] modifier (search.html#reference)', () => {
  it('subject=Patient/[id] matches the relative reference', async () => {
    expect(await api.ids(`Observation?subject=Patient/${plainPatient.id}`)).toEqual(idsOf(toPatient));
  });

  it('subject=[id] (a bare logical id) matches a Patient reference', async () => {
    expect(await api.ids(`Observation?subject=${plainPatient.id}`)).toEqual(idsOf(toPatient));
  });

  it('subject=[id] matches a reference of any target type (a Group)', async () => {
    expect(await api.ids(`Observation?subject=${group.id}`)).toEqual(idsOf(toGroup));
  });

  it('subject:Patient=[id] has the same effect as subject=Patient/[id]', async () => {
    expect(await api.ids(`Observation?subject:Patient=${plainPatient.id}`)).toEqual(idsOf(toPatient));
  });

  it('subject:Patient=[group id] finds nothing: the type restricts the match', async () => {
    expect(await api.ids(`Observation?subject:Patient=${group.id}`)).toEqual([]);
  });

  it('patient=[id] needs no type: the parameter only refers to Patients', async () => {
    expect(await api.ids(`Observation?patient=${plainPatient.id}`)).toEqual(idsOf(toPatient));
  });

  it('subject=Patient/[id],Group/[id] is an OR list', async () => {
    expect(await api.ids(`Observation?subject=Patient/${plainPatient.id},Group/${group.id}`)).toEqual(idsOf(toPatient, toGroup));
  });

  // search.html#modifiers: "Server SHALL reject any search request that contains ... a modifier that the server does
  // not support for that parameter"; Medication is not a target of Observation.subject.
  it('rejects subject:Medication=[id] with 400: Medication is not a target of subject', async () => {
    const outcome = await api.fails(`Observation?subject:Medication=${plainPatient.id}`);
    expectInvalidParameter(outcome, 'subject:Medication', 'Medication');
  });

  // search.html#reference: "Servers SHOULD reject a search where the logical id refers to more than one matching
  // resource across different types."
  it('rejects a bare id that names resources of two types (Patient/x and Group/x) with 400', async () => {
    const id = `shared-${suffix}`;
    for (const resource of [
      { resourceType: 'Patient', id },
      { resourceType: 'Group', id, type: 'person', actual: true },
    ]) {
      const put = await server.fetch(`${server.baseUrl}/${resource.resourceType}/${id}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify(resource),
      });
      expect(put.status).toBe(201);
    }
    await api.create(observation({ reference: `Patient/${id}` }));
    await api.create(observation({ reference: `Group/${id}` }));
    const outcome = await api.fails(`Observation?subject=${id}`);
    expectInvalidParameter(outcome, 'subject', id);
  });
});

describe('absolute URLs (search.html#reference: "A relative reference resolving to the same value as a specified absolute URL, or vice versa, qualifies as a match")', () => {
  it('subject=[this server base]/Patient/[id] matches the relative reference Patient/[id]', async () => {
    expect(await api.ids(`Observation?subject=${server.baseUrl}/Patient/${plainPatient.id}`)).toEqual(idsOf(toPatient));
  });

  it('subject=Patient/[id] matches a reference written as [this server base]/Patient/[id]', async () => {
    expect(await api.ids(`Observation?subject=Patient/${absolutePatient.id}`)).toEqual(idsOf(toAbsoluteLocal));
  });

  it('subject=[this server base]/Patient/[id] matches a reference written as [this server base]/Patient/[id]', async () => {
    expect(await api.ids(`Observation?subject=${server.baseUrl}/Patient/${absolutePatient.id}`)).toEqual(idsOf(toAbsoluteLocal));
  });

  it('an external absolute URL is matched as written', async () => {
    expect(await api.ids(`Observation?subject=${EXTERNAL}`)).toEqual(idsOf(toExternal));
  });

  it('an external absolute URL is not a local Patient: subject=Patient/ext-[suffix] finds nothing', async () => {
    expect(await api.ids(`Observation?subject=Patient/ext-${suffix}`)).toEqual([]);
  });
});

describe('versioned references (search.html#versions)', () => {
  it('subject=Patient/[id] matches a reference to Patient/[id]/_history/2', async () => {
    expect(await api.ids(`Observation?subject=Patient/${versionedPatient.id}`)).toEqual(idsOf(toVersion));
  });

  it('patient=[id] matches a versioned reference too', async () => {
    expect(await api.ids(`Observation?patient=${versionedPatient.id}`)).toEqual(idsOf(toVersion));
  });
});

describe(':identifier (search.html#reference: "the search value works as a token search")', () => {
  // search.html#reference: "GET [base]/Observation?subject:identifier=http://acme.org/fhir/identifier/mrn|123456".
  it('subject:identifier=[system]|123456 matches Reference.identifier', async () => {
    expect(await api.ids(`Observation?subject:identifier=${MRN}|123456`)).toEqual(idsOf(byIdentifier));
  });

  it('subject:identifier=123456 matches the value in any system', async () => {
    expect(await api.ids('Observation?subject:identifier=123456')).toEqual(idsOf(byIdentifier));
  });

  it('subject:identifier=[other system]|123456 finds nothing', async () => {
    expect(await api.ids(`Observation?subject:identifier=${MRN}-other|123456`)).toEqual([]);
  });
});

describe(':missing (search.html#missing)', () => {
  it('subject:missing=true finds the Observation without a subject', async () => {
    expect(await api.ids('Observation?subject:missing=true')).toEqual(idsOf(withoutSubject));
  });

  it('subject:missing=false does not include the Observation without a subject', async () => {
    const ids = await api.ids('Observation?subject:missing=false&_count=100');
    expect(ids).toEqual(expect.arrayContaining(idsOf(toPatient, toGroup, toAbsoluteLocal, toExternal, toVersion, byIdentifier)));
    expect(ids).not.toContain(withoutSubject.id);
  });
});
