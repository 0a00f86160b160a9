/**
 * Tells the compliance reviewers and the organization administrators that an emergency access started, and that it
 * ended or was revoked (requirements seed 000 2.1: "notify compliance and org admin roles"), through the outbox,
 * each in their language. The messages name the user, the patient by reference, the purpose and the times, and
 * point to the review item; the free-text reason stays in the review item, whose reading is access-controlled.
 * A notification is recorded under an id derived from the override and the event, so a repeated step sends it once.
 */
import type { AuthRecords } from '../../auth/auth-records';
import { EMERGENCY_PURPOSES, isEmergencyPurpose } from '../../auth/break-glass';
import type { RecordingOutbox, Recipient } from '../../notifications/outbox';
import type { OverrideRecord } from './override-records';

export const STARTED_TOPIC = 'break-glass-started';
export const ENDED_TOPIC = 'break-glass-ended';

export type OverrideEvent = 'started' | 'ended';

export interface NotifyDependencies {
  readonly outbox: Pick<RecordingOutbox, 'record'>;
  readonly accounts: AuthRecords['accounts'];
}

/** The organization administrators, and every active account of the organization flagged as compliance reviewer. */
async function reviewers(accounts: AuthRecords['accounts'], tenant: string): Promise<Recipient[]> {
  const flagged = await accounts.find({ tenant, complianceReviewer: true, status: 'active' }, { _id: 1 }).sort({ _id: 1 }).lean();
  return [{ role: 'org-admin' }, ...flagged.map((account) => ({ account: account._id }))];
}

function utc(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function purposeText(code: string, language: 'en' | 'es'): string {
  return isEmergencyPurpose(code) ? `${code} (${EMERGENCY_PURPOSES[code][language]})` : code;
}

function texts(override: OverrideRecord, event: OverrideEvent): { subject: { en: string; es: string }; body: { en: string; es: string } } {
  const patient = `Patient/${override.patient}`;
  const task = `Task/${override._id}`;
  if (event === 'started') {
    return {
      subject: { en: `Emergency access started: ${patient}`, es: `Acceso de emergencia iniciado: ${patient}` },
      body: {
        en: `${override.userName} (${override.role}) started an emergency access (break-the-glass) to the record of ${patient} at ${utc(override.startedAt)}, for the purpose ${purposeText(override.purpose, 'en')}. It ends at ${utc(override.expiresAt)} unless revoked earlier. Every access is audited; the stated reason and the review are in ${task}.`,
        es: `${override.userName} (${override.role}) inició un acceso de emergencia ("romper el cristal") al expediente de ${patient} a las ${utc(override.startedAt)}, con el propósito ${purposeText(override.purpose, 'es')}. Termina a las ${utc(override.expiresAt)} salvo que se revoque antes. Todos los accesos quedan auditados; el motivo declarado y la revisión están en ${task}.`,
      },
    };
  }
  const at = utc(override.endedAt ?? override.expiresAt);
  const how =
    override.status === 'revoked'
      ? override.endedBy
        ? { en: `was revoked at ${at} by ${override.endedBy.name}`, es: `fue revocado a las ${at} por ${override.endedBy.name}` }
        : { en: `was revoked at ${at} (its token was revoked)`, es: `fue revocado a las ${at} (se revocó su token)` }
      : { en: `ended at ${at}, when it expired`, es: `terminó a las ${at}, al expirar` };
  return {
    subject: { en: `Emergency access ended: ${patient}`, es: `Acceso de emergencia terminado: ${patient}` },
    body: {
      en: `The emergency access (break-the-glass) of ${override.userName} to the record of ${patient} ${how.en}. Access is back to the usual role and consent limits. It is ready for compliance review: ${task}.`,
      es: `El acceso de emergencia ("romper el cristal") de ${override.userName} al expediente de ${patient} ${how.es}. El acceso vuelve a los límites habituales de rol y consentimiento. Está listo para la revisión de cumplimiento: ${task}.`,
    },
  };
}

/** Records the notification of an override's start or end (once per override and event). */
export async function notifyReviewers(deps: NotifyDependencies, override: OverrideRecord, event: OverrideEvent): Promise<void> {
  await deps.outbox.record(
    {
      tenant: override.tenant,
      topic: event === 'started' ? STARTED_TOPIC : ENDED_TOPIC,
      recipients: await reviewers(deps.accounts, override.tenant),
      ...texts(override, event),
      about: `Task/${override._id}`,
      urgent: event === 'started',
    },
    { id: `break-glass-${override._id}-${event}` },
  );
}
