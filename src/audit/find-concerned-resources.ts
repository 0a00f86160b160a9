/**
 * What a request touched and whose data it was (BALP: entity "data" and entity "patient"): the resources it
 * returned or wrote, or failing those the instance it named, and the patients whose compartment holds them
 * (compartmentdefinition-patient.html). Bounded, so a page of a thousand results costs no more than a hundred.
 */
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { patientCompartmentParameters } from '../definitions/compartments';
import { listPatientsOf } from '../search/compartment-patients';
import type { SearchParameterRegistry } from '../search/search-parameters';
import type { ResourceStore, StoredVersion } from '../storage/resource-store';
import type { AuditedExchange } from './audited-exchange';
import type { InteractionTarget } from './restful-interaction';

/** At most this many resources are listed, and examined for their patients. */
export const MAX_RECORDED_RESOURCES = 100;
/** At most this many patients are listed. */
export const MAX_RECORDED_PATIENTS = 100;

export interface ConcernedResources {
  /** `Type/id/_history/v` (or `Type/id` when the version is unknown) of the resources touched, in order. */
  readonly references: readonly string[];
  /** The ids of the patients concerned. */
  readonly patients: readonly string[];
  /** How many touched resources were left out of `references` by the bound. */
  readonly unrecorded: number;
}

const CONTAINERS = new Set(['searchset', 'history', 'batch-response', 'transaction-response']);
const LOCATION = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;
const ID = /^[A-Za-z0-9\-.]{1,64}$/;

interface Located {
  readonly resourceType: string;
  readonly id: string;
  readonly versionId: string | undefined;
}

function referenceTo({ resourceType, id, versionId }: Located): string {
  return versionId === undefined ? `${resourceType}/${id}` : `${resourceType}/${id}/_history/${versionId}`;
}

function locate(url: string | undefined): Located | undefined {
  const match = url === undefined ? null : LOCATION.exec(url.split('?')[0] ?? '');
  return match ? { resourceType: match[1] as string, id: match[2] as string, versionId: match[3] } : undefined;
}

function locatedResource(resource: Resource): Located | undefined {
  return resource.id ? { resourceType: resource.resourceType, id: resource.id, versionId: resource.meta?.versionId } : undefined;
}

/** The resources a response carries (a result Bundle's entries, or the one resource) and the locations it names. */
function responseContents(exchange: AuditedExchange): { resources: Resource[]; locations: Located[]; omitted: number } {
  const body = exchange.response?.body;
  const locations: Located[] = [];
  const own = locate(exchange.response?.location);
  if (own) locations.push(own);
  if (!body || body.resourceType === 'OperationOutcome' || body.resourceType === 'Parameters') return { resources: [], locations, omitted: 0 };
  if (body.resourceType !== 'Bundle' || !CONTAINERS.has((body as Bundle).type ?? '')) return { resources: [body], locations, omitted: 0 };
  const entries: BundleEntry[] = (body as Bundle).entry ?? [];
  const resources: Resource[] = [];
  for (const entry of entries.slice(0, MAX_RECORDED_RESOURCES)) {
    if (entry.resource && entry.resource.resourceType !== 'OperationOutcome') resources.push(entry.resource);
    else {
      const located = locate(entry.response?.location);
      if (located) locations.push(located);
    }
  }
  return { resources, locations, omitted: Math.max(0, entries.length - MAX_RECORDED_RESOURCES) };
}

function isResource(value: unknown): value is Resource {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && typeof (value as Resource).resourceType === 'string';
}

/** A resource sent to be created: the server assigns its id, so the id it carries names nothing. */
function withoutId(resource: Resource): Resource {
  const { id: _ignored, ...content } = resource;
  return content as Resource;
}

/** Resources the client sent: the body of a create or update, the entries of a batch or transaction. */
function requestedResources(exchange: AuditedExchange): Resource[] {
  const body = exchange.request?.body;
  if (!isResource(body)) return [];
  if (body.resourceType === 'Bundle' && exchange.path.length === 0) {
    return ((body as Bundle).entry ?? [])
      .slice(0, MAX_RECORDED_RESOURCES)
      .flatMap((entry) => (isResource(entry.resource) ? [entry.request?.method === 'POST' ? withoutId(entry.resource) : entry.resource] : []));
  }
  if (exchange.method === 'POST') return [withoutId(body)];
  return exchange.method === 'PUT' ? [body] : [];
}

/** Patients a search names in the compartment parameters of the type searched (`subject=Patient/1`, `patient=1`). */
function patientsInQuery(exchange: AuditedExchange, target: InteractionTarget): string[] {
  if (target.interaction !== 'search-type' || !target.resourceType) return [];
  const codes = new Set(patientCompartmentParameters(target.resourceType));
  const patients: string[] = [];
  for (const [name, value] of exchange.query) {
    const code = name.split(':')[0] ?? '';
    if (!codes.has(code)) continue;
    for (const item of value.split(',')) {
      const id = item.startsWith('Patient/') ? item.slice('Patient/'.length) : code === 'patient' ? item : undefined;
      if (id !== undefined && ID.test(id)) patients.push(id);
    }
  }
  return patients;
}

/**
 * The one stored version worth reading when the exchange carries no resource to examine: what a minimal-return
 * write stored, what a delete removed, or what a refused request was aimed at.
 */
async function storedVersionOf(exchange: AuditedExchange, target: InteractionTarget, located: Located[], store: ResourceStore): Promise<StoredVersion | undefined> {
  const status = exchange.response?.status ?? exchange.failure?.status ?? 0;
  const first = located[0];
  if (exchange.response && status < 300 && first?.versionId !== undefined && target.interaction !== 'delete') {
    return store.vread(first.resourceType, first.id, first.versionId);
  }
  const instance = locate(target.reference);
  if (!instance) return undefined;
  if (target.interaction === 'delete' && exchange.response) {
    const deleted = /"(\d+)"/.exec(exchange.response.etag ?? '')?.[1];
    return deleted && Number(deleted) > 1 ? store.vread(instance.resourceType, instance.id, String(Number(deleted) - 1)) : undefined;
  }
  if (exchange.failure?.status === 403) {
    return instance.versionId === undefined ? store.read(instance.resourceType, instance.id) : store.vread(instance.resourceType, instance.id, instance.versionId);
  }
  return undefined;
}

const SUBSETTED = 'SUBSETTED';

/**
 * `_elements` and `_summary` may leave out the references that place a resource in a patient's compartment: such
 * resources are read whole again (one query per type) so that their patients are still found.
 */
async function completeSubsetted(resources: Resource[], store: ResourceStore): Promise<Resource[]> {
  const subsetted = resources.filter((r) => r.id && r.meta?.tag?.some((tag) => tag.code === SUBSETTED));
  if (subsetted.length === 0) return resources;
  const byType = new Map<string, string[]>();
  for (const r of subsetted) byType.set(r.resourceType, [...(byType.get(r.resourceType) ?? []), r.id as string]);
  const whole = new Map<string, Resource>();
  for (const [resourceType, ids] of byType) {
    const page = await store.search({ queries: [{ resourceType, criteria: [{ kind: 'ids', ids }] }], sort: [], count: ids.length });
    for (const version of page.versions) if (version.resource) whole.set(`${resourceType}/${version.id}`, version.resource);
  }
  return resources.map((r) => whole.get(`${r.resourceType}/${r.id ?? ''}`) ?? r);
}

/** What `exchange` touched and whose data it was; reads at most one stored version, or the subsetted results whole. */
export async function findConcernedResources(
  exchange: AuditedExchange,
  target: InteractionTarget,
  store: ResourceStore,
  parameters: SearchParameterRegistry,
): Promise<ConcernedResources> {
  const contents = responseContents(exchange);
  const examined = await completeSubsetted(contents.resources, store);
  const located = [...contents.resources.flatMap((r) => locatedResource(r) ?? []), ...contents.locations];
  if (examined.length === 0) {
    examined.push(...requestedResources(exchange));
    const stored = await storedVersionOf(exchange, target, contents.locations, store);
    if (stored?.resource) examined.push(stored.resource);
  }
  const references = new Set(located.map(referenceTo));
  if (references.size === 0 && target.reference) references.add(target.reference);

  const patients = new Set<string>();
  if (target.compartmentPatient && ID.test(target.compartmentPatient)) patients.add(target.compartmentPatient);
  const named = locate(target.reference);
  if (named?.resourceType === 'Patient') patients.add(named.id);
  for (const id of patientsInQuery(exchange, target)) patients.add(id);
  for (const resource of examined.slice(0, MAX_RECORDED_RESOURCES)) {
    for (const id of listPatientsOf(resource, parameters, { localBaseUrls: [exchange.baseUrl] })) patients.add(id);
  }
  const listed = [...references].slice(0, MAX_RECORDED_RESOURCES);
  return {
    references: listed,
    patients: [...patients].slice(0, MAX_RECORDED_PATIENTS),
    unrecorded: contents.omitted + references.size - listed.length,
  };
}
