/**
 * Emergency access, "break the glass" (requirements seed 000 2.1 and diagram 6.1, seed 001 scenario 1; issue 6
 * "Break-the-glass"): designated clinical personnel obtain the `break-glass` scope for one patient through the SMART
 * authorization code flow, only after entering their password again and stating a coded purpose and a reason; the
 * token is short-lived, never refreshed, and it and every FHIR response made with it show the override and its
 * expiry. During the override the care-relationship and consent limits are lifted for that patient only (never the
 * organization boundary, never a locked record's read-only state); a compliance review Task is created and the
 * reviewers are notified when it starts and when it expires or is revoked; afterwards the very next request is back
 * to the baseline.
 */
import type { Bundle, OperationOutcome, Resource, Task } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../support/fhir-server';
import { backendClient, userClient, type TokenClient } from '../support/smart-tokens';
import { Browser, createAccount, formAction, formField, pkcePair, registerApp, type TestAccount } from '../auth/support/smart-harness';
import { BREAK_GLASS_SYSTEM } from '../../src/access/rules/break-glass-review';
import { eventually } from '../support/eventually';

const REDIRECT = 'http://127.0.0.1:9/callback';
const SCOPE = 'openid fhirUser launch/patient offline_access user/*.cruds break-glass';
const REASON = 'Unconscious patient in the emergency room, allergies and medication unknown';

interface Suite {
  readonly server: FhirTestServer;
  readonly app: { client_id: string };
  readonly doctor: TestAccount;
}

type Json = Record<string, unknown>;

async function put(server: FhirTestServer, resource: Resource & { id: string }): Promise<void> {
  const response = await server.fetch(`${server.baseUrl}/${resource.resourceType}/${resource.id}`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(resource) });
  if (response.status >= 300) throw new Error(`PUT ${resource.resourceType}/${resource.id}: ${response.status} ${await response.text()}`);
}

/** The organization's records: a patient the doctor cares for, one it does not (restricted by consent), and another. */
async function seed(server: FhirTestServer): Promise<void> {
  await put(server, { resourceType: 'Practitioner', id: 'doc', name: [{ family: 'House' }] });
  await put(server, { resourceType: 'Practitioner', id: 'admin', name: [{ family: 'Admin' }] });
  for (const id of ['cared', 'stranger', 'other']) await put(server, { resourceType: 'Patient', id, name: [{ family: `Family-${id}` }] });
  await put(server, { resourceType: 'CareTeam', id: 'team-cared', subject: { reference: 'Patient/cared' }, participant: [{ member: { reference: 'Practitioner/doc' } }] });
  for (const id of ['cared', 'stranger', 'other']) {
    await put(server, { resourceType: 'Observation', id: `${id}-hr`, status: 'final', code: { text: 'Heart rate' }, subject: { reference: `Patient/${id}` } });
  }
  await put(server, {
    resourceType: 'Consent',
    id: 'stranger-private',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: 'Patient/stranger' },
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: { type: 'deny', actor: [{ role: { text: 'provider' }, reference: { reference: 'Practitioner/doc' } }] },
  } as Resource & { id: string });
}

async function startSuite(config: { breakGlassTokenSeconds?: number } = {}): Promise<Suite> {
  const server = await startFhirServer(config);
  await seed(server);
  const app = await registerApp(server, { client_name: 'Emergency app', kind: 'public', redirect_uris: [REDIRECT], scope: SCOPE });
  const doctor = await createAccount(server, 'doctor', { fhirUser: 'Practitioner/doc' });
  return { server, app, doctor };
}

function authorizeUrl(suite: Suite, challenge: string, overrides: Record<string, string> = {}, clientId = suite.app.client_id): string {
  const query = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope: SCOPE, state: 'btg', aud: suite.server.baseUrl, code_challenge: challenge, code_challenge_method: 'S256', ...overrides });
  return `${suite.server.issuer}/auth?${query}`;
}

async function exchange(suite: Suite, code: string, verifier: string, clientId = suite.app.client_id): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${suite.server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT, client_id: clientId }),
  });
  return { status: response.status, body: (await response.json()) as Json };
}

type Page = Awaited<ReturnType<Browser['request']>>;

/** Signs in (sign-in page) or confirms the password (re-authentication page), whichever the page is. */
async function enterPassword(suite: Suite, browser: Browser, page: Page, account: TestAccount, password = account.password): Promise<Page> {
  const form: Record<string, string> = { csrf: formField(page.html, 'csrf') ?? '', password };
  if (page.html.includes('name="username"')) form.username = account.username;
  return browser.request(formAction(page.html, suite.server.origin), { form });
}

interface Statement {
  readonly patient?: string;
  readonly purpose?: string;
  readonly reason?: string;
  readonly csrf?: string;
}

async function submitStatement(suite: Suite, browser: Browser, approvalPage: string, statement: Statement): Promise<Page> {
  const offered = [...approvalPage.matchAll(/name="scope" id="[^"]+" value="([^"]+)"/g)].map((m) => m[1] as string);
  const form: Record<string, string | string[]> = { csrf: statement.csrf ?? formField(approvalPage, 'csrf') ?? '', scope: offered };
  if (statement.patient !== undefined) form.patient = statement.patient;
  if (statement.purpose !== undefined) form.purpose = statement.purpose;
  if (statement.reason !== undefined) form.reason = statement.reason;
  return browser.request(formAction(approvalPage, suite.server.origin), { form });
}

/** From the authorize request to the approval page: signs in (or confirms the password) when asked. */
async function reachApproval(suite: Suite, browser: Browser, account: TestAccount, challenge: string, overrides: Record<string, string> = {}): Promise<Page> {
  let page = await browser.follow(authorizeUrl(suite, challenge, overrides), suite.server.origin);
  if (page.html.includes('name="password"')) {
    page = await enterPassword(suite, browser, page, account);
    if (!page.location) throw new Error(`sign-in failed (${page.status}): ${page.html.slice(0, 300)}`);
    page = await browser.follow(page.location, suite.server.origin);
  }
  return page;
}

/** The whole flow for an emergency access: returns the token response. */
async function breakGlass(suite: Suite, account: TestAccount, patient = 'stranger', browser = new Browser()): Promise<Json> {
  const pkce = pkcePair();
  const approval = await reachApproval(suite, browser, account, pkce.challenge);
  if (!approval.html.includes('name="reason"')) throw new Error(`not the emergency approval page (${approval.status}): ${approval.location ?? approval.html.slice(0, 300)}`);
  const confirmed = await submitStatement(suite, browser, approval.html, { patient, purpose: 'ETREAT', reason: REASON });
  if (!confirmed.location) throw new Error(`approval failed (${confirmed.status}): ${confirmed.html.slice(0, 500)}`);
  const final = await browser.follow(confirmed.location, suite.server.origin);
  const code = new URL(final.location as string).searchParams.get('code');
  if (!code) throw new Error(`no code: ${final.location}`);
  const token = await exchange(suite, code, pkce.verifier);
  if (token.status !== 200) throw new Error(`token exchange failed: ${JSON.stringify(token.body)}`);
  return token.body;
}

function withToken(token: string): (url: string, init?: RequestInit) => Promise<Response> {
  return (url, init = {}) => fetch(url, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` } });
}

async function json<T = Json>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

async function inboxTopics(client: TokenClient, origin: string, about: string): Promise<string[]> {
  const page = await json<{ items: { topic: string; about?: string }[] }>(await client.fetch(`${origin}/notifications/inbox?_count=100`));
  return page.items.filter((item) => item.about === about).map((item) => item.topic);
}

const HEADER = /^active; patient="Patient\/stranger"; purpose="ETREAT"; expires="(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"; review="Task\/([0-9a-f-]{36})"$/;

describe('break-the-glass with the default lifetime', () => {
  let suite: Suite;
  let server: FhirTestServer;
  let admin: TokenClient;
  let reviewer: TokenClient;
  let regular: TokenClient;
  let nurse: TokenClient;

  beforeAll(async () => {
    suite = await startSuite();
    server = suite.server;
    admin = await userClient(server, { role: 'org-admin', fhirUser: 'Practitioner/admin', scope: 'user/*.cruds notifications:inbox break-glass:admin' });
    reviewer = await userClient(server, { role: 'department-head', scope: 'user/Task.rs notifications:inbox', flags: { complianceReviewer: true } });
    regular = await userClient(server, { role: 'doctor', fhirUser: 'Practitioner/doc', scope: 'user/*.cruds' });
    nurse = await userClient(server, { role: 'nurse', fhirUser: 'Practitioner/nurse', scope: 'user/*.rs' });
  });

  afterAll(async () => {
    await server.stop();
  });

  describe('who may break the glass, and how', () => {
    it('asks a signed-in person for their password again, and accepts no other password', async () => {
      const browser = new Browser();
      // A live session from an ordinary request of the same app.
      const pkce = pkcePair();
      const ordinary = await reachApproval(suite, browser, suite.doctor, pkce.challenge, { scope: 'openid fhirUser launch/patient user/*.rs' });
      expect(ordinary.html).toContain('Allow access');
      const again = await browser.follow(authorizeUrl(suite, pkcePair().challenge), server.origin);
      expect(again.status).toBe(200);
      expect(again.html).toContain('<h1>Confirm it is you</h1>');
      expect(again.html).toContain('name="password"');
      expect(again.html).not.toContain('name="username"');
      const wrong = await enterPassword(suite, browser, again, suite.doctor, 'not-the-password');
      expect(wrong.status).toBe(401);
      expect(wrong.html).toContain('The password is not correct.');
      // Skipping the password: the confirm step of the same interaction is not available.
      const skipped = await browser.request(formAction(again.html, server.origin).replace(/\/login$/, '/confirm'), { form: { csrf: formField(again.html, 'csrf') ?? '' } });
      expect(skipped.status).toBe(403);
      const confirmed = await enterPassword(suite, browser, again, suite.doctor);
      expect(confirmed.status).toBe(303);
      const approval = await browser.follow(confirmed.location as string, server.origin);
      expect(approval.html).toContain('<h1>Emergency access (break the glass)</h1>');
      expect(approval.html).toContain('name="reason"');
    });

    it('never lets an app skip the interaction (prompt=none)', async () => {
      const browser = new Browser();
      await reachApproval(suite, browser, suite.doctor, pkcePair().challenge, { scope: 'openid fhirUser launch/patient user/*.rs' });
      const silent = await browser.follow(authorizeUrl(suite, pkcePair().challenge, { prompt: 'none' }), server.origin);
      const redirect = new URL(silent.location as string);
      expect(redirect.searchParams.get('error')).toBe('login_required');
      expect(redirect.searchParams.get('code')).toBeNull();
    });

    it('refuses the approval without a purpose and a reason, saying what is missing', async () => {
      const browser = new Browser();
      const approval = await reachApproval(suite, browser, suite.doctor, pkcePair().challenge);
      const empty = await submitStatement(suite, browser, approval.html, { patient: 'stranger' });
      expect(empty.status).toBe(400);
      expect(empty.location).toBeUndefined();
      expect(empty.html).toContain('Choose the purpose of the emergency access.');
      expect(empty.html).toContain('State the reason for the emergency access.');
      expect(empty.html).toMatch(/<textarea id="reason"[^>]*aria-invalid="true"/);
      const short = await submitStatement(suite, browser, empty.html, { patient: 'stranger', purpose: 'ETREAT', reason: 'urgent' });
      expect(short.status).toBe(400);
      expect(short.html).toContain('The reason must be at least 20 characters long.');
      expect(short.html).toContain('>urgent</textarea>');
      const unknown = await submitStatement(suite, browser, short.html, { patient: 'stranger', purpose: 'HRESCH', reason: REASON });
      expect(unknown.status).toBe(400);
      expect(unknown.html).toContain('Choose one of the purposes listed.');
      const forged = await submitStatement(suite, browser, unknown.html, { patient: 'stranger', purpose: 'ETREAT', reason: REASON, csrf: 'forged' });
      expect(forged.status).toBe(403);
    });

    it('offers every patient of the organization, not only those the doctor cares for', async () => {
      const approval = await reachApproval(suite, new Browser(), suite.doctor, pkcePair().challenge);
      expect(approval.html).toContain('Choose the patient who needs emergency care');
      for (const id of ['cared', 'stranger', 'other']) expect(approval.html).toContain(`value="${id}"`);
      expect(approval.html).not.toContain('value="break-glass"');
      expect(approval.html).toContain('it ends after 15 minutes');
    });

    it('shows the page in Spanish to a Spanish-speaking doctor', async () => {
      const account = await createAccount(server, 'doctor', { fhirUser: 'Practitioner/doc', language: 'es' });
      const approval = await reachApproval(suite, new Browser(), account, pkcePair().challenge);
      expect(approval.html).toContain('<html lang="es">');
      expect(approval.html).toContain('Acceso de emergencia');
      expect(approval.html).toContain('Tratamiento de emergencia');
    });

    it('refuses personnel who are not designated (a receptionist), and an account whose designation was withdrawn', async () => {
      const receptionist = await createAccount(server, 'receptionist');
      const withdrawn = await createAccount(server, 'doctor', { fhirUser: 'Practitioner/doc', flags: { breakGlass: false } });
      for (const account of [receptionist, withdrawn]) {
        const page = await reachApproval(suite, new Browser(), account, pkcePair().challenge);
        const redirect = new URL(page.location as string);
        expect(redirect.searchParams.get('error')).toBe('access_denied');
        expect(redirect.searchParams.get('error_description')).toBe('break-glass (emergency) access is reserved for designated clinical personnel; an organization administrator can designate you');
        expect(redirect.searchParams.get('code')).toBeNull();
      }
    });

    it('designates another persona by the account flag', async () => {
      const head = await createAccount(server, 'department-head', { flags: { breakGlass: true } });
      const approval = await reachApproval(suite, new Browser(), head, pkcePair().challenge);
      expect(approval.html).toContain('name="reason"');
    });

    it('refuses an app not registered for it, and a request without a patient context', async () => {
      const plain = await registerApp(server, { client_name: 'Plain app', kind: 'public', redirect_uris: [REDIRECT], scope: 'openid fhirUser launch/patient user/*.cruds' });
      const page = await reachApproval(suite, new Browser(), suite.doctor, pkcePair().challenge, { scope: 'openid user/*.rs break-glass' });
      const redirect = new URL(page.location as string);
      expect(redirect.searchParams.get('error')).toBe('access_denied');
      expect(redirect.searchParams.get('error_description')).toContain('needs a patient context');
      const unregistered = await reachApproval({ ...suite, app: plain }, new Browser(), suite.doctor, pkcePair().challenge);
      expect(new URL(unregistered.location as string).searchParams.get('error_description')).toBe('the application is not registered for break-glass (emergency) access');
    });
  });

  describe('during the override', () => {
    let token: Json;
    let call: (url: string, init?: RequestInit) => Promise<Response>;
    let review: string;

    beforeAll(async () => {
      token = await breakGlass(suite, suite.doctor);
      call = withToken(token.access_token as string);
      review = (token.break_glass as Json).override as string;
    });

    it('issues a short-lived token without refresh token, showing the override and its expiry', () => {
      expect(token.refresh_token).toBeUndefined();
      expect(token.expires_in).toBe(900);
      expect(String(token.scope).split(' ')).toEqual(expect.arrayContaining(['break-glass', 'launch/patient', 'user/*.cruds']));
      expect(String(token.scope).split(' ')).not.toContain('offline_access');
      expect(token.patient).toBe('stranger');
      const indication = token.break_glass as Json;
      expect(indication).toEqual({ status: 'active', override: expect.stringMatching(/^[0-9a-f-]{36}$/), patient: 'stranger', purpose: 'ETREAT', expires_at: expect.stringMatching(/Z$/), review: `Task/${indication.override as string}` });
      const expires = Date.parse(indication.expires_at as string);
      expect(expires).toBeGreaterThan(Date.now() + 850_000);
      expect(expires).toBeLessThanOrEqual(Date.now() + 900_000);
    });

    it('while the same app gets a refresh token for an ordinary request with offline_access', async () => {
      const pkce = pkcePair();
      const browser = new Browser();
      const approval = await reachApproval(suite, browser, suite.doctor, pkce.challenge, { scope: 'openid fhirUser launch/patient offline_access user/*.rs' });
      const confirmed = await submitStatement(suite, browser, approval.html, { patient: 'cared' });
      const final = await browser.follow(confirmed.location as string, server.origin);
      const ordinary = await exchange(suite, new URL(final.location as string).searchParams.get('code') as string, pkce.verifier);
      expect(ordinary.status).toBe(200);
      expect(typeof ordinary.body.refresh_token).toBe('string');
      expect(ordinary.body.break_glass).toBeUndefined();
      expect(ordinary.body.expires_in).toBe(3600);
    });

    it('marks every FHIR response made with it, refusals and the public CapabilityStatement included', async () => {
      const responses = [await call(`${server.baseUrl}/Patient/stranger`), await call(`${server.baseUrl}/Patient/other`), await call(`${server.baseUrl}/Patient/nobody`), await call(`${server.baseUrl}/metadata`)];
      expect(responses.map((r) => r.status)).toEqual([200, 403, 404, 200]);
      for (const response of responses) {
        const [, expires, task] = HEADER.exec(response.headers.get('break-glass') ?? '') ?? [];
        expect(expires).toBe(((token.break_glass as Json).expires_at as string));
        expect(task).toBe(review);
      }
      expect((await regular.fetch(`${server.baseUrl}/Patient/cared`)).headers.get('break-glass')).toBeNull();
    });

    it("reads the patient outside the doctor's care relationship and through the patient's consent restriction", async () => {
      expect((await regular.fetch(`${server.baseUrl}/Observation/stranger-hr`)).status).toBe(403);
      const read = await call(`${server.baseUrl}/Observation/stranger-hr`);
      expect(read.status).toBe(200);
      const found = await json<Bundle>(await call(`${server.baseUrl}/Observation?_count=50`));
      expect(found.entry?.map((e) => e.resource?.id).sort()).toEqual(['cared-hr', 'stranger-hr']);
      const everything = await json<Bundle>(await call(`${server.baseUrl}/Patient/stranger/$everything`));
      expect(everything.entry?.map((e) => `${e.resource?.resourceType}/${e.resource?.id}`)).toEqual(expect.arrayContaining(['Patient/stranger', 'Observation/stranger-hr']));
    });

    it('keeps every other patient confined', async () => {
      const refused = await call(`${server.baseUrl}/Observation/other-hr`);
      expect(refused.status).toBe(403);
      expect((await json<OperationOutcome>(refused)).issue[0]?.diagnostics).toContain("rule 'persona-permissions'");
      const patients = await json<Bundle>(await call(`${server.baseUrl}/Patient?_count=50`));
      expect(patients.entry?.map((e) => e.resource?.id).sort()).toEqual(['cared', 'stranger']);
    });

    it("never reaches another organization's data", async () => {
      const foreign = await backendClient(server, 'system/*.cruds', { tenant: 'org-elsewhere' });
      for (const resource of [
        { resourceType: 'Patient', id: 'foreign', name: [{ family: 'Elsewhere' }] },
        { resourceType: 'Observation', id: 'stranger-hr', status: 'final', code: { text: 'Elsewhere' }, subject: { reference: 'Patient/foreign' } },
      ]) {
        const written = await foreign.fetch(`${server.baseUrl}/${resource.resourceType}/${resource.id}`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(resource) });
        expect(written.status).toBeLessThan(300);
      }
      expect((await call(`${server.baseUrl}/Patient/foreign`)).status).toBe(404);
      const own = await json<{ code: { text: string } }>(await call(`${server.baseUrl}/Observation/stranger-hr`));
      expect(own.code.text).toBe('Heart rate');
    });

    it('writes to the patient record until an administrator locks it, then never', async () => {
      const observation = { resourceType: 'Observation', status: 'final', code: { text: 'Blood pressure' }, subject: { reference: 'Patient/stranger' } };
      const created = await call(`${server.baseUrl}/Observation`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(observation) });
      expect(created.status).toBe(201);
      const lock = await admin.fetch(`${server.baseUrl}/Patient/stranger/$lock`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: 'legal-hold' }, { name: 'note', valueString: 'Case 2026-4' }] }),
      });
      expect(lock.status).toBe(201);
      const refused = await call(`${server.baseUrl}/Observation`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(observation) });
      expect(refused.status).toBe(403);
      const outcome = await json<OperationOutcome>(refused);
      expect(outcome.issue[0]?.diagnostics).toContain("rule 'record-lock'");
      expect(outcome.issue[0]?.diagnostics).toContain('is locked for a legal hold (Case 2026-4) and is read-only');
      expect(refused.headers.get('break-glass')).toMatch(HEADER);
      expect((await call(`${server.baseUrl}/Observation/stranger-hr`)).status).toBe(200);
      const lifted = await admin.fetch(`${server.baseUrl}/Patient/stranger/$unlock`, { method: 'POST' });
      expect(lifted.status).toBeLessThan(300);
    });

    it('creates the compliance review item, for compliance reviewers only', async () => {
      const read = await admin.fetch(`${server.baseUrl}/Task/${review}`);
      expect(read.status).toBe(200);
      const task = await json<Task>(read);
      expect(task).toMatchObject({
        status: 'requested',
        intent: 'order',
        businessStatus: { coding: [{ system: BREAK_GLASS_SYSTEM, code: 'active' }] },
        code: { coding: [{ system: BREAK_GLASS_SYSTEM, code: 'review' }] },
        for: { reference: 'Patient/stranger' },
        focus: { reference: 'Patient/stranger' },
        requester: { reference: 'Practitioner/doc' },
        owner: { identifier: { system: BREAK_GLASS_SYSTEM, value: 'compliance-reviewers' } },
      });
      const input = (code: string) => task.input?.find((i) => i.type.coding?.[0]?.code === code);
      expect(input('reason')?.valueString).toBe(REASON);
      expect(input('purpose')?.valueCoding).toEqual({ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'ETREAT', display: 'Emergency treatment' });
      expect(input('period')?.valuePeriod?.end).toBe(new Date((token.break_glass as Json).expires_at as string).toISOString());
      expect((await reviewer.fetch(`${server.baseUrl}/Task/${review}`)).status).toBe(200);
      // A nurse may read the organization's Tasks, but not the review items.
      const hidden = await nurse.fetch(`${server.baseUrl}/Task/${review}`);
      expect(hidden.status).toBe(403);
      expect((await json<OperationOutcome>(hidden)).issue[0]?.diagnostics).toContain("rule 'break-glass-review'");
      const search = await json<Bundle>(await nurse.fetch(`${server.baseUrl}/Task?_count=50`));
      expect(search.entry ?? []).toEqual([]);
      expect(search.total ?? 0).toBe(0);
    });

    it('keeps the review item out of reach through the API: never deleted, never forged, not changed by the user', async () => {
      const deleted = await admin.fetch(`${server.baseUrl}/Task/${review}`, { method: 'DELETE' });
      expect(deleted.status).toBe(403);
      expect((await json<OperationOutcome>(deleted)).issue[0]?.diagnostics).toContain('are never deleted');
      const forged = { resourceType: 'Task', status: 'completed', intent: 'order', code: { coding: [{ system: BREAK_GLASS_SYSTEM, code: 'review' }] } };
      const created = await admin.fetch(`${server.baseUrl}/Task`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(forged) });
      expect(created.status).toBe(403);
      expect((await json<OperationOutcome>(created)).issue[0]?.diagnostics).toContain('created by the server when an emergency access starts');
      const current = await json<Task>(await admin.fetch(`${server.baseUrl}/Task/${review}`));
      const closed = await call(`${server.baseUrl}/Task/${review}`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify({ ...current, status: 'completed' }) });
      expect(closed.status).toBe(403);
      const taken = await admin.fetch(`${server.baseUrl}/Task/${review}`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify({ ...current, status: 'in-progress', note: [{ text: 'Reviewing' }] }) });
      expect(taken.status).toBe(200);
    });

    it('lets no reviewer review their own emergency access', async () => {
      const account = await createAccount(server, 'org-admin', { fhirUser: 'Practitioner/admin', flags: { breakGlass: true } });
      const own = await breakGlass(suite, account);
      const ownReview = (own.break_glass as Json).override as string;
      const ownCall = withToken(own.access_token as string);
      const task = await json<Task>(await ownCall(`${server.baseUrl}/Task/${ownReview}`));
      expect(task.requester?.reference).toBe('Practitioner/admin');
      const closed = await ownCall(`${server.baseUrl}/Task/${ownReview}`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify({ ...task, status: 'completed' }) });
      expect(closed.status).toBe(403);
      expect((await json<OperationOutcome>(closed)).issue[0]?.diagnostics).toContain('nobody reviews their own emergency access');
    });

    it('notifies the compliance reviewers and the organization administrators', async () => {
      for (const client of [admin, reviewer]) {
        const topics = await eventually(async () => {
          const found = await inboxTopics(client, server.origin, `Task/${review}`);
          return found.includes('break-glass-started') ? found : undefined;
        });
        expect(topics).toEqual(['break-glass-started']);
      }
      const page = await json<{ items: { topic: string; subject: string; body: string; urgent: boolean; about: string }[] }>(await admin.fetch(`${server.origin}/notifications/inbox`));
      const started = page.items.find((item) => item.about === `Task/${review}`);
      expect(started).toMatchObject({ subject: 'Emergency access started: Patient/stranger', urgent: true });
      expect(started?.body).toContain('for the purpose ETREAT (Emergency treatment)');
      expect(started?.body).not.toContain(REASON);
    });

    it('is listed for the administrators', async () => {
      const listed = await json<{ overrides: Json[] }>(await admin.fetch(`${server.origin}/admin/break-glass?status=active`));
      expect(listed.overrides.find((o) => o.id === review)).toMatchObject({ status: 'active', patient: 'Patient/stranger', account: suite.doctor.id, purpose: 'ETREAT', reason: REASON, review: `Task/${review}` });
      expect((await regular.fetch(`${server.origin}/admin/break-glass`)).status).toBe(403);
      expect((await admin.fetch(`${server.origin}/admin/break-glass?status=maybe`)).status).toBe(400);
    });
  });

  describe('revocation', () => {
    it('by the app (RFC 7009): the very next request is refused, the review item is ready and reviewers are notified', async () => {
      const token = await breakGlass(suite, suite.doctor);
      const override = (token.break_glass as Json).override as string;
      const call = withToken(token.access_token as string);
      expect((await call(`${server.baseUrl}/Observation/stranger-hr`)).status).toBe(200);
      const revoked = await fetch(`${server.issuer}/token/revocation`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: token.access_token as string, client_id: suite.app.client_id }) });
      expect(revoked.status).toBe(200);
      const next = await call(`${server.baseUrl}/Observation/stranger-hr`);
      expect(next.status).toBe(401);
      expect(next.headers.get('break-glass')).toBeNull();
      expect((await regular.fetch(`${server.baseUrl}/Observation/stranger-hr`)).status).toBe(403);
      const task = await eventually(async () => {
        const current = await json<Task>(await admin.fetch(`${server.baseUrl}/Task/${override}`));
        return current.status === 'ready' ? current : undefined;
      });
      expect(task.businessStatus?.coding?.[0]?.code).toBe('revoked');
      expect(task.input?.find((i) => i.type.coding?.[0]?.code === 'ended')?.valueString).toMatch(/^revoked at .* \(token revocation by the user's application, or sign-out\)$/);
      await eventually(async () => ((await inboxTopics(admin, server.origin, `Task/${override}`)).includes('break-glass-ended') ? true : undefined));
      expect((await server.db.collection('break_glass_overrides').findOne({ _id: override as never }))?.status).toBe('revoked');
    });

    it('by an administrator: the very next request is refused, once only', async () => {
      const token = await breakGlass(suite, suite.doctor);
      const override = (token.break_glass as Json).override as string;
      const call = withToken(token.access_token as string);
      expect((await call(`${server.baseUrl}/Observation/stranger-hr`)).status).toBe(200);
      const revoked = await admin.fetch(`${server.origin}/admin/break-glass/${override}/revoke`, { method: 'POST' });
      expect(revoked.status).toBe(200);
      expect(await json(revoked)).toMatchObject({ id: override, status: 'revoked', ended_by: { account: expect.stringMatching(/^acct-org-admin-/), name: 'Test org-admin' } });
      expect((await call(`${server.baseUrl}/Observation/stranger-hr`)).status).toBe(401);
      const again = await admin.fetch(`${server.origin}/admin/break-glass/${override}/revoke`, { method: 'POST' });
      expect(again.status).toBe(409);
      expect(await json(again)).toEqual({ error: 'invalid_request', error_description: `the emergency access ${override} has already ended (revoked)` });
      expect((await admin.fetch(`${server.origin}/admin/break-glass/00000000-0000-0000-0000-000000000000/revoke`, { method: 'POST' })).status).toBe(404);
      const task = await eventually(async () => {
        const current = await json<Task>(await admin.fetch(`${server.baseUrl}/Task/${override}`));
        return current.status === 'ready' ? current : undefined;
      });
      expect(task.input?.find((i) => i.type.coding?.[0]?.code === 'ended')?.valueString).toContain('by Test org-admin');
      const topics = await eventually(async () => {
        const found = await inboxTopics(reviewer, server.origin, `Task/${override}`);
        return found.includes('break-glass-ended') ? found : undefined;
      });
      expect(topics.sort()).toEqual(['break-glass-ended', 'break-glass-started']);
    });
  });
});

describe('break-the-glass expiry', () => {
  let suite: Suite;
  let server: FhirTestServer;

  beforeAll(async () => {
    suite = await startSuite({ breakGlassTokenSeconds: 10 });
    server = suite.server;
  });

  afterAll(async () => {
    await server.stop();
  });

  it('ends by itself at the expiry, updates the review item and notifies; the next request is back to the baseline', async () => {
    const admin = await userClient(server, { role: 'org-admin', fhirUser: 'Practitioner/admin', scope: 'user/*.cruds notifications:inbox' });
    const regular = await userClient(server, { role: 'doctor', fhirUser: 'Practitioner/doc', scope: 'user/*.cruds' });
    const token = await breakGlass(suite, suite.doctor);
    expect(token.expires_in).toBe(10);
    const override = (token.break_glass as Json).override as string;
    const call = withToken(token.access_token as string);
    expect((await call(`${server.baseUrl}/Observation/stranger-hr`)).status).toBe(200);
    const expiresAt = Date.parse((token.break_glass as Json).expires_at as string);
    // Noticed without any request made with the token: the review item and the notification appear by themselves.
    const task = await eventually(async () => {
      const current = await json<Task>(await admin.fetch(`${server.baseUrl}/Task/${override}`));
      return current.status === 'ready' ? current : undefined;
    }, 30_000);
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
    expect(task.businessStatus?.coding?.[0]?.code).toBe('expired');
    expect(task.input?.find((i) => i.type.coding?.[0]?.code === 'ended')?.valueString).toBe(`expired at ${new Date(expiresAt).toISOString()}`);
    await eventually(async () => ((await inboxTopics(admin, server.origin, `Task/${override}`)).includes('break-glass-ended') ? true : undefined));
    expect(await server.db.collection('break_glass_overrides').findOne({ _id: override as never })).toMatchObject({ status: 'expired', endedAt: new Date(expiresAt) });
    const next = await call(`${server.baseUrl}/Observation/stranger-hr`);
    expect(next.status).toBe(401);
    expect(next.headers.get('break-glass')).toBeNull();
    expect((await regular.fetch(`${server.baseUrl}/Observation/stranger-hr`)).status).toBe(403);
  }, 60_000);
});
