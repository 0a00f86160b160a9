/**
 * From the recipients a caller names to the deliveries to make: accounts, every active account of a persona, or a
 * patient (its accounts, and the external channels it consented to), always inside the notification's organization
 * (seed 000 2.5: organizations are isolated), each in the person's language (seed 000 5.2).
 */
import type { Patient } from '@medplum/fhirtypes';
import type { AccountRecord, AuthRecords, Language } from '../auth/auth-records';
import type { ResourceStore } from '../storage/resource-store';
import { contactAddress, patientLanguage, readPermittedChannels } from './channel-consent';
import type { Channel, DeliveryRecord } from './notification-records';
import type { Recipient } from './outbox';

/** A delivery decided at send time, before it gets its ids. */
export type PlannedDelivery = Pick<DeliveryRecord, 'recipient' | 'via' | 'person' | 'channel' | 'address' | 'language' | 'status' | 'reason'>;

export interface ResolveContext {
  readonly tenant: string;
  readonly accounts: AuthRecords['accounts'];
  readonly store: ResourceStore;
  /** The organization's default language, for people whose own is unknown. */
  readonly defaultLanguage: Language;
  readonly now: Date;
}

interface Person {
  readonly key: string;
  readonly via: string;
  readonly accounts: Map<string, AccountRecord>;
  patient?: string;
}

const PATIENT_PREFIX = 'Patient/';

function patientOf(account: AccountRecord): string | undefined {
  return account.fhirUser?.startsWith(PATIENT_PREFIX) ? account.fhirUser.slice(PATIENT_PREFIX.length) : undefined;
}

/** A name staff can read in the log: the patient's name, else its reference. */
export function patientDisplay(patient: Patient | undefined, id: string): string {
  const name = patient?.name?.[0];
  const text = name?.text ?? [...(name?.given ?? []), name?.family].filter(Boolean).join(' ');
  return text ? `${text} (Patient/${id})` : `Patient/${id}`;
}

/** Reads live Patients by id, a batch at a time. */
export async function readPatients(store: ResourceStore, ids: readonly string[]): Promise<Map<string, Patient>> {
  const found = new Map<string, Patient>();
  for (let start = 0; start < ids.length; start += 200) {
    const batch = ids.slice(start, start + 200);
    const page = await store.search({ queries: [{ resourceType: 'Patient', criteria: [{ kind: 'ids', ids: batch }] }], sort: [{ param: '_id', descending: false }], count: batch.length });
    for (const version of page.versions) found.set(version.id, version.resource as Patient);
  }
  return found;
}

function unreachable(via: string, person: string, display: string, reason: string, language: Language): PlannedDelivery {
  return { recipient: { display }, via, person, channel: 'none', language, status: 'undeliverable', reason };
}

/**
 * Resolves recipients into deliveries: one in-app delivery per account, one per consented external channel of a
 * patient; a recipient nobody can be found for, or a patient with neither an account nor a consented channel,
 * becomes an `undeliverable` delivery with its reason, so the log shows it and staff are alerted.
 */
export async function resolveRecipients(recipients: readonly Recipient[], context: ResolveContext): Promise<PlannedDelivery[]> {
  const { tenant, defaultLanguage } = context;
  const planned: PlannedDelivery[] = [];
  const persons = new Map<string, Person>();
  const personFor = (key: string, via: string): Person => {
    let person = persons.get(key);
    if (!person) persons.set(key, (person = { key, via, accounts: new Map() }));
    return person;
  };
  const addAccount = (account: AccountRecord, via: string): void => {
    const patient = patientOf(account);
    const person = personFor(patient ? `${PATIENT_PREFIX}${patient}` : `account:${account._id}`, via);
    person.accounts.set(account._id, account);
    if (patient) person.patient = patient;
  };

  const accountIds = recipients.flatMap((r) => ('account' in r ? [r.account] : []));
  const roles = recipients.flatMap((r) => ('role' in r ? [r.role] : []));
  const patientIds = [...new Set(recipients.flatMap((r) => ('patient' in r ? [r.patient] : [])))];

  if (accountIds.length > 0) {
    const found = new Map((await context.accounts.find({ _id: { $in: accountIds }, tenant }).lean<AccountRecord[]>()).map((a) => [a._id, a]));
    for (const id of new Set(accountIds)) {
      const account = found.get(id);
      const via = `account:${id}`;
      if (!account) planned.push(unreachable(via, via, via, 'unknown-account', defaultLanguage));
      else if (account.status !== 'active') planned.push(unreachable(via, via, account.displayName, 'account-inactive', account.language));
      else addAccount(account, via);
    }
  }
  if (roles.length > 0) {
    const found = await context.accounts.find({ tenant, role: { $in: roles }, status: 'active' }).sort({ _id: 1 }).lean<AccountRecord[]>();
    for (const role of new Set(roles)) {
      const members = found.filter((a) => a.role === role);
      if (members.length === 0) planned.push(unreachable(`role:${role}`, `role:${role}`, `role:${role}`, 'no-active-account', defaultLanguage));
      for (const account of members) addAccount(account, `role:${role}`);
    }
  }
  if (patientIds.length > 0) {
    const linked = await context.accounts.find({ tenant, status: 'active', fhirUser: { $in: patientIds.map((id) => `${PATIENT_PREFIX}${id}`) } }).sort({ _id: 1 }).lean<AccountRecord[]>();
    for (const id of patientIds) {
      const person = personFor(`${PATIENT_PREFIX}${id}`, `patient:${id}`);
      person.patient = id;
    }
    for (const account of linked) addAccount(account, `patient:${patientOf(account) as string}`);
  }

  const withPatient = [...persons.values()].flatMap((p) => (p.patient ? [p.patient] : []));
  const patients = await readPatients(context.store, withPatient);
  const channels = withPatient.length > 0 ? await readPermittedChannels(context.store, withPatient, context.now) : new Map();

  for (const person of persons.values()) {
    const patient = person.patient ? patients.get(person.patient) : undefined;
    const firstAccount = [...person.accounts.values()][0];
    const language: Language = firstAccount?.language ?? patientLanguage(patient) ?? defaultLanguage;
    const display = person.patient ? patientDisplay(patient, person.patient) : (firstAccount?.displayName ?? person.key);
    if (person.patient && !patient && person.accounts.size === 0) {
      planned.push(unreachable(person.via, person.key, display, 'unknown-patient', language));
      continue;
    }
    for (const account of person.accounts.values()) {
      planned.push({ recipient: { account: account._id, ...(person.patient ? { patient: person.patient } : {}), display: person.patient ? display : account.displayName }, via: person.via, person: person.key, channel: 'in-app', language: account.language, status: 'queued' });
    }
    const permitted = person.patient ? (channels.get(person.patient) ?? new Set()) : new Set();
    for (const channel of ['email', 'sms'] as const) {
      if (!permitted.has(channel)) continue;
      const address = contactAddress(patient, channel, context.now);
      const recipient = { patient: person.patient as string, display };
      planned.push(address ? { recipient, via: person.via, person: person.key, channel, address, language, status: 'queued' } : { recipient, via: person.via, person: person.key, channel, language, status: 'undeliverable', reason: 'no-address' });
    }
    if (person.accounts.size === 0 && permitted.size === 0) planned.push(unreachable(person.via, person.key, display, 'no-consented-channel', language));
  }
  return planned;
}

/** Whether a channel leaves the server through a transport. */
export function isExternal(channel: Channel): channel is 'email' | 'sms' {
  return channel === 'email' || channel === 'sms';
}
