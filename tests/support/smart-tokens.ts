/**
 * Real access tokens with chosen scopes, for tests of what a token may do: Backend Services tokens for a freshly
 * registered backend client, and user tokens through the whole authorization code flow (sign-in, patient
 * picker, approval, PKCE) of a freshly registered public app.
 */
import { requestBackendToken } from '../../src/auth/client-assertion';
import { buildClientRecord } from '../../src/auth/client-applications';
import type { Persona } from '../../src/auth/principal';
import { newKeyPair, type FhirTestServer } from './fhir-server';
import { Browser, createAccount, pkcePair, registerApp, signInAndApprove, type TestAccount } from '../auth/support/smart-harness';

const REDIRECT = 'http://127.0.0.1:9/callback';
let registered = 0;

/** A client of the FHIR API holding one access token. */
export interface TokenClient {
  readonly accessToken: string;
  /** The token response (scope granted, patient, ...). */
  readonly tokenResponse: Record<string, unknown>;
  fetch(url: string, init?: RequestInit): Promise<Response>;
}

function client(accessToken: string, tokenResponse: Record<string, unknown>): TokenClient {
  return {
    accessToken,
    tokenResponse,
    fetch: (url, init = {}) => fetch(url, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${accessToken}` } }),
  };
}

/**
 * A Backend Services token of a new backend client holding `scope` (system/ scopes), registered through the
 * management API for the suite's organization, or stored directly for another organization (`tenant`).
 */
export async function backendClient(server: FhirTestServer, scope: string, options: { tenant?: string } = {}): Promise<TokenClient> {
  const keys = newKeyPair(`test-backend-${++registered}`);
  const registration = { client_name: `Backend ${registered}`, kind: 'backend', jwks: { keys: [keys.publicJwk] }, scope };
  let clientId: string;
  if (options.tenant === undefined) {
    clientId = (await registerApp(server, registration)).client_id;
  } else {
    const { record } = buildClientRecord(registration, options.tenant);
    await server.db.collection('auth_clients').insertOne(record as never);
    clientId = record._id;
  }
  const token = await requestBackendToken({ clientId, privateJwk: keys.privateJwk, tokenUrl: server.tokenUrl, scope });
  return client(token.access_token, token as unknown as Record<string, unknown>);
}

export interface UserTokenOptions {
  readonly role: Persona;
  readonly scope: string;
  /** The account's FHIR resource, e.g. Practitioner/1 or Patient/2. */
  readonly fhirUser?: string;
  /** The account's department code (a HealthcareService id). */
  readonly department?: string;
  readonly language?: 'en' | 'es';
  /** The patient to pick in the standalone launch picker. */
  readonly patient?: string;
  /** Designations of the account (emergency access, compliance review). */
  readonly flags?: { breakGlass?: boolean; complianceReviewer?: boolean };
}

/** A user token from a standalone launch of a new public app registered with `scope`, with its account. */
export async function userClient(server: FhirTestServer, options: UserTokenOptions): Promise<TokenClient & { account: TestAccount }> {
  const account = await createAccount(server, options.role, {
    ...(options.fhirUser ? { fhirUser: options.fhirUser } : {}),
    ...(options.department ? { department: options.department } : {}),
    ...(options.language ? { language: options.language } : {}),
    ...(options.flags ? { flags: options.flags } : {}),
  });
  const app = await registerApp(server, { client_name: `App ${++registered}`, kind: 'public', redirect_uris: [REDIRECT], scope: options.scope });
  const pkce = pkcePair();
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: app.client_id,
    redirect_uri: REDIRECT,
    scope: options.scope,
    state: 'test',
    aud: server.baseUrl,
    code_challenge: pkce.challenge,
    code_challenge_method: 'S256',
  });
  const { redirect } = await signInAndApprove(new Browser(), `${server.issuer}/auth?${query}`, server.origin, account, options.patient ? { patient: options.patient } : {});
  const code = redirect.searchParams.get('code');
  if (!code) throw new Error(`no code: ${redirect.href}`);
  const response = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: pkce.verifier, redirect_uri: REDIRECT, client_id: app.client_id }),
  });
  const body = (await response.json()) as Record<string, unknown>;
  if (response.status !== 200) throw new Error(`token exchange failed: ${JSON.stringify(body)}`);
  return { ...client(body.access_token as string, body), account };
}
