/**
 * Time-boxed elevated permissions for department heads (requirements seed 000 5.3): a request is a Task written
 * only by the elevation operations, in effect after two approvals (an organization administrator, then a system
 * administrator) until its end or its revocation, when it rolls back by itself. An organization's elevations are
 * read once and dropped when one of its Tasks changes.
 */
import type { Task } from '@medplum/fhirtypes';
import type { ScopeInteraction } from '../auth/principal';
import type { ResourceStore, StoredVersion } from '../storage/resource-store';
import { tokenQueryKey } from '../search/index-keys';

export const ELEVATION_SYSTEM = 'http://fhir-interop-server.org/fhir/CodeSystem/elevation';
export const ELEVATION_CODE = 'elevation-request';
/** The longest an elevation may last. */
export const MAX_ELEVATION_DAYS = 7;

/** One granted extra permission: resource types and letters. */
export interface ElevatedGrant {
  readonly types: readonly string[];
  readonly allow: readonly ScopeInteraction[];
}

export interface Elevation {
  readonly task: string;
  /** The department head's FHIR resource (Task.for). */
  readonly holder: string;
  readonly grants: readonly ElevatedGrant[];
  readonly until: number;
}

/** The `code` key of elevation Tasks. */
export function elevationCodeKey(): string {
  return tokenQueryKey('code', ELEVATION_SYSTEM, ELEVATION_CODE);
}

/** Task.input values `Type1,Type2 letters`. */
export function grantText(grant: ElevatedGrant): string {
  return `${grant.types.join(',')} ${grant.allow.join('')}`;
}

function parseGrant(text: string): ElevatedGrant | undefined {
  const [types, letters] = text.split(' ');
  if (!types || !letters) return undefined;
  return { types: types.split(','), allow: [...letters] as ScopeInteraction[] };
}

/** The elevation a Task grants now, if it is in effect. */
export function elevationOf(task: Task, now = Date.now()): Elevation | undefined {
  const until = task.restriction?.period?.end ? Date.parse(task.restriction.period.end) : NaN;
  const holder = task.for?.reference;
  if (task.status !== 'in-progress' || !holder || !(until > now)) return undefined;
  const grants = (task.input ?? []).flatMap((input) => (input.valueString ? (parseGrant(input.valueString) ?? []) : []));
  return { task: `Task/${task.id}`, holder, grants, until };
}

export class Elevations {
  private readonly byTenant = new Map<string, Promise<readonly Task[]>>();

  /** The elevations in effect for `holder` (a fhirUser reference) now. */
  async inEffect(store: ResourceStore, holder: string | undefined): Promise<Elevation[]> {
    if (!holder) return [];
    let loaded = this.byTenant.get(store.tenant);
    if (!loaded) {
      loaded = store
        .search({ queries: [{ resourceType: 'Task', criteria: [{ kind: 'keys', keys: [elevationCodeKey()] }, { kind: 'keys', keys: [tokenQueryKey('status', undefined, 'in-progress')] }] }], sort: [], count: 10_000 })
        .then((page) => page.versions.map((v) => v.resource as Task));
      this.byTenant.set(store.tenant, loaded);
      loaded.catch(() => this.byTenant.delete(store.tenant));
    }
    return (await loaded).flatMap((task) => elevationOf(task) ?? []).filter((e) => e.holder === holder);
  }

  /** A write listener: approvals and revocations take effect on the next request. */
  readonly onWrites = (tenant: string, versions: readonly StoredVersion[]): void => {
    if (versions.some((v) => v.resourceType === 'Task')) this.byTenant.delete(tenant);
  };
}
