/**
 * Signs a SMART Backend Services client assertion (backend-services.html "authentication JWT"; RFC 7523): a JWT
 * with iss = sub = client_id, aud = the token endpoint, a unique jti and an exp at most five minutes ahead, signed
 * RS384 or ES384 with the client's private JWK. Used by the import command, the demo token script and tests.
 */
import { createPrivateKey, randomUUID, sign } from 'node:crypto';

export interface ClientAssertionOptions {
  readonly clientId: string;
  readonly tokenUrl: string;
  /** The private key as a JWK (with `kid`). */
  readonly privateJwk: Record<string, unknown>;
  /** Seconds until exp (default 240). */
  readonly lifetime?: number;
  readonly jti?: string;
  /** Extra header fields (e.g. jku). */
  readonly header?: Record<string, unknown>;
  /** Seconds since the epoch to sign as "now" (tests of expired assertions). */
  readonly now?: number;
}

const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

export function signClientAssertion(options: ClientAssertionOptions): string {
  const jwk = options.privateJwk;
  const alg = jwk.kty === 'EC' ? 'ES384' : 'RS384';
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const header = { alg, typ: 'JWT', ...(jwk.kid ? { kid: jwk.kid } : {}), ...options.header };
  const payload = { iss: options.clientId, sub: options.clientId, aud: options.tokenUrl, jti: options.jti ?? randomUUID(), iat: now, exp: now + (options.lifetime ?? 240) };
  const input = `${part(header)}.${part(payload)}`;
  const key = createPrivateKey({ key: jwk as never, format: 'jwk' });
  const signature = sign('sha384', Buffer.from(input), alg === 'ES384' ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${input}.${signature.toString('base64url')}`;
}

export interface BackendTokenResponse {
  readonly access_token: string;
  readonly expires_in: number;
  readonly scope?: string;
  readonly token_type: string;
}

/** Obtains an access token with client_credentials and a signed assertion; throws with the server's error otherwise. */
export async function requestBackendToken(options: ClientAssertionOptions & { readonly scope: string }): Promise<BackendTokenResponse> {
  const response = await fetch(options.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      scope: options.scope,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: signClientAssertion(options),
    }),
  });
  const body = (await response.json()) as BackendTokenResponse & { error?: string; error_description?: string };
  if (!response.ok) throw new Error(`token request failed (${response.status}): ${body.error ?? 'unknown'}${body.error_description ? `: ${body.error_description}` : ''}`);
  return body;
}

/** The token endpoint named by a FHIR server's SMART discovery document. */
export async function discoverTokenEndpoint(fhirBaseUrl: string): Promise<string> {
  const response = await fetch(`${fhirBaseUrl.replace(/\/$/, '')}/.well-known/smart-configuration`);
  if (!response.ok) throw new Error(`no SMART configuration at ${fhirBaseUrl} (${response.status})`);
  const document = (await response.json()) as { token_endpoint?: string };
  if (!document.token_endpoint) throw new Error('the SMART configuration has no token_endpoint');
  return document.token_endpoint;
}
