/**
 * The management API of the authorization server (JSON, bearer-authenticated like the FHIR API):
 * `POST /admin/clients` registers a client application (scope `admin:clients`, held by system and organization
 * administrators; errors after RFC 7591 section 3.2.2), `GET /admin/clients` lists the organization's
 * applications without secrets, and `POST /admin/launches` creates an EHR launch (scope `ehr:launch`) whose
 * `launch` value an app trades for its patient and encounter context (SMART App Launch 2.x, app-launch.html).
 * `GET /admin/break-glass` lists the organization's emergency accesses and `POST /admin/break-glass/{id}/revoke`
 * ends one at once (scope `break-glass:admin`: organization administrators and compliance reviewers).
 * `POST /admin/policies` publishes a version of the organization's terms of use and privacy policy and
 * `GET /admin/policies` lists the versions with who accepted and declined each (scope `policies:admin`: organization
 * administrators and backend clients); `GET /admin/policies/current` shows any signed-in person the version that
 * applies to them. A token whose account has not accepted the current version is refused everything else here
 * (requirements seed 000 5.4: only essential access).
 */
import { randomBytes } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import type { AuthRecords, ClientApplicationRecord, LaunchRecord } from '../auth/auth-records';
import type { AuthorizationServer } from '../auth/authorization-server';
import { buildClientRecord, ClientMetadataError } from '../auth/client-applications';
import { verifyAccessToken, type VerifiedToken } from '../auth/verify-access-token';
import type { ResourceStore } from '../storage/resource-store';
import { readJsonBody } from './read-json-body';
import { FhirError } from '../errors';
import { BREAK_GLASS_ADMIN_SCOPE } from '../auth/break-glass';
import { OVERRIDE_STATUSES, type OverrideRecord, type OverrideStatus } from '../workflows/break-glass/override-records';
import type { OverrideWorkflow } from '../workflows/break-glass/break-glass-overrides';
import { POLICIES_ADMIN_SCOPE, PolicyConflictError, PolicyInputError, readPolicyVersionInput, type AnswerView, type OrganizationPolicies, type PolicyAnswers } from '../auth/organization-policies';
import type { PolicyVersionRecord } from '../auth/auth-records';
import { ORGANIZATION_POLICY_RULE } from '../access/rules/organization-policy';

/** How long a launch value can be used. */
export const LAUNCH_LIFETIME_SECONDS = 600;

export interface AdminApiOptions {
  readonly mountPath: string;
  readonly server: AuthorizationServer;
  readonly records: AuthRecords;
  readonly smartStyleUrl: string;
  storeFor(tenant: string): ResourceStore;
  readonly breakGlass: Pick<OverrideWorkflow, 'list' | 'revoke'>;
  readonly policies: OrganizationPolicies;
}

/** How many emergency accesses a list returns at most. */
const OVERRIDE_LIST_LIMIT = 200;

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    description: string,
  ) {
    super(description);
  }
}

function send(ctx: Context, status: number, body: unknown): void {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = JSON.stringify(body);
}

function publicView(client: ClientApplicationRecord): Record<string, unknown> {
  return {
    client_id: client._id,
    client_name: client.name,
    kind: client.kind,
    redirect_uris: client.redirectUris,
    scope: client.scope,
    tenant: client.tenant,
    ...(client.launchUrl ? { launch_url: client.launchUrl } : {}),
    ...(client.jwks ? { jwks: client.jwks } : {}),
    ...(client.jwksUri ? { jwks_uri: client.jwksUri } : {}),
  };
}

function overrideView(override: OverrideRecord): Record<string, unknown> {
  return {
    id: override._id,
    status: override.status,
    patient: `Patient/${override.patient}`,
    account: override.accountId,
    user: override.userName,
    role: override.role,
    ...(override.fhirUser ? { fhir_user: override.fhirUser } : {}),
    client_id: override.clientId,
    purpose: override.purpose,
    reason: override.reason,
    started_at: override.startedAt.toISOString(),
    expires_at: override.expiresAt.toISOString(),
    ...(override.endedAt ? { ended_at: override.endedAt.toISOString() } : {}),
    ...(override.endedBy ? { ended_by: override.endedBy } : {}),
    review: `Task/${override._id}`,
  };
}

function answerView(answer: AnswerView): Record<string, unknown> {
  return { account: answer.account, ...(answer.name ? { name: answer.name } : {}), at: answer.at.toISOString() };
}

function policyView(version: PolicyVersionRecord, answers?: PolicyAnswers): Record<string, unknown> {
  return {
    id: version._id,
    version: version.version,
    title: version.title,
    text: version.text,
    personas: version.personas,
    published_at: version.publishedAt.toISOString(),
    published_by: version.publishedBy,
    ...(answers ? { accepted: answers.accepted.map(answerView), declined: answers.declined.map(answerView) } : {}),
  };
}

async function readBody(ctx: Context): Promise<Record<string, unknown>> {
  if ((ctx.get('content-type').split(';')[0] ?? '').trim().toLowerCase() !== 'application/json') throw new ApiError(415, 'invalid_request', 'send application/json');
  let body: unknown;
  try {
    body = await readJsonBody(ctx.req, 256 * 1024);
  } catch (error) {
    if (error instanceof FhirError) throw new ApiError(error.status, 'invalid_request', error.message);
    throw error;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, 'invalid_request', 'the body must be a JSON object');
  return body as Record<string, unknown>;
}

export function adminApi(options: AdminApiOptions): Middleware {
  const mount = options.mountPath.replace(/\/$/, '');
  const { records } = options;

  /** The caller's verified token holding `scope` (without one: any valid token). */
  async function authorize(ctx: Context, scope?: string): Promise<VerifiedToken> {
    const header = ctx.get('authorization');
    const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
    const realm = `realm="${options.server.issuer.replace(/\/auth$/, '')}${mount}"`;
    if (!match?.[1]) {
      ctx.set('WWW-Authenticate', header ? `Bearer ${realm}, error="invalid_request"` : `Bearer ${realm}`);
      throw new ApiError(401, header ? 'invalid_request' : 'unauthorized', 'a bearer access token is required');
    }
    const verified = await verifyAccessToken(options.server, match[1]);
    if (!verified) {
      ctx.set('WWW-Authenticate', `Bearer ${realm}, error="invalid_token", error_description="the access token is unknown, expired or revoked"`);
      throw new ApiError(401, 'invalid_token', 'the access token is unknown, expired or revoked');
    }
    // The audit stage (capture-management-audit.ts) records the request, refused or not, for this caller.
    ctx.state.principal = verified.principal;
    if (scope === undefined) return verified;
    if (!verified.scopes.includes(scope)) {
      ctx.set('WWW-Authenticate', `Bearer ${realm}, error="insufficient_scope", scope="${scope}"`);
      throw new ApiError(403, 'insufficient_scope', `this operation needs the scope ${scope}`);
    }
    const standing = verified.principal.policy;
    if (standing) {
      throw new ApiError(403, 'access_denied', `refused by rule '${ORGANIZATION_POLICY_RULE}': version ${standing.version} of your organization's terms of use and privacy policy is ${standing.status === 'declined' ? 'declined' : 'not accepted yet'}; accept it at your next sign-in`);
    }
    return verified;
  }

  async function registerClient(ctx: Context): Promise<void> {
    const { principal } = await authorize(ctx, 'admin:clients');
    const body = await readBody(ctx);
    let tenant = principal.tenant;
    if (body.tenant !== undefined) {
      if (principal.role !== 'system-admin') throw new ApiError(403, 'access_denied', 'only system administrators register applications for another organization');
      if (typeof body.tenant !== 'string' || body.tenant === '') throw new ApiError(400, 'invalid_client_metadata', 'tenant must be a non-empty string');
      tenant = body.tenant;
    }
    const { client_id: _ignored, client_secret: _secret, ...registration } = body;
    const { record, secret } = buildClientRecord(registration, tenant, principal.accountId ?? principal.clientId);
    await records.clients.create(record);
    send(ctx, 201, { ...publicView(record), ...(secret ? { client_secret: secret } : {}) });
  }

  async function listClients(ctx: Context): Promise<void> {
    const { principal } = await authorize(ctx, 'admin:clients');
    const clients = await records.clients.find({ tenant: principal.tenant }).sort({ createdAt: 1 }).lean();
    send(ctx, 200, { clients: clients.map(publicView) });
  }

  async function createLaunch(ctx: Context): Promise<void> {
    const { principal } = await authorize(ctx, 'ehr:launch');
    const body = await readBody(ctx);
    if (typeof body.client_id !== 'string') throw new ApiError(400, 'invalid_request', 'client_id is required');
    const client = await records.clients.findById(body.client_id).lean();
    if (!client || client.tenant !== principal.tenant || client.kind === 'backend') throw new ApiError(404, 'invalid_request', `no SMART app ${body.client_id} is registered for your organization`);
    let accountId = principal.accountId;
    if (principal.kind === 'system') {
      // The platform acting for a staff member names them.
      if (typeof body.account !== 'string') throw new ApiError(400, 'invalid_request', 'account (the username the launch is for) is required with a system token');
      const account = await records.accounts.findOne({ username: body.account.toLowerCase(), tenant: principal.tenant }).lean();
      if (!account || account.role === 'patient') throw new ApiError(404, 'invalid_request', `no staff account ${body.account} in your organization`);
      accountId = account._id;
    } else if (principal.role === 'patient') {
      throw new ApiError(403, 'access_denied', 'EHR launches are created by staff');
    }
    const store = options.storeFor(principal.tenant);
    if (typeof body.patient !== 'string') throw new ApiError(400, 'invalid_request', 'patient (a Patient id) is required');
    const patient = await store.read('Patient', body.patient);
    if (!patient || patient.deleted) throw new ApiError(404, 'invalid_request', `Patient/${body.patient} does not exist`);
    if (body.encounter !== undefined) {
      if (typeof body.encounter !== 'string') throw new ApiError(400, 'invalid_request', 'encounter must be an Encounter id');
      const encounter = await store.read('Encounter', body.encounter);
      if (!encounter || encounter.deleted) throw new ApiError(404, 'invalid_request', `Encounter/${body.encounter} does not exist`);
    }
    if (body.need_patient_banner !== undefined && typeof body.need_patient_banner !== 'boolean') throw new ApiError(400, 'invalid_request', 'need_patient_banner must be true or false');
    const launch: LaunchRecord = {
      _id: randomBytes(24).toString('base64url'),
      clientId: client._id,
      tenant: principal.tenant,
      accountId: accountId as string,
      createdBy: principal.accountId ?? principal.clientId,
      patient: body.patient,
      ...(typeof body.encounter === 'string' ? { encounter: body.encounter } : {}),
      needPatientBanner: body.need_patient_banner !== false,
      smartStyleUrl: options.smartStyleUrl,
      expiresAt: new Date(Date.now() + LAUNCH_LIFETIME_SECONDS * 1000),
    };
    await records.launches.create(launch);
    const fhirBase = options.server.fhirBaseUrl;
    const launchUrl = client.launchUrl ? `${client.launchUrl}${client.launchUrl.includes('?') ? '&' : '?'}${new URLSearchParams({ iss: fhirBase, launch: launch._id })}` : undefined;
    send(ctx, 201, { launch: launch._id, iss: fhirBase, expires_in: LAUNCH_LIFETIME_SECONDS, ...(launchUrl ? { launch_url: launchUrl } : {}) });
  }

  async function listOverrides(ctx: Context): Promise<void> {
    const { principal } = await authorize(ctx, BREAK_GLASS_ADMIN_SCOPE);
    const params = new URLSearchParams(ctx.querystring);
    for (const name of params.keys()) if (name !== 'status') throw new ApiError(400, 'invalid_request', `unknown parameter '${name}' (allowed: status)`);
    const status = params.get('status') ?? undefined;
    if (status !== undefined && !(OVERRIDE_STATUSES as readonly string[]).includes(status)) throw new ApiError(400, 'invalid_request', `status must be one of ${OVERRIDE_STATUSES.join(', ')}`);
    const overrides = await options.breakGlass.list(principal.tenant, { ...(status ? { status: status as OverrideStatus } : {}), limit: OVERRIDE_LIST_LIMIT });
    ctx.state.auditPatients = overrides.map((override) => override.patient);
    send(ctx, 200, { overrides: overrides.map(overrideView) });
  }

  async function revokeOverride(ctx: Context, id: string): Promise<void> {
    const { principal } = await authorize(ctx, BREAK_GLASS_ADMIN_SCOPE);
    const account = principal.accountId ? await records.accounts.findById(principal.accountId).lean() : null;
    const by = account ? { account: account._id, name: account.displayName } : { account: `client:${principal.clientId}`, name: `application ${principal.clientId}` };
    const result = await options.breakGlass.revoke(principal.tenant, id, by);
    if (result.kind === 'unknown') throw new ApiError(404, 'not_found', `no emergency access ${id} in your organization`);
    ctx.state.auditPatients = [result.override.patient];
    if (result.kind === 'ended') throw new ApiError(409, 'invalid_request', `the emergency access ${id} has already ended (${result.override.status})`);
    send(ctx, 200, overrideView(result.override));
  }

  async function publishPolicy(ctx: Context): Promise<void> {
    const { principal } = await authorize(ctx, POLICIES_ADMIN_SCOPE);
    const input = readPolicyVersionInput(await readBody(ctx));
    const version = await options.policies.publish(principal.tenant, input, principal.accountId ?? `client:${principal.clientId}`);
    send(ctx, 201, policyView(version));
  }

  async function listPolicies(ctx: Context): Promise<void> {
    const { principal } = await authorize(ctx, POLICIES_ADMIN_SCOPE);
    const versions = await options.policies.list(principal.tenant);
    send(ctx, 200, { versions: versions.map((version) => policyView(version, version.answers)) });
  }

  /** Essential access: whoever signed in reads the version that applies to them, and where they stand. */
  async function currentPolicy(ctx: Context): Promise<void> {
    const { principal } = await authorize(ctx);
    const account = principal.accountId ? await records.accounts.findById(principal.accountId).lean() : null;
    if (!account) throw new ApiError(404, 'not_found', 'organization policies apply to people; this token has no account');
    const [version, standing] = await Promise.all([options.policies.currentFor(account), options.policies.standingOf(account)]);
    if (!version) throw new ApiError(404, 'not_found', 'your organization has published no terms of use or privacy policy that apply to you');
    send(ctx, 200, { ...policyView(version), status: standing?.status ?? 'accepted' });
  }

  type Handler = (ctx: Context, ...params: string[]) => Promise<void>;
  const routes: readonly (readonly [RegExp, Partial<Record<string, Handler>>])[] = [
    [/^\/clients$/, { POST: registerClient, GET: listClients }],
    [/^\/launches$/, { POST: createLaunch }],
    [/^\/break-glass$/, { GET: listOverrides }],
    [/^\/break-glass\/([A-Za-z0-9-]{1,64})\/revoke$/, { POST: revokeOverride }],
    [/^\/policies$/, { POST: publishPolicy, GET: listPolicies }],
    [/^\/policies\/current$/, { GET: currentPolicy }],
  ];

  return async (ctx, next) => {
    if (!ctx.path.startsWith(`${mount}/`)) return next();
    const path = ctx.path.slice(mount.length).replace(/\/$/, '');
    let matched: { route: Partial<Record<string, Handler>>; params: string[] } | undefined;
    for (const [pattern, route] of routes) {
      const match = pattern.exec(path);
      if (match) {
        matched = { route, params: match.slice(1) as string[] };
        break;
      }
    }
    try {
      if (!matched) throw new ApiError(404, 'not_found', `no endpoint at ${ctx.path}`);
      const handler = matched.route[ctx.method];
      if (!handler) {
        ctx.set('Allow', Object.keys(matched.route).join(', '));
        throw new ApiError(405, 'invalid_request', `${ctx.method} is not allowed here`);
      }
      await handler(ctx, ...matched.params);
    } catch (error) {
      if (error instanceof ApiError) return send(ctx, error.status, { error: error.error, error_description: error.message });
      if (error instanceof ClientMetadataError) return send(ctx, 400, { error: error.error, error_description: error.message });
      if (error instanceof PolicyInputError) return send(ctx, 400, { error: 'invalid_request', error_description: error.message });
      if (error instanceof PolicyConflictError) return send(ctx, 409, { error: 'invalid_request', error_description: error.message });
      throw error;
    }
  };
}
