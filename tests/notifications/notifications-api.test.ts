/**
 * The notifications API over HTTP with real tokens (requirements seed 000 2.8, 3.3, 5.2; README "Notifications"):
 * recipients resolved inside the organization, each message in its recipient's language, the inbox, consent-
 * validated email and SMS through a relay, retry with backoff, the alert to administrators when someone is not
 * reached, the log with its filters and export, and who may use each endpoint.
 */
import { backendClient } from '../support/smart-tokens';
import { startFhirServer, type FhirTestServer } from '../support/fhir-server';
import { createAccount } from '../auth/support/smart-harness';
import { personaClient, putChannelConsent, putPatient, startFakeRelay, type FakeRelay, type PersonaClient } from './support/notification-clients';
import { eventually } from '../support/eventually';

let server: FhirTestServer;
let relay: FakeRelay;
let admin: PersonaClient;

const ADMIN_SCOPES = 'notifications:admin notifications:inbox';

beforeAll(async () => {
  relay = await startFakeRelay();
  server = await startFhirServer({ notifyEmailRelayUrl: relay.url, notifySmsRelayUrl: relay.url, notifyRelayToken: 'relay-secret', notifyMaxAttempts: 3, notifyRetryDelayMs: 40 });
  admin = await personaClient(server, 'org-admin', ADMIN_SCOPES, { language: 'es' });
}, 60_000);

afterAll(async () => {
  await server.stop();
  await relay.stop();
});

interface Json {
  [key: string]: unknown;
}

async function json(response: Response): Promise<Json> {
  return (await response.json()) as Json;
}

const text = (en: string, es: string) => ({ en, es });

/** Sends through the API as the organization administrator; returns the notification id. */
async function send(body: Record<string, unknown>): Promise<string> {
  const response = await admin.fetch('/notifications', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ subject: text('Subject', 'Asunto'), body: text('Body', 'Cuerpo'), ...body }) });
  const result = await json(response);
  expect({ status: response.status, result }).toMatchObject({ status: 202 });
  return result.id as string;
}

/** The notification with its deliveries once every delivery has a final status. */
async function settled(id: string): Promise<Json & { deliveries: Json[] }> {
  return eventually(async () => {
    const body = await json(await admin.fetch(`/notifications/log/${id}`, { headers: { 'accept-language': 'en' } }));
    return body.status === 'settled' ? (body as Json & { deliveries: Json[] }) : undefined;
  });
}

async function inbox(client: PersonaClient, query = ''): Promise<{ items: Json[]; unread: number; next?: string }> {
  const response = await client.fetch(`/notifications/inbox${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as { items: Json[]; unread: number; next?: string };
}

/** The alert raised about a notification (the first round's). */
async function alertAbout(id: string): Promise<Json> {
  return eventually(async () => (await inbox(admin)).items.find((item) => item.notification === `${id}-alert-1`));
}

describe('recipients and languages', () => {
  it('delivers to every active account of a role in the organization, each in its own language', async () => {
    const topic = `staff-meeting-${Date.now()}`;
    const nurseEs = await personaClient(server, 'nurse', 'notifications:inbox', { language: 'es' });
    const nurseEn = await personaClient(server, 'nurse', 'notifications:inbox', { language: 'en' });
    await createAccount(server, 'nurse', { status: 'inactive' });
    const elsewhere = await createAccount(server, 'nurse', { tenant: 'other-org' });
    const id = await send({ topic, recipients: [{ role: 'nurse' }], subject: text('Staff meeting', 'Reunión de personal') });
    const notification = await settled(id);
    const accounts = notification.deliveries.map((d) => (d.recipient as Json).account);
    expect(accounts).toEqual(expect.arrayContaining([nurseEs.account.id, nurseEn.account.id]));
    expect(accounts).not.toContain(elsewhere.id);
    expect(notification.deliveries.every((d) => d.channel === 'in-app' && d.status === 'delivered')).toBe(true);
    expect((await inbox(nurseEs)).items[0]).toMatchObject({ notification: id, topic, subject: 'Reunión de personal', body: 'Cuerpo', language: 'es', urgent: false });
    expect((await inbox(nurseEn)).items[0]).toMatchObject({ notification: id, subject: 'Staff meeting', body: 'Body', language: 'en' });
  });

  it("never reaches another organization's account named by id: it is logged as undeliverable and alerted", async () => {
    const elsewhere = await createAccount(server, 'doctor', { tenant: 'other-org' });
    const id = await send({ topic: 'cross-org', recipients: [{ account: elsewhere.id }] });
    const [delivery] = (await settled(id)).deliveries;
    expect(delivery).toMatchObject({ channel: 'none', status: 'undeliverable', reason: 'unknown-account', reasonText: 'no such account in this organization' });
    const alert = await alertAbout(id);
    expect(alert).toMatchObject({ topic: 'notification-undelivered', urgent: true, language: 'es', subject: 'Notificación no entregada: cross-org' });
    expect(alert.body).toContain(`account:${elsewhere.id}: ningún canal no entregable (no existe esa cuenta en esta organización)`);
  });

  it("writes to a patient without an account in the patient's preferred language, else the organization's default", async () => {
    await putPatient(server, 'lang-es', { communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'es' }] }, preferred: true }], telecom: [{ system: 'email', value: 'lang-es@example.org' }] });
    await putPatient(server, 'lang-default', { telecom: [{ system: 'email', value: 'lang-default@example.org' }] });
    await putChannelConsent(server, 'lang-es-email', 'lang-es', { email: 'permit' });
    await putChannelConsent(server, 'lang-default-email', 'lang-default', { email: 'permit' });
    const first = await settled(await send({ topic: 'lang-check', recipients: [{ patient: 'lang-es' }, { patient: 'lang-default' }] }));
    expect(Object.fromEntries(first.deliveries.map((d) => [(d.recipient as Json).patient, d.language]))).toEqual({ 'lang-es': 'es', 'lang-default': 'en' });

    const put = await admin.fetch('/notifications/settings', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ defaultLanguage: 'es' }) });
    expect(put.status).toBe(200);
    try {
      const second = await settled(await send({ topic: 'lang-check', recipients: [{ patient: 'lang-default' }] }));
      expect(second.deliveries[0]).toMatchObject({ language: 'es', status: 'delivered' });
      expect(relay.received.filter((m) => m.to === 'lang-default@example.org').map((m) => m.subject)).toEqual(['Subject', 'Asunto']);
    } finally {
      await admin.fetch('/notifications/settings', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ defaultLanguage: 'en' }) });
    }
  });
});

describe('consent-validated channels', () => {
  it('contacts a patient without consent on no external channel, and alerts administrators', async () => {
    await putPatient(server, 'no-consent', { telecom: [{ system: 'email', value: 'no-consent@example.org' }, { system: 'sms', value: '+15550100' }] });
    const id = await send({ topic: 'recall', recipients: [{ patient: 'no-consent' }], about: 'Patient/no-consent' });
    expect((await settled(id)).deliveries).toEqual([expect.objectContaining({ channel: 'none', status: 'undeliverable', reason: 'no-consented-channel' })]);
    expect(relay.received.some((m) => m.to === 'no-consent@example.org' || m.to === '+15550100')).toBe(false);
    const alert = await alertAbout(id);
    expect(alert.body).toContain('Pat Family-no-consent (Patient/no-consent): ningún canal no entregable (el paciente no tiene cuenta y no consintió el contacto por correo electrónico ni SMS)');
    expect(alert.about).toBe('Patient/no-consent');
  });

  it("uses exactly the channels the patient consented to, at the telecom's best-ranked address, and the inbox of its account", async () => {
    await putPatient(server, 'consented', {
      telecom: [
        { system: 'email', value: 'second@example.org', rank: 2 },
        { system: 'email', value: 'first@example.org', rank: 1 },
        { system: 'phone', use: 'mobile', value: '+15550111' },
      ],
    });
    await putChannelConsent(server, 'consented-channels', 'consented', { email: 'permit', sms: 'deny' });
    const patient = await personaClient(server, 'patient', 'notifications:inbox', { fhirUser: 'Patient/consented', language: 'es' });
    const id = await send({ topic: 'advisory', recipients: [{ patient: 'consented' }] });
    const deliveries = (await settled(id)).deliveries;
    expect(deliveries.map((d) => [d.channel, d.status, d.address ?? null])).toEqual(expect.arrayContaining([['in-app', 'delivered', null], ['email', 'delivered', 'first@example.org']]));
    expect(deliveries).toHaveLength(2);
    const message = relay.received.find((m) => m.to === 'first@example.org');
    expect(message).toMatchObject({ channel: 'email', subject: 'Asunto', body: 'Cuerpo', language: 'es', reference: deliveries.find((d) => d.channel === 'email')?.delivery });
    expect(relay.authorizations[relay.received.indexOf(message as Record<string, unknown>)]).toBe('Bearer relay-secret');
    expect((await inbox(patient)).items[0]).toMatchObject({ notification: id, subject: 'Asunto' });
  });

  it('sends SMS to a mobile phone when the patient consented to SMS', async () => {
    await putPatient(server, 'sms-only', { telecom: [{ system: 'phone', use: 'home', value: '+15550000' }, { system: 'phone', use: 'mobile', value: '+15550122' }] });
    await putChannelConsent(server, 'sms-only-consent', 'sms-only', { sms: 'permit' });
    const deliveries = (await settled(await send({ topic: 'advisory', recipients: [{ patient: 'sms-only' }] }))).deliveries;
    expect(deliveries).toEqual([expect.objectContaining({ channel: 'sms', address: '+15550122', status: 'delivered' })]);
  });
});

describe('retry and alerts', () => {
  it('retries a transient failure with backoff, fails after the last attempt, alerts, and delivers on a manual retry', async () => {
    await putPatient(server, 'flaky', { telecom: [{ system: 'email', value: 'flaky@example.org' }] });
    await putChannelConsent(server, 'flaky-email', 'flaky', { email: 'permit' });
    relay.answer('flaky@example.org', 503);
    const id = await send({ topic: 'cancellation', recipients: [{ patient: 'flaky' }], urgent: true });
    const [failed] = (await settled(id)).deliveries;
    expect(failed).toMatchObject({ status: 'failed', reason: 'relay answered HTTP 503' });
    const attempts = (failed?.attempts as Json[]).map((a) => Date.parse(a.at as string));
    expect(attempts).toHaveLength(3);
    // 40 ms, then 120 ms (x3), each plus up to 20%.
    expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(40);
    expect(attempts[2]! - attempts[1]!).toBeGreaterThanOrEqual(120);
    const alert = await alertAbout(id);
    expect(alert.body).toContain('correo electrónico fallida (relay answered HTTP 503)');

    relay.answer('flaky@example.org', 202);
    const retried = await admin.fetch(`/notifications/log/${id}/retry`, { method: 'POST' });
    expect({ status: retried.status, body: await json(retried) }).toEqual({ status: 202, body: { queued: 1 } });
    const after = await eventually(async () => {
      const body = await json(await admin.fetch(`/notifications/log/${id}`));
      return body.status === 'settled' && body.round === 2 ? (body as Json & { deliveries: Json[] }) : undefined;
    });
    expect(after.deliveries[0]).toMatchObject({ status: 'delivered' });
    expect(after.retries).toEqual([{ at: expect.any(String), by: admin.account.id, queued: 1 }]);
    expect(after.deliveries[0]?.attempts).toHaveLength(4);
    expect((await inbox(admin)).items.some((item) => item.notification === `${id}-alert-2`)).toBe(false);
  });

  it('does not retry a bounce automatically; a retry of the one delivery goes to the corrected address', async () => {
    await putPatient(server, 'bouncer', { telecom: [{ system: 'email', value: 'wrong@example.org' }] });
    await putChannelConsent(server, 'bouncer-email', 'bouncer', { email: 'permit' });
    relay.answer('wrong@example.org', 422);
    const id = await send({ topic: 'recall', recipients: [{ patient: 'bouncer' }] });
    const [bounced] = (await settled(id)).deliveries;
    expect(bounced).toMatchObject({ status: 'bounced', reason: 'relay answered HTTP 422' });
    expect(bounced?.attempts).toHaveLength(1);
    await alertAbout(id);
    await putPatient(server, 'bouncer', { telecom: [{ system: 'email', value: 'right@example.org' }] });
    const retried = await admin.fetch(`/notifications/deliveries/${bounced?.delivery as string}/retry`, { method: 'POST' });
    expect(retried.status).toBe(202);
    const delivered = await eventually(async () => {
      const body = await json(await admin.fetch(`/notifications/log/${id}`));
      const [delivery] = body.deliveries as Json[];
      return delivery?.status === 'delivered' ? delivery : undefined;
    });
    expect(delivered.address).toBe('right@example.org');
    const again = await admin.fetch(`/notifications/deliveries/${bounced?.delivery as string}/retry`, { method: 'POST', headers: { 'accept-language': 'es' } });
    expect({ status: again.status, body: await json(again) }).toEqual({
      status: 409,
      body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'conflict', diagnostics: 'solo se pueden reintentar entregas fallidas, rechazadas o no entregables' }] },
    });
  });

  it('records a consented channel without a configured transport as undeliverable, never as sent', async () => {
    const bare = await startFhirServer();
    try {
      const bareAdmin = await personaClient(bare, 'org-admin', ADMIN_SCOPES);
      await putPatient(bare, 'no-relay', { telecom: [{ system: 'email', value: 'no-relay@example.org' }] });
      await putChannelConsent(bare, 'no-relay-email', 'no-relay', { email: 'permit' });
      const response = await bareAdmin.fetch('/notifications', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ topic: 'recall', recipients: [{ patient: 'no-relay' }], subject: text('S', 'A'), body: text('B', 'C') }) });
      const { id } = await json(response);
      const notification = await eventually(async () => {
        const body = await json(await bareAdmin.fetch(`/notifications/log/${id as string}`));
        return body.status === 'settled' ? body : undefined;
      });
      expect(notification.deliveries).toEqual([expect.objectContaining({ channel: 'email', status: 'undeliverable', reason: 'no-transport', reasonText: 'no transport is configured for this channel on the server' })]);
    } finally {
      await bare.stop();
    }
  });
});

describe('inbox', () => {
  it('lists newest first with the unread count, pages, and marks items read once', async () => {
    const doctor = await personaClient(server, 'doctor', 'notifications:inbox');
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      ids.push(await send({ topic: 'inbox-test', recipients: [{ account: doctor.account.id }], subject: text(`Note ${n}`, `Nota ${n}`), urgent: n === 2 }));
      await new Promise((resolve) => setTimeout(resolve, 3)); // distinct creation instants, so the order is defined
    }
    await Promise.all(ids.map(settled));
    const first = await inbox(doctor, '?_count=2');
    expect(first.items.map((i) => i.subject)).toEqual(['Note 3', 'Note 2']);
    expect(first.unread).toBe(3);
    const second = await inbox(doctor, `?_count=2&cursor=${first.next as string}`);
    expect(second.items.map((i) => i.subject)).toEqual(['Note 1']);
    expect(second.next).toBeUndefined();

    const item = first.items[0] as Json;
    const read = await doctor.fetch(`/notifications/inbox/${item.id as string}/read`, { method: 'POST' });
    expect({ status: read.status, body: await json(read) }).toEqual({ status: 200, body: { id: item.id, read: true } });
    const unread = await inbox(doctor, '?unread=true');
    expect(unread.items.map((i) => i.subject)).toEqual(['Note 2', 'Note 1']);
    expect(unread.unread).toBe(2);
    const readAt = (await inbox(doctor)).items[0]?.readAt;
    await doctor.fetch(`/notifications/inbox/${item.id as string}/read`, { method: 'POST' });
    expect((await inbox(doctor)).items[0]?.readAt).toBe(readAt);
    const all = await doctor.fetch('/notifications/inbox/read', { method: 'POST' });
    expect(await json(all)).toEqual({ marked: 2 });
    expect((await inbox(doctor)).unread).toBe(0);
  });

  it("answers 404 for another account's item", async () => {
    const a = await personaClient(server, 'nurse', 'notifications:inbox');
    const b = await personaClient(server, 'nurse', 'notifications:inbox');
    await settled(await send({ topic: 'private', recipients: [{ account: a.account.id }] }));
    const [item] = (await inbox(a)).items;
    const response = await b.fetch(`/notifications/inbox/${item?.id as string}/read`, { method: 'POST' });
    expect(response.status).toBe(404);
    expect((await inbox(a)).items[0]?.readAt).toBeUndefined();
  });
});

describe('log and export', () => {
  let exportTopic: string;
  let exportId: string;

  beforeAll(async () => {
    exportTopic = `export-${Date.now()}`;
    await putPatient(server, 'exported', { telecom: [{ system: 'email', value: 'exported@example.org' }] });
    await putChannelConsent(server, 'exported-email', 'exported', { email: 'permit' });
    const receptionist = await personaClient(server, 'receptionist', 'notifications:inbox');
    exportId = await send({ topic: exportTopic, recipients: [{ patient: 'exported' }, { account: receptionist.account.id }, { patient: 'nobody-here' }], subject: text('=cmd, "quoted"', '=cmd, "citado"'), about: 'Appointment/9' });
    await settled(exportId);
  });

  it('filters by topic, status and date', async () => {
    const byTopic = await json(await admin.fetch(`/notifications/log?topic=${exportTopic}`, { headers: { 'accept-language': 'en' } }));
    expect((byTopic.items as Json[]).map((e) => [e.channel, e.status]).sort()).toEqual([['email', 'delivered'], ['in-app', 'delivered'], ['none', 'undeliverable']]);
    const undeliverable = await json(await admin.fetch(`/notifications/log?topic=${exportTopic}&status=undeliverable`));
    expect(undeliverable.items).toEqual([expect.objectContaining({ reason: 'unknown-patient', recipient: { display: 'Patient/nobody-here' }, about: 'Appointment/9' })]);
    const future = await json(await admin.fetch(`/notifications/log?topic=${exportTopic}&since=2999-01-01`));
    expect(future.items).toEqual([]);
    const past = await json(await admin.fetch(`/notifications/log?topic=${exportTopic}&until=2000-01-01T00:00:00Z`));
    expect(past.items).toEqual([]);
    const window = await json(await admin.fetch(`/notifications/log?topic=${exportTopic}&since=2000-01-01&until=2999-01-01`));
    expect(window.items).toHaveLength(3);
  });

  it('exports the log as CSV, with quoting and formula cells neutralized', async () => {
    const response = await admin.fetch(`/notifications/log/export?format=csv&topic=${exportTopic}`, { headers: { 'accept-language': 'en' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="notification-log-\d{4}-\d{2}-\d{2}\.csv"$/);
    const lines = (await response.text()).split('\r\n');
    expect(lines[0]).toBe('notification,topic,sent_at,urgent,about,subject,delivery,recipient,account,patient,via,channel,address,language,status,reason,attempts,last_attempt_at,next_attempt_at,delivered_at,read_at');
    expect(lines.at(-1)).toBe('');
    expect(lines).toHaveLength(5);
    const email = lines.find((line) => line.includes(',email,'));
    expect(email).toContain(`${exportId},${exportTopic},`);
    expect(email).toContain(`,Appointment/9,"'=cmd, ""quoted""",`);
    expect(email).toContain(',Pat Family-exported (Patient/exported),,exported,patient:exported,email,exported@example.org,en,delivered,,1,');
    expect(lines.find((line) => line.includes(',none,'))).toContain(',undeliverable,no such patient in this organization,1,');
  });

  it('exports the log as NDJSON, one delivery per line', async () => {
    const response = await admin.fetch(`/notifications/log/export?format=ndjson&topic=${exportTopic}`);
    expect(response.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    const entries = (await response.text()).trim().split('\n').map((line) => JSON.parse(line) as Json);
    expect(entries).toHaveLength(3);
    expect(entries.every((e) => e.notification === exportId && e.topic === exportTopic)).toBe(true);
    expect(entries.find((e) => e.channel === 'email')).toMatchObject({ address: 'exported@example.org', status: 'delivered', attempts: [expect.objectContaining({ outcome: 'delivered', transport: 'http-relay' })] });
  });
});

describe('authorization', () => {
  it('refuses requests without a token with 401 and a Bearer challenge', async () => {
    const response = await fetch(`${server.origin}/notifications/inbox`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="/);
    expect((await json(response)).resourceType).toBe('OperationOutcome');
  });

  it('does not let a nurse read, export or retry the organization log', async () => {
    const nurse = await personaClient(server, 'nurse', 'notifications:inbox notifications:admin');
    expect(nurse.scope.split(' ')).not.toContain('notifications:admin');
    for (const [method, path] of [['GET', '/notifications/log'], ['GET', '/notifications/log/export'], ['POST', '/notifications/log/x/retry'], ['POST', '/notifications'], ['PUT', '/notifications/settings']] as const) {
      const response = await nurse.fetch(path, { method, headers: { 'accept-language': 'es' } });
      expect({ path, status: response.status, body: await json(response) }).toEqual({
        path,
        status: 403,
        body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'forbidden', diagnostics: 'esta operación requiere el permiso notifications:admin' }] },
      });
    }
  });

  it('refuses the inbox to a token without the inbox scope and to a backend client, which has no inbox', async () => {
    const noScope = await personaClient(server, 'doctor', 'openid fhirUser');
    expect((await noScope.fetch('/notifications/inbox')).status).toBe(403);
    const backend = await backendClient(server, 'system/Patient.rs notifications:admin notifications:inbox');
    const response = await backend.fetch(`${server.origin}/notifications/inbox`);
    expect(response.status).toBe(403);
    expect((await json(response)).issue).toEqual([{ severity: 'error', code: 'forbidden', diagnostics: 'the inbox belongs to a person: use a token issued to a user' }]);
  });

  it("lets a backend client of the organization read its log, and only its organization's", async () => {
    const backend = await backendClient(server, 'system/Patient.rs notifications:admin');
    const mine = await json(await backend.fetch(`${server.origin}/notifications/log?_count=500`));
    expect((mine.items as Json[]).length).toBeGreaterThan(0);
    const other = await backendClient(server, 'system/Patient.rs notifications:admin', { tenant: 'other-org' });
    const theirs = await json(await other.fetch(`${server.origin}/notifications/log`));
    expect(theirs.items).toEqual([]);
    const notification = (mine.items as Json[])[0]?.notification as string;
    expect((await other.fetch(`${server.origin}/notifications/log/${notification}`)).status).toBe(404);
    expect((await other.fetch(`${server.origin}/notifications/log/${notification}/retry`, { method: 'POST' })).status).toBe(404);
  });
});

describe('bad input', () => {
  async function outcome(response: Response): Promise<{ status: number; issue: Json }> {
    return { status: response.status, issue: ((await json(response)).issue as Json[])[0] as Json };
  }

  it('names the field of a malformed notification, in the language asked for', async () => {
    const post = (body: unknown, language = 'en') => admin.fetch('/notifications', { method: 'POST', headers: { 'content-type': 'application/json', 'accept-language': language }, body: JSON.stringify(body) });
    const valid = { topic: 'ok', recipients: [{ role: 'nurse' }], subject: text('S', 'A'), body: text('B', 'C') };
    expect(await outcome(await post({ ...valid, recipients: [] }))).toEqual({ status: 400, issue: { severity: 'error', code: 'invalid', diagnostics: 'recipients: must be a non-empty array', expression: ['recipients'] } });
    expect(await outcome(await post({ ...valid, recipients: [{ role: 'janitor' }] }, 'es'))).toMatchObject({ status: 400, issue: { diagnostics: expect.stringMatching(/^recipients\[0\]\.role: debe ser uno de system-admin, org-admin/), expression: ['recipients[0].role'] } });
    expect(await outcome(await post({ ...valid, recipients: [{ role: 'nurse', patient: '1' }] }))).toMatchObject({ status: 400, issue: { expression: ['recipients[0]'] } });
    expect(await outcome(await post({ ...valid, subject: { en: 'only English' } }))).toMatchObject({ status: 400, issue: { diagnostics: 'subject.es: must be a non-empty string' } });
    expect(await outcome(await post({ ...valid, topic: 'Not A Code' }))).toMatchObject({ status: 400, issue: { expression: ['topic'] } });
    expect(await outcome(await post({ ...valid, about: 'http://elsewhere/Patient/1' }))).toMatchObject({ status: 400, issue: { expression: ['about'] } });
    expect(await outcome(await post({ ...valid, tenant: 'other-org' }))).toMatchObject({ status: 400, issue: { expression: ['tenant'] } });
    const notJson = await admin.fetch('/notifications', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(notJson.status).toBe(415);
    const broken = await admin.fetch('/notifications', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"topic":' });
    expect(broken.status).toBe(400);
  });

  it('refuses unknown and malformed query parameters', async () => {
    const get = async (query: string) => outcome(await admin.fetch(`/notifications/log${query}`, { headers: { 'accept-language': 'en' } }));
    expect(await get('?statuss=failed')).toMatchObject({ status: 400, issue: { diagnostics: expect.stringContaining("unknown parameter 'statuss'"), expression: ['statuss'] } });
    expect(await get('?status=lost')).toMatchObject({ status: 400, issue: { expression: ['status'] } });
    expect(await get('?_count=0')).toMatchObject({ status: 400, issue: { diagnostics: '_count must be an integer from 1 to 500' } });
    expect(await get('?since=yesterday')).toMatchObject({ status: 400, issue: { expression: ['since'] } });
    expect(await get('?since=2026-02-01&until=2026-01-01')).toMatchObject({ status: 400, issue: { diagnostics: 'since must be before until' } });
    expect(await get('?cursor=not-a-cursor')).toMatchObject({ status: 400, issue: { expression: ['cursor'] } });
    expect(await get('?topic=a&topic=b')).toMatchObject({ status: 400, issue: { diagnostics: "parameter 'topic' is repeated" } });
    expect((await admin.fetch('/notifications/log/export?format=xlsx')).status).toBe(400);
    expect((await admin.fetch('/notifications/log/nope')).status).toBe(404);
    expect((await admin.fetch('/notifications/deliveries/nope/retry', { method: 'POST' })).status).toBe(404);
    const wrongMethod = await admin.fetch('/notifications/log', { method: 'DELETE' });
    expect({ status: wrongMethod.status, allow: wrongMethod.headers.get('allow') }).toEqual({ status: 405, allow: 'GET' });
    const badSettings = await admin.fetch('/notifications/settings', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ defaultLanguage: 'fr' }) });
    expect(await outcome(badSettings)).toMatchObject({ status: 400, issue: { expression: ['defaultLanguage'] } });
  });
});
