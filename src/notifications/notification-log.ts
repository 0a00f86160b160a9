/**
 * What people read back: an account's in-app inbox, and the organization's notification log (seed 000 3.3: "log
 * each recipient, send status, allow retry for failed or bounced contacts ... produce an exportable notification
 * log"), filtered, keyset-paged, exported as CSV or NDJSON, and manual retry of deliveries that did not go through.
 */
import type { QueryFilter } from 'mongoose';
import type { Language } from '../auth/auth-records';
import { RETRYABLE_STATUSES, type DeliveryRecord, type DeliveryStatus, type NotificationRecord, type NotificationRecords } from './notification-records';
import { describeReason } from './notification-texts';

/** A position in a newest-first listing: the last row's creation time and id. */
interface Position {
  readonly t: number;
  readonly id: string;
}

/** A paging cursor this module did not issue. */
export class InvalidPositionError extends Error {}

export function encodePosition(row: { createdAt: Date; _id: string }): string {
  return Buffer.from(JSON.stringify({ t: row.createdAt.getTime(), id: row._id })).toString('base64url');
}

function decodePosition(cursor: string): Position {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Position;
    if (typeof value.t === 'number' && typeof value.id === 'string') return value;
  } catch {
    // reported below
  }
  throw new InvalidPositionError('invalid cursor');
}

/** Rows after `cursor` in (createdAt, _id) descending order. */
function after(cursor: string | undefined): QueryFilter<DeliveryRecord> {
  if (cursor === undefined) return {};
  const { t, id } = decodePosition(cursor);
  return { $or: [{ createdAt: { $lt: new Date(t) } }, { createdAt: new Date(t), _id: { $lt: id } }] };
}

async function notificationsOf(records: NotificationRecords, rows: readonly DeliveryRecord[]): Promise<Map<string, NotificationRecord>> {
  const ids = [...new Set(rows.map((r) => r.notification))];
  const found = await records.notifications.find({ _id: { $in: ids } }).lean<NotificationRecord[]>();
  return new Map(found.map((n) => [n._id, n]));
}

/** An inbox item as its account reads it, in the account's language. */
export interface InboxItem {
  readonly id: string;
  readonly notification: string;
  readonly topic: string;
  readonly subject: string;
  readonly body: string;
  readonly about?: string;
  readonly urgent: boolean;
  readonly language: Language;
  readonly receivedAt: string;
  readonly readAt?: string;
}

export interface Page<T> {
  readonly items: T[];
  readonly next?: string;
}

function inboxFilter(tenant: string, account: string): QueryFilter<DeliveryRecord> {
  return { tenant, 'recipient.account': account, channel: 'in-app', status: 'delivered' };
}

/** The account's delivered in-app notifications, newest first. */
export async function readInbox(records: NotificationRecords, tenant: string, account: string, options: { unreadOnly: boolean; count: number; cursor?: string }): Promise<Page<InboxItem> & { unread: number }> {
  const filter: QueryFilter<DeliveryRecord> = { ...inboxFilter(tenant, account), ...(options.unreadOnly ? { readAt: { $exists: false } } : {}) };
  const rows = await records.deliveries.find({ ...filter, ...after(options.cursor) }).sort({ createdAt: -1, _id: -1 }).limit(options.count + 1).lean<DeliveryRecord[]>();
  const page = rows.slice(0, options.count);
  const notifications = await notificationsOf(records, page);
  const items = page.flatMap((row): InboxItem[] => {
    const n = notifications.get(row.notification);
    if (!n) return [];
    return [{ id: row._id, notification: n._id, topic: n.topic, subject: n.subject[row.language], body: n.body[row.language], ...(n.about ? { about: n.about } : {}), urgent: n.urgent, language: row.language, receivedAt: (row.deliveredAt ?? row.createdAt).toISOString(), ...(row.readAt ? { readAt: row.readAt.toISOString() } : {}) }];
  });
  const unread = await records.deliveries.countDocuments({ ...inboxFilter(tenant, account), readAt: { $exists: false } });
  const last = page[page.length - 1];
  return { items, unread, ...(rows.length > options.count && last ? { next: encodePosition(last) } : {}) };
}

/** Marks one inbox item read (once: the first time stays); false when the account has no such item. */
export async function markRead(records: NotificationRecords, tenant: string, account: string, id: string, at: Date): Promise<boolean> {
  const filter = { ...inboxFilter(tenant, account), _id: id };
  if (!(await records.deliveries.exists(filter))) return false;
  await records.deliveries.updateOne({ ...filter, readAt: { $exists: false } }, { $set: { readAt: at } });
  return true;
}

/** Marks every unread inbox item of the account read; returns how many. */
export async function markAllRead(records: NotificationRecords, tenant: string, account: string, at: Date): Promise<number> {
  const result = await records.deliveries.updateMany({ ...inboxFilter(tenant, account), readAt: { $exists: false } }, { $set: { readAt: at } });
  return result.modifiedCount;
}

export interface LogFilter {
  readonly topic?: string;
  readonly status?: DeliveryStatus;
  readonly notification?: string;
  /** Notifications sent at or after. */
  readonly since?: Date;
  /** Notifications sent before. */
  readonly until?: Date;
}

/** One log row: one delivery (a recipient on a channel) with its notification and attempts. */
export interface LogEntry {
  readonly delivery: string;
  readonly notification: string;
  readonly topic: string;
  readonly sentAt: string;
  readonly urgent: boolean;
  readonly about?: string;
  /** In the reader's language. */
  readonly subject: string;
  readonly recipient: { readonly account?: string; readonly patient?: string; readonly display: string };
  readonly via: string;
  readonly channel: string;
  readonly address?: string;
  readonly language: Language;
  readonly status: DeliveryStatus;
  readonly reason?: string;
  /** The reason in the reader's language. */
  readonly reasonText?: string;
  readonly attempts: readonly { readonly at: string; readonly outcome: string; readonly reason?: string; readonly transport?: string }[];
  readonly nextAttemptAt?: string;
  readonly deliveredAt?: string;
  readonly readAt?: string;
}

function logQuery(tenant: string, filter: LogFilter): QueryFilter<DeliveryRecord> {
  const createdAt = { ...(filter.since ? { $gte: filter.since } : {}), ...(filter.until ? { $lt: filter.until } : {}) };
  return {
    tenant,
    ...(filter.topic ? { topic: filter.topic } : {}),
    ...(filter.status ? { status: filter.status } : {}),
    ...(filter.notification ? { notification: filter.notification } : {}),
    ...(Object.keys(createdAt).length > 0 ? { createdAt } : {}),
  };
}

function toEntry(row: DeliveryRecord, notification: NotificationRecord | undefined, language: Language): LogEntry {
  return {
    delivery: row._id,
    notification: row.notification,
    topic: row.topic,
    sentAt: row.createdAt.toISOString(),
    urgent: row.urgent,
    ...(notification?.about ? { about: notification.about } : {}),
    subject: notification?.subject[language] ?? '',
    recipient: { ...(row.recipient.account ? { account: row.recipient.account } : {}), ...(row.recipient.patient ? { patient: row.recipient.patient } : {}), display: row.recipient.display },
    via: row.via,
    channel: row.channel,
    ...(row.address ? { address: row.address } : {}),
    language: row.language,
    status: row.status,
    ...(row.reason ? { reason: row.reason, reasonText: describeReason(language, row.reason) } : {}),
    attempts: row.attempts.map((a) => ({ at: a.at.toISOString(), outcome: a.outcome, ...(a.reason ? { reason: a.reason } : {}), ...(a.transport ? { transport: a.transport } : {}) })),
    ...(row.status === 'queued' && row.nextAttemptAt ? { nextAttemptAt: row.nextAttemptAt.toISOString() } : {}),
    ...(row.deliveredAt ? { deliveredAt: row.deliveredAt.toISOString() } : {}),
    ...(row.readAt ? { readAt: row.readAt.toISOString() } : {}),
  };
}

/** A page of the organization's log, newest first. */
export async function readLog(records: NotificationRecords, tenant: string, filter: LogFilter, options: { count: number; cursor?: string; language: Language }): Promise<Page<LogEntry>> {
  const rows = await records.deliveries.find({ ...logQuery(tenant, filter), ...after(options.cursor) }).sort({ createdAt: -1, _id: -1 }).limit(options.count + 1).lean<DeliveryRecord[]>();
  const page = rows.slice(0, options.count);
  const notifications = await notificationsOf(records, page);
  const last = page[page.length - 1];
  return { items: page.map((row) => toEntry(row, notifications.get(row.notification), options.language)), ...(rows.length > options.count && last ? { next: encodePosition(last) } : {}) };
}

/** Every log row of the filter, newest first, read in batches (for export). */
export async function* exportLog(records: NotificationRecords, tenant: string, filter: LogFilter, language: Language): AsyncGenerator<LogEntry> {
  let cursor: string | undefined;
  do {
    const page = await readLog(records, tenant, filter, { count: 500, language, ...(cursor ? { cursor } : {}) });
    yield* page.items;
    cursor = page.next;
  } while (cursor);
}

export const CSV_COLUMNS = ['notification', 'topic', 'sent_at', 'urgent', 'about', 'subject', 'delivery', 'recipient', 'account', 'patient', 'via', 'channel', 'address', 'language', 'status', 'reason', 'attempts', 'last_attempt_at', 'next_attempt_at', 'delivered_at', 'read_at'] as const;

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break; a text starting with = + - @ or a
 * tab is prefixed with ' so that spreadsheets do not run it as a formula (OWASP "CSV injection").
 */
export function csvField(value: string | number | boolean | undefined): string {
  if (value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A log entry as a CSV line (without the line break), in CSV_COLUMNS order. */
export function csvLine(entry: LogEntry): string {
  const last = entry.attempts[entry.attempts.length - 1];
  const values: Record<(typeof CSV_COLUMNS)[number], string | number | boolean | undefined> = {
    notification: entry.notification,
    topic: entry.topic,
    sent_at: entry.sentAt,
    urgent: entry.urgent,
    about: entry.about,
    subject: entry.subject,
    delivery: entry.delivery,
    recipient: entry.recipient.display,
    account: entry.recipient.account,
    patient: entry.recipient.patient,
    via: entry.via,
    channel: entry.channel,
    address: entry.address,
    language: entry.language,
    status: entry.status,
    reason: entry.reasonText ?? entry.reason,
    attempts: entry.attempts.length,
    last_attempt_at: last?.at,
    next_attempt_at: entry.nextAttemptAt,
    delivered_at: entry.deliveredAt,
    read_at: entry.readAt,
  };
  return CSV_COLUMNS.map((column) => csvField(values[column])).join(',');
}

/** A notification of the organization with all its deliveries. */
export async function readNotification(records: NotificationRecords, tenant: string, id: string, language: Language): Promise<(Omit<NotificationRecord, '_id' | 'createdAt' | 'settledAt'> & { id: string; createdAt: string; settledAt?: string; deliveries: LogEntry[] }) | undefined> {
  const notification = await records.notifications.findOne({ _id: id, tenant }).lean<NotificationRecord>();
  if (!notification) return undefined;
  const rows = await records.deliveries.find({ notification: id, tenant }).sort({ createdAt: 1, _id: 1 }).lean<DeliveryRecord[]>();
  const { _id, createdAt, settledAt, ...rest } = notification;
  return { id: _id, ...rest, createdAt: createdAt.toISOString(), ...(settledAt ? { settledAt: settledAt.toISOString() } : {}), deliveries: rows.map((row) => toEntry(row, notification, language)) };
}

/** Why a delivery cannot be retried by hand, if it cannot. */
export type RetryRefusal = 'not-found' | 'not-retryable' | 'no-channel';

/**
 * Queues again, for a new round of automatic attempts, the failed, bounced and undeliverable deliveries of one
 * notification (or the one delivery named); the notification goes back to `sending`, so it is settled again and a
 * new alert is raised if someone is still not reached. Deliveries without a channel (nobody to contact, no consented
 * channel) need another way of contact and are not retried. Returns how many were queued.
 */
export async function retryDeliveries(records: NotificationRecords, tenant: string, target: { notification: string } | { delivery: string }, at: Date): Promise<number | RetryRefusal> {
  let notificationId: string;
  let filter: QueryFilter<DeliveryRecord>;
  if ('delivery' in target) {
    const delivery = await records.deliveries.findOne({ _id: target.delivery, tenant }).lean<DeliveryRecord>();
    if (!delivery) return 'not-found';
    if (delivery.channel === 'none') return 'no-channel';
    if (!RETRYABLE_STATUSES.includes(delivery.status)) return 'not-retryable';
    notificationId = delivery.notification;
    filter = { _id: delivery._id, status: delivery.status };
  } else {
    if (!(await records.notifications.exists({ _id: target.notification, tenant }))) return 'not-found';
    notificationId = target.notification;
    filter = { notification: notificationId, tenant, status: { $in: RETRYABLE_STATUSES }, channel: { $ne: 'none' } };
    if (!(await records.deliveries.exists(filter))) return 0;
  }
  // The notification is reopened first, so a settle check running meanwhile cannot close it over queued deliveries.
  await records.notifications.updateOne({ _id: notificationId, tenant }, { $set: { status: 'sending' }, $unset: { settledAt: '' }, $inc: { round: 1 } });
  const result = await records.deliveries.updateMany(filter, { $set: { status: 'queued', nextAttemptAt: at, roundAttempts: 0 }, $unset: { reason: '', claim: '' } });
  return result.modifiedCount;
}
