/**
 * Record locks for audit, legal hold or investigation (requirements seed 000 4.4): an active Flag on a patient
 * (or another Flag subject) coded in the record-lock code system makes that record read-only for everyone but
 * the reviewer who placed it; every refused write says why. Locks are FHIR resources, so they are visible to
 * whoever reads the patient's flags. An organization's locks are read once and dropped when one of its Flags
 * changes.
 */
import type { Flag } from '@medplum/fhirtypes';
import type { ResourceStore, StoredVersion } from '../storage/resource-store';
import { tokenQueryKey } from '../search/index-keys';

export const RECORD_LOCK_SYSTEM = 'http://fhir-interop-server.org/fhir/CodeSystem/record-lock';
export const LOCK_REASONS = ['audit', 'legal-hold', 'investigation'] as const;
export type LockReason = (typeof LOCK_REASONS)[number];

export interface RecordLock {
  /** The Flag that holds the lock. */
  readonly flag: string;
  /** The locked record, e.g. Patient/123. */
  readonly subject: string;
  readonly reason: LockReason;
  readonly note: string;
  /** The reviewer who placed it (may still change the record). */
  readonly author: string | undefined;
}

/** The `code` keys of lock Flags, one per reason. */
export function lockCodeKeys(): string[] {
  return LOCK_REASONS.map((reason) => tokenQueryKey('code', RECORD_LOCK_SYSTEM, reason));
}

function lockOf(flag: Flag): RecordLock | undefined {
  const reason = flag.code?.coding?.find((c) => c.system === RECORD_LOCK_SYSTEM && (LOCK_REASONS as readonly string[]).includes(c.code ?? ''))?.code as LockReason | undefined;
  const subject = flag.subject?.reference;
  if (flag.status !== 'active' || !reason || !subject) return undefined;
  return { flag: `Flag/${flag.id}`, subject, reason, note: flag.code?.text ?? '', author: flag.author?.reference };
}

export class RecordLocks {
  private readonly byTenant = new Map<string, Promise<readonly RecordLock[]>>();

  /** The organization's active locks. */
  locks(store: ResourceStore): Promise<readonly RecordLock[]> {
    let loaded = this.byTenant.get(store.tenant);
    if (!loaded) {
      loaded = store
        .search({ queries: [{ resourceType: 'Flag', criteria: [{ kind: 'keys', keys: lockCodeKeys() }] }], sort: [{ param: '_id', descending: false }], count: 10_000 })
        .then((page) => page.versions.flatMap((v) => lockOf(v.resource as Flag) ?? []));
      this.byTenant.set(store.tenant, loaded);
      loaded.catch(() => this.byTenant.delete(store.tenant));
    }
    return loaded;
  }

  /** A write listener: placing or lifting a lock takes effect on the next request. */
  readonly onWrites = (tenant: string, versions: readonly StoredVersion[]): void => {
    if (versions.some((v) => v.resourceType === 'Flag')) this.byTenant.delete(tenant);
  };
}
