/**
 * The authenticate stage (DESIGN.md "The request path"): every FHIR request carries a bearer token (RFC 6750
 * section 2.1) that becomes `ctx.state.principal`; missing, malformed, unknown, expired or revoked tokens are a 401
 * OperationOutcome with a `WWW-Authenticate: Bearer` challenge (RFC 6750 section 3). The CapabilityStatement and
 * SMART discovery stay public (SMART App Launch 2.x, conformance.html). Every response to an emergency-access token,
 * errors included, carries the `Break-Glass` header (auth/break-glass.ts; requirements seed 000 2.1 "a visual
 * indication of override status").
 */
import type { Middleware } from 'koa';
import { FhirError } from '../errors';
import type { Principal } from '../auth/principal';
import type { AuthorizationServer } from '../auth/authorization-server';
import { verifyAccessToken } from '../auth/verify-access-token';
import { BREAK_GLASS_HEADER, describeOverrideHeader } from '../auth/break-glass';

declare module 'koa' {
  interface DefaultState {
    /** Who is calling; set by authenticate for every non-public FHIR request. */
    principal?: Principal;
    /** Every scope of the verified token (the management API reads the non-FHIR ones). */
    tokenScopes?: readonly string[];
  }
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, '')}"`;
}

/** A 401 with its RFC 6750 challenge; without credentials there is no error code (section 3.1). */
export function unauthorized(ctx: Parameters<Middleware>[0], realm: string, description: string, error?: 'invalid_token' | 'invalid_request'): FhirError {
  const parts = [`realm=${quoted(realm)}`];
  if (error) parts.push(`error=${quoted(error)}`, `error_description=${quoted(description)}`);
  ctx.set('WWW-Authenticate', `Bearer ${parts.join(', ')}`);
  return new FhirError('unauthorized', description);
}

/** Reads the bearer token of a request: undefined when absent; throws 401 invalid_request when malformed. */
export function bearerToken(ctx: Parameters<Middleware>[0], realm: string): string | undefined {
  const header = ctx.get('authorization');
  if (!header) return undefined;
  const match = BEARER.exec(header);
  if (!match?.[1]) throw unauthorized(ctx, realm, 'The Authorization header must be "Bearer <access token>"', 'invalid_request');
  return match[1];
}

export interface AuthenticateOptions {
  readonly mountPath: string;
  readonly server: AuthorizationServer;
  /** Paths below the mount reachable without a token (GET only). */
  readonly publicPaths: readonly string[];
}

export function authenticate(options: AuthenticateOptions): Middleware {
  const mount = options.mountPath.replace(/\/$/, '');
  const publicPaths = new Set(options.publicPaths.map((p) => `${mount}${p}`));
  const realm = options.server.fhirBaseUrl;
  return async (ctx, next) => {
    if (ctx.path !== mount && !ctx.path.startsWith(`${mount}/`)) return next();
    if ((ctx.method === 'GET' || ctx.method === 'HEAD') && publicPaths.has(ctx.path.replace(/\/$/, ''))) {
      // Public, but a response to an emergency-access token still says so.
      const presented = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(ctx.get('authorization'))?.[1];
      const verified = presented ? await verifyAccessToken(options.server, presented) : undefined;
      if (verified?.principal.breakGlass) ctx.set(BREAK_GLASS_HEADER, describeOverrideHeader(verified.principal.breakGlass));
      return next();
    }
    const value = bearerToken(ctx, realm);
    if (value === undefined) throw unauthorized(ctx, realm, 'This FHIR server requires a bearer access token (SMART on FHIR)');
    const verified = await verifyAccessToken(options.server, value);
    if (!verified) throw unauthorized(ctx, realm, 'The access token is unknown, expired or revoked, or was not issued for this server', 'invalid_token');
    ctx.state.principal = verified.principal;
    ctx.state.tokenScopes = verified.scopes;
    if (verified.principal.breakGlass) ctx.set(BREAK_GLASS_HEADER, describeOverrideHeader(verified.principal.breakGlass));
    return next();
  };
}
