/**
 * The outbox other parts of the server call to tell people something (DESIGN.md "notifications/"): break-the-glass
 * start and end (seed 000 2.1), consent revocation (seed 001 scenario 5), elevated permissions (seed 000 5.3),
 * mass appointment cancellation (seed 000 2.8). `send` records the notification and its deliveries durably and
 * returns at once; a background worker delivers them with retry and backoff (deliver-notifications.ts).
 */
import { randomUUID } from 'node:crypto';
import type { AuthRecords } from '../auth/auth-records';
import { PERSONAS, type Persona } from '../auth/principal';
import type { ResourceStore } from '../storage/resource-store';
import { defaultLanguageOf, type DeliveryRecord, type NotificationRecord, type NotificationRecords } from './notification-records';
import { resolveRecipients } from './resolve-recipients';

/**
 * Who to tell. Recipients are always looked up inside the notification's organization: an account id or a patient
 * of another organization is never contacted (it is logged as undeliverable).
 */
export type Recipient =
  /** One account, by id. A patient's account also gets the external channels the patient consented to. */
  | { readonly account: string }
  /** Every active account of that persona in the organization. */
  | { readonly role: Persona }
  /** A Patient id: its account(s) if any (in-app), plus the external channels it consented to (channel-consent.ts). */
  | { readonly patient: string };

/** A text in both languages of the platform; each recipient reads it in their own (seed 000 5.2). */
export interface LocalizedText {
  readonly en: string;
  readonly es: string;
}

export interface NotificationRequest {
  /** The organization: recipients are resolved in it only. */
  readonly tenant: string;
  /** Stable code of what happened, e.g. `break-glass-started`, `consent-revoked` (lower case, digits, `.` and `-`). */
  readonly topic: string;
  readonly recipients: readonly Recipient[];
  /** At most 200 characters in each language. */
  readonly subject: LocalizedText;
  /** At most 10,000 characters in each language. */
  readonly body: LocalizedText;
  /** What the notification is about, as a relative reference, e.g. `Patient/123`, `Appointment/9`. */
  readonly about?: string;
  /** Shown first in inboxes, and named in the alert when it does not reach someone. */
  readonly urgent?: boolean;
}

export interface Outbox {
  /**
   * Records the notification and one delivery per resolved recipient and channel; returns the notification id.
   * Durable: once it resolves, the notification survives a crash and will be delivered (retried with backoff on
   * failures); when a recipient cannot be reached at all, the organization's administrators are alerted.
   *
   * @throws NotificationRequestError when the request is malformed (a programming error of the caller; the
   * message names the field).
   */
  send(request: NotificationRequest): Promise<string>;
}

/** A malformed NotificationRequest; `field` is the path of the offending value, `text` says what is wrong. */
export class NotificationRequestError extends Error {
  constructor(
    readonly field: string,
    readonly text: LocalizedText,
  ) {
    super(`${field}: ${text.en}`);
    this.name = 'NotificationRequestError';
  }
}

export const TOPIC_PATTERN = /^[a-z0-9][a-z0-9.-]{0,63}$/;
const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;
const REFERENCE_PATTERN = /^[A-Z][A-Za-z]{1,63}\/[A-Za-z0-9\-.]{1,64}$/;
export const MAX_RECIPIENTS = 10_000;
const LIMITS = { subject: 200, body: 10_000 } as const;

function fail(field: string, en: string, es: string): never {
  throw new NotificationRequestError(field, { en, es });
}

function checkText(value: unknown, field: 'subject' | 'body'): LocalizedText {
  if (value === null || typeof value !== 'object') fail(field, 'must be an object with en and es texts', 'debe ser un objeto con textos en y es');
  for (const language of ['en', 'es'] as const) {
    const text = (value as Record<string, unknown>)[language];
    if (typeof text !== 'string' || text.trim() === '') fail(`${field}.${language}`, 'must be a non-empty string', 'debe ser un texto no vacío');
    if (text.length > LIMITS[field]) fail(`${field}.${language}`, `must be at most ${LIMITS[field]} characters`, `debe tener como máximo ${LIMITS[field]} caracteres`);
  }
  const { en, es } = value as LocalizedText;
  return { en, es };
}

function checkRecipient(value: unknown, index: number): Recipient {
  const field = `recipients[${index}]`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(field, 'must be an object', 'debe ser un objeto');
  const keys = Object.keys(value);
  if (keys.length !== 1) fail(field, 'must have exactly one of account, role or patient', 'debe tener exactamente uno de account, role o patient');
  const entry = value as Record<string, unknown>;
  if ('account' in entry) {
    if (typeof entry.account !== 'string' || entry.account === '' || entry.account.length > 200) fail(`${field}.account`, 'must be an account id', 'debe ser un id de cuenta');
    return { account: entry.account };
  }
  if ('role' in entry) {
    if (!(PERSONAS as readonly unknown[]).includes(entry.role)) fail(`${field}.role`, `must be one of ${PERSONAS.join(', ')}`, `debe ser uno de ${PERSONAS.join(', ')}`);
    return { role: entry.role as Persona };
  }
  if ('patient' in entry) {
    if (typeof entry.patient !== 'string' || !ID_PATTERN.test(entry.patient)) fail(`${field}.patient`, 'must be a Patient id (without "Patient/")', 'debe ser un id de Patient (sin "Patient/")');
    return { patient: entry.patient };
  }
  return fail(field, `unknown recipient kind '${keys[0] as string}' (account, role or patient)`, `tipo de destinatario desconocido '${keys[0] as string}' (account, role o patient)`);
}

/** Checks a request from a caller or a client; throws NotificationRequestError naming the first bad field. */
export function checkNotificationRequest(request: unknown): NotificationRequest {
  if (request === null || typeof request !== 'object') fail('request', 'must be an object', 'debe ser un objeto');
  const r = request as Record<string, unknown>;
  if (typeof r.tenant !== 'string' || r.tenant === '') fail('tenant', 'must be the organization (a non-empty string)', 'debe ser la organización (un texto no vacío)');
  if (typeof r.topic !== 'string' || !TOPIC_PATTERN.test(r.topic)) fail('topic', 'must be a code of lower-case letters, digits, "." and "-" (at most 64)', 'debe ser un código de minúsculas, dígitos, "." y "-" (64 como máximo)');
  if (!Array.isArray(r.recipients) || r.recipients.length === 0) fail('recipients', 'must be a non-empty array', 'debe ser una lista no vacía');
  if (r.recipients.length > MAX_RECIPIENTS) fail('recipients', `must have at most ${MAX_RECIPIENTS} entries`, `debe tener como máximo ${MAX_RECIPIENTS} elementos`);
  const recipients = r.recipients.map(checkRecipient);
  const subject = checkText(r.subject, 'subject');
  const body = checkText(r.body, 'body');
  if (r.about !== undefined && (typeof r.about !== 'string' || !REFERENCE_PATTERN.test(r.about))) fail('about', 'must be a relative reference such as Patient/123', 'debe ser una referencia relativa como Patient/123');
  if (r.urgent !== undefined && typeof r.urgent !== 'boolean') fail('urgent', 'must be true or false', 'debe ser true o false');
  return { tenant: r.tenant, topic: r.topic, recipients, subject, body, ...(r.about !== undefined ? { about: r.about as string } : {}), ...(r.urgent !== undefined ? { urgent: r.urgent as boolean } : {}) };
}

export interface OutboxDependencies {
  readonly records: NotificationRecords;
  readonly accounts: AuthRecords['accounts'];
  storeFor(tenant: string): ResourceStore;
  /** Told after each notification is recorded, so delivery starts at once. */
  onRecorded(notification: string, hasQueued: boolean): void;
  readonly now?: () => Date;
}

export interface RecordOptions {
  /** A fixed id (an alert's derives from what it reports); recording it again is a no-op. */
  readonly id?: string;
  readonly alertOf?: string;
  readonly sentBy?: string;
}

/** The outbox, plus `record` for the module itself (an alert records under an id derived from what it reports). */
export interface RecordingOutbox extends Outbox {
  record(request: NotificationRequest, options?: RecordOptions): Promise<string>;
}

function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: unknown }).code === 11000;
}

export function createOutbox(deps: OutboxDependencies): RecordingOutbox {
  const now = deps.now ?? (() => new Date());
  const { records } = deps;

  async function record(input: NotificationRequest, options: RecordOptions = {}): Promise<string> {
    const request = checkNotificationRequest(input);
    const at = now();
    const planned = await resolveRecipients(request.recipients, {
      tenant: request.tenant,
      accounts: deps.accounts,
      store: deps.storeFor(request.tenant),
      defaultLanguage: await defaultLanguageOf(records, request.tenant),
      now: at,
    });
    const id = options.id ?? randomUUID();
    const notification: NotificationRecord = {
      _id: id,
      tenant: request.tenant,
      topic: request.topic,
      recipients: request.recipients.map((r) => ({ ...r })),
      subject: { ...request.subject },
      body: { ...request.body },
      ...(request.about ? { about: request.about } : {}),
      urgent: request.urgent ?? false,
      status: 'sending',
      round: 1,
      ...(options.alertOf ? { alertOf: options.alertOf } : {}),
      ...(options.sentBy ? { sentBy: options.sentBy } : {}),
      createdAt: at,
    };
    const deliveries: DeliveryRecord[] = planned.map((p) => ({
      ...p,
      _id: randomUUID(),
      notification: id,
      tenant: request.tenant,
      topic: request.topic,
      urgent: notification.urgent,
      attempts: p.status === 'undeliverable' ? [{ at, outcome: 'undeliverable', ...(p.reason ? { reason: p.reason } : {}) }] : [],
      roundAttempts: 0,
      ...(p.status === 'queued' ? { nextAttemptAt: at } : {}),
      createdAt: at,
    }));
    try {
      await records.connection.transaction(async (session) => {
        await records.notifications.create([notification], { session });
        if (deliveries.length > 0) await records.deliveries.insertMany(deliveries, { session });
      });
    } catch (error) {
      // An alert recorded twice (a settle check repeated after a crash) is the same alert.
      if (options.id !== undefined && isDuplicateKey(error)) return id;
      throw error;
    }
    deps.onRecorded(id, deliveries.some((d) => d.status === 'queued'));
    return id;
  }

  return { send: (request) => record(request), record };
}
