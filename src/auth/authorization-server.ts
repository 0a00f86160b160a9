/**
 * The SMART authorization server: oidc-provider 9 configured for SMART App Launch 2.x (EHR and standalone launch,
 * v1 and v2 scopes, launch context in the token response), SMART Backend Services (client_credentials with a signed
 * client assertion), OpenID Connect Core, PKCE S256 (RFC 7636), introspection (RFC 7662) and revocation (RFC 7009).
 * Emergency access (`break-glass`, break-glass.ts) adds two checks to oidc-provider's interaction policy (sign in
 * again within the request, state a reason), a short token lifetime, no refresh token, and the override recorded
 * with the token. An organization's terms of use and privacy policy (organization-policies.ts) add a prompt of their
 * own after sign-in, and a token carries the account's standing towards them. oidc-provider is ESM-only; this
 * CommonJS project loads it with a real dynamic import.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Configuration, KoaContextWithOIDC, default as ProviderType, errors as ErrorsType } from 'oidc-provider' with { 'resolution-mode': 'import' };
import type { AuthRecords, GrantContextRecord } from './auth-records';
import { createOidcAdapter, recordAssertionJti } from './oidc-adapter';
import { ASSERTION_ALGORITHMS } from './client-applications';
import { CONTEXT_SCOPES, MANAGEMENT_SCOPES, parseScope, parseScopes, ScopeSyntaxError, scopeCovers, splitScopeParameter } from './smart-scopes';
import type { ServerKeys } from './server-keys';
import type { Persona, PolicyStanding } from './principal';
import { renderErrorPage } from './pages';
import { BREAK_GLASS_SCOPE, describeOverrideInTokenResponse, isComplianceReviewer, type BreakGlassOverrides, type TokenBreakGlass } from './break-glass';
import type { OrganizationPolicies } from './organization-policies';

type OidcModule = typeof import('oidc-provider', { with: { 'resolution-mode': 'import' } });

/** Lifetimes in seconds. Backend Services recommends access tokens of at most five minutes. */
export const TOKEN_LIFETIMES = {
  accessToken: 3600,
  clientCredentials: 300,
  authorizationCode: 60,
  idToken: 3600,
  interaction: 3600,
  session: 14 * 24 * 3600,
  grant: 90 * 24 * 3600,
  offlineRefreshToken: 90 * 24 * 3600,
  onlineRefreshToken: 24 * 3600,
} as const;

/** The latest a client assertion may expire (Backend Services: "no more than five minutes in the future"). */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;

export const STATIC_SCOPES = [...CONTEXT_SCOPES, ...MANAGEMENT_SCOPES];

/** Token claims the server adds at issuance (stored with opaque tokens, returned by introspection). */
export type TokenExtra = {
  readonly tenant: string;
  readonly role?: Persona;
  readonly department?: string;
  /** Absolute URL of the user's FHIR resource. */
  readonly fhirUser?: string;
  readonly patient?: string;
  readonly encounter?: string;
  /** Organization administrators and accounts flagged as compliance reviewers. */
  readonly complianceReviewer?: true;
  /** The emergency access this token is (its patient is `patient`, its end the token's expiry). */
  readonly breakGlass?: TokenBreakGlass;
  /** The account had not accepted the current version of its organization's policy (only essential access). */
  readonly policy?: PolicyStanding;
};

/** What an issued access token says, as oidc-provider stored it (opaque format). */
export interface IssuedToken {
  readonly kind: 'AccessToken' | 'ClientCredentials';
  readonly clientId: string;
  readonly accountId?: string;
  readonly scope?: string;
  /** Expiry, seconds since the epoch. */
  readonly exp: number;
  readonly extra?: TokenExtra;
}

export interface AuthorizationServerOptions {
  readonly records: AuthRecords;
  readonly keys: ServerKeys;
  /** e.g. http://localhost:8080/auth */
  readonly issuer: string;
  /** The FHIR base URL, the only audience (`aud`, resource indicator) tokens are issued for. */
  readonly fhirBaseUrl: string;
  readonly logger: Logger;
  /** Emergency access: the lifetime of its tokens, and the workflow that records, reviews and ends it. */
  readonly breakGlass: { readonly tokenSeconds: number; readonly overrides: BreakGlassOverrides };
  /** The organizations' terms of use and privacy policy versions and the accounts' answers. */
  readonly policies: OrganizationPolicies;
}

/** The reasons of the interaction-policy checks emergency access adds (shown in `interaction.prompt.reasons`). */
export const BREAK_GLASS_CHECKS = { reauthentication: 'break_glass_reauthentication', statement: 'break_glass_statement' } as const;

/** The prompt, after sign-in, in which an account answers its organization's current policy version, and its check. */
export const POLICY_PROMPT = 'organization_policy';
export const POLICY_CHECK = 'organization_policy_unanswered';

/** What the policy page hands to oidc-provider as the interaction result: the version answered in this request. */
export interface PolicyResult {
  readonly organizationPolicy?: { readonly versionId: string; readonly decision: string };
}

export interface AuthorizationServer {
  readonly provider: ProviderType;
  readonly errors: typeof ErrorsType;
  readonly issuer: string;
  readonly fhirBaseUrl: string;
  /** The access token (user or client_credentials) with this value, if it is valid, unexpired and for the FHIR base. */
  findAccessToken(value: string): Promise<IssuedToken | undefined>;
}

let oidcModule: Promise<OidcModule> | undefined;

/**
 * oidc-provider 9 declares Node 22+ as its supported runtime and warns once at import on Node 20. Node 20.19+
 * (this project's floor) has every API it uses (URL.parse, crypto.hash, require of ESM is not needed); the
 * warning is logged once through our logger instead of a bare console line.
 */
export function loadOidcProvider(logger: Logger): Promise<OidcModule> {
  if (!oidcModule) {
    const original = console.warn;
    console.warn = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].startsWith('oidc-provider WARNING: Unsupported runtime')) {
        logger.info({ node: process.version }, 'oidc-provider 9 is certified upstream on Node 22+; running on Node 20.19+, which provides every API it uses');
        return;
      }
      original(...args);
    };
    // A real dynamic import (tsconfig module Node16 keeps it): oidc-provider is an ES module.
    oidcModule = import('oidc-provider').finally(() => {
      console.warn = original;
    });
  }
  return oidcModule;
}

/** `aud` and resource indicators name the FHIR base; a trailing slash is not a different server. */
function sameBase(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

/** The resource scopes of `requested` that the client's registration covers; a malformed scope is an error. */
function allowedResourceScopes(errors: typeof ErrorsType, requested: readonly string[], clientAllowed: string): string[] {
  const allowed = parseScopes(clientAllowed).resource;
  const granted: string[] = [];
  for (const raw of requested) {
    let parsed;
    try {
      parsed = parseScope(raw);
    } catch (error) {
      if (error instanceof ScopeSyntaxError) throw new errors.InvalidScope(error.message, raw);
      throw error;
    }
    if (parsed.kind === 'resource' && allowed.some((scope) => scopeCovers(scope, parsed.scope))) granted.push(raw);
    if (parsed.kind === 'management' && splitScopeParameter(clientAllowed).includes(raw)) granted.push(raw);
  }
  return granted;
}

function clientMeta(client: { metadata(): Record<string, unknown> } | undefined): { tenant?: string; allowedScope: string; kind?: string } {
  const metadata = client?.metadata() ?? {};
  return { tenant: metadata.tenant as string | undefined, allowedScope: (metadata.allowed_scope as string | undefined) ?? '', kind: metadata.client_kind as string | undefined };
}

export async function createAuthorizationServer(options: AuthorizationServerOptions): Promise<AuthorizationServer> {
  const { records, keys, issuer, fhirBaseUrl, logger, breakGlass, policies } = options;
  const { default: Provider, errors, interactionPolicy } = await loadOidcProvider(logger);
  const { Check, Prompt } = interactionPolicy;

  // Emergency access: whatever the session, the person enters their password again in this very request (the
  // login result of this request, as max_age=0 would demand), and approves with a stated reason (the consent result
  // of this request, never a grant approved earlier). The approval page keeps the login result with the consent.
  const policy = interactionPolicy.base();
  const asksBreakGlass = (ctx: KoaContextWithOIDC): boolean => ctx.oidc.requestParamScopes.has(BREAK_GLASS_SCOPE);
  policy.get('login')?.checks.push(
    new Check(BREAK_GLASS_CHECKS.reauthentication, 'break-glass access requires the user to sign in again', 'login_required', (ctx) => (asksBreakGlass(ctx) && !ctx.oidc.result?.login ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT)),
  );
  policy.get('consent')?.checks.push(
    new Check(BREAK_GLASS_CHECKS.statement, 'break-glass access requires a stated purpose and reason', 'consent_required', (ctx) => (asksBreakGlass(ctx) && !ctx.oidc.result?.consent ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT)),
  );
  // Seed 000 5.4: once signed in, an account that has not accepted its organization's current policy version
  // reviews it, in every authorization request until it accepts (so a declined account is asked again the next
  // time it signs in). Answering once in this request (accept or decline) lets the request go on; prompt=none
  // cannot skip it (interaction_required).
  const policyUnanswered = async (ctx: KoaContextWithOIDC): Promise<boolean> => {
    const accountId = ctx.oidc.session?.accountId;
    const account = accountId ? await records.accounts.findById(accountId).lean() : null;
    if (!account || account.status !== 'active') return Check.NO_NEED_TO_PROMPT;
    const standing = await policies.standingOf(account);
    return standing !== undefined && (ctx.oidc.result as PolicyResult | undefined)?.organizationPolicy?.versionId !== standing.versionId ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
  };
  policy.add(new Prompt({ name: POLICY_PROMPT, requestable: false }, new Check(POLICY_CHECK, "the organization's current terms of use and privacy policy must be reviewed", 'interaction_required', policyUnanswered)), 1);
  const fhirUserUrl = (reference: string | undefined): string | undefined => (reference ? `${fhirBaseUrl}/${reference}` : undefined);

  const configuration: Configuration = {
    adapter: createOidcAdapter(records, { grantRevoked: (grantId) => breakGlass.overrides.grantRevoked(grantId) }),
    clients: [],
    jwks: keys.jwks as Configuration['jwks'],
    cookies: { keys: keys.cookieKeys, long: { signed: true, httpOnly: true, sameSite: 'lax' }, short: { signed: true, httpOnly: true, sameSite: 'lax' } },
    scopes: STATIC_SCOPES,
    claims: { openid: ['sub'], fhirUser: ['fhirUser'], profile: ['name', 'preferred_username', 'locale'] },
    // SMART puts fhirUser in the id_token of the code flow, not only at userinfo.
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    pkce: { required: () => true },
    clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    enabledJWA: {
      clientAuthSigningAlgValues: [...ASSERTION_ALGORITHMS, 'RS256', 'ES256', 'PS384'],
    },
    extraClientMetadata: { properties: ['tenant', 'client_kind', 'allowed_scope', 'launch_url'] },
    extraParams: {
      // SMART: the app names the FHIR server it wants a token for; anything else is refused.
      aud(ctx: KoaContextWithOIDC, value: string | undefined) {
        if (ctx.oidc.route !== 'authorization' && ctx.oidc.route !== 'resume') return;
        if (value === undefined) throw new errors.InvalidRequest("missing required parameter 'aud' (the FHIR base URL)");
        if (!sameBase(value, fhirBaseUrl)) throw new errors.InvalidRequest(`aud '${value}' is not this server's FHIR base URL (${fhirBaseUrl})`);
      },
      async launch(ctx: KoaContextWithOIDC, value: string | undefined, client) {
        if (value === undefined) return;
        const launch = await records.launches.findById(value).lean();
        if (!launch || launch.expiresAt.getTime() <= Date.now() || launch.clientId !== client?.clientId) {
          throw new errors.InvalidRequest('launch is unknown, expired or was created for another application');
        }
      },
    },
    findAccount: async (_ctx, sub) => {
      const account = await records.accounts.findById(sub).lean();
      if (!account || account.status !== 'active') return undefined;
      return {
        accountId: sub,
        claims: () => ({
          sub,
          ...(account.fhirUser ? { fhirUser: fhirUserUrl(account.fhirUser) } : {}),
          name: account.displayName,
          preferred_username: account.username,
          locale: account.language,
        }),
      };
    },
    features: {
      devInteractions: { enabled: false },
      // RFC 7662 section 4: the server decides who may learn about a token. A token's own client may; so may a
      // confidential client of an access token's organization (a resource server of that organization); nobody
      // else, so that a client of one organization never learns the patient or user of another's token.
      introspection: {
        enabled: true,
        allowedPolicy: (ctx, client, token) => {
          if (token.clientId === client.clientId) return true;
          if (client.clientAuthMethod === 'none' || !('extra' in token)) return false;
          return clientMeta(client).tenant === (token.extra as TokenExtra | undefined)?.tenant;
        },
      },
      // RFC 7009 section 2.1: a client revokes only its own tokens; another client's attempt is refused.
      revocation: {
        enabled: true,
        allowedPolicy: (ctx, client, token) => {
          if (token.clientId === client.clientId) return true;
          throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
        },
      },
      clientCredentials: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => fhirBaseUrl,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, indicator, client) => {
          if (!sameBase(indicator, fhirBaseUrl)) throw new errors.InvalidTarget(`this server issues tokens only for ${fhirBaseUrl}`);
          const { allowedScope, kind } = clientMeta(client);
          // At the token endpoint the scopes come from the code or refresh token being exchanged.
          const source = (ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.RefreshToken) as { scope?: string } | undefined;
          const requested = splitScopeParameter([ctx.oidc.params?.scope, source?.scope].filter(Boolean).join(' ') as string);
          const scopes = allowedResourceScopes(errors, requested, allowedScope);
          if (ctx.oidc.route === 'token' && ctx.oidc.params?.grant_type === 'client_credentials' && scopes.length === 0) {
            throw new errors.InvalidScope('none of the requested scopes is registered for this client', String(ctx.oidc.params?.scope ?? ''));
          }
          return {
            scope: scopes.join(' '),
            audience: fhirBaseUrl,
            accessTokenFormat: 'opaque',
            accessTokenTTL: kind === 'backend' ? TOKEN_LIFETIMES.clientCredentials : scopes.includes(BREAK_GLASS_SCOPE) ? breakGlass.tokenSeconds : TOKEN_LIFETIMES.accessToken,
          };
        },
      },
    },
    // SMART apps send offline_access without prompt=consent; online_access also earns a (session-bound) refresh token.
    // An emergency access is never refreshed: it ends with its one short-lived access token.
    issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && !code.scopes.has(BREAK_GLASS_SCOPE) && (code.scopes.has('offline_access') || code.scopes.has('online_access')),
    rotateRefreshToken: true,
    expiresWithSession: async (_ctx, code) => !code.scopes.has('offline_access'),
    ttl: {
      // The lifetime the resource server info chose (an emergency access's is short).
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? TOKEN_LIFETIMES.accessToken,
      ClientCredentials: TOKEN_LIFETIMES.clientCredentials,
      AuthorizationCode: TOKEN_LIFETIMES.authorizationCode,
      IdToken: TOKEN_LIFETIMES.idToken,
      Interaction: TOKEN_LIFETIMES.interaction,
      Session: TOKEN_LIFETIMES.session,
      Grant: TOKEN_LIFETIMES.grant,
      RefreshToken: (_ctx, token) => (token.scopes.has('offline_access') ? TOKEN_LIFETIMES.offlineRefreshToken : TOKEN_LIFETIMES.onlineRefreshToken),
    },
    // Backend Services: exp at most five minutes ahead, jku only to the registered jwks_uri, each jti once.
    assertJwtClientAuthClaimsAndHeader: async (ctx, claims, header, client) => {
      const fail = (description: string): Error => Object.assign(new errors.InvalidClientAuth(description), { error_description: description });
      const now = Math.floor(Date.now() / 1000);
      const exp = Number(claims.exp);
      if (exp > now + MAX_ASSERTION_LIFETIME_SECONDS) throw fail(`client assertion exp must be at most ${MAX_ASSERTION_LIFETIME_SECONDS} seconds in the future`);
      if (header.jku !== undefined && header.jku !== client.jwksUri) throw fail('client assertion jku is not the jwks_uri registered for this client');
      if (!(await recordAssertionJti(records, String(claims.iss), String(claims.jti), new Date((exp + 60) * 1000)))) {
        throw fail('client assertion jti was already used');
      }
    },
    extraTokenClaims: async (ctx, token): Promise<TokenExtra | undefined> => {
      // Read before any await: oidc-provider has just computed the token's exp as now + its lifetime.
      const issuedAt = Math.floor(Date.now() / 1000);
      const client = clientMeta(ctx.oidc.client);
      if (token.kind === 'ClientCredentials') {
        if (!client.tenant) throw new errors.InvalidClient('client has no organization');
        return { tenant: client.tenant };
      }
      if (!('accountId' in token) || !token.accountId) return undefined;
      const account = await records.accounts.findById(token.accountId).lean();
      if (!account || account.status !== 'active') throw new errors.InvalidGrant('the account is not active');
      const context: GrantContextRecord | null = token.grantId ? await records.grantContexts.findById(token.grantId).lean() : null;
      let override: TokenBreakGlass | undefined;
      if ((token as { scopes?: Set<string> }).scopes?.has(BREAK_GLASS_SCOPE)) {
        if (!token.grantId || !context?.breakGlass || !context.patient) throw new errors.InvalidGrant('break-glass access was not approved with a stated reason for a patient');
        const expires = issuedAt + (token as unknown as { expiration: number }).expiration;
        const id = await breakGlass.overrides.start({
          grantId: token.grantId,
          tenant: account.tenant,
          accountId: account._id,
          userName: account.displayName,
          role: account.role,
          ...(account.fhirUser ? { fhirUser: account.fhirUser } : {}),
          clientId: token.clientId as string,
          patient: context.patient,
          purpose: context.breakGlass.purpose,
          reason: context.breakGlass.reason,
          startedAt: new Date(issuedAt * 1000),
          expiresAt: new Date(expires * 1000),
        });
        override = { override: id, purpose: context.breakGlass.purpose, reason: context.breakGlass.reason, expires };
      }
      // Read at every issuance, refreshes included: accepting at a later sign-in restores access on the next token.
      const standing = await policies.standingOf(account);
      return {
        tenant: account.tenant,
        role: account.role,
        ...(account.department ? { department: account.department } : {}),
        ...(account.fhirUser ? { fhirUser: fhirUserUrl(account.fhirUser) } : {}),
        ...(context?.patient ? { patient: context.patient } : {}),
        ...(context?.encounter ? { encounter: context.encounter } : {}),
        ...(isComplianceReviewer(account) ? { complianceReviewer: true as const } : {}),
        ...(override ? { breakGlass: override } : {}),
        ...(standing ? { policy: standing } : {}),
      };
    },
    interactions: { policy, url: (_ctx, interaction) => `/auth/interaction/${interaction.uid}` },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = renderErrorPage(ctx.acceptsLanguages('en', 'es') === 'es' ? 'es' : 'en', String(out.error), out.error_description as string | undefined);
    },
  };

  const provider = new Provider(issuer, configuration);
  provider.proxy = true;
  provider.on('server_error', (_ctx, error) => logger.error({ err: error }, 'authorization server error'));

  // Token responses carry the SMART launch context and every scope really granted (not only the FHIR ones).
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== 'token' || ctx.status !== 200) return;
    const body = ctx.body as Record<string, unknown> | undefined;
    if (!body || typeof body.access_token !== 'string') return;
    const source = (ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.RefreshToken) as { scopes?: Set<string>; grantId?: string } | undefined;
    const staticScopes = source?.scopes ? [...source.scopes].filter((s) => (STATIC_SCOPES as readonly string[]).includes(s) && !s.includes(':')) : [];
    const requestedNarrower = ctx.oidc.params?.scope ? new Set(splitScopeParameter(ctx.oidc.params.scope as string)) : undefined;
    const keptStatic = requestedNarrower ? staticScopes.filter((s) => requestedNarrower.has(s)) : staticScopes;
    const scope = [...new Set([...keptStatic, ...splitScopeParameter(body.scope as string | undefined)])].join(' ');
    if (scope) body.scope = scope;
    if (source?.grantId) {
      const context = await records.grantContexts.findById(source.grantId).lean();
      if (context?.patient) body.patient = context.patient;
      if (context?.encounter) body.encounter = context.encounter;
      if (context) body.need_patient_banner = context.needPatientBanner;
      if (context?.smartStyleUrl) body.smart_style_url = context.smartStyleUrl;
    }
    // The visible indication of an emergency access: its patient, purpose, expiry and review item.
    const issued = ctx.oidc.entities.AccessToken as { extra?: TokenExtra } | undefined;
    if (issued?.extra?.breakGlass && issued.extra.patient) body.break_glass = describeOverrideInTokenResponse(issued.extra.breakGlass, issued.extra.patient);
  });

  async function findAccessToken(value: string): Promise<IssuedToken | undefined> {
    if (value.length < 20 || value.length > 200 || !/^[A-Za-z0-9_-]+$/.test(value)) return undefined;
    // One indexed read: the token is either a user access token or a client_credentials token.
    const record = await records.oidcState.findOne({ _id: { $in: [`AccessToken:${value}`, `ClientCredentials:${value}`] } }, { payload: 1, expiresAt: 1 }).lean();
    if (!record || (record.expiresAt && record.expiresAt.getTime() <= Date.now())) return undefined;
    const payload = JSON.parse(record.payload) as IssuedToken & { aud?: string | string[] };
    if (payload.kind !== 'AccessToken' && payload.kind !== 'ClientCredentials') return undefined;
    if (!payload.exp || payload.exp * 1000 <= Date.now()) return undefined;
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!audiences.some((aud) => typeof aud === 'string' && sameBase(aud, fhirBaseUrl))) return undefined;
    return payload;
  }

  return { provider, errors, issuer, fhirBaseUrl, findAccessToken };
}

/** A stable, non-reversible id for log lines about a token (tokens themselves are never logged). */
export function tokenFingerprint(value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 12);
}
