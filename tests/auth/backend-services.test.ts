/**
 * SMART Backend Services (backend-services.html): client_credentials with a signed client assertion (RFC 7523),
 * exp at most five minutes ahead, each jti once, system/ scopes; the token on the FHIR API (RFC 6750), its
 * introspection (RFC 7662) and revocation (RFC 7009); discovery (conformance.html).
 */
import { signClientAssertion } from '../../src/auth/client-assertion';
import { startFhirServer, newKeyPair, type FhirTestServer } from '../support/fhir-server';
import { registerApp } from './support/smart-harness';
import { buildClientRecord } from '../../src/auth/client-applications';

let server: FhirTestServer;

beforeAll(async () => {
  server = await startFhirServer();
});

afterAll(async () => {
  await server.stop();
});

async function tokenRequest(fields: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(server.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function clientCredentials(assertion: string, scope = 'system/Patient.rs'): Promise<{ status: number; body: Record<string, unknown> }> {
  return tokenRequest({ grant_type: 'client_credentials', scope, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion });
}

const assertion = (options: Partial<Parameters<typeof signClientAssertion>[0]> = {}) => signClientAssertion({ ...server.backend, tokenUrl: server.tokenUrl, ...options });

describe('client_credentials with a client assertion', () => {
  it('issues a bearer token with a numeric expires_in and the granted system scopes', async () => {
    const { status, body } = await clientCredentials(assertion(), 'system/Patient.rs system/Observation.read');
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 300, scope: 'system/Patient.rs system/Observation.read' });
    const read = await fetch(`${server.baseUrl}/Patient?_id=x`, { headers: { authorization: `Bearer ${String(body.access_token)}` } });
    expect(read.status).not.toBe(401);
  });

  it('rejects a replayed jti with invalid_client', async () => {
    const once = assertion({ jti: 'replayed-jti-1' });
    expect((await clientCredentials(once)).status).toBe(200);
    const again = await clientCredentials(assertion({ jti: 'replayed-jti-1' }));
    expect(again.status).toBe(401);
    expect(again.body).toMatchObject({ error: 'invalid_client', error_description: 'client assertion jti was already used' });
  });

  it('rejects an assertion whose exp is more than five minutes ahead', async () => {
    const { status, body } = await clientCredentials(assertion({ lifetime: 600 }));
    expect(status).toBe(401);
    expect(body).toMatchObject({ error: 'invalid_client', error_description: 'client assertion exp must be at most 300 seconds in the future' });
  });

  it('rejects an expired assertion', async () => {
    const { status, body } = await clientCredentials(assertion({ now: Math.floor(Date.now() / 1000) - 900 }));
    expect(status).toBe(401);
    expect(body.error).toBe('invalid_client');
  });

  it('rejects an assertion addressed to another audience', async () => {
    const { status, body } = await clientCredentials(signClientAssertion({ ...server.backend, tokenUrl: 'https://elsewhere.example/token' }));
    expect(status).toBe(401);
    expect(body.error).toBe('invalid_client');
  });

  it('rejects an assertion signed with a key the client did not register', async () => {
    const { status, body } = await clientCredentials(signClientAssertion({ clientId: server.backend.clientId, privateJwk: newKeyPair('suite-backend').privateJwk, tokenUrl: server.tokenUrl }));
    expect(status).toBe(401);
    expect(body.error).toBe('invalid_client');
  });

  it('rejects a jku header that is not the registered jwks_uri', async () => {
    const { status, body } = await clientCredentials(assertion({ header: { jku: 'https://attacker.example/jwks' } }));
    expect(status).toBe(401);
    expect(body).toMatchObject({ error: 'invalid_client', error_description: 'client assertion jku is not the jwks_uri registered for this client' });
  });

  it('rejects a malformed scope with invalid_scope naming the problem', async () => {
    const { status, body } = await clientCredentials(assertion(), 'system/Patient.xr');
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_scope');
    expect(String(body.error_description)).toContain("'x' is not a permission");
  });

  it('rejects scopes the client has not registered with invalid_scope', async () => {
    const { status, body } = await clientCredentials(assertion(), 'patient/Patient.rs');
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_scope');
  });

  it('accepts an RS384 assertion from a client registered with an RSA key', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const registered = await registerApp(server, { client_name: 'RSA backend', kind: 'backend', jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'rsa-1' }] }, scope: 'system/Observation.rs' });
    const { status, body } = await clientCredentials(signClientAssertion({ clientId: registered.client_id, privateJwk: { ...privateKey.export({ format: 'jwk' }), kid: 'rsa-1' }, tokenUrl: server.tokenUrl }), 'system/Observation.rs');
    expect(status).toBe(200);
    expect(body.scope).toBe('system/Observation.rs');
  });
});

describe('the FHIR API as a protected resource (RFC 6750 section 3)', () => {
  it('answers a request without a token with 401, a Bearer challenge and an OperationOutcome', async () => {
    const response = await fetch(`${server.baseUrl}/Patient/x`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(`Bearer realm="${server.baseUrl}"`);
    expect(await response.json()).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] });
  });

  it('answers a garbage token with 401 invalid_token', async () => {
    const response = await fetch(`${server.baseUrl}/Patient/x`, { headers: { authorization: 'Bearer not-a-real-token-at-all-0123456789' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="[^"]+", error="invalid_token", error_description="[^"]+"$/);
    expect(((await response.json()) as { issue: { diagnostics: string }[] }).issue[0]?.diagnostics).toContain('unknown, expired or revoked');
  });

  it('answers a malformed Authorization header with 401 invalid_request', async () => {
    const response = await fetch(`${server.baseUrl}/Patient/x`, { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_request"');
  });

  it('answers an expired token with 401 invalid_token', async () => {
    const { body } = await clientCredentials(assertion());
    const token = String(body.access_token);
    await server.db.collection('auth_oidc_state').updateOne({ _id: `ClientCredentials:${token}` as never }, { $set: { expiresAt: new Date(Date.now() - 1000) } });
    const response = await fetch(`${server.baseUrl}/Patient/x`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('introspects an active token (RFC 7662) and stops honouring it once revoked (RFC 7009)', async () => {
    const { body } = await clientCredentials(assertion(), 'system/Patient.rs');
    const token = String(body.access_token);
    const introspect = async () => {
      const response = await fetch(`${server.issuer}/token/introspection`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion({ tokenUrl: `${server.issuer}/token/introspection` }) }) });
      return (await response.json()) as Record<string, unknown>;
    };
    expect(await introspect()).toMatchObject({ active: true, scope: 'system/Patient.rs', client_id: server.backend.clientId, tenant: server.tenant, exp: expect.any(Number) });
    const revoked = await fetch(`${server.issuer}/token/revocation`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion({ tokenUrl: `${server.issuer}/token/revocation` }) }) });
    expect(revoked.status).toBe(200);
    expect(await introspect()).toEqual({ active: false });
    const response = await fetch(`${server.baseUrl}/Patient/x`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(401);
  });

  /** Another backend client, of the suite's organization or of `tenant`, and a form posting `token` as that client to `endpoint`. */
  async function otherBackend(tenant?: string): Promise<(endpoint: 'introspection' | 'revocation', token: string) => Promise<Response>> {
    const keys = newKeyPair(`other-${tenant ?? 'same'}`);
    const registration = { client_name: `Other backend of ${tenant ?? 'the suite'}`, kind: 'backend', jwks: { keys: [keys.publicJwk] }, scope: 'system/Patient.rs' };
    let clientId: string;
    if (tenant) {
      const { record } = buildClientRecord(registration, tenant);
      await server.db.collection('auth_clients').insertOne(record as never);
      clientId = record._id;
    } else {
      clientId = (await registerApp(server, registration)).client_id;
    }
    return (endpoint, token) => {
      const signed = signClientAssertion({ clientId, privateJwk: keys.privateJwk, tokenUrl: `${server.issuer}/token/${endpoint}` });
      return fetch(`${server.issuer}/token/${endpoint}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: signed }) });
    };
  }

  it("lets a confidential client of the token's organization introspect it (a resource server), and nobody of another organization (RFC 7662 section 4)", async () => {
    const token = String((await clientCredentials(assertion(), 'system/Patient.rs')).body.access_token);
    const sameOrganization = await otherBackend();
    const otherOrganization = await otherBackend('org-elsewhere');
    expect(await (await sameOrganization('introspection', token)).json()).toMatchObject({ active: true, client_id: server.backend.clientId, tenant: server.tenant });
    expect(await (await otherOrganization('introspection', token)).json()).toEqual({ active: false });
  });

  it("refuses to revoke another client's token, which stays active (RFC 7009 section 2.1)", async () => {
    const token = String((await clientCredentials(assertion(), 'system/Patient.rs')).body.access_token);
    const sameOrganization = await otherBackend();
    const refused = await sameOrganization('revocation', token);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'invalid_request', error_description: 'client is not authorized to revoke the presented token' });
    const read = await fetch(`${server.baseUrl}/Patient?_id=x`, { headers: { authorization: `Bearer ${token}` } });
    expect(read.status).toBe(200);
  });

  it('keeps GET /metadata public, with the SMART security service and oauth-uris', async () => {
    const response = await fetch(`${server.baseUrl}/metadata`);
    expect(response.status).toBe(200);
    const statement = (await response.json()) as { rest: { security: { service: { coding: { code: string }[] }[]; extension: { url: string; extension: { url: string; valueUri: string }[] }[] } }[] };
    expect(statement.rest[0]?.security.service[0]?.coding[0]?.code).toBe('SMART-on-FHIR');
    const uris = statement.rest[0]?.security.extension[0];
    expect(uris?.url).toBe('http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris');
    expect(uris?.extension).toEqual(expect.arrayContaining([{ url: 'token', valueUri: server.tokenUrl }, { url: 'authorize', valueUri: `${server.issuer}/auth` }]));
  });
});

describe('SMART discovery (conformance.html#using-well-known)', () => {
  it('answers application/json whatever the Accept header, with the implemented capabilities', async () => {
    const response = await fetch(`${server.baseUrl}/.well-known/smart-configuration`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const document = (await response.json()) as Record<string, unknown>;
    expect(document).toMatchObject({
      issuer: server.issuer,
      token_endpoint: server.tokenUrl,
      authorization_endpoint: `${server.issuer}/auth`,
      introspection_endpoint: `${server.issuer}/token/introspection`,
      revocation_endpoint: `${server.issuer}/token/revocation`,
      jwks_uri: `${server.issuer}/jwks`,
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
      grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
    });
    expect(document.token_endpoint_auth_methods_supported).toContain('private_key_jwt');
    expect(document.capabilities).toEqual(expect.arrayContaining(['launch-ehr', 'launch-standalone', 'client-public', 'client-confidential-symmetric', 'client-confidential-asymmetric', 'context-ehr-patient', 'context-ehr-encounter', 'context-standalone-patient', 'context-passthrough-banner', 'context-passthrough-style', 'permission-offline', 'permission-online', 'permission-patient', 'permission-user', 'permission-v1', 'permission-v2', 'sso-openid-connect', 'authorize-post']));
    const jwks = await fetch(String(document.jwks_uri));
    expect(((await jwks.json()) as { keys: Record<string, unknown>[] }).keys.every((key) => !('d' in key))).toBe(true);
  });
});

describe('client registration (management API)', () => {
  it('rejects a public client without redirect_uris with invalid_redirect_uri', async () => {
    const response = await server.fetch(`${server.origin}/admin/clients`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_name: 'x', kind: 'public', scope: 'openid' }) });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'invalid_redirect_uri', error_description: 'redirect_uris must list at least one URI' });
  });

  it('rejects a scope that does not parse with invalid_client_metadata', async () => {
    const response = await server.fetch(`${server.origin}/admin/clients`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_name: 'x', kind: 'public', redirect_uris: ['https://app.example/cb'], scope: 'patient/Foo.rs' }) });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'invalid_client_metadata', error_description: "invalid scope 'patient/Foo.rs': 'Foo' is not an R4 resource type" });
  });

  it('refuses a token without admin:clients with 403 insufficient_scope', async () => {
    const { body } = await clientCredentials(assertion(), 'system/Patient.rs');
    const response = await fetch(`${server.origin}/admin/clients`, { headers: { authorization: `Bearer ${String(body.access_token)}` } });
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
  });

  it('returns a generated secret once and never lists it', async () => {
    const created = await registerApp(server, { client_name: 'Symmetric', kind: 'confidential-symmetric', redirect_uris: ['https://app.example/cb'], scope: 'openid patient/*.rs' });
    expect(created.client_secret).toEqual(expect.any(String));
    const list = await server.fetch(`${server.origin}/admin/clients`);
    const clients = ((await list.json()) as { clients: Record<string, unknown>[] }).clients;
    expect(clients.find((c) => c.client_id === created.client_id)).not.toHaveProperty('client_secret');
  });
});
