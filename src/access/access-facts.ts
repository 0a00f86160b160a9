/**
 * What the access rules need to know about a user's relationships, loaded once before a request (rules decide
 * synchronously): the patients it has a care relationship with (issue 6: "patients with whom it has a care
 * relationship (CareTeam, Encounter, Appointment, EpisodeOfCare)"; for a technician, those with orders for its
 * department) and the schedules of its department. Kept per account for a minute and dropped at once when a write
 * in its organization changes one of the resources they come from.
 */
import type { Principal } from '../auth/principal';
import type { ResourceQuery, ResourceStore, StoredVersion } from '../storage/resource-store';
import { referenceKey } from '../search/index-keys';
import { binds, type ConsentDirectives, type Restriction } from './consent-directives';
import { purposeOfUse } from './purpose-of-use';
import type { RecordLock, RecordLocks } from './record-locks';
import type { Elevation, Elevations } from './elevations';

export interface AccessFacts {
  /** Ids of the patients the user is in a care relationship with. */
  readonly patients: readonly string[];
  /** Ids of the Schedules of the user's department. */
  readonly departmentSchedules: readonly string[];
  /** Patients' consent restrictions that bind the caller, for the purpose of its request, now. */
  readonly restrictions: readonly Restriction[];
  /** The organization's active record locks. */
  readonly locks: readonly RecordLock[];
  /** Elevated permissions in effect for the caller. */
  readonly elevations: readonly Elevation[];
}

type Relationships = Omit<AccessFacts, 'restrictions' | 'locks' | 'elevations'>;

const NO_RELATIONSHIPS: Relationships = { patients: [], departmentSchedules: [] };

/** The most patients one relationship source contributes (a bound on the size of the filters built from them). */
const LIMIT = 5000;
const TTL_MS = 60_000;

/** The types whose writes change what the facts say. */
const SOURCES = new Set(['CareTeam', 'Encounter', 'Appointment', 'EpisodeOfCare', 'ServiceRequest', 'Schedule']);

/** The department a user belongs to, as the resource orders, schedules and appointments name (HealthcareService/<code>). */
export function departmentService(principal: Principal): string | undefined {
  return principal.department ? `HealthcareService/${principal.department}` : undefined;
}

function by(resourceType: string, param: string, reference: string): ResourceQuery {
  return { resourceType, criteria: [{ kind: 'keys', keys: [referenceKey(param, reference)] }] };
}

async function patientsOf(store: ResourceStore, queries: readonly ResourceQuery[]): Promise<string[]> {
  const references = await Promise.all(queries.map((query) => store.matchReferences(query, 'patient', LIMIT)));
  return [...new Set(references.flat().filter((r) => r.startsWith('Patient/')).map((r) => r.slice('Patient/'.length)))];
}

async function load(principal: Principal, store: ResourceStore): Promise<Relationships> {
  const department = departmentService(principal);
  const practitioner = principal.fhirUser?.startsWith('Practitioner/') ? principal.fhirUser : undefined;
  const sources: ResourceQuery[] = [];
  if (practitioner && (principal.role === 'doctor' || principal.role === 'nurse')) {
    sources.push(by('CareTeam', 'participant', practitioner), by('Encounter', 'participant', practitioner), by('Appointment', 'actor', practitioner), by('EpisodeOfCare', 'care-manager', practitioner));
  }
  if (department && principal.role === 'technician') sources.push(by('ServiceRequest', 'performer', department));
  const patients = sources.length > 0 ? await patientsOf(store, sources) : [];
  const departmentSchedules = department && principal.role === 'department-head' ? await store.matchIds(by('Schedule', 'actor', department), LIMIT) : [];
  return { patients, departmentSchedules };
}

export class AccessFactsCache {
  private readonly entries = new Map<string, { facts: Relationships; until: number }>();

  constructor(
    private readonly consents: ConsentDirectives,
    private readonly recordLocks: RecordLocks,
    private readonly elevations: Elevations,
  ) {}

  /** The facts for a request of `principal`. */
  async factsFor(principal: Principal, store: ResourceStore): Promise<AccessFacts> {
    const purpose = purposeOfUse(principal);
    const restrictions = (await this.consents.restrictions(store)).filter((r) => binds(r, principal, purpose));
    return {
      ...(await this.relationships(principal, store)),
      restrictions,
      locks: await this.recordLocks.locks(store),
      elevations: principal.kind === 'user' ? await this.elevations.inEffect(store, principal.fhirUser) : [],
    };
  }

  private async relationships(principal: Principal, store: ResourceStore): Promise<Relationships> {
    if (principal.kind !== 'user' || !principal.accountId) return NO_RELATIONSHIPS;
    const key = `${principal.tenant}\u0000${principal.accountId}`;
    const cached = this.entries.get(key);
    if (cached && cached.until > Date.now()) return cached.facts;
    const facts = await load(principal, store);
    this.entries.set(key, { facts, until: Date.now() + TTL_MS });
    return facts;
  }

  /** A write listener (storage/observe-writes.ts): relationship changes take effect on the next request. */
  readonly onWrites = (tenant: string, versions: readonly StoredVersion[]): void => {
    if (!versions.some((v) => SOURCES.has(v.resourceType))) return;
    for (const key of this.entries.keys()) if (key.startsWith(`${tenant}\u0000`)) this.entries.delete(key);
  };
}
