/**
 * Puts the notifications module together for the composition root: the records, the outbox callers use, the
 * background delivery worker, and the alert that tells an organization's administrators who a notification did
 * not reach (seed 000 2.8).
 */
import type { Connection } from 'mongoose';
import type { Logger } from 'pino';
import type { AuthRecords } from '../auth/auth-records';
import type { ResourceStore } from '../storage/resource-store';
import { startDeliveryWorker, type DeliveryWorker, type UnreachedPerson } from './deliver-notifications';
import { openNotificationRecords, type NotificationRecord, type NotificationRecords } from './notification-records';
import { alertTexts } from './notification-texts';
import { createOutbox, type RecordingOutbox } from './outbox';
import { DEFAULT_BACKOFF } from './retry-policy';
import type { Transports } from './transports';

/** Topic of the alert about a notification that did not reach everyone. */
export const UNDELIVERED_TOPIC = 'notification-undelivered';

export interface NotificationsOptions {
  readonly connection: Connection;
  readonly accounts: AuthRecords['accounts'];
  storeFor(tenant: string): ResourceStore;
  readonly transports: Transports;
  readonly maxAttempts: number;
  readonly retryDelayMs: number;
  readonly logger: Logger;
  readonly now?: () => Date;
  readonly random?: () => number;
  /** false: no timers; the caller drains the worker (tests with a controlled clock). */
  readonly background?: boolean;
}

export interface Notifications {
  readonly outbox: RecordingOutbox;
  readonly records: NotificationRecords;
  readonly worker: DeliveryWorker;
  stop(): Promise<void>;
}

/** The alert's id: one per notification and round, so a repeated settle check records it once. */
export function alertId(notification: NotificationRecord): string {
  return `${notification._id}-alert-${notification.round}`;
}

export async function startNotifications(options: NotificationsOptions): Promise<Notifications> {
  const records = await openNotificationRecords(options.connection);
  // The outbox wakes the worker, and the worker's alerts go through the outbox.
  const late: { worker?: DeliveryWorker } = {};
  const outbox = createOutbox({
    records,
    accounts: options.accounts,
    storeFor: options.storeFor,
    ...(options.now ? { now: options.now } : {}),
    onRecorded: (id, hasQueued) => (hasQueued ? late.worker?.wake() : late.worker?.checkSettled(id)),
  });

  const raiseAlert = async (notification: NotificationRecord, unreached: readonly UnreachedPerson[]): Promise<void> => {
    const texts = alertTexts({
      notification: notification._id,
      topic: notification.topic,
      subject: notification.subject,
      sentAt: notification.createdAt,
      ...(notification.about ? { about: notification.about } : {}),
      unreached: unreached.map(({ deliveries }) => ({
        display: deliveries[0]?.recipient.display ?? '',
        failures: deliveries.map((d) => ({ channel: d.channel, status: d.status, ...(d.reason ? { reason: d.reason } : {}) })),
      })),
    });
    await outbox.record(
      { tenant: notification.tenant, topic: UNDELIVERED_TOPIC, recipients: [{ role: 'org-admin' }], ...texts, ...(notification.about ? { about: notification.about } : {}), urgent: true },
      { id: alertId(notification), alertOf: notification._id },
    );
  };

  const worker = startDeliveryWorker({
    records,
    transports: options.transports,
    storeFor: options.storeFor,
    retry: { maxAttempts: options.maxAttempts, baseDelayMs: options.retryDelayMs, ...DEFAULT_BACKOFF },
    logger: options.logger,
    raiseAlert,
    ...(options.now ? { now: options.now } : {}),
    ...(options.random ? { random: options.random } : {}),
    ...(options.background !== undefined ? { background: options.background } : {}),
  });
  late.worker = worker;
  return { outbox, records, worker, stop: () => worker.stop() };
}
