/**
 * Composition root: builds the adapters and registers the stages in request order (DESIGN.md "The request
 * path"), so reading this file top to bottom traces a request.
 */
import type { Server } from 'node:http';
import Koa, { type Context } from 'koa';
import mongoose from 'mongoose';
import type { Logger } from 'pino';
import type { Config } from './config/settings';
import type { Database } from './storage/database';
import { requestContext } from './http/request-context';
import { renderErrors } from './http/render-errors';
import { fhirEndpoint } from './http/fhir-endpoint';
import { authorizationRoutes } from './http/authorization-routes';
import { adminApi } from './http/admin-api';
import { notificationsApi } from './http/notifications-api';
import { smartConfiguration } from './http/smart-configuration';
import { authenticate } from './http/authenticate';
import { captureAudit } from './http/capture-audit';
import { captureManagementAudit } from './http/capture-management-audit';
import { OPERATIONS } from './fhir/operations';
import { SOFTWARE } from './fhir/interactions/capabilities';
import { buildRegistry } from './fhir/registry';
import { handleFhirRequest } from './fhir/router';
import type { FhirContext } from './fhir/fhir-context';
import { assertValid } from './validation/assert-valid';
import { FhirError } from './errors';
import { createIndexer, type Indexer } from './search/extract-index-values';
import { baseSearchParameters } from './search/search-parameters';
import { openAuthRecords } from './auth/auth-records';
import { loadServerKeys } from './auth/server-keys';
import { createAuthorizationServer } from './auth/authorization-server';
import { buildCapabilitySecurity, buildSmartConfiguration } from './auth/smart-discovery';
import { seedDemo } from './auth/seed-demo';
import { createAccessControl } from './access/access-policy';
import { smartScopesRule } from './access/rules/smart-scopes';
import { auditImmutableRule } from './access/rules/audit-immutable';
import { createAuditRecorder } from './audit/audit-recorder';
import { createChainedAuditSink } from './audit/chained-audit-sink';
import type { AccessRule } from './access/access-policy';
import type { SearchParameterCatalog } from './search/search-parameter-catalog';
import type { ResourceStore } from './storage/resource-store';
import { observeWrites, type WriteListener } from './storage/observe-writes';
import { AccessFactsCache } from './access/access-facts';
import { personaPermissionsRule } from './access/rules/persona-permissions';
import { consentRule } from './access/rules/consent';
import { ConsentDirectives } from './access/consent-directives';
import { RecordLocks } from './access/record-locks';
import { recordLockRule } from './access/rules/record-lock';
import { serverManagedRule } from './access/rules/server-managed';
import { Elevations } from './access/elevations';
import { onConsentRevocations } from './workflows/consent-revocation';
import { principalOfAccount } from './auth/principal';
import { createOrganizationPolicies } from './auth/organization-policies';
import { organizationPolicyRule } from './access/rules/organization-policy';
import { openJobRecords } from './jobs/job-records';
import { startJobRunner } from './jobs/job-runner';
import { loadSearchParameters, onSearchParameterWrites, REINDEX_JOB, reindexStep } from './jobs/reindex-search-parameters';
import { startNotifications } from './notifications/start-notifications';
import { configureTransports } from './notifications/transports';
import type { Outbox } from './notifications/outbox';
import { revokeGrantRecords } from './auth/oidc-adapter';
import { breakGlassReviewRule } from './access/rules/break-glass-review';
import { openOverrideRecords } from './workflows/break-glass/override-records';
import { createOverrideWorkflow, END_OVERRIDE_JOB, endOverrideStep } from './workflows/break-glass/break-glass-overrides';

export const FHIR_MOUNT = '/fhir';
export const AUTH_MOUNT = '/auth';
export const ADMIN_MOUNT = '/admin';
export const NOTIFICATIONS_MOUNT = '/notifications';

/** The style apps receive as smart_style_url (SMART App Launch 2.x, scopes-and-launch-context.html#styling). */
const SMART_STYLE = { color_background: '#ffffff', color_error: '#a00000', color_highlight: '#0b4a8b', color_modal_backdrop: '', color_success: '#1e6b30', color_text: '#1a1a1a', dim_border_radius: '4px', dim_font_size: '16px', dim_spacing_size: '16px', font_family_body: 'system-ui, sans-serif', font_family_heading: 'system-ui, sans-serif' };

/** How stored versions get their search values: from the search parameters of their organization. */
export function createSearchIndexer(catalog: SearchParameterCatalog): Indexer {
  return createIndexer((tenant) => catalog.registryFor(tenant));
}

/**
 * Idle keep-alive connections are kept longer than load balancers' and HTTP clients' usual idle limits (60 s),
 * so that the client side closes them first and never sends a request into a socket the server is closing.
 */
export function configureKeepAlive(server: Server): void {
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
}

export interface AppDependencies {
  readonly config: Config;
  readonly database: Database;
  readonly logger: Logger;
  /** The origin clients use (PUBLIC_URL, or http://localhost:<port>): the issuer and token audience derive from it. */
  readonly origin: string;
  /** The organizations' search parameters, which the database's indexer also reads. */
  readonly catalog: SearchParameterCatalog;
  /**
   * Benchmarks only (bench/audit-bench.ts): serve without audit capture and with an access policy that allows
   * everything, to measure what policy and audit cost. Never set by the server itself.
   */
  readonly withoutPolicyAndAudit?: boolean;
}

/** Allows every interaction: the baseline the overhead benchmark compares the real policy with. */
const ALLOW_EVERYTHING: AccessRule = { name: 'allow-everything', decide: () => ({ kind: 'allow' }) };

/** The HTTP application and the background work it started (durable jobs, notification delivery), stopped before the database closes. */
export interface App {
  readonly koa: Koa;
  /** Where the server's own workflows (break-the-glass, consent revocation, ...) send notifications. */
  readonly outbox: Outbox;
  stop(): Promise<void>;
}

export async function createApp({ config, database, logger, origin, catalog, withoutPolicyAndAudit = false }: AppDependencies): Promise<App> {
  const app = new Koa({ proxy: false });
  const registry = buildRegistry({ conditionalDeleteMultiple: config.conditionalDeleteMultiple, operations: OPERATIONS });
  // Without PUBLIC_URL, links use the origin the client addressed (fine locally; set PUBLIC_URL behind proxies).
  const publicOrigin = config.publicUrl?.replace(/\/$/, '');
  const settings = { defaultCount: config.defaultCount, maxCount: config.maxCount };
  const serverOrigin = origin.replace(/\/$/, '');
  const endpoints = { issuer: `${serverOrigin}${AUTH_MOUNT}`, fhirBaseUrl: `${serverOrigin}${FHIR_MOUNT}` };
  const baseUrlOf = (ctx: Context): string => `${publicOrigin ?? `${ctx.protocol}://${ctx.host}`}${FHIR_MOUNT}`;

  const connection = mongoose.createConnection().setClient(database.mongoClient).useDb(database.dbName, { useCache: true });
  const records = await openAuthRecords(connection);
  const keys = await loadServerKeys(records);
  const storeFor = (tenant: string): ResourceStore => database.storeFor(tenant);
  const notifications = await startNotifications({
    connection,
    accounts: records.accounts,
    storeFor,
    transports: configureTransports({ emailRelayUrl: config.notifyEmailRelayUrl, smsRelayUrl: config.notifySmsRelayUrl, relayToken: config.notifyRelayToken }),
    maxAttempts: config.notifyMaxAttempts,
    retryDelayMs: config.notifyRetryDelayMs,
    logger,
  });
  const jobs = await openJobRecords(connection);
  // Emergency access: its own job runner, so that its ends are never queued behind a long reindex.
  const overrideDependencies = { overrides: await openOverrideRecords(connection), accounts: records.accounts, outbox: notifications.outbox, storeFor, revokeGrant: (grantId: string) => revokeGrantRecords(records, grantId), validate: assertValid };
  const overrideRunner = startJobRunner(jobs, { [END_OVERRIDE_JOB]: endOverrideStep(overrideDependencies) }, logger);
  const breakGlass = createOverrideWorkflow(overrideDependencies, overrideRunner);
  const auditRecorder = createAuditRecorder({
    sink: createChainedAuditSink(storeFor),
    storeFor,
    parametersFor: (tenant) => catalog.registryFor(tenant),
    identity: { software: SOFTWARE.name, issuer: endpoints.issuer, clientRegistry: `${serverOrigin}${ADMIN_MOUNT}/clients` },
  });
  // Answers to the organizations' terms of use and privacy policy go to the same audit trail as FHIR requests.
  const policies = createOrganizationPolicies({ records, audit: (decision) => auditRecorder.recordPolicyDecision(decision), registry: `${serverOrigin}${ADMIN_MOUNT}/policies` });
  const server = await createAuthorizationServer({ records, keys, ...endpoints, logger, breakGlass: { tokenSeconds: config.breakGlassTokenSeconds, overrides: breakGlass }, policies });
  if (config.seedDemo && (await seedDemo(records, database.storeFor(config.defaultTenant), assertValid))) {
    logger.info({ tenant: config.defaultTenant }, 'loaded the demo seed (seed/demo.json)');
  }
  const security = buildCapabilitySecurity(endpoints);
  const accessRules = withoutPolicyAndAudit
    ? [ALLOW_EVERYTHING]
    : [auditImmutableRule(), organizationPolicyRule(), smartScopesRule(baseSearchParameters()), personaPermissionsRule(), consentRule(), recordLockRule(), serverManagedRule(), breakGlassReviewRule()];
  await loadSearchParameters(await database.tenantsWith('SearchParameter'), storeFor, catalog, jobs);
  const runner = startJobRunner(jobs, { [REINDEX_JOB]: reindexStep(storeFor, catalog) }, logger);
  const consents = new ConsentDirectives();
  const locks = new RecordLocks();
  const elevations = new Elevations();
  const facts = new AccessFactsCache(consents, locks, elevations);
  const writeListeners: WriteListener[] = [onSearchParameterWrites(storeFor, catalog, runner, (error) => logger.error({ err: error }, 'reloading search parameters failed')), facts.onWrites, consents.onWrites, locks.onWrites, elevations.onWrites];
  const onWrites: WriteListener = (tenant, versions) => writeListeners.forEach((listener) => listener(tenant, versions));
  writeListeners.push(onConsentRevocations({ storeFor, accounts: records.accounts, outbox: notifications.outbox, report: (error) => logger.error({ err: error }, 'notifying a consent revocation failed') }));

  app.use(requestContext(logger));
  app.use(renderErrors());
  app.use(async (ctx, next) => {
    if (ctx.path !== '/healthz') return next();
    const healthy = await database.ping();
    if (!healthy) throw new FhirError('unavailable', 'The database does not answer');
    ctx.body = { status: 'ok' };
  });
  app.use(
    authorizationRoutes({
      mountPath: AUTH_MOUNT,
      server,
      records,
      keys,
      approval: {
        records,
        provider: server.provider,
        fhirBaseUrl: endpoints.fhirBaseUrl,
        storeFor: (tenant) => database.storeFor(tenant),
        // The patient picker offers the patients the account's persona may see, as the FHIR API would show them.
        visiblePatients: async (account, store) => {
          const principal = principalOfAccount(account);
          return createAccessControl(principal, [personaPermissionsRule(), consentRule()], store, await facts.factsFor(principal, store)).readFilter('Patient');
        },
      },
      smartStyle: SMART_STYLE,
      breakGlassTokenSeconds: config.breakGlassTokenSeconds,
      policies,
    }),
  );
  if (!withoutPolicyAndAudit) app.use(captureManagementAudit({ mountPaths: [ADMIN_MOUNT, NOTIFICATIONS_MOUNT], recorder: auditRecorder }));
  app.use(adminApi({ mountPath: ADMIN_MOUNT, server, records, smartStyleUrl: `${endpoints.issuer}/smart-style.json`, storeFor: (tenant) => database.storeFor(tenant), breakGlass, policies }));
  app.use(notificationsApi({ mountPath: NOTIFICATIONS_MOUNT, server, records: notifications.records, outbox: notifications.outbox, worker: notifications.worker }));
  app.use(smartConfiguration({ path: `${FHIR_MOUNT}/.well-known/smart-configuration`, document: buildSmartConfiguration(endpoints) }));
  app.use(authenticate({ mountPath: FHIR_MOUNT, server, publicPaths: ['/metadata'] }));
  if (!withoutPolicyAndAudit) app.use(captureAudit({ mountPath: FHIR_MOUNT, unauditedPaths: ['/metadata'], baseUrlOf, recorder: auditRecorder }));
  app.use(
    fhirEndpoint({
      mountPath: FHIR_MOUNT,
      maxBodyBytes: config.maxBodyBytes,
      handle: async (request, ctx) => {
        const baseUrl = baseUrlOf(ctx);
        // authenticate leaves only GET /metadata without a principal; it reads no stored data.
        const principal = ctx.state.principal ?? { kind: 'system', tenant: config.defaultTenant, clientId: '', scopes: [], launch: {}, expiresAt: new Date(0) };
        const store = observeWrites(database.storeFor(principal.tenant, { localBaseUrls: [...new Set([baseUrl, endpoints.fhirBaseUrl])] }), onWrites);
        const context: FhirContext = {
          principal,
          store,
          access: createAccessControl(principal, accessRules, store, await facts.factsFor(principal, store)),
          registry,
          baseUrl,
          settings,
          searchParameters: catalog.registryFor(principal.tenant),
          outbox: notifications.outbox,
          openOrganization: (tenant) => observeWrites(database.storeFor(tenant, { localBaseUrls: [endpoints.fhirBaseUrl] }), onWrites),
          security,
          validate: assertValid,
        };
        return handleFhirRequest(request, context);
      },
    }),
  );
  return {
    koa: app,
    outbox: notifications.outbox,
    stop: async () => {
      await Promise.all([runner.stop(), overrideRunner.stop(), notifications.stop()]);
    },
  };
}
