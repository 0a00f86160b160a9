/**
 * The outbox and its delivery worker on a real database with a controlled clock (src/notifications/; requirements
 * seed 000 2.8 and 3.3): what `send` records before it resolves, recipients resolved inside the organization,
 * deliveries that survive a stopped worker and a dead worker's claim, retry with backoff until the attempts run out,
 * consent read again at each attempt, and the alert to administrators (never an alert about an alert).
 */
import mongoose from 'mongoose';
import pino from 'pino';
import { createSearchIndexer } from '../../src/app';
import { openAuthRecords, type AuthRecords } from '../../src/auth/auth-records';
import type { Persona } from '../../src/auth/principal';
import { loadConfig } from '../../src/config/settings';
import { NotificationRequestError, type NotificationRequest } from '../../src/notifications/outbox';
import type { DeliveryRecord, NotificationRecord } from '../../src/notifications/notification-records';
import { startNotifications, type Notifications } from '../../src/notifications/start-notifications';
import type { OutboundMessage, Transport, TransportResult } from '../../src/notifications/transports';
import { SearchParameterCatalog } from '../../src/search/search-parameter-catalog';
import { openDatabase, type Database } from '../../src/storage/database';
import { startTestMongo, type TestMongo } from '../support/mongo';
import { channelConsentResource } from './support/notification-clients';

const logger = pino({ level: 'silent' });
let mongo: TestMongo;
let database: Database;
let connection: mongoose.Connection;
let auth: AuthRecords;
let clock = Date.parse('2026-03-01T08:00:00Z');
let running: Notifications[] = [];
let tenantCounter = 0;

/** A transport whose answers a test scripts per address; `hold` makes the next send wait until released. */
class ScriptedTransport implements Transport {
  readonly name = 'scripted';
  readonly sent: OutboundMessage[] = [];
  private readonly answers = new Map<string, (TransportResult | 'throw')[]>();
  private held: (() => void) | undefined;
  private holdNext = false;

  answer(address: string, ...results: (TransportResult | 'throw')[]): void {
    this.answers.set(address, results);
  }

  hold(): void {
    this.holdNext = true;
  }

  release(): void {
    this.held?.();
  }

  async send(message: OutboundMessage): Promise<TransportResult> {
    this.sent.push(message);
    if (this.holdNext) {
      this.holdNext = false;
      await new Promise<void>((resolve) => (this.held = resolve));
    }
    const queue = this.answers.get(message.to) ?? [];
    const next = queue.length > 1 ? queue.shift() : queue[0];
    if (next === 'throw') throw new Error(`connection to ${message.to} reset`);
    return next ?? { outcome: 'delivered' };
  }
}

beforeAll(async () => {
  mongo = await startTestMongo();
  database = await openDatabase(loadConfig({ MONGODB_URI: mongo.uri, DB_NAME: mongo.dbName, LOG_LEVEL: 'silent' }), logger, createSearchIndexer(new SearchParameterCatalog()));
  connection = mongoose.createConnection().setClient(database.mongoClient).useDb(database.dbName, { useCache: true });
  auth = await openAuthRecords(connection);
});

afterEach(async () => {
  await Promise.all(running.map((n) => n.stop()));
  running = [];
});

afterAll(async () => {
  await connection.dropDatabase();
  await database.close();
  await mongo.stop();
});

async function start(transport: Transport = new ScriptedTransport()): Promise<Notifications> {
  const notifications = await startNotifications({
    connection,
    accounts: auth.accounts,
    storeFor: (tenant) => database.storeFor(tenant),
    transports: { email: transport, sms: transport },
    maxAttempts: 3,
    retryDelayMs: 1000,
    logger,
    now: () => new Date(clock),
    random: () => 0,
    background: false,
  });
  running.push(notifications);
  return notifications;
}

/** A fresh organization, so tests do not see each other's accounts. */
function newTenant(): string {
  return `org-${++tenantCounter}`;
}

async function account(tenant: string, role: Persona, options: { language?: 'en' | 'es'; fhirUser?: string; status?: 'active' | 'inactive' } = {}): Promise<string> {
  const id = `${tenant}-${role}-${Math.random().toString(36).slice(2, 8)}`;
  await auth.accounts.create({ _id: id, username: id, passwordHash: 'x', role, tenant, status: options.status ?? 'active', language: options.language ?? 'en', displayName: `${role} ${id}`, ...(options.fhirUser ? { fhirUser: options.fhirUser } : {}) });
  return id;
}

async function patientWithEmail(tenant: string, id: string, email: string, consent: 'permit' | 'deny' | 'none' = 'permit'): Promise<void> {
  const store = database.storeFor(tenant);
  await store.update({ resourceType: 'Patient', id, name: [{ given: ['Ana'], family: id }], telecom: [{ system: 'email', value: email }] });
  if (consent !== 'none') await channelConsent(tenant, `${id}-channels`, id, consent);
}

async function channelConsent(tenant: string, id: string, patient: string, type: 'permit' | 'deny'): Promise<void> {
  await database.storeFor(tenant).update(channelConsentResource(id, patient, { email: type }));
}

function request(tenant: string, recipients: NotificationRequest['recipients'], topic = 'test-topic'): NotificationRequest {
  return { tenant, topic, recipients, subject: { en: 'Subject', es: 'Asunto' }, body: { en: 'Body', es: 'Cuerpo' } };
}

async function deliveriesOf(notifications: Notifications, id: string): Promise<DeliveryRecord[]> {
  return notifications.records.deliveries.find({ notification: id }).sort({ channel: 1, _id: 1 }).lean<DeliveryRecord[]>();
}

async function notificationOf(notifications: Notifications, id: string): Promise<NotificationRecord | null> {
  return notifications.records.notifications.findById(id).lean<NotificationRecord>();
}

describe('send', () => {
  it('records the notification and its deliveries before it resolves', async () => {
    const tenant = newTenant();
    const nurse = await account(tenant, 'nurse');
    const notifications = await start();
    await notifications.worker.stop();
    const id = await notifications.outbox.send({ ...request(tenant, [{ account: nurse }]), about: 'Patient/1', urgent: true });
    expect(await notificationOf(notifications, id)).toMatchObject({ tenant, topic: 'test-topic', status: 'sending', urgent: true, about: 'Patient/1', round: 1, recipients: [{ account: nurse }] });
    expect(await deliveriesOf(notifications, id)).toEqual([expect.objectContaining({ channel: 'in-app', status: 'queued', recipient: expect.objectContaining({ account: nurse }), attempts: [] })]);
  });

  it('refuses a malformed request, naming the field, and records nothing', async () => {
    const notifications = await start();
    const before = await notifications.records.notifications.countDocuments();
    await expect(notifications.outbox.send({ ...request('org-x', [{ role: 'nurse' }]), body: { en: 'Body', es: '' } })).rejects.toThrow(new NotificationRequestError('body.es', { en: 'must be a non-empty string', es: 'debe ser un texto no vacío' }));
    await expect(notifications.outbox.send(request('', [{ role: 'nurse' }]))).rejects.toThrow('tenant: must be the organization');
    await expect(notifications.outbox.send(request('org-x', [{ patient: 'Patient/1' }]))).rejects.toThrow('recipients[0].patient: must be a Patient id');
    expect(await notifications.records.notifications.countDocuments()).toBe(before);
  });

  it('resolves each person once, within the organization, in their own language', async () => {
    const tenant = newTenant();
    const doctorEs = await account(tenant, 'doctor', { language: 'es' });
    const doctorEn = await account(tenant, 'doctor');
    await account(tenant, 'doctor', { status: 'inactive' });
    await account(newTenant(), 'doctor');
    await patientWithEmail(tenant, 'p1', 'p1@example.org');
    const firstLogin = await account(tenant, 'patient', { fhirUser: 'Patient/p1', language: 'es' });
    const secondLogin = await account(tenant, 'patient', { fhirUser: 'Patient/p1' });
    const notifications = await start();
    await notifications.worker.stop();
    const id = await notifications.outbox.send(request(tenant, [{ role: 'doctor' }, { account: doctorEs }, { patient: 'p1' }, { account: firstLogin }, { role: 'technician' }]));
    const rows = (await deliveriesOf(notifications, id)).map((d) => ({ channel: d.channel, account: d.recipient.account, patient: d.recipient.patient, language: d.language, status: d.status, reason: d.reason }));
    expect(rows).toEqual(
      expect.arrayContaining([
        { channel: 'in-app', account: doctorEs, patient: undefined, language: 'es', status: 'queued', reason: undefined },
        { channel: 'in-app', account: doctorEn, patient: undefined, language: 'en', status: 'queued', reason: undefined },
        { channel: 'in-app', account: firstLogin, patient: 'p1', language: 'es', status: 'queued', reason: undefined },
        { channel: 'in-app', account: secondLogin, patient: 'p1', language: 'en', status: 'queued', reason: undefined },
        { channel: 'email', account: undefined, patient: 'p1', language: 'es', status: 'queued', reason: undefined },
        { channel: 'none', account: undefined, patient: undefined, language: 'en', status: 'undeliverable', reason: 'no-active-account' },
      ]),
    );
    expect(rows).toHaveLength(6);
  });
});

describe('delivery', () => {
  it('delivers what a stopped worker left queued when a new worker starts', async () => {
    const tenant = newTenant();
    const nurse = await account(tenant, 'nurse');
    const first = await start();
    await first.worker.stop();
    const id = await first.outbox.send(request(tenant, [{ account: nurse }]));
    const second = await start();
    await second.worker.drain();
    expect(await deliveriesOf(second, id)).toEqual([expect.objectContaining({ status: 'delivered', deliveredAt: new Date(clock), attempts: [{ at: new Date(clock), outcome: 'delivered', transport: 'inbox' }] })]);
    expect(await notificationOf(second, id)).toMatchObject({ status: 'settled' });
  });

  it("takes over a dead worker's claim when its lease ends, and discards the dead worker's late outcome", async () => {
    const tenant = newTenant();
    await patientWithEmail(tenant, 'lease', 'lease@example.org');
    const slow = new ScriptedTransport();
    slow.hold();
    slow.answer('lease@example.org', { outcome: 'failed', reason: 'too late' });
    const dying = await start(slow);
    const id = await dying.outbox.send(request(tenant, [{ patient: 'lease' }]));
    const stuck = dying.worker.drain();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(slow.sent).toHaveLength(1);

    const healthy = new ScriptedTransport();
    const next = await start(healthy);
    await next.worker.drain();
    expect(healthy.sent).toHaveLength(0);
    clock += 120_001;
    await next.worker.drain();
    expect(healthy.sent.map((m) => m.to)).toEqual(['lease@example.org']);
    slow.release();
    await stuck;
    const [delivery] = await deliveriesOf(next, id);
    expect(delivery).toMatchObject({ status: 'delivered', attempts: [expect.objectContaining({ outcome: 'delivered', transport: 'scripted' })] });
  });

  it('retries a failing delivery with backoff, then fails it and alerts the administrators in their language', async () => {
    const tenant = newTenant();
    const adminEs = await account(tenant, 'org-admin', { language: 'es' });
    await patientWithEmail(tenant, 'flaky', 'flaky@example.org');
    const transport = new ScriptedTransport();
    transport.answer('flaky@example.org', { outcome: 'failed', reason: 'relay answered HTTP 503' }, 'throw', { outcome: 'failed', reason: 'relay answered HTTP 502' });
    const notifications = await start(transport);
    const started = clock;
    const id = await notifications.outbox.send({ ...request(tenant, [{ patient: 'flaky' }], 'appointment-cancelled'), about: 'Appointment/9' });
    await notifications.worker.drain();
    expect(await deliveriesOf(notifications, id)).toEqual([expect.objectContaining({ status: 'queued', roundAttempts: 1, nextAttemptAt: new Date(started + 1000), reason: 'relay answered HTTP 503' })]);
    clock = started + 999;
    await notifications.worker.drain();
    expect(transport.sent).toHaveLength(1);
    clock = started + 1000;
    await notifications.worker.drain();
    expect(await deliveriesOf(notifications, id)).toEqual([expect.objectContaining({ status: 'queued', roundAttempts: 2, nextAttemptAt: new Date(started + 4000), reason: 'transport error' })]);
    clock = started + 4000;
    await notifications.worker.drain();
    const [failed] = await deliveriesOf(notifications, id);
    expect(failed).toMatchObject({ status: 'failed', roundAttempts: 3, reason: 'relay answered HTTP 502' });
    expect(failed?.nextAttemptAt).toBeUndefined();
    expect(failed?.attempts.map((a) => [a.at.getTime() - started, a.outcome])).toEqual([
      [0, 'failed'],
      [1000, 'failed'],
      [4000, 'failed'],
    ]);
    expect(await notificationOf(notifications, id)).toMatchObject({ status: 'settled', settledAt: new Date(started + 4000) });

    const alert = await notificationOf(notifications, `${id}-alert-1`);
    expect(alert).toMatchObject({ tenant, topic: 'notification-undelivered', urgent: true, alertOf: id, about: 'Appointment/9', recipients: [{ role: 'org-admin' }] });
    expect(alert?.body.es).toContain('- Ana flaky (Patient/flaky): correo electrónico fallida (relay answered HTTP 502)');
    expect(alert?.body.en).toContain(`1 recipient of notification ${id} (appointment-cancelled, sent 2026-`);
    await notifications.worker.drain();
    expect(await deliveriesOf(notifications, `${id}-alert-1`)).toEqual([expect.objectContaining({ channel: 'in-app', status: 'delivered', language: 'es', recipient: expect.objectContaining({ account: adminEs }) })]);
  });

  it('reads consent again at each attempt: a channel withdrawn after sending is not used', async () => {
    const tenant = newTenant();
    await patientWithEmail(tenant, 'withdrawn', 'withdrawn@example.org');
    const transport = new ScriptedTransport();
    const notifications = await start(transport);
    await notifications.worker.stop();
    const id = await notifications.outbox.send(request(tenant, [{ patient: 'withdrawn' }]));
    expect(await deliveriesOf(notifications, id)).toEqual([expect.objectContaining({ channel: 'email', status: 'queued' })]);
    clock += 1000;
    await channelConsent(tenant, 'withdrawn-later', 'withdrawn', 'deny');
    const next = await start(transport);
    await next.worker.drain();
    expect(await deliveriesOf(next, id)).toEqual([expect.objectContaining({ status: 'undeliverable', reason: 'no-consent' })]);
    expect(transport.sent).toEqual([]);
  });

  it('raises no alert about an alert that reached nobody', async () => {
    const tenant = newTenant();
    const notifications = await start();
    const id = await notifications.outbox.send(request(tenant, [{ patient: 'nobody' }]));
    await notifications.worker.drain();
    await notifications.worker.drain();
    expect(await deliveriesOf(notifications, id)).toEqual([expect.objectContaining({ channel: 'none', status: 'undeliverable', reason: 'unknown-patient' })]);
    expect(await deliveriesOf(notifications, `${id}-alert-1`)).toEqual([expect.objectContaining({ channel: 'none', status: 'undeliverable', reason: 'no-active-account' })]);
    expect(await notificationOf(notifications, `${id}-alert-1`)).toMatchObject({ status: 'settled' });
    expect(await notifications.records.notifications.countDocuments({ tenant })).toBe(2);
  });
});
