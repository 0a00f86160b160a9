/**
 * Turns a bearer token into the Principal the rest of the request works with (DESIGN.md "The request path").
 * Tokens are opaque: one indexed read by `_id` per request, so a revoked or expired token stops working on the very
 * next request. RFC 6750, SMART App Launch 2.x.
 */
import type { AuthorizationServer, TokenExtra } from './authorization-server';
import type { Persona, Principal, SmartScope } from './principal';
import { parseScopes, type ScopeSet } from './smart-scopes';

export interface VerifiedToken {
  readonly principal: Principal;
  /** Every scope of the token as granted, including the management scopes. */
  readonly scopes: readonly string[];
}

const parsedScopes = new Map<string, ScopeSet>();

/** Scope strings repeat across tokens; parse each distinct one once (bounded). */
function parseCached(scope: string): ScopeSet {
  let parsed = parsedScopes.get(scope);
  if (!parsed) {
    parsed = parseScopes(scope);
    if (parsedScopes.size > 1000) parsedScopes.clear();
    parsedScopes.set(scope, parsed);
  }
  return parsed;
}

/** The verified token, or undefined when it is unknown, expired, revoked or not for this FHIR server. */
export async function verifyAccessToken(server: AuthorizationServer, value: string): Promise<VerifiedToken | undefined> {
  const token = await server.findAccessToken(value);
  if (!token) return undefined;
  const extra: Partial<TokenExtra> = token.extra ?? {};
  if (!extra.tenant) return undefined;
  const scope = token.scope ?? '';
  const parsed = parseCached(scope);
  const resourceScopes: SmartScope[] = parsed.resource;
  const isUser = token.kind === 'AccessToken' && typeof token.accountId === 'string';
  const principal: Principal = {
    kind: isUser ? 'user' : 'system',
    tenant: extra.tenant,
    clientId: token.clientId,
    ...(isUser && token.accountId ? { accountId: token.accountId } : {}),
    ...(extra.role ? { role: extra.role as Persona } : {}),
    ...(extra.department ? { department: extra.department } : {}),
    ...(extra.fhirUser ? { fhirUser: extra.fhirUser.slice(server.fhirBaseUrl.length + 1) } : {}),
    scopes: resourceScopes,
    launch: { ...(extra.patient ? { patient: extra.patient } : {}), ...(extra.encounter ? { encounter: extra.encounter } : {}) },
    expiresAt: new Date(token.exp * 1000),
    ...(extra.complianceReviewer ? { complianceReviewer: true } : {}),
    // An emergency access ends with its token (both expiries were set at issuance, to the second).
    ...(isUser && extra.breakGlass && extra.patient
      ? { breakGlass: { purpose: extra.breakGlass.purpose, reason: extra.breakGlass.reason, patient: extra.patient, expiresAt: new Date(Math.min(extra.breakGlass.expires, token.exp) * 1000), override: extra.breakGlass.override } }
      : {}),
    ...(isUser && extra.policy ? { policy: extra.policy } : {}),
  };
  return { principal, scopes: scope.split(' ').filter(Boolean) };
}
