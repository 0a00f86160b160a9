/**
 * The compliance review item of an emergency access (requirements seed 000 2.1: "scheduled for post-incident
 * compliance review"; seed 001 scenario 1), as a FHIR Task (task.html) in the organization's store, with the same
 * id as the override: for and focus the patient, requester the user, owner the compliance reviewers, the stated
 * purpose and reason, the period and how the access ended as inputs, and the override's state as businessStatus.
 * It is `requested` while the access lasts and `ready` for review once it has ended; reviewers take it from there
 * (in-progress, completed, notes), and the server's later updates never undo their work.
 */
import type { Coding, Task, TaskInput } from '@medplum/fhirtypes';
import { EMERGENCY_PURPOSES, isEmergencyPurpose } from '../../auth/break-glass';
import { PURPOSE_OF_USE_SYSTEM } from '../../access/purpose-of-use';
import { BREAK_GLASS_SYSTEM, REVIEW_CODE } from '../../access/rules/break-glass-review';
import type { OverrideRecord, OverrideStatus } from './override-records';

const STATES: Record<OverrideStatus, { en: string }> = {
  active: { en: 'Emergency access in progress' },
  expired: { en: 'Emergency access ended at its expiry' },
  revoked: { en: 'Emergency access revoked' },
};

const INPUTS = { purpose: 'Stated purpose', reason: 'Stated reason', period: 'Period of the emergency access', application: 'Client application', account: 'Account of the user', ended: 'How the emergency access ended' } as const;

function ours(code: string, display: string): Coding {
  return { system: BREAK_GLASS_SYSTEM, code, display };
}

function input(code: keyof typeof INPUTS, value: Omit<TaskInput, 'type'>): TaskInput {
  return { type: { coding: [ours(code, INPUTS[code])], text: INPUTS[code] }, ...value } as TaskInput;
}

function iso(date: Date): string {
  return date.toISOString();
}

function howEnded(override: OverrideRecord): string | undefined {
  if (override.status === 'expired') return `expired at ${iso(override.endedAt ?? override.expiresAt)}`;
  if (override.status !== 'revoked') return undefined;
  const at = iso(override.endedAt ?? override.expiresAt);
  return override.endedBy ? `revoked at ${at} by ${override.endedBy.name} (account ${override.endedBy.account})` : `revoked at ${at} (token revocation by the user's application, or sign-out)`;
}

/** The inputs the server owns (recomputed on every update; other inputs are the reviewers'). */
function overrideInputs(override: OverrideRecord): TaskInput[] {
  const ended = howEnded(override);
  return [
    input('purpose', { valueCoding: { system: PURPOSE_OF_USE_SYSTEM, code: override.purpose, ...(isEmergencyPurpose(override.purpose) ? { display: EMERGENCY_PURPOSES[override.purpose].en } : {}) } }),
    input('reason', { valueString: override.reason }),
    input('period', { valuePeriod: { start: iso(override.startedAt), end: iso(override.endedAt ?? override.expiresAt) } }),
    input('application', { valueString: override.clientId }),
    input('account', { valueString: override.accountId }),
    ...(ended ? [input('ended', { valueString: ended })] : []),
  ];
}

function businessStatus(override: OverrideRecord): Task['businessStatus'] {
  return { coding: [ours(override.status, STATES[override.status].en)], text: STATES[override.status].en };
}

function isOurs(taskInput: TaskInput): boolean {
  return (taskInput.type.coding ?? []).some((coding) => coding.system === BREAK_GLASS_SYSTEM);
}

/**
 * The review Task for the override's current state: a new one, or `current` brought up to date (businessStatus,
 * the server's inputs, `requested` becoming `ready` when the access has ended), keeping everything reviewers
 * changed.
 */
export function buildReviewTask(override: OverrideRecord, current: Task | undefined, now: Date): Task & { id: string } {
  const ended = override.status !== 'active';
  if (current) {
    const { meta: _meta, ...rest } = current;
    return {
      ...rest,
      id: override._id,
      status: ended && current.status === 'requested' ? 'ready' : current.status,
      businessStatus: businessStatus(override),
      lastModified: iso(now),
      input: [...overrideInputs(override), ...(current.input ?? []).filter((i) => !isOurs(i))],
    };
  }
  const patient = { reference: `Patient/${override.patient}` };
  return {
    resourceType: 'Task',
    id: override._id,
    identifier: [{ system: 'urn:ietf:rfc:3986', value: `urn:uuid:${override._id}` }],
    status: ended ? 'ready' : 'requested',
    businessStatus: businessStatus(override),
    intent: 'order',
    priority: 'asap',
    code: { coding: [ours(REVIEW_CODE, 'Compliance review of an emergency access')], text: 'Compliance review of an emergency access (break-the-glass)' },
    description: `Review the emergency access (break-the-glass) of ${override.userName} to the record of Patient/${override.patient}`,
    focus: patient,
    for: patient,
    authoredOn: iso(override.startedAt),
    lastModified: iso(now),
    requester: override.fhirUser ? { reference: override.fhirUser, display: override.userName } : { display: override.userName },
    owner: { identifier: { system: BREAK_GLASS_SYSTEM, value: 'compliance-reviewers' }, display: 'Compliance reviewers and organization administrators' },
    reasonCode: { coding: [{ system: PURPOSE_OF_USE_SYSTEM, code: 'BTG', display: 'break the glass' }], text: 'Emergency access (break the glass)' },
    input: overrideInputs(override),
  };
}
