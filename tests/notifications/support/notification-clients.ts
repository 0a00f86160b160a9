/**
 * What the notification tests need around the server: accounts of any persona and language holding a real user
 * token (the whole authorization code flow), a stand-in email/SMS relay on loopback whose answers a test chooses,
 * Patients and Consents stored through the FHIR API, and polling until background delivery has settled.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Persona } from '../../../src/auth/principal';
import type { FhirTestServer } from '../../support/fhir-server';
import { Browser, createAccount, pkcePair, putResource, registerApp, signInAndApprove, type TestAccount } from '../../auth/support/smart-harness';

const REDIRECT = 'http://127.0.0.1:9/callback';
let apps = 0;

export interface PersonaClient {
  readonly account: TestAccount;
  /** The scopes the token was granted. */
  readonly scope: string;
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

/** An account of `role` (in `language`) and a token for it from a public app registered with `scope`. */
export async function personaClient(server: FhirTestServer, role: Persona, scope: string, options: { language?: 'en' | 'es'; fhirUser?: string } = {}): Promise<PersonaClient> {
  const account = await createAccount(server, role, options);
  const app = await registerApp(server, { client_name: `Notifications app ${++apps}`, kind: 'public', redirect_uris: [REDIRECT], scope });
  const pkce = pkcePair();
  const query = new URLSearchParams({ response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT, scope, state: 's', aud: server.baseUrl, code_challenge: pkce.challenge, code_challenge_method: 'S256' });
  const { redirect } = await signInAndApprove(new Browser(), `${server.issuer}/auth?${query}`, server.origin, account);
  const code = redirect.searchParams.get('code');
  if (!code) throw new Error(`no code: ${redirect.href}`);
  const response = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: pkce.verifier, redirect_uri: REDIRECT, client_id: app.client_id }),
  });
  const token = (await response.json()) as { access_token: string; scope: string };
  if (response.status !== 200) throw new Error(`token exchange failed: ${JSON.stringify(token)}`);
  return {
    account,
    scope: token.scope,
    fetch: (path, init = {}) => fetch(`${server.origin}${path}`, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${token.access_token}` } }),
  };
}

/** What a relay answers, per recipient address (default 202). */
export type RelayAnswer = number | 'hang';

/** A stand-in email/SMS relay: records every message and answers with the status a test set for its address. */
export interface FakeRelay {
  readonly url: string;
  readonly received: Record<string, unknown>[];
  /** The authorization header of each request. */
  readonly authorizations: (string | undefined)[];
  answer(address: string, status: RelayAnswer): void;
  stop(): Promise<void>;
}

export async function startFakeRelay(): Promise<FakeRelay> {
  const received: Record<string, unknown>[] = [];
  const authorizations: (string | undefined)[] = [];
  const answers = new Map<string, RelayAnswer>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const message = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      received.push(message);
      authorizations.push(req.headers.authorization);
      const answer = answers.get(message.to as string) ?? 202;
      if (answer === 'hang') return;
      res.writeHead(answer, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/send`,
    received,
    authorizations,
    answer: (address, status) => answers.set(address, status),
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Stores a Patient through the FHIR API. */
export async function putPatient(server: FhirTestServer, id: string, extra: Record<string, unknown> = {}): Promise<void> {
  await putResource(server, { resourceType: 'Patient', id, name: [{ family: `Family-${id}`, given: ['Pat'] }], ...extra });
}

const CHANNEL_SYSTEM = 'http://hl7.org/fhir/contact-point-system';

/** Stores a Consent of the patient permitting (or denying) contact on the channels. */
export async function putChannelConsent(server: FhirTestServer, id: string, patient: string, channels: Record<string, 'permit' | 'deny'>, dateTime = new Date().toISOString()): Promise<void> {
  await putResource(server, {
    resourceType: 'Consent',
    id,
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${patient}` },
    dateTime,
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    // The root denies contact on every external channel (and says nothing of data access); the nested provisions decide each channel.
    provision: { type: 'deny', action: ['email', 'sms'].map((code) => ({ coding: [{ system: CHANNEL_SYSTEM, code }] })), provision: Object.entries(channels).map(([code, type]) => ({ type, action: [{ coding: [{ system: CHANNEL_SYSTEM, code }] }] })) },
  });
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
