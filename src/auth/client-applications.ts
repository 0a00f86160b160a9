/**
 * Registered client applications (SMART App Launch "client types"; Backend Services "registering a client"):
 * validation of what an administrator registers, and the oidc-provider metadata each kind becomes
 * (OpenID Connect Dynamic Client Registration 1.0 section 2 names).
 */
import { randomBytes } from 'node:crypto';
import { CLIENT_KINDS, type ClientApplicationRecord, type ClientKind } from './auth-records';
import { parseScopes, ScopeSyntaxError } from './smart-scopes';

/** Client assertion algorithms SMART requires servers to support (client-confidential-asymmetric.html). */
export const ASSERTION_ALGORITHMS = ['RS384', 'ES384'] as const;

/** A registration that cannot be accepted; `message` says which field and why (RFC 7591 section 3.2.2). */
export class ClientMetadataError extends Error {
  constructor(
    readonly error: 'invalid_client_metadata' | 'invalid_redirect_uri',
    message: string,
  ) {
    super(message);
    this.name = 'ClientMetadataError';
  }
}

/** What an administrator sends to register an application. */
export interface ClientRegistration {
  readonly client_name?: unknown;
  readonly kind?: unknown;
  readonly redirect_uris?: unknown;
  readonly scope?: unknown;
  readonly launch_url?: unknown;
  readonly jwks?: unknown;
  readonly jwks_uri?: unknown;
  readonly client_id?: unknown;
  readonly client_secret?: unknown;
}

function isLoopback(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
}

function checkUrl(value: unknown, field: string, error: ClientMetadataError['error']): string {
  if (typeof value !== 'string') throw new ClientMetadataError(error, `${field} must be a string URL`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ClientMetadataError(error, `${field} '${value}' is not an absolute URL`);
  }
  if (url.hash) throw new ClientMetadataError(error, `${field} '${value}' must not have a fragment`);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url))) {
    throw new ClientMetadataError(error, `${field} '${value}' must use https (http only on localhost)`);
  }
  return value;
}

function checkJwks(value: unknown): { keys: Record<string, unknown>[] } {
  const keys = (value as { keys?: unknown } | undefined)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new ClientMetadataError('invalid_client_metadata', 'jwks must be a JWK Set with at least one key');
  for (const key of keys as Record<string, unknown>[]) {
    if (key === null || typeof key !== 'object' || (key.kty !== 'RSA' && key.kty !== 'EC')) throw new ClientMetadataError('invalid_client_metadata', 'jwks keys must be RSA or EC public keys');
    if ('d' in key) throw new ClientMetadataError('invalid_client_metadata', 'jwks must hold public keys only (a key has a private part "d")');
  }
  return { keys: keys as Record<string, unknown>[] };
}

function checkScope(value: unknown, kind: ClientKind): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ClientMetadataError('invalid_client_metadata', 'scope must be a non-empty space-separated string');
  let parsed;
  try {
    parsed = parseScopes(value);
  } catch (error) {
    if (error instanceof ScopeSyntaxError) throw new ClientMetadataError('invalid_client_metadata', error.message);
    throw error;
  }
  for (const scope of parsed.resource) {
    if (kind === 'backend' && scope.context !== 'system') throw new ClientMetadataError('invalid_client_metadata', `backend clients take system/ scopes only, not '${scope.raw}'`);
    if (kind !== 'backend' && scope.context === 'system') throw new ClientMetadataError('invalid_client_metadata', `system/ scopes are for backend clients, not '${scope.raw}'`);
  }
  if (kind === 'backend' && parsed.context.length > 0) throw new ClientMetadataError('invalid_client_metadata', `backend clients have no user or launch, so '${parsed.context[0]}' cannot be registered`);
  return value.trim().split(/\s+/).join(' ');
}

/** Validates a registration into a record for `tenant`; client_id and secret are generated unless given (seed). */
export function buildClientRecord(input: ClientRegistration, tenant: string, createdBy?: string): { record: ClientApplicationRecord; secret?: string } {
  if (typeof input.client_name !== 'string' || input.client_name.trim() === '') throw new ClientMetadataError('invalid_client_metadata', 'client_name is required');
  if (!CLIENT_KINDS.includes(input.kind as ClientKind)) throw new ClientMetadataError('invalid_client_metadata', `kind must be one of ${CLIENT_KINDS.join(', ')}`);
  const kind = input.kind as ClientKind;
  const scope = checkScope(input.scope, kind);
  let redirectUris: string[] = [];
  if (kind !== 'backend') {
    if (!Array.isArray(input.redirect_uris) || input.redirect_uris.length === 0) throw new ClientMetadataError('invalid_redirect_uri', 'redirect_uris must list at least one URI');
    redirectUris = input.redirect_uris.map((uri, i) => checkUrl(uri, `redirect_uris[${i}]`, 'invalid_redirect_uri'));
  } else if (input.redirect_uris !== undefined) {
    throw new ClientMetadataError('invalid_redirect_uri', 'backend clients have no redirect_uris');
  }
  const record: ClientApplicationRecord = {
    _id: typeof input.client_id === 'string' && /^[A-Za-z0-9\-_.]{3,64}$/.test(input.client_id) ? input.client_id : randomBytes(16).toString('base64url'),
    name: input.client_name.trim(),
    kind,
    redirectUris,
    scope,
    tenant,
    createdAt: new Date(),
    ...(createdBy ? { createdBy } : {}),
  };
  if (input.launch_url !== undefined) record.launchUrl = checkUrl(input.launch_url, 'launch_url', 'invalid_client_metadata');
  const asymmetric = kind === 'confidential-asymmetric' || kind === 'backend';
  if (asymmetric) {
    if ((input.jwks === undefined) === (input.jwks_uri === undefined)) throw new ClientMetadataError('invalid_client_metadata', `${kind} clients register exactly one of jwks and jwks_uri`);
    if (input.jwks !== undefined) record.jwks = checkJwks(input.jwks);
    else record.jwksUri = checkUrl(input.jwks_uri, 'jwks_uri', 'invalid_client_metadata');
  } else if (input.jwks !== undefined || input.jwks_uri !== undefined) {
    throw new ClientMetadataError('invalid_client_metadata', `${kind} clients do not authenticate with keys; register jwks only for confidential-asymmetric or backend clients`);
  }
  let secret: string | undefined;
  if (kind === 'confidential-symmetric') {
    secret = typeof input.client_secret === 'string' && input.client_secret.length >= 32 ? input.client_secret : randomBytes(32).toString('base64url');
    record.secret = secret;
  }
  return { record, ...(secret ? { secret } : {}) };
}

/** The oidc-provider client metadata of a registered application. */
export function clientMetadata(client: ClientApplicationRecord): Record<string, unknown> {
  const base = {
    client_id: client._id,
    client_name: client.name,
    tenant: client.tenant,
    client_kind: client.kind,
    allowed_scope: client.scope,
    ...(client.launchUrl ? { launch_url: client.launchUrl } : {}),
  };
  switch (client.kind) {
    case 'backend':
      return {
        ...base,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'private_key_jwt',
        ...(client.jwks ? { jwks: client.jwks } : { jwks_uri: client.jwksUri }),
      };
    case 'confidential-asymmetric':
      return {
        ...base,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: client.redirectUris,
        token_endpoint_auth_method: 'private_key_jwt',
        ...(client.jwks ? { jwks: client.jwks } : { jwks_uri: client.jwksUri }),
      };
    case 'confidential-symmetric':
      return {
        ...base,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: client.redirectUris,
        token_endpoint_auth_method: 'client_secret_basic',
        client_secret: client.secret,
      };
    default:
      return {
        ...base,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: client.redirectUris,
        token_endpoint_auth_method: 'none',
      };
  }
}
