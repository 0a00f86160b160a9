/**
 * The notification outbox's own records (DESIGN.md "Storage": mongoose for non-FHIR records; "notifications/"):
 * a notification as a caller sent it, one delivery per resolved recipient and channel with its status and attempt
 * history (requirements seed 000 3.3: "log each recipient, send status"), and each organization's default language.
 */
import { Schema, type Connection, type Model } from 'mongoose';
import { LANGUAGES, type Language } from '../auth/auth-records';

/** Where a delivery goes: the account's in-app inbox, an external transport, or nowhere (`none`: no channel could be chosen). */
export const CHANNELS = ['in-app', 'email', 'sms', 'none'] as const;
export type Channel = (typeof CHANNELS)[number];
/** The channels that leave the server through a transport. */
export type ExternalChannel = 'email' | 'sms';

/**
 * `queued`: waiting for its first attempt or an automatic retry (`nextAttemptAt`); `delivered`: handed over (the
 * inbox holds it, or the transport accepted it); `failed`: retries exhausted on transient errors; `bounced`: the
 * transport refused the address for good; `undeliverable`: no attempt could be made (`reason` says why).
 */
export const DELIVERY_STATUSES = ['queued', 'delivered', 'failed', 'bounced', 'undeliverable'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
/** Statuses staff may retry by hand (seed 000 3.3: "allow retry for failed or bounced contacts"). */
export const RETRYABLE_STATUSES: readonly DeliveryStatus[] = ['failed', 'bounced', 'undeliverable'];

export interface LocalizedTextRecord {
  en: string;
  es: string;
}

/** A recipient as the caller named it. */
export interface RecipientRecord {
  account?: string;
  role?: string;
  patient?: string;
}

export interface NotificationRecord {
  _id: string;
  tenant: string;
  topic: string;
  recipients: RecipientRecord[];
  subject: LocalizedTextRecord;
  body: LocalizedTextRecord;
  about?: string;
  urgent: boolean;
  /** `sending` while any delivery is queued; `settled` once every delivery reached a final status. */
  status: 'sending' | 'settled';
  /** 1, plus one per manual retry: each round that ends with unreached recipients raises its own alert. */
  round: number;
  /** For an undelivered-notification alert: the notification it reports. */
  alertOf?: string;
  /** Who sent it through the HTTP API (account or client id); absent when the server itself sent it. */
  sentBy?: string;
  createdAt: Date;
  settledAt?: Date;
}

export interface AttemptRecord {
  at: Date;
  outcome: 'delivered' | 'failed' | 'bounced' | 'undeliverable';
  /** A stable reason code (delivery-texts.ts) or the transport's short description. */
  reason?: string;
  /** The transport that made the attempt. */
  transport?: string;
}

export interface DeliveryRecord {
  _id: string;
  notification: string;
  tenant: string;
  topic: string;
  urgent: boolean;
  /** Who: the account (in-app, or a patient's account) and/or the patient, with a name staff can read. */
  recipient: { account?: string; patient?: string; display: string };
  /** How the caller named this recipient, e.g. `role:nurse`, `patient:123`, `account:abc`. */
  via: string;
  /** One person may get several deliveries (inbox, email, SMS): they are reached when any one is delivered. */
  person: string;
  channel: Channel;
  /** Email address or phone number of an external delivery, as read at the last attempt. */
  address?: string;
  language: Language;
  status: DeliveryStatus;
  reason?: string;
  attempts: AttemptRecord[];
  /** Attempts since the delivery was (re)queued; automatic retries stop at the configured maximum. */
  roundAttempts: number;
  /** When the next attempt is due (queued only); a claimed delivery's lease end. */
  nextAttemptAt?: Date;
  /** The claim of the worker attempting it; completions carrying another claim are discarded. */
  claim?: string;
  createdAt: Date;
  deliveredAt?: Date;
  /** In-app only: when the account marked it read. */
  readAt?: Date;
}

/** An organization's notification settings. */
export interface NotificationSettingsRecord {
  /** The tenant. */
  _id: string;
  /** Language of messages to people whose own language is unknown (seed 000 5.2: the site's configured language). */
  defaultLanguage: Language;
}

const options = { versionKey: false, minimize: false } as const;
const localized = { en: { type: String, required: true }, es: { type: String, required: true } };

const notificationSchema = new Schema<NotificationRecord>(
  {
    _id: { type: String, required: true },
    tenant: { type: String, required: true },
    topic: { type: String, required: true },
    recipients: { type: [{ _id: false, account: String, role: String, patient: String }], default: [] },
    subject: localized,
    body: localized,
    about: String,
    urgent: { type: Boolean, required: true },
    status: { type: String, required: true, enum: ['sending', 'settled'] },
    round: { type: Number, required: true },
    alertOf: String,
    sentBy: String,
    createdAt: { type: Date, required: true },
    settledAt: Date,
  },
  { ...options, collection: 'notifications' },
);
notificationSchema.index({ status: 1 });

const attemptSchema = new Schema<AttemptRecord>({ at: { type: Date, required: true }, outcome: { type: String, required: true }, reason: String, transport: String }, { _id: false });

const deliverySchema = new Schema<DeliveryRecord>(
  {
    _id: { type: String, required: true },
    notification: { type: String, required: true, index: true },
    tenant: { type: String, required: true },
    topic: { type: String, required: true },
    urgent: { type: Boolean, required: true },
    recipient: { _id: false, account: String, patient: String, display: { type: String, required: true } },
    via: { type: String, required: true },
    person: { type: String, required: true },
    channel: { type: String, required: true, enum: CHANNELS },
    address: String,
    language: { type: String, required: true, enum: LANGUAGES },
    status: { type: String, required: true, enum: DELIVERY_STATUSES },
    reason: String,
    attempts: { type: [attemptSchema], default: [] },
    roundAttempts: { type: Number, required: true, default: 0 },
    nextAttemptAt: Date,
    claim: String,
    createdAt: { type: Date, required: true },
    deliveredAt: Date,
    readAt: Date,
  },
  { ...options, collection: 'notification_deliveries' },
);
// The worker's claim: due queued deliveries, oldest due first.
deliverySchema.index({ status: 1, nextAttemptAt: 1 });
// The organization's log, newest first, and an account's inbox.
deliverySchema.index({ tenant: 1, createdAt: -1, _id: -1 });
deliverySchema.index({ 'recipient.account': 1, channel: 1, status: 1, createdAt: -1 });

const settingsSchema = new Schema<NotificationSettingsRecord>(
  { _id: { type: String, required: true }, defaultLanguage: { type: String, required: true, enum: LANGUAGES } },
  { ...options, collection: 'notification_settings' },
);

function bindModels(connection: Connection) {
  const model = <T>(name: string, schema: Schema<T>): Model<T> => (connection.models[name] as Model<T> | undefined) ?? connection.model<T>(name, schema);
  return {
    connection,
    notifications: model('Notification', notificationSchema),
    deliveries: model('NotificationDelivery', deliverySchema),
    settings: model('NotificationSettings', settingsSchema),
  };
}

/** The outbox's models bound to the server's connection. */
export type NotificationRecords = ReturnType<typeof bindModels>;

/** Binds the models to a connection and makes sure their indexes exist. */
export async function openNotificationRecords(connection: Connection): Promise<NotificationRecords> {
  const records = bindModels(connection);
  await Promise.all([records.notifications.init(), records.deliveries.init(), records.settings.init()]);
  return records;
}

/** The organization's default language, English when it set none. */
export async function defaultLanguageOf(records: NotificationRecords, tenant: string): Promise<Language> {
  const settings = await records.settings.findById(tenant).lean();
  return settings?.defaultLanguage ?? 'en';
}
