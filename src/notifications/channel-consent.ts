/**
 * Which external channels a patient may be contacted on (requirements seed 000 3.3: "Mass communication must always
 * use consent-validated channels"), read from the patient's Consent resources, and the address to use, read from
 * Patient.telecom. FHIR R4 Consent: https://hl7.org/fhir/R4/consent.html; ContactPoint.system:
 * https://hl7.org/fhir/R4/valueset-contact-point-system.html
 *
 * How consent to a channel is expressed: an `active` Consent of the patient (Consent.patient) whose provision, or a
 * nested provision, names the channel as an action coded in the ContactPoint system code system
 * (`http://hl7.org/fhir/contact-point-system`, codes `email` and `sms`) with `type` `permit` or `deny`:
 *
 * ```json
 * { "resourceType": "Consent", "status": "active", "patient": { "reference": "Patient/123" },
 *   "scope": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy" }] },
 *   "category": [{ "coding": [{ "system": "http://loinc.org", "code": "59284-0" }] }],
 *   "policyRule": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN" }] },
 *   "dateTime": "2026-03-01T10:00:00Z",
 *   "provision": { "type": "deny", "action": [
 *       { "coding": [{ "system": "http://hl7.org/fhir/contact-point-system", "code": "email" }] },
 *       { "coding": [{ "system": "http://hl7.org/fhir/contact-point-system", "code": "sms" }] } ],
 *     "provision": [
 *       { "type": "permit", "action": [{ "coding": [{ "system": "http://hl7.org/fhir/contact-point-system", "code": "email" }] }] } ] } }
 * ```
 *
 * Only channels named explicitly count (a provision's `type` without a channel action says nothing about channels,
 * so a treatment or data-sharing Consent never opens one; conversely, a provision naming only channel actions
 * restricts no data access, access/consent-directives.ts); a nested provision overrides its parent; a provision
 * whose `period` does not cover now is ignored; among several Consents the latest (`dateTime`, else its last update)
 * decides each channel it names. Nothing recorded means no external channel. The in-app inbox is not a contact
 * channel: an account holder always has it (they read it when they sign in).
 */
import type { Consent, ConsentProvision, ContactPoint, Patient } from '@medplum/fhirtypes';
import type { ResourceStore } from '../storage/resource-store';
import { referenceKey, tokenQueryKey } from '../search/index-keys';
import type { ExternalChannel } from './notification-records';

export const CONTACT_POINT_SYSTEM = 'http://hl7.org/fhir/contact-point-system';
export const EXTERNAL_CHANNELS: readonly ExternalChannel[] = ['email', 'sms'];

/** Patients whose Consents are read in one search. */
const BATCH = 200;

function isCurrent(period: { start?: string; end?: string } | undefined, now: Date): boolean {
  if (!period) return true;
  if (period.start && Date.parse(period.start) > now.getTime()) return false;
  if (period.end && Date.parse(period.end) < now.getTime()) return false;
  return true;
}

/** The channel decisions of one provision tree: inner provisions override outer ones. */
function collectDecisions(provision: ConsentProvision | undefined, now: Date, into: Map<ExternalChannel, boolean>): void {
  if (!provision || !isCurrent(provision.period, now)) return;
  if (provision.type) {
    for (const action of provision.action ?? []) {
      for (const coding of action.coding ?? []) {
        if (coding.system === CONTACT_POINT_SYSTEM && (EXTERNAL_CHANNELS as readonly string[]).includes(coding.code ?? '')) into.set(coding.code as ExternalChannel, provision.type === 'permit');
      }
    }
  }
  for (const inner of provision.provision ?? []) collectDecisions(inner, now, into);
}

function consentTime(consent: Consent): number {
  return Date.parse(consent.dateTime ?? consent.meta?.lastUpdated ?? '') || 0;
}

/** The external channels the Consents permit, deciding each channel by the latest Consent that names it. */
export function permittedChannels(consents: readonly Consent[], now: Date): Set<ExternalChannel> {
  const decisions = new Map<ExternalChannel, boolean>();
  const ordered = consents.filter((c) => c.status === 'active').sort((a, b) => consentTime(a) - consentTime(b));
  for (const consent of ordered) collectDecisions(consent.provision, now, decisions);
  return new Set([...decisions].filter(([, permitted]) => permitted).map(([channel]) => channel));
}

/** The permitted external channels of each patient (by id), from their active Consents. */
export async function readPermittedChannels(store: ResourceStore, patientIds: readonly string[], now: Date): Promise<Map<string, Set<ExternalChannel>>> {
  const byPatient = new Map<string, Consent[]>(patientIds.map((id) => [id, []]));
  for (let start = 0; start < patientIds.length; start += BATCH) {
    const batch = patientIds.slice(start, start + BATCH);
    let cursor: string | undefined;
    do {
      const page = await store.search({
        queries: [{ resourceType: 'Consent', criteria: [{ kind: 'keys', keys: batch.map((id) => referenceKey('patient', `Patient/${id}`)) }, { kind: 'keys', keys: [tokenQueryKey('status', undefined, 'active')] }] }],
        sort: [{ param: '_id', descending: false }],
        count: 500,
        ...(cursor ? { cursor } : {}),
      });
      for (const version of page.versions) {
        const consent = version.resource as Consent;
        const id = consent.patient?.reference?.replace(/^Patient\//, '');
        if (id !== undefined) byPatient.get(id)?.push(consent);
      }
      cursor = page.next;
    } while (cursor);
  }
  return new Map([...byPatient].map(([id, consents]) => [id, permittedChannels(consents, now)]));
}

function usable(point: ContactPoint, now: Date): boolean {
  return typeof point.value === 'string' && point.value.trim() !== '' && point.use !== 'old' && isCurrent(point.period, now);
}

/** The patient's address for a channel: the best-ranked current telecom of that kind (SMS: `sms`, else a mobile `phone`). */
export function contactAddress(patient: Patient | undefined, channel: ExternalChannel, now: Date): string | undefined {
  const points = (patient?.telecom ?? []).filter((point) => usable(point, now));
  const matching = channel === 'email' ? points.filter((p) => p.system === 'email') : [...points.filter((p) => p.system === 'sms'), ...points.filter((p) => p.system === 'phone' && p.use === 'mobile')];
  const ranked = matching.map((point, index) => ({ point, index })).sort((a, b) => (a.point.rank ?? Number.MAX_SAFE_INTEGER) - (b.point.rank ?? Number.MAX_SAFE_INTEGER) || a.index - b.index);
  return ranked[0]?.point.value?.trim();
}

/** The preferred language of a patient among English and Spanish (Patient.communication), if it states one. */
export function patientLanguage(patient: Patient | undefined): 'en' | 'es' | undefined {
  const communications = [...(patient?.communication ?? [])].sort((a, b) => Number(b.preferred === true) - Number(a.preferred === true));
  for (const communication of communications) {
    for (const coding of communication.language?.coding ?? []) {
      const code = coding.code?.toLowerCase().split('-')[0];
      if (code === 'en' || code === 'es') return code;
    }
  }
  return undefined;
}
