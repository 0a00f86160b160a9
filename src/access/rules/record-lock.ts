/**
 * Locked records are read-only (record-locks.ts; requirements seed 000 4.4): writes to a locked patient's
 * compartment, or to another locked record, are refused with the lock's reason, except for the reviewer who placed
 * the lock (lock Flags themselves are server-managed, see server-managed.ts). No other rule (not even
 * break-the-glass) lifts a lock.
 */
import { outsidePatientCompartment } from '../../search/patient-compartment';
import type { Criterion } from '../../search/search-request';
import { readsData, type AccessRule, type RuleAnswer } from '../access-policy';
import type { RecordLock } from '../record-locks';

export const RECORD_LOCK_RULE = 'record-lock';

const REASON_TEXT = { audit: 'an audit', 'legal-hold': 'a legal hold', investigation: 'a compliance investigation' } as const;

/** Resources of `resourceType` outside the locked record (undefined when the type cannot be part of it). */
function outsideLock(lock: RecordLock, resourceType: string): Criterion | undefined {
  const [type = '', id = ''] = lock.subject.split('/');
  const outside = type === 'Patient' ? outsidePatientCompartment(id, resourceType) : type === resourceType ? [{ kind: 'no-ids' as const, ids: [id] }] : undefined;
  return outside && { kind: 'any', groups: [outside] };
}

export function recordLockRule(): AccessRule {
  return {
    name: RECORD_LOCK_RULE,
    escalation: 'Ask the reviewer who placed the lock, or an organization administrator, to lift it (Patient/$unlock) when the review allows; the record stays readable meanwhile.',
    decide: ({ principal, interaction, resourceType, facts }): RuleAnswer => {
      if (readsData(interaction)) return { kind: 'abstain' };
      const filter: Criterion[] = [];
      const reasons: string[] = [];
      for (const lock of facts.locks) {
        if (lock.author !== undefined && lock.author === principal.fhirUser) continue;
        const outside = outsideLock(lock, resourceType);
        if (!outside) continue;
        filter.push(outside);
        reasons.push(`the record of ${lock.subject} is locked for ${REASON_TEXT[lock.reason]}${lock.note ? ` (${lock.note})` : ''} and is read-only; only the reviewer who placed the lock may change it`);
      }
      return filter.length > 0 ? { kind: 'restrict', filter, reasons } : { kind: 'abstain' };
    },
  };
}
