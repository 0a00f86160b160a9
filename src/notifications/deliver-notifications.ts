/**
 * Delivers queued deliveries in the background (seed 000 3.3: send status, retry): a worker claims a due delivery
 * with a lease, attempts it and records the attempt; a transient failure is queued again after a backoff
 * (retry-policy.ts). Claims and schedules live in the database, so a restarted (or another) process continues: a
 * delivery whose worker died becomes due again when its lease ends. At-least-once: a process killed between a
 * transport's acceptance and the record of it sends that message again (the `reference` lets a relay drop it).
 *
 * When every delivery of a notification has a final status, the notification is settled; a person none of whose
 * deliveries was delivered is unreached, and the organization's administrators get an urgent alert naming them
 * (seed 000 2.8: "IF automated notification fails for any recipient, THEN display an actionable alert to staff").
 */
import { randomUUID } from 'node:crypto';
import type { Patient } from '@medplum/fhirtypes';
import type { Logger } from 'pino';
import type { ResourceStore } from '../storage/resource-store';
import { contactAddress, readPermittedChannels } from './channel-consent';
import type { AttemptRecord, DeliveryRecord, DeliveryStatus, NotificationRecord, NotificationRecords } from './notification-records';
import { isExternal } from './resolve-recipients';
import { nextRetryDelay, type RetryPolicy } from './retry-policy';
import type { Transports } from './transports';

/** A person none of whose deliveries of one notification was delivered, with those deliveries. */
export interface UnreachedPerson {
  readonly person: string;
  readonly deliveries: readonly DeliveryRecord[];
}

export interface DeliveryWorkerOptions {
  readonly records: NotificationRecords;
  readonly transports: Transports;
  storeFor(tenant: string): ResourceStore;
  readonly retry: RetryPolicy;
  readonly logger: Logger;
  /** Records the alert about a settled notification's unreached people (idempotent per notification and round). */
  raiseAlert(notification: NotificationRecord, unreached: readonly UnreachedPerson[]): Promise<void>;
  readonly now?: () => Date;
  readonly random?: () => number;
  /** Deliveries attempted at the same time. */
  readonly concurrency?: number;
  /** How long a claim lasts before another worker may take the delivery over. */
  readonly leaseMs?: number;
  /** Longest sleep between looks for due work (deliveries queued by other processes). */
  readonly pollMs?: number;
  /** false: no timers; the caller runs `drain` (tests with a controlled clock). */
  readonly background?: boolean;
}

export interface DeliveryWorker {
  /** Something became due: look now. */
  wake(): void;
  /** Check soon whether this notification is settled (it was recorded with nothing queued). */
  checkSettled(notification: string): void;
  /** Attempts every due delivery and settles finished notifications until nothing is due. */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

type Outcome = { status: 'delivered' } | { status: 'failed' | 'bounced' | 'undeliverable'; reason: string };

const FINAL: readonly DeliveryStatus[] = ['delivered', 'failed', 'bounced', 'undeliverable'];

export function startDeliveryWorker(options: DeliveryWorkerOptions): DeliveryWorker {
  const { records, logger } = options;
  const now = options.now ?? (() => new Date());
  const concurrency = options.concurrency ?? 8;
  const leaseMs = options.leaseMs ?? 120_000;
  const pollMs = options.pollMs ?? 30_000;
  const background = options.background ?? true;
  const toSettle = new Set<string>();
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let swept = false;

  async function claim(): Promise<DeliveryRecord | undefined> {
    const at = now();
    const claimed = await records.deliveries
      .findOneAndUpdate({ status: 'queued', nextAttemptAt: { $lte: at } }, { $set: { nextAttemptAt: new Date(at.getTime() + leaseMs), claim: randomUUID() } }, { sort: { nextAttemptAt: 1 }, returnDocument: 'after' })
      .lean<DeliveryRecord>();
    return claimed ?? undefined;
  }

  async function attemptExternal(delivery: DeliveryRecord & { channel: 'email' | 'sms' }, notification: NotificationRecord): Promise<{ outcome: Outcome; address?: string; transport?: string }> {
    const patientId = delivery.recipient.patient as string;
    const store = options.storeFor(delivery.tenant);
    const at = now();
    // Consent and address are read again at every attempt: a withdrawn consent or a corrected address counts.
    const permitted = (await readPermittedChannels(store, [patientId], at)).get(patientId);
    if (!permitted?.has(delivery.channel)) return { outcome: { status: 'undeliverable', reason: 'no-consent' } };
    const stored = await store.read('Patient', patientId);
    const address = contactAddress(stored && !stored.deleted ? (stored.resource as Patient) : undefined, delivery.channel, at);
    if (!address) return { outcome: { status: 'undeliverable', reason: 'no-address' } };
    const transport = options.transports[delivery.channel];
    if (!transport) return { outcome: { status: 'undeliverable', reason: 'no-transport' }, address };
    const message = { channel: delivery.channel, to: address, subject: notification.subject[delivery.language], body: notification.body[delivery.language], language: delivery.language, urgent: notification.urgent, reference: delivery._id };
    let result;
    try {
      result = await transport.send(message);
    } catch (error) {
      logger.warn({ delivery: delivery._id, transport: transport.name, error: (error as Error).name }, 'notification transport threw');
      result = { outcome: 'failed' as const, reason: 'transport error' };
    }
    return { outcome: result.outcome === 'delivered' ? { status: 'delivered' } : { status: result.outcome, reason: result.reason }, address, transport: transport.name };
  }

  async function attempt(delivery: DeliveryRecord): Promise<void> {
    const notification = await records.notifications.findById(delivery.notification).lean<NotificationRecord>();
    let result: { outcome: Outcome; address?: string; transport?: string };
    if (!notification) result = { outcome: { status: 'undeliverable', reason: 'notification missing' } };
    else if (delivery.channel === 'in-app') result = { outcome: { status: 'delivered' }, transport: 'inbox' };
    else if (isExternal(delivery.channel)) result = await attemptExternal(delivery as DeliveryRecord & { channel: 'email' | 'sms' }, notification);
    else result = { outcome: { status: 'undeliverable', reason: 'no channel' } };

    const at = now();
    const { outcome } = result;
    const attemptRecord: AttemptRecord = { at, outcome: outcome.status, ...('reason' in outcome ? { reason: outcome.reason } : {}), ...(result.transport ? { transport: result.transport } : {}) };
    const roundAttempts = delivery.roundAttempts + 1;
    const retryIn = outcome.status === 'failed' ? nextRetryDelay(options.retry, roundAttempts, options.random) : undefined;
    const status: DeliveryStatus = retryIn !== undefined ? 'queued' : outcome.status;
    const set: Record<string, unknown> = { status, roundAttempts, ...(result.address ? { address: result.address } : {}) };
    const unset: Record<string, ''> = { claim: '' };
    if ('reason' in outcome) set.reason = outcome.reason;
    else unset.reason = '';
    if (retryIn !== undefined) set.nextAttemptAt = new Date(at.getTime() + retryIn);
    else unset.nextAttemptAt = '';
    if (outcome.status === 'delivered') set.deliveredAt = at;
    const updated = await records.deliveries.updateOne({ _id: delivery._id, claim: delivery.claim }, { $set: set, $unset: unset, $push: { attempts: attemptRecord } });
    if (updated.modifiedCount === 0) {
      logger.warn({ delivery: delivery._id }, 'a delivery attempt finished after its claim had expired; its outcome was discarded');
      return;
    }
    if (FINAL.includes(status)) await settle(delivery.notification);
  }

  /** Settles a notification whose deliveries are all final, alerting administrators about unreached people. */
  async function settle(id: string): Promise<void> {
    if (await records.deliveries.exists({ notification: id, status: 'queued' })) return;
    const notification = await records.notifications.findOne({ _id: id, status: 'sending' }).lean<NotificationRecord>();
    if (!notification) return;
    const deliveries = await records.deliveries.find({ notification: id }).sort({ createdAt: 1, _id: 1 }).lean<DeliveryRecord[]>();
    const byPerson = new Map<string, DeliveryRecord[]>();
    for (const delivery of deliveries) byPerson.set(delivery.person, [...(byPerson.get(delivery.person) ?? []), delivery]);
    const unreached = [...byPerson].filter(([, list]) => !list.some((d) => d.status === 'delivered')).map(([person, list]) => ({ person, deliveries: list }));
    if (unreached.length > 0) {
      if (notification.alertOf === undefined) await options.raiseAlert(notification, unreached);
      else logger.warn({ notification: id, alertOf: notification.alertOf, unreached: unreached.length }, 'an undelivered-notification alert reached no administrator');
    }
    await records.notifications.updateOne({ _id: id, status: 'sending', round: notification.round }, { $set: { status: 'settled', settledAt: now() } });
  }

  async function work(): Promise<void> {
    if (!swept) {
      // Notifications a stopped process left unsettled are checked once, by the first drain.
      const open = await records.notifications.find({ status: 'sending' }).select({ _id: 1 }).lean<{ _id: string }[]>();
      for (const { _id } of open) toSettle.add(_id);
      swept = true;
    }
    for (;;) {
      for (const id of [...toSettle]) {
        toSettle.delete(id);
        await settle(id);
      }
      let attempted = 0;
      const slot = async (): Promise<void> => {
        for (let delivery = await claim(); delivery && !stopped; delivery = stopped ? undefined : await claim()) {
          attempted++;
          await attempt(delivery);
        }
      };
      await Promise.all(Array.from({ length: concurrency }, slot));
      if (stopped || (attempted === 0 && toSettle.size === 0)) return;
    }
  }

  async function schedule(): Promise<void> {
    if (!background || stopped) return;
    const next = await records.deliveries.findOne({ status: 'queued' }).sort({ nextAttemptAt: 1 }).select({ nextAttemptAt: 1 }).lean<Pick<DeliveryRecord, 'nextAttemptAt'>>();
    const due = next?.nextAttemptAt ? next.nextAttemptAt.getTime() - now().getTime() : pollMs;
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(wake, Math.max(10, Math.min(due, pollMs)));
    timer.unref();
  }

  function drain(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await work();
      } while (again && !stopped);
      await schedule();
    })()
      .catch((error: unknown) => {
        logger.error({ err: error }, 'notification delivery failed');
        if (background && !stopped) {
          clearTimeout(timer);
          timer = setTimeout(wake, pollMs);
          timer.unref();
        }
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  function wake(): void {
    if (!stopped) void drain();
  }

  if (background) wake();

  return {
    wake,
    checkSettled(id) {
      toSettle.add(id);
      wake();
    },
    drain: async () => {
      // A drain already running may have looked before the caller's work was recorded: run once more.
      if (running) {
        again = true;
        await running;
      }
      await drain();
    },
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
