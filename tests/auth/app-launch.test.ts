/**
 * SMART App Launch 2.x (app-launch.html), driven by the real SMART JavaScript client (fhirclient, Node entry):
 * standalone launch with the patient picker, a patient's own record, EHR launch with patient and encounter context,
 * the token response (scope, patient, encounter, need_patient_banner, smart_style_url, id_token with fhirUser,
 * refresh_token), refresh with rotation, and the FHIR API with the token the app received.
 */
import type { Patient } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../support/fhir-server';
import { Browser, createAccount, putResource, registerApp, signInAndApprove, startSmartApp, type SmartApp, type TestAccount } from './support/smart-harness';

let server: FhirTestServer;
let app: SmartApp;
let doctor: TestAccount;
let patientAccount: TestAccount;
let publicApp: { client_id: string };
let confidentialApp: { client_id: string; client_secret?: string };

function decodeJwt(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>;
}

beforeAll(async () => {
  server = await startFhirServer();
  app = await startSmartApp();
  await putResource(server, { resourceType: 'Practitioner', id: 'dr-who', name: [{ family: 'Who' }] });
  await putResource(server, { resourceType: 'Patient', id: 'pat-a', name: [{ family: 'Alpha', given: ['Ann'] }], birthDate: '1990-01-01' });
  await putResource(server, { resourceType: 'Patient', id: 'pat-b', name: [{ family: 'Beta', given: ['Bob'] }] });
  await putResource(server, { resourceType: 'Encounter', id: 'enc-a', status: 'in-progress', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject: { reference: 'Patient/pat-a' }, participant: [{ individual: { reference: 'Practitioner/dr-who' } }] });
  doctor = await createAccount(server, 'doctor', { fhirUser: 'Practitioner/dr-who' });
  patientAccount = await createAccount(server, 'patient', { fhirUser: 'Patient/pat-b', language: 'es' });
  publicApp = await registerApp(server, { client_name: 'Public test app', kind: 'public', redirect_uris: [app.redirectUri], launch_url: app.launchUrl, scope: 'openid fhirUser launch launch/patient offline_access online_access patient/*.rs user/*.rs' });
  confidentialApp = await registerApp(server, { client_name: 'Confidential test app', kind: 'confidential-symmetric', redirect_uris: [app.redirectUri], launch_url: app.launchUrl, scope: 'openid fhirUser launch launch/patient launch/encounter offline_access patient/*.cruds user/*.cruds' });
});

afterAll(async () => {
  await app?.stop();
  await server?.stop();
});

describe('standalone launch (app-launch.html#step-1-app-asks-for-authorization)', () => {
  it('lets a doctor pick a patient; the app gets the patient context, an id_token with fhirUser and a refresh token, and reads the patient', async () => {
    app.configure({ clientId: publicApp.client_id, scope: 'launch/patient openid fhirUser offline_access patient/Patient.rs patient/Observation.rs', iss: server.baseUrl });
    const browser = new Browser();
    const { redirect, approvalPage } = await signInAndApprove(browser, app.launchUrl, server.origin, doctor, { patient: 'pat-a' });
    // The picker offers the patients the doctor may see: Ann Alpha, whose encounter he takes part in, not Bob Beta.
    expect(approvalPage).toContain('Alpha');
    expect(approvalPage).not.toContain('Beta');
    expect(redirect.origin).toBe(app.origin);
    const callback = await browser.request(redirect.href);
    expect(callback.status).toBe(200);
    const client = app.lastClient();
    expect(client).toBeDefined();
    const state = client!.state;
    const response = state.tokenResponse as Record<string, unknown>;
    expect(response.patient).toBe('pat-a');
    expect(typeof response.expires_in).toBe('number');
    expect(response.token_type).toBe('Bearer');
    expect(String(response.scope).split(' ').sort()).toEqual(['fhirUser', 'launch/patient', 'offline_access', 'openid', 'patient/Observation.rs', 'patient/Patient.rs']);
    expect(response.refresh_token).toEqual(expect.any(String));
    expect(response.need_patient_banner).toBe(true);
    expect(decodeJwt(String(response.id_token))).toMatchObject({ fhirUser: `${server.baseUrl}/Practitioner/dr-who`, aud: publicApp.client_id });
    expect(client!.patient.id).toBe('pat-a');
    const patient = (await client!.patient.read()) as Patient;
    expect(patient.name?.[0]?.family).toBe('Alpha');
  });

  it('gives a patient account its own record without a picker, in the account language', async () => {
    app.configure({ clientId: publicApp.client_id, scope: 'launch/patient openid fhirUser patient/*.rs', iss: server.baseUrl });
    const browser = new Browser();
    const { redirect, approvalPage } = await signInAndApprove(browser, app.launchUrl, server.origin, patientAccount);
    expect(approvalPage).toContain('<html lang="es">');
    expect(approvalPage).toContain('Su propio expediente');
    expect(approvalPage).not.toContain('type="radio"');
    await browser.request(redirect.href);
    const client = app.lastClient();
    expect(client!.patient.id).toBe('pat-b');
    expect(client!.getFhirUser()).toBe('Patient/pat-b');
  });

  it('grants only the scopes the person left checked', async () => {
    app.configure({ clientId: publicApp.client_id, scope: 'launch/patient openid fhirUser patient/Patient.rs patient/Observation.rs', iss: server.baseUrl });
    const browser = new Browser();
    const { redirect } = await signInAndApprove(browser, app.launchUrl, server.origin, doctor, { patient: 'pat-a', scopes: ['launch/patient', 'openid', 'fhirUser', 'patient/Patient.rs'] });
    await browser.request(redirect.href);
    const scope = String((app.lastClient()!.state.tokenResponse as Record<string, unknown>).scope);
    expect(scope.split(' ')).toContain('patient/Patient.rs');
    expect(scope.split(' ')).not.toContain('patient/Observation.rs');
  });

  it('does not grant scopes beyond the app registration (granted scope is what was really granted)', async () => {
    app.configure({ clientId: publicApp.client_id, scope: 'launch/patient openid patient/Patient.rs patient/Observation.cruds', iss: server.baseUrl });
    const browser = new Browser();
    const { redirect } = await signInAndApprove(browser, app.launchUrl, server.origin, doctor, { patient: 'pat-a' });
    await browser.request(redirect.href);
    const scope = String((app.lastClient()!.state.tokenResponse as Record<string, unknown>).scope).split(' ');
    expect(scope).toContain('patient/Patient.rs');
    expect(scope).not.toContain('patient/Observation.cruds');
  });
});

describe('EHR launch (app-launch.html#launch-app-ehr-launch)', () => {
  it('trades the launch value for the patient and encounter context chosen in the EHR', async () => {
    const created = await server.fetch(`${server.origin}/admin/launches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: confidentialApp.client_id, patient: 'pat-a', encounter: 'enc-a', account: doctor.username, need_patient_banner: false }),
    });
    expect(created.status).toBe(201);
    const launch = (await created.json()) as { launch: string; launch_url: string; iss: string };
    expect(launch.iss).toBe(server.baseUrl);
    expect(launch.launch_url).toBe(`${app.launchUrl}?iss=${encodeURIComponent(server.baseUrl)}&launch=${launch.launch}`);
    app.configure({ clientId: confidentialApp.client_id, clientSecret: confidentialApp.client_secret as string, scope: 'launch openid fhirUser patient/*.rs', iss: server.baseUrl });
    const browser = new Browser();
    const { redirect, approvalPage } = await signInAndApprove(browser, launch.launch_url, server.origin, doctor);
    expect(approvalPage).toContain('Patient: Ann Alpha');
    await browser.request(redirect.href);
    const client = app.lastClient()!;
    const response = client.state.tokenResponse as Record<string, unknown>;
    expect(response).toMatchObject({ patient: 'pat-a', encounter: 'enc-a', need_patient_banner: false, smart_style_url: `${server.issuer}/smart-style.json` });
    expect(String(response.scope).split(' ')).toContain('launch');
    const encounter = (await client.encounter.read()) as { id: string };
    expect(encounter.id).toBe('enc-a');
    const style = await fetch(String(response.smart_style_url));
    expect(style.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('refuses a launch value created for another app', async () => {
    const created = await server.fetch(`${server.origin}/admin/launches`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: confidentialApp.client_id, patient: 'pat-a', account: doctor.username }) });
    const { launch } = (await created.json()) as { launch: string };
    const browser = new Browser();
    const url = `${server.issuer}/auth?${new URLSearchParams({ response_type: 'code', client_id: publicApp.client_id, redirect_uri: app.redirectUri, scope: 'launch openid', state: 's1', aud: server.baseUrl, launch, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })}`;
    const response = await browser.request(url);
    const redirect = new URL(response.location as string);
    expect(redirect.origin).toBe(app.origin);
    expect(redirect.searchParams.get('error')).toBe('invalid_request');
    expect(redirect.searchParams.get('error_description')).toContain('launch is unknown');
    expect(redirect.searchParams.get('state')).toBe('s1');
  });

  it('needs ehr:launch and an existing patient to create a launch', async () => {
    const missingPatient = await server.fetch(`${server.origin}/admin/launches`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: confidentialApp.client_id, patient: 'nobody', account: doctor.username }) });
    expect(missingPatient.status).toBe(404);
    expect(await missingPatient.json()).toMatchObject({ error: 'invalid_request', error_description: 'Patient/nobody does not exist' });
    const anonymous = await fetch(`${server.origin}/admin/launches`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
  });
});

describe('refresh (app-launch.html#step-5-later-app-uses-a-refresh-token-to-obtain-a-new-access-token)', () => {
  let refreshToken: string;

  beforeAll(async () => {
    app.configure({ clientId: publicApp.client_id, scope: 'launch/patient openid fhirUser offline_access patient/Patient.rs patient/Observation.rs', iss: server.baseUrl });
    const browser = new Browser();
    const { redirect } = await signInAndApprove(browser, app.launchUrl, server.origin, doctor, { patient: 'pat-a' });
    await browser.request(redirect.href);
    refreshToken = String((app.lastClient()!.state.tokenResponse as Record<string, unknown>).refresh_token);
  });

  async function refresh(token: string, extra: Record<string, string> = {}, clientId = publicApp.client_id): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${server.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token, client_id: clientId, ...extra }) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('rejects a wider scope than was granted with invalid_scope', async () => {
    const wider = await refresh(refreshToken, { scope: 'patient/Patient.rs patient/Observation.cruds' });
    expect(wider.status).toBe(400);
    expect(wider.body.error).toBe('invalid_scope');
  });

  it('rejects the refresh token presented by another client with invalid_grant', async () => {
    const other = await registerApp(server, { client_name: 'Other public app', kind: 'public', redirect_uris: ['http://127.0.0.1:1/cb'], scope: 'openid patient/*.rs offline_access launch/patient' });
    const moved = await refresh(refreshToken, {}, other.client_id);
    expect(moved.status).toBe(400);
    expect(moved.body.error).toBe('invalid_grant');
  });

  it('issues a new access token with the patient context, rotates the refresh token and keeps a narrower scope narrow', async () => {
    const first = await refresh(refreshToken, { scope: 'patient/Patient.rs openid' });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ patient: 'pat-a', token_type: 'Bearer' });
    expect(String(first.body.scope).split(' ').sort()).toEqual(['openid', 'patient/Patient.rs']);
    expect(first.body.refresh_token).not.toBe(refreshToken);
    const read = await fetch(`${server.baseUrl}/Patient/pat-a`, { headers: { authorization: `Bearer ${String(first.body.access_token)}` } });
    expect(read.status).toBe(200);
    const reused = await refresh(refreshToken);
    expect(reused.status).toBe(400);
    expect(reused.body.error).toBe('invalid_grant');
  });
});
