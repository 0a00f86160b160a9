/**
 * The authorization code flow's failure paths (RFC 6749 sections 4.1.2.1 and 5.2, RFC 7636, SMART App Launch 2.x
 * app-launch.html) and the pages people see: exact redirect_uri match, aud checked against the FHIR base, PKCE S256
 * required and verified, codes usable once, state echoed; sign-in pages with CSRF tokens, throttling, Spanish.
 */
import { startFhirServer, type FhirTestServer } from '../support/fhir-server';
import { Browser, createAccount, formAction, formField, pkcePair, putResource, registerApp, signInAndApprove, type TestAccount } from './support/smart-harness';
import { LOGIN_THROTTLE } from '../../src/auth/sign-in';

const REDIRECT = 'http://127.0.0.1:9/callback';
let server: FhirTestServer;
let doctor: TestAccount;
let app: { client_id: string };

beforeAll(async () => {
  server = await startFhirServer();
  await putResource(server, { resourceType: 'Patient', id: 'p1', name: [{ family: 'One' }] });
  await putResource(server, { resourceType: 'Practitioner', id: 'code-doc', name: [{ family: 'Doc' }] });
  await putResource(server, { resourceType: 'CareTeam', id: 'code-team', subject: { reference: 'Patient/p1' }, participant: [{ member: { reference: 'Practitioner/code-doc' } }] });
  doctor = await createAccount(server, 'doctor', { fhirUser: 'Practitioner/code-doc' });
  app = await registerApp(server, { client_name: 'Code flow app', kind: 'public', redirect_uris: [REDIRECT], scope: 'openid fhirUser launch/patient offline_access patient/*.rs' });
});

afterAll(async () => {
  await server.stop();
});

function authorizeUrl(overrides: Record<string, string | undefined> = {}, challenge = pkcePair().challenge): string {
  const params: Record<string, string | undefined> = { response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT, scope: 'openid launch/patient patient/Patient.rs', state: 'st-123', aud: server.baseUrl, code_challenge: challenge, code_challenge_method: 'S256', ...overrides };
  const query = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined));
  return `${server.issuer}/auth?${query}`;
}

async function obtainCode(pkce = pkcePair()): Promise<{ code: string; verifier: string; redirect: URL }> {
  const { redirect } = await signInAndApprove(new Browser(), authorizeUrl({}, pkce.challenge), server.origin, doctor, { patient: 'p1' });
  return { code: redirect.searchParams.get('code') as string, verifier: pkce.verifier, redirect };
}

async function exchange(code: string, verifier: string, redirectUri = REDIRECT): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${server.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri, client_id: app.client_id }) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('authorization request errors', () => {
  it('never redirects to a redirect_uri that is not registered exactly', async () => {
    const response = await new Browser().request(authorizeUrl({ redirect_uri: `${REDIRECT}/extra` }));
    expect(response.status).toBe(400);
    expect(response.location).toBeUndefined();
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.html).toContain('invalid_redirect_uri');
  });

  it('redirects a wrong aud back as invalid_request, echoing state', async () => {
    const response = await new Browser().request(authorizeUrl({ aud: 'https://other.example/fhir' }));
    const redirect = new URL(response.location as string);
    expect(`${redirect.origin}${redirect.pathname}`).toBe(REDIRECT);
    expect(redirect.searchParams.get('error')).toBe('invalid_request');
    expect(redirect.searchParams.get('error_description')).toContain("aud 'https://other.example/fhir' is not this server's FHIR base URL");
    expect(redirect.searchParams.get('state')).toBe('st-123');
  });

  it('requires aud', async () => {
    const response = await new Browser().request(authorizeUrl({ aud: undefined }));
    expect(new URL(response.location as string).searchParams.get('error_description')).toContain("missing required parameter 'aud'");
  });

  it('requires a PKCE code_challenge from a public client', async () => {
    const response = await new Browser().request(authorizeUrl({ code_challenge: undefined, code_challenge_method: undefined }));
    const redirect = new URL(response.location as string);
    expect(redirect.searchParams.get('error')).toBe('invalid_request');
    expect(redirect.searchParams.get('error_description')).toMatch(/PKCE/);
  });

  it('refuses the plain PKCE method', async () => {
    const response = await new Browser().request(authorizeUrl({ code_challenge_method: 'plain' }));
    expect(new URL(response.location as string).searchParams.get('error')).toBe('invalid_request');
  });

  it('rejects a malformed scope with invalid_scope', async () => {
    const response = await new Browser().request(authorizeUrl({ scope: 'openid patient/Patient.rrs' }));
    const redirect = new URL(response.location as string);
    expect(redirect.searchParams.get('error')).toBe('invalid_scope');
    expect(redirect.searchParams.get('error_description')).toContain('in the order c, r, u, d, s');
  });
});

describe('token request errors (RFC 6749 section 5.2)', () => {
  it('echoes state with the code and exchanges it once', async () => {
    const { code, verifier, redirect } = await obtainCode();
    expect(redirect.searchParams.get('state')).toBe('st-123');
    const first = await exchange(code, verifier);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ token_type: 'Bearer', patient: 'p1' });
    const again = await exchange(code, verifier);
    expect(again.status).toBe(400);
    expect(again.body.error).toBe('invalid_grant');
    // Reusing a code revokes what it issued (RFC 6749 section 4.1.2).
    const read = await fetch(`${server.baseUrl}/Patient/p1`, { headers: { authorization: `Bearer ${String(first.body.access_token)}` } });
    expect(read.status).toBe(401);
  });

  it('rejects a wrong PKCE code_verifier with invalid_grant', async () => {
    const { code } = await obtainCode();
    const { status, body } = await exchange(code, pkcePair().verifier);
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_grant');
  });

  it('rejects a redirect_uri that differs from the authorization request with invalid_grant', async () => {
    const { code, verifier } = await obtainCode();
    const { status, body } = await exchange(code, verifier, 'http://127.0.0.1:9/other');
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_grant');
  });
});

describe('sign-in pages', () => {
  it('carries lang, labelled fields and a CSRF token; Spanish for Accept-Language es', async () => {
    const browser = new Browser();
    browser.language = 'es';
    const page = await browser.follow(authorizeUrl(), server.origin);
    expect(page.html).toContain('<html lang="es">');
    expect(page.html).toContain('<label for="username">Nombre de usuario</label>');
    expect(page.html).toContain('<label for="password">Contraseña</label>');
    expect(formField(page.html, 'csrf')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
  });

  it('refuses a sign-in form without its CSRF token', async () => {
    const browser = new Browser();
    const page = await browser.follow(authorizeUrl(), server.origin);
    const response = await browser.request(formAction(page.html, server.origin), { form: { username: doctor.username, password: doctor.password } });
    expect(response.status).toBe(403);
    expect(response.location).toBeUndefined();
  });

  it('ties a wrong password to the field and says which fields are missing', async () => {
    const browser = new Browser();
    const page = await browser.follow(authorizeUrl(), server.origin);
    const csrf = formField(page.html, 'csrf') as string;
    const wrong = await browser.request(formAction(page.html, server.origin), { form: { csrf, username: doctor.username, password: 'nope' } });
    expect(wrong.status).toBe(401);
    expect(wrong.html).toContain('role="alert"');
    expect(wrong.html).toContain('aria-describedby="username-error"');
    expect(wrong.html).toContain('The username or password is not correct.');
    const empty = await browser.request(formAction(page.html, server.origin), { form: { csrf, username: '', password: '' } });
    expect(empty.status).toBe(400);
    expect(empty.html).toContain('Enter your username.');
    expect(empty.html).toContain('Enter your password.');
  });

  it(`locks an account after ${LOGIN_THROTTLE.failures} failed attempts, even with the right password`, async () => {
    const victim = await createAccount(server, 'nurse');
    const browser = new Browser();
    const page = await browser.follow(authorizeUrl(), server.origin);
    const csrf = formField(page.html, 'csrf') as string;
    const statuses: number[] = [];
    for (let i = 0; i < LOGIN_THROTTLE.failures; i++) {
      statuses.push((await browser.request(formAction(page.html, server.origin), { form: { csrf, username: victim.username, password: `guess-${i}` } })).status);
    }
    expect(statuses.slice(0, -1).every((s) => s === 401)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    const right = await browser.request(formAction(page.html, server.origin), { form: { csrf, username: victim.username, password: victim.password } });
    expect(right.status).toBe(429);
    expect(right.html).toContain('Too many failed sign-in attempts');
  });

  it('sends a denied approval back to the app as access_denied', async () => {
    const browser = new Browser();
    let page = await browser.follow(authorizeUrl(), server.origin);
    page = await browser.request(formAction(page.html, server.origin), { form: { csrf: formField(page.html, 'csrf') as string, username: doctor.username, password: doctor.password } });
    page = await browser.follow(page.location as string, server.origin);
    const abort = /formaction="([^"]+)"/.exec(page.html)?.[1] as string;
    const denied = await browser.request(new URL(abort, server.origin).href, { form: { csrf: formField(page.html, 'csrf') as string } });
    const final = await browser.follow(denied.location as string, server.origin);
    const redirect = new URL(final.location as string);
    expect(redirect.searchParams.get('error')).toBe('access_denied');
    expect(redirect.searchParams.get('state')).toBe('st-123');
  });

  it('asks again for a patient when none was picked', async () => {
    const browser = new Browser();
    let page = await browser.follow(authorizeUrl(), server.origin);
    page = await browser.request(formAction(page.html, server.origin), { form: { csrf: formField(page.html, 'csrf') as string, username: doctor.username, password: doctor.password } });
    page = await browser.follow(page.location as string, server.origin);
    const again = await browser.request(formAction(page.html, server.origin), { form: { csrf: formField(page.html, 'csrf') as string, scope: 'openid' } });
    expect(again.status).toBe(400);
    expect(again.html).toContain('id="patient-error"');
    expect(again.html).toContain('Choose a patient.');
  });
});
