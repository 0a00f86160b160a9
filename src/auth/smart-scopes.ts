/**
 * The SMART scope grammar, v2 and v1 (App Launch 2.x, scopes-and-launch-context.html): resource scopes
 * `context/Type.permissions[?query]` and the launch/identity scopes. Invalid scopes are rejected with the
 * precise reason, so the authorization server and the resource server agree on what a scope string means.
 */
import { isResourceType } from '../definitions';
import type { ScopeInteraction, SmartScope } from './principal';

/** Scopes that are not about resources (scopes-and-launch-context.html#scopes-for-requesting-context-data ff.). */
export const CONTEXT_SCOPES = ['launch', 'launch/patient', 'launch/encounter', 'openid', 'fhirUser', 'profile', 'offline_access', 'online_access'] as const;
export type ContextScope = (typeof CONTEXT_SCOPES)[number];

/**
 * The server's own scopes beyond FHIR resource scopes: registering client applications, creating EHR launches,
 * reading one's notification inbox, managing the organization's notifications (log, export, retry, sending),
 * emergency access to one patient's record (`break-glass`, auth/break-glass.ts: re-authentication and a stated
 * reason, short-lived, never refreshed), reviewing and revoking emergency accesses (`break-glass:admin`) and
 * publishing the organization's terms of use and privacy policy versions (`policies:admin`).
 * Granted only to accounts or clients allowed to hold them.
 */
export const MANAGEMENT_SCOPES = ['admin:clients', 'ehr:launch', 'notifications:inbox', 'notifications:admin', 'break-glass', 'break-glass:admin', 'policies:admin'] as const;
export type ManagementScope = (typeof MANAGEMENT_SCOPES)[number];

const CANONICAL_ORDER: readonly ScopeInteraction[] = ['c', 'r', 'u', 'd', 's'];
const V1_PERMISSIONS: Record<string, readonly ScopeInteraction[]> = {
  read: ['r', 's'],
  write: ['c', 'u', 'd'],
  '*': CANONICAL_ORDER,
};
const CONTEXTS = new Set(['patient', 'user', 'system']);
const QUERY_PAIR = /^[A-Za-z_][A-Za-z0-9_\-.:]*=[^&=]+$/;

/** A scope string that does not follow the grammar; `message` says exactly why. */
export class ScopeSyntaxError extends Error {
  constructor(
    readonly scope: string,
    reason: string,
  ) {
    super(`invalid scope '${scope}': ${reason}`);
    this.name = 'ScopeSyntaxError';
  }
}

export type ParsedScope =
  | { readonly kind: 'resource'; readonly scope: SmartScope }
  | { readonly kind: 'context'; readonly name: ContextScope }
  | { readonly kind: 'management'; readonly name: ManagementScope };

function parsePermissions(raw: string, permissions: string, hasQuery: boolean): Set<ScopeInteraction> {
  const v1 = V1_PERMISSIONS[permissions];
  if (v1) {
    if (hasQuery) throw new ScopeSyntaxError(raw, 'granular ?query constraints need SMART v2 permissions (.cruds letters), not v1 read/write/*');
    return new Set(v1);
  }
  if (permissions.length === 0) throw new ScopeSyntaxError(raw, 'no permissions after the dot (expected read, write, * or cruds letters)');
  let last = -1;
  const letters = new Set<ScopeInteraction>();
  for (const letter of permissions) {
    const position = CANONICAL_ORDER.indexOf(letter as ScopeInteraction);
    if (position < 0) throw new ScopeSyntaxError(raw, `'${letter}' is not a permission (v2 letters are c, r, u, d, s; v1 takes read, write or *)`);
    if (position <= last) throw new ScopeSyntaxError(raw, `permission letters must appear once each in the order c, r, u, d, s`);
    last = position;
    letters.add(letter as ScopeInteraction);
  }
  return letters;
}

function parseQuery(raw: string, query: string): string {
  if (query.length === 0) throw new ScopeSyntaxError(raw, 'empty query after ?');
  for (const pair of query.split('&')) {
    if (!QUERY_PAIR.test(pair)) throw new ScopeSyntaxError(raw, `'${pair}' is not a name=value search parameter`);
  }
  return query;
}

/** Parses one scope; throws ScopeSyntaxError naming the problem. */
export function parseScope(raw: string): ParsedScope {
  if ((CONTEXT_SCOPES as readonly string[]).includes(raw)) return { kind: 'context', name: raw as ContextScope };
  if ((MANAGEMENT_SCOPES as readonly string[]).includes(raw)) return { kind: 'management', name: raw as ManagementScope };
  const slash = raw.indexOf('/');
  if (slash < 0) throw new ScopeSyntaxError(raw, 'unknown scope (resource scopes look like patient/Observation.rs)');
  const context = raw.slice(0, slash);
  if (context === 'launch') throw new ScopeSyntaxError(raw, 'unknown launch context (launch/patient and launch/encounter are supported)');
  if (!CONTEXTS.has(context)) throw new ScopeSyntaxError(raw, `'${context}' is not a scope context (patient, user or system)`);
  const rest = raw.slice(slash + 1);
  const questionMark = rest.indexOf('?');
  const target = questionMark < 0 ? rest : rest.slice(0, questionMark);
  const dot = target.indexOf('.');
  if (dot < 0) throw new ScopeSyntaxError(raw, 'missing .permissions after the resource type');
  const resourceType = target.slice(0, dot);
  if (resourceType !== '*' && !isResourceType(resourceType)) throw new ScopeSyntaxError(raw, `'${resourceType}' is not an R4 resource type`);
  const interactions = parsePermissions(raw, target.slice(dot + 1), questionMark >= 0);
  const query = questionMark < 0 ? undefined : parseQuery(raw, rest.slice(questionMark + 1));
  const scope: SmartScope = {
    raw,
    context: context as SmartScope['context'],
    resourceType,
    interactions,
    ...(query !== undefined ? { query } : {}),
  };
  return { kind: 'resource', scope };
}

/** A scope parameter split on spaces (RFC 6749 section 3.3); repeated scopes count once. */
export function splitScopeParameter(value: string | undefined): string[] {
  return [...new Set((value ?? '').split(' ').filter((s) => s.length > 0))];
}

export interface ScopeSet {
  readonly resource: SmartScope[];
  readonly context: ContextScope[];
  readonly management: ManagementScope[];
}

/** Parses a whole scope parameter; the first invalid scope throws. */
export function parseScopes(value: string | undefined): ScopeSet {
  const set: ScopeSet = { resource: [], context: [], management: [] };
  for (const raw of splitScopeParameter(value)) {
    const parsed = parseScope(raw);
    if (parsed.kind === 'resource') set.resource.push(parsed.scope);
    else if (parsed.kind === 'context') set.context.push(parsed.name);
    else set.management.push(parsed.name);
  }
  return set;
}

/**
 * Whether `granted` allows everything `requested` asks for: same context, same or wildcard type, a superset of
 * the permissions, and no constraint (or the very same one). Used to keep clients within their registered scopes.
 */
export function scopeCovers(granted: SmartScope, requested: SmartScope): boolean {
  if (granted.context !== requested.context) return false;
  if (granted.resourceType !== '*' && granted.resourceType !== requested.resourceType) return false;
  for (const letter of requested.interactions) if (!granted.interactions.has(letter)) return false;
  return granted.query === undefined || granted.query === requested.query;
}

/** The v2 permission letters of a scope in canonical order, e.g. `rs`. */
export function permissionLetters(scope: SmartScope): string {
  return CANONICAL_ORDER.filter((letter) => scope.interactions.has(letter)).join('');
}
