/**
 * Operations (operations.html) and Patient/[id]/$everything (patient-operation-everything.html): the patient and
 * the resources of its compartment as one searchset, paged across types, with `_type`, `_since` and `_count`;
 * unknown operations are 404, an operation on a level it is not defined for too, and the CapabilityStatement lists
 * it with its OperationDefinition.
 */
import type { Bundle, CapabilityStatement, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../../support/fhir-server';

let server: FhirTestServer;

async function put(resource: Resource & { id: string }): Promise<void> {
  const response = await server.fetch(`${server.baseUrl}/${resource.resourceType}/${resource.id}`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(resource) });
  expect(response.status).toBe(201);
}

/** A Bundle, or the OperationOutcome of a refusal. */
type Answer = Pick<Bundle, 'entry' | 'link'> & Pick<OperationOutcome, 'issue'>;

async function get(path: string, status = 200): Promise<Answer> {
  const response = await server.fetch(path.startsWith('http') ? path : `${server.baseUrl}/${path}`);
  expect(response.status).toBe(status);
  return (await response.json()) as Answer;
}

const ids = (bundle: Answer): string[] => (bundle.entry ?? []).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`).sort();

beforeAll(async () => {
  server = await startFhirServer();
  await put({ resourceType: 'Patient', id: 'ev-1' });
  await put({ resourceType: 'Patient', id: 'ev-2' });
  await put({ resourceType: 'Practitioner', id: 'ev-doc' });
  await put({ resourceType: 'Observation', id: 'ev-o1', status: 'final', code: { text: 'a' }, subject: { reference: 'Patient/ev-1' } });
  await put({ resourceType: 'Observation', id: 'ev-o2', status: 'final', code: { text: 'b' }, subject: { reference: 'Patient/ev-2' } });
  await put({ resourceType: 'Encounter', id: 'ev-e1', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/ev-1' } });
  await put({ resourceType: 'Condition', id: 'ev-c1', subject: { reference: 'Patient/ev-1' } });
});

afterAll(async () => {
  await server.stop();
});

describe('Patient/[id]/$everything', () => {
  it('returns the patient and its compartment, nothing of other patients', async () => {
    expect(ids(await get('Patient/ev-1/$everything'))).toEqual(['Condition/ev-c1', 'Encounter/ev-e1', 'Observation/ev-o1', 'Patient/ev-1']);
  });

  it('limits the types with _type', async () => {
    expect(ids(await get('Patient/ev-1/$everything?_type=Observation,Encounter'))).toEqual(['Encounter/ev-e1', 'Observation/ev-o1']);
    await get('Patient/ev-1/$everything?_type=Practitioner', 400);
  });

  it('pages across types with next links', async () => {
    const first = await get('Patient/ev-1/$everything?_count=3');
    expect(first.entry).toHaveLength(3);
    const next = first.link?.find((l) => l.relation === 'next')?.url as string;
    expect(next).toContain('/Patient/ev-1/$everything?');
    const second = await get(next);
    expect([...ids(first), ...ids(second)].sort()).toEqual(['Condition/ev-c1', 'Encounter/ev-e1', 'Observation/ev-o1', 'Patient/ev-1']);
  });

  it('applies _since to the last update', async () => {
    const later = new Date(Date.now() + 60_000).toISOString();
    expect(ids(await get(`Patient/ev-1/$everything?_since=${encodeURIComponent(later)}`))).toEqual([]);
  });

  it('answers 404 for an unknown patient', async () => {
    await get('Patient/nobody/$everything', 404);
  });
});

describe('operation routing (operations.html)', () => {
  it('answers 404 for an unknown operation and for a level the operation is not defined on', async () => {
    expect((await get('Patient/ev-1/$nonsense', 404)).issue[0]?.diagnostics).toBe('The operation $nonsense is not offered on a Patient');
    await get('Patient/$everything', 404);
    await get('Observation/ev-o1/$everything', 404);
  });

  it('is listed in the CapabilityStatement with its definition', async () => {
    const statement = (await (await server.fetch(`${server.baseUrl}/metadata`)).json()) as CapabilityStatement;
    const patient = statement.rest?.[0]?.resource?.find((r) => r.type === 'Patient');
    expect(patient?.operation).toContainEqual({ name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' });
  });
});
