/**
 * Organization terms of use and privacy policy (requirements seed 000 5.4): "WHEN an organization updates overall
 * privacy, consent, or terms of use, THE system SHALL require affected users to review and accept changes on next
 * login and record acceptance/refusal in audit logs. IF a user declines new terms/consent, THEN THE system SHALL
 * block all non-essential access except for appeals or questions to staff." An organization administrator publishes
 * versions through /admin/policies; the sign-in shows the current version with Accept and Decline (en/es); each
 * answer is an AuditEvent of the organization's hash chain; a declined account's token is confined by the access
 * rule `organization-policy` to questions and appeals to staff until it accepts at a later sign-in.
 */
import type { AuditEvent, Bundle, OperationOutcome, Parameters } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../support/fhir-server';
import { backendClient, userClient, type TokenClient } from '../support/smart-tokens';
import { Browser, createAccount, formAction, formField, pkcePair, putResource, registerApp, type TestAccount } from '../auth/support/smart-harness';
import { buildClientRecord } from '../../src/auth/client-applications';
import { ORGANIZATION_POLICY_SYSTEM } from '../../src/audit/audit-codes';

const REDIRECT = 'http://127.0.0.1:9/callback';
const SCOPE = 'openid fhirUser launch/patient user/*.cruds patient/*.cruds';
const OTHER_TENANT = 'other-organization';

const VERSION = {
  title: { en: 'Terms of use and privacy policy 2026', es: 'Condiciones de uso y política de privacidad 2026' },
  text: { en: 'We keep your records private.\n\nWe share them only as you allow.', es: 'Mantenemos su expediente privado.\n\nSolo lo compartimos como usted lo permita.' },
};

type Json = Record<string, unknown>;
type Page = Awaited<ReturnType<Browser['request']>>;

let server: FhirTestServer;
let app: { client_id: string };
let admin: TokenClient;

beforeAll(async () => {
  server = await startFhirServer();
  await putResource(server, { resourceType: 'Practitioner', id: 'doc', name: [{ family: 'House' }] });
  await putResource(server, { resourceType: 'Patient', id: 'amy', name: [{ family: 'Pond' }] });
  await putResource(server, { resourceType: 'Observation', id: 'amy-hr', status: 'final', code: { text: 'Heart rate' }, subject: { reference: 'Patient/amy' } });
  await putResource(server, { resourceType: 'CareTeam', id: 'team-amy', subject: { reference: 'Patient/amy' }, participant: [{ member: { reference: 'Practitioner/doc' } }] });
  app = await registerApp(server, { client_name: 'Portal', kind: 'public', redirect_uris: [REDIRECT], scope: SCOPE });
  admin = await userClient(server, { role: 'org-admin', scope: 'policies:admin' });
});

afterAll(async () => {
  await server.stop();
});

async function publish(client: TokenClient, body: Json): Promise<{ status: number; body: Json }> {
  const response = await client.fetch(`${server.origin}/admin/policies`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Json };
}

function authorizeUrl(challenge: string, clientId = app.client_id): string {
  const query = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope: SCOPE, state: 'terms', aud: server.baseUrl, code_challenge: challenge, code_challenge_method: 'S256' });
  return `${server.issuer}/auth?${query}`;
}

/** Signs in; returns the page shown next (the policy page, or the approval page when nothing is owed). */
async function signIn(browser: Browser, account: TestAccount, challenge: string, clientId?: string): Promise<Page> {
  const login = await browser.follow(authorizeUrl(challenge, clientId), server.origin);
  const signedIn = await browser.request(formAction(login.html, server.origin), { form: { csrf: formField(login.html, 'csrf') ?? '', username: account.username, password: account.password } });
  if (!signedIn.location) throw new Error(`sign-in failed (${signedIn.status}): ${signedIn.html.slice(0, 300)}`);
  return browser.follow(signedIn.location, server.origin);
}

async function answer(browser: Browser, policyPage: string, decision: string): Promise<Page> {
  return browser.request(formAction(policyPage, server.origin), { form: { csrf: formField(policyPage, 'csrf') ?? '', version: formField(policyPage, 'version') ?? '', decision } });
}

/** Approves every offered scope (with the patient when the page asks) and exchanges the code for a token. */
async function approveAndExchange(browser: Browser, approvalPage: string, verifier: string, clientId = app.client_id): Promise<TokenClient> {
  const scopes = [...approvalPage.matchAll(/name="scope" id="[^"]+" value="([^"]+)"/g)].map((m) => m[1] as string);
  const form: Record<string, string | string[]> = { csrf: formField(approvalPage, 'csrf') ?? '', scope: scopes };
  if (approvalPage.includes('name="patient"')) form.patient = 'amy';
  const confirmed = await browser.request(formAction(approvalPage, server.origin), { form });
  if (!confirmed.location) throw new Error(`approval failed (${confirmed.status}): ${confirmed.html.slice(0, 300)}`);
  const final = await browser.follow(confirmed.location, server.origin);
  const code = new URL(final.location as string).searchParams.get('code');
  if (!code) throw new Error(`no code: ${final.location}`);
  const response = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT, client_id: clientId }),
  });
  const body = (await response.json()) as Json;
  if (response.status !== 200) throw new Error(`token exchange failed: ${JSON.stringify(body)}`);
  const accessToken = body.access_token as string;
  return { accessToken, tokenResponse: body, fetch: (url, init = {}) => fetch(url, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${accessToken}` } }) };
}

/** The whole sign-in of `account` answering the policy page with `decision`; returns the page seen and the token. */
async function signInAnswering(account: TestAccount, decision: 'accept' | 'decline'): Promise<{ policyPage: string; client: TokenClient }> {
  const browser = new Browser();
  const pkce = pkcePair();
  const policyPage = await signIn(browser, account, pkce.challenge);
  if (!policyPage.html.includes('name="decision"')) throw new Error(`not the policy page (${policyPage.status}): ${policyPage.html.slice(0, 300)}`);
  const answered = await answer(browser, policyPage.html, decision);
  if (answered.status !== 303 || !answered.location) throw new Error(`answer failed (${answered.status}): ${answered.html.slice(0, 300)}`);
  const approval = await browser.follow(answered.location, server.origin);
  return { policyPage: policyPage.html, client: await approveAndExchange(browser, approval.html, pkce.verifier) };
}

async function policyEvents(decision: 'accepted' | 'declined', accountId: string): Promise<AuditEvent[]> {
  const response = await server.fetch(`${server.baseUrl}/AuditEvent?subtype=${encodeURIComponent(`${ORGANIZATION_POLICY_SYSTEM}|${decision}`)}`);
  expect(response.status).toBe(200);
  const bundle = (await response.json()) as Bundle<AuditEvent>;
  return (bundle.entry ?? []).map((e) => e.resource as AuditEvent).filter((event) => event.agent?.some((agent) => agent.altId === accountId));
}

function communication(sender: string, recipient: string): Json {
  return { resourceType: 'Communication', status: 'completed', subject: { reference: 'Patient/amy' }, sender: { reference: sender }, recipient: [{ reference: recipient }], payload: [{ contentString: 'Why were the terms changed?' }] };
}

describe('organization policy', () => {
  let version1: Json;
  let doctor: TestAccount;
  let patient: TestAccount;

  describe('publishing', () => {
    it('refuses a person who is not an organization administrator (no policies:admin scope)', async () => {
      const nurse = await userClient(server, { role: 'nurse', scope: 'policies:admin user/Patient.rs' });
      expect(nurse.tokenResponse.scope).not.toContain('policies:admin');
      const refused = await publish(nurse, VERSION);
      expect(refused.status).toBe(403);
      expect(refused.body).toEqual({ error: 'insufficient_scope', error_description: 'this operation needs the scope policies:admin' });
    });

    it("lets a backend client of the organization publish (and list) with the scope", async () => {
      const backend = await backendClient(server, 'policies:admin');
      const listed = await backend.fetch(`${server.origin}/admin/policies`);
      expect(listed.status).toBe(200);
      expect(await listed.json()).toEqual({ versions: [] });
    });

    it('refuses a version without its Spanish text, naming what is missing', async () => {
      const refused = await publish(admin, { ...VERSION, text: { en: 'English only' } });
      expect(refused.status).toBe(400);
      expect(refused.body.error_description).toBe('text.es is required (a non-empty string)');
      const wrongPersona = await publish(admin, { ...VERSION, personas: ['pilot'] });
      expect(wrongPersona.status).toBe(400);
      expect(wrongPersona.body.error_description).toContain('pilot is not a persona');
    });

    it('publishes version 1 for every persona by default', async () => {
      const published = await publish(admin, VERSION);
      expect(published.status).toBe(201);
      expect(published.body).toMatchObject({ version: 1, title: VERSION.title, text: VERSION.text, personas: ['system-admin', 'org-admin', 'department-head', 'doctor', 'nurse', 'technician', 'receptionist', 'patient'] });
      version1 = published.body;
    });
  });

  describe('at the next sign-in', () => {
    it('shows the terms page in English with Accept and Decline and the form security token', async () => {
      doctor = await createAccount(server, 'doctor', { fhirUser: 'Practitioner/doc' });
      const page = await signIn(new Browser(), doctor, pkcePair().challenge);
      expect(page.status).toBe(200);
      expect(page.html).toContain('<html lang="en">');
      expect(page.html).toContain('<h1>Terms of use and privacy policy 2026</h1>');
      expect(page.html).toContain('<p>We share them only as you allow.</p>');
      expect(page.html).toContain('version 1, published');
      expect(page.html).toContain('name="decision" value="accept">Accept</button>');
      expect(page.html).toContain('name="decision" value="decline">Decline</button>');
      expect(formField(page.html, 'csrf')).toBeTruthy();
      expect(formField(page.html, 'version')).toBe(version1.id);
    });

    it('shows it in Spanish to a Spanish-speaking account', async () => {
      const account = await createAccount(server, 'nurse', { language: 'es' });
      const page = await signIn(new Browser(), account, pkcePair().challenge);
      expect(page.html).toContain('<html lang="es">');
      expect(page.html).toContain('<h1>Condiciones de uso y política de privacidad 2026</h1>');
      expect(page.html).toContain('Mantenemos su expediente privado.');
      expect(page.html).toContain('>Aceptar</button>');
      expect(page.html).toContain('>Rechazar</button>');
    });

    it('refuses an answer without the security token, or without a decision', async () => {
      const browser = new Browser();
      const page = await signIn(browser, await createAccount(server, 'doctor', { fhirUser: 'Practitioner/doc' }), pkcePair().challenge);
      const forged = await browser.request(formAction(page.html, server.origin), { form: { csrf: 'forged', version: String(version1.id), decision: 'accept' } });
      expect(forged.status).toBe(403);
      const empty = await browser.request(formAction(page.html, server.origin), { form: { csrf: formField(page.html, 'csrf') ?? '', version: String(version1.id) } });
      expect(empty.status).toBe(400);
      expect(empty.html).toContain('Choose Accept or Decline.');
      expect(empty.html).toContain('aria-invalid="true"');
    });

    it('does not let an app skip the page (prompt=none)', async () => {
      const browser = new Browser();
      await signIn(browser, await createAccount(server, 'doctor', { fhirUser: 'Practitioner/doc' }), pkcePair().challenge);
      const silent = await browser.follow(`${authorizeUrl(pkcePair().challenge)}&prompt=none`, server.origin);
      expect(new URL(silent.location as string).searchParams.get('error')).toBe('interaction_required');
    });
  });

  describe('accepting', () => {
    let accepted: TokenClient;

    beforeAll(async () => {
      accepted = (await signInAnswering(doctor, 'accept')).client;
    });

    it('gives a token with the usual access', async () => {
      const response = await accepted.fetch(`${server.baseUrl}/Observation/amy-hr`);
      expect(response.status).toBe(200);
    });

    it('is recorded as an AuditEvent naming the account, the policy version and the decision', async () => {
      const [event] = await policyEvents('accepted', doctor.id);
      expect(event).toBeDefined();
      expect(event?.type).toEqual({ system: ORGANIZATION_POLICY_SYSTEM, code: 'policy-decision', display: 'Organization policy decision' });
      expect(event?.outcome).toBe('0');
      expect(event?.source?.site).toBe(server.tenant);
      const user = event?.agent?.find((agent) => agent.requestor);
      expect(user?.who?.reference).toBe('Practitioner/doc');
      const entity = event?.entity?.find((e) => e.role?.code === '13');
      expect(entity?.what?.identifier?.value).toBe(version1.id);
      expect(entity?.detail).toEqual([
        { type: 'version', valueString: '1' },
        { type: 'decision', valueString: 'accepted' },
      ]);
    });

    it('is not asked again at the next sign-in', async () => {
      const page = await signIn(new Browser(), doctor, pkcePair().challenge);
      expect(page.html).toContain('Allow access');
      expect(page.html).not.toContain('name="decision"');
    });
  });

  describe('declining', () => {
    let declined: TokenClient;

    beforeAll(async () => {
      patient = await createAccount(server, 'patient', { fhirUser: 'Patient/amy' });
      declined = (await signInAnswering(patient, 'decline')).client;
    });

    it('still gives a token, but refuses clinical data with 403 naming the rule and the escalation path', async () => {
      const response = await declined.fetch(`${server.baseUrl}/Observation/amy-hr`);
      expect(response.status).toBe(403);
      const outcome = (await response.json()) as OperationOutcome;
      expect(outcome.issue[0]?.code).toBe('forbidden');
      expect(outcome.issue[0]?.diagnostics).toBe(
        "Access denied by rule 'organization-policy': read on Observation is not permitted (you declined version 1 of your organization's terms of use and privacy policy; until you accept it, only questions and appeals to staff are available)",
      );
      expect(outcome.issue[1]?.diagnostics).toContain('accept the current terms of use and privacy policy the next time you sign in');
      const search = await declined.fetch(`${server.baseUrl}/Patient?_id=amy`);
      expect(search.status).toBe(403);
    });

    it('answers in Spanish when asked', async () => {
      const response = await declined.fetch(`${server.baseUrl}/Observation/amy-hr`, { headers: { 'accept-language': 'es' } });
      expect(response.status).toBe(403);
      const outcome = (await response.json()) as OperationOutcome;
      expect(outcome.issue[0]?.details?.text).toBe('No tiene permiso para esta operación');
    });

    it('allows a question to staff, and reading it back', async () => {
      const created = await declined.fetch(`${server.baseUrl}/Communication`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(communication('Patient/amy', 'Practitioner/doc')) });
      expect(created.status).toBe(201);
      const id = ((await created.json()) as { id: string }).id;
      const read = await declined.fetch(`${server.baseUrl}/Communication/${id}`);
      expect(read.status).toBe(200);
    });

    it('refuses a Communication that is not addressed to staff', async () => {
      const created = await declined.fetch(`${server.baseUrl}/Communication`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(communication('Patient/amy', 'Patient/amy')) });
      expect(created.status).toBe(403);
      const outcome = (await created.json()) as OperationOutcome;
      expect(outcome.issue[0]?.diagnostics).toContain("rule 'organization-policy'");
      expect(outcome.issue[0]?.diagnostics).toContain('must be addressed to a member of staff');
    });

    it('lets the account read the policy and where it stands', async () => {
      const current = await declined.fetch(`${server.origin}/admin/policies/current`);
      expect(current.status).toBe(200);
      expect(await current.json()).toMatchObject({ id: version1.id, version: 1, title: VERSION.title, status: 'declined' });
    });

    it('is recorded as an AuditEvent, and the audit chain stays intact', async () => {
      const [event] = await policyEvents('declined', patient.id);
      expect(event?.subtype).toEqual([{ system: ORGANIZATION_POLICY_SYSTEM, code: 'declined', display: 'Declined' }]);
      expect(event?.agent?.find((agent) => agent.requestor)?.who?.reference).toBe('Patient/amy');
      const verdict = (await (await server.fetch(`${server.baseUrl}/AuditEvent/$verify-chain`)).json()) as Parameters;
      expect(verdict.parameter?.find((p) => p.name === 'valid')?.valueBoolean).toBe(true);
    });

    it('shows the administrator who accepted and who declined', async () => {
      const response = await admin.fetch(`${server.origin}/admin/policies`);
      expect(response.status).toBe(200);
      const { versions } = (await response.json()) as { versions: { id: string; accepted: { account: string }[]; declined: { account: string }[] }[] };
      const listed = versions.find((v) => v.id === version1.id);
      expect(listed?.accepted.map((a) => a.account)).toContain(doctor.id);
      expect(listed?.declined.map((a) => a.account)).toEqual([patient.id]);
    });

    it('asks again at the next sign-in, and accepting restores access on the new token', async () => {
      const { policyPage, client } = await signInAnswering(patient, 'accept');
      expect(policyPage).toContain('You declined this version before.');
      const response = await client.fetch(`${server.baseUrl}/Observation/amy-hr`);
      expect(response.status).toBe(200);
      const current = (await (await client.fetch(`${server.origin}/admin/policies/current`)).json()) as Json;
      expect(current.status).toBe('accepted');
    });
  });

  describe('a later version', () => {
    it('requires a new answer from an account that accepted the previous one', async () => {
      const published = await publish(admin, { ...VERSION, title: { en: 'Terms 2027', es: 'Condiciones 2027' } });
      expect(published.status).toBe(201);
      expect(published.body.version).toBe(2);
      const page = await signIn(new Browser(), doctor, pkcePair().challenge);
      expect(page.html).toContain('<h1>Terms 2027</h1>');
      expect(formField(page.html, 'version')).toBe(published.body.id);
    });

    it('comes before the statement of an emergency access, which keeps the sign-in of the same request', async () => {
      const emergencyScope = 'openid fhirUser launch/patient user/*.cruds break-glass';
      const emergencyApp = await registerApp(server, { client_name: 'Emergency', kind: 'public', redirect_uris: [REDIRECT], scope: emergencyScope });
      const browser = new Browser();
      const query = new URLSearchParams({ response_type: 'code', client_id: emergencyApp.client_id, redirect_uri: REDIRECT, scope: emergencyScope, state: 'btg', aud: server.baseUrl, code_challenge: pkcePair().challenge, code_challenge_method: 'S256' });
      const login = await browser.follow(`${server.issuer}/auth?${query}`, server.origin);
      const signedIn = await browser.request(formAction(login.html, server.origin), { form: { csrf: formField(login.html, 'csrf') ?? '', username: doctor.username, password: doctor.password } });
      const policyPage = await browser.follow(signedIn.location as string, server.origin);
      expect(policyPage.html).toContain('<h1>Terms 2027</h1>');
      const answered = await answer(browser, policyPage.html, 'decline');
      const statement = await browser.follow(answered.location as string, server.origin);
      expect(statement.html).toContain('<h1>Emergency access (break the glass)</h1>');
      expect(statement.html).toContain('name="reason"');
    });

    it('only concerns the personas it names', async () => {
      const published = await publish(admin, { ...VERSION, title: { en: 'Patient terms', es: 'Condiciones para pacientes' }, personas: ['patient'] });
      expect(published.body.version).toBe(3);
      const patientPage = await signIn(new Browser(), patient, pkcePair().challenge);
      expect(patientPage.html).toContain('<h1>Patient terms</h1>');
      // Version 2 is still the doctors' current one.
      const doctorPage = await signIn(new Browser(), doctor, pkcePair().challenge);
      expect(doctorPage.html).toContain('<h1>Terms 2027</h1>');
    });
  });

  describe('another organization', () => {
    it('is not affected by this organization’s policy', async () => {
      const { record } = buildClientRecord({ client_name: 'Other portal', kind: 'public', redirect_uris: [REDIRECT], scope: SCOPE }, OTHER_TENANT);
      await server.db.collection('auth_clients').insertOne(record as never);
      const account = await createAccount(server, 'doctor', { tenant: OTHER_TENANT });
      const page = await signIn(new Browser(), account, pkcePair().challenge, record._id);
      expect(page.html).toContain('Allow access');
      expect(page.html).not.toContain('name="decision"');
    });
  });
});
