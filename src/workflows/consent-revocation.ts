/**
 * Consent revocation (requirements seed 001 scenario 5: "WHEN a patient revokes consent to share medical data,
 * THE healthcarePlatform SHALL immediately log the request, block further data sharing outside regulatory
 * requirements, and notify the organization admin and involved providers"). The write itself is audited like every
 * request and takes effect on the next one (src/access/consent-directives.ts, Patient/$share); this reaction
 * notifies: a Consent that was active and is now inactive, rejected or deleted tells the organization
 * administrators and the providers involved with the patient (its general practitioners and care teams).
 */
import type { CareTeam, Consent, Patient } from '@medplum/fhirtypes';
import type { AuthRecords } from '../auth/auth-records';
import type { Outbox, Recipient } from '../notifications/outbox';
import type { ResourceStore, StoredVersion } from '../storage/resource-store';
import { referenceKey } from '../search/index-keys';

export interface ConsentRevocationDependencies {
  storeFor(tenant: string): ResourceStore;
  readonly accounts: AuthRecords['accounts'];
  readonly outbox: Outbox;
  report(error: unknown): void;
}

/** Whether this version ends a Consent that was in force. */
async function revokes(store: ResourceStore, version: StoredVersion): Promise<Consent | undefined> {
  if (version.resourceType !== 'Consent' || version.versionId === '1') return undefined;
  const now = version.resource as Consent | undefined;
  if (now && now.status === 'active') return undefined;
  const before = await store.vread('Consent', version.id, String(Number(version.versionId) - 1));
  const previous = before?.resource as Consent | undefined;
  return previous?.status === 'active' ? previous : undefined;
}

/** The practitioners involved with a patient: its general practitioners and the members of its care teams. */
async function involvedProviders(store: ResourceStore, patientId: string): Promise<string[]> {
  const patient = (await store.read('Patient', patientId))?.resource as Patient | undefined;
  const teams = await store.search({ queries: [{ resourceType: 'CareTeam', criteria: [{ kind: 'keys', keys: [referenceKey('patient', `Patient/${patientId}`)] }] }], sort: [], count: 100 });
  const references = [
    ...(patient?.generalPractitioner ?? []).map((r) => r.reference),
    ...teams.versions.flatMap((v) => ((v.resource as CareTeam).participant ?? []).map((p) => p.member?.reference)),
  ];
  return [...new Set(references.filter((r): r is string => r?.startsWith('Practitioner/') === true))];
}

async function notify(deps: ConsentRevocationDependencies, tenant: string, consent: Consent): Promise<void> {
  const patientId = consent.patient?.reference?.split('/')[1];
  if (!patientId) return;
  const store = deps.storeFor(tenant);
  const providers = await involvedProviders(store, patientId);
  const accounts = providers.length > 0 ? await deps.accounts.find({ tenant, fhirUser: { $in: providers }, status: 'active' }, { _id: 1 }).lean() : [];
  const recipients: Recipient[] = [{ role: 'org-admin' }, ...accounts.map((a) => ({ account: a._id }))];
  await deps.outbox.send({
    tenant,
    topic: 'consent-revoked',
    recipients,
    about: `Patient/${patientId}`,
    urgent: true,
    subject: { en: 'A patient revoked a consent', es: 'Un paciente revocó un consentimiento' },
    body: {
      en: `Consent/${consent.id} of Patient/${patientId} is no longer in force. Data sharing it allowed is blocked from now on, except where regulations require it.`,
      es: `El Consent/${consent.id} del Patient/${patientId} ya no está vigente. El intercambio de datos que permitía queda bloqueado desde ahora, salvo donde la normativa lo exija.`,
    },
  });
}

/** The write listener: revoked consents notify. */
export function onConsentRevocations(deps: ConsentRevocationDependencies) {
  return (tenant: string, versions: readonly StoredVersion[]): void => {
    const store = deps.storeFor(tenant);
    for (const version of versions.filter((v) => v.resourceType === 'Consent')) {
      revokes(store, version)
        .then((revoked) => (revoked ? notify(deps, tenant, revoked) : undefined))
        .catch(deps.report);
    }
  };
}
