/**
 * Composition root: builds the adapters and registers the stages in request order (DESIGN.md "The request
 * path"), so reading this file top to bottom traces a request. Authentication, access policy and audit join
 * the path in later issues, between the request context and the FHIR endpoint.
 */
import Koa from 'koa';
import type { Logger } from 'pino';
import type { Config } from './config/settings';
import type { Database } from './storage/database';
import { requestContext } from './http/request-context';
import { renderErrors } from './http/render-errors';
import { fhirEndpoint } from './http/fhir-endpoint';
import { buildRegistry } from './fhir/registry';
import { handleFhirRequest } from './fhir/router';
import type { FhirContext } from './fhir/fhir-context';
import { assertValid } from './validation/assert-valid';
import { FhirError } from './errors';
import { createIndexer, type Indexer } from './search/extract-index-values';
import { baseSearchParameters } from './search/search-parameters';

export const FHIR_MOUNT = '/fhir';

/** How stored versions get their search values: from the server's search parameters. */
export function createSearchIndexer(): Indexer {
  return createIndexer(baseSearchParameters());
}

export interface AppDependencies {
  readonly config: Config;
  readonly database: Database;
  readonly logger: Logger;
}

export function createApp({ config, database, logger }: AppDependencies): Koa {
  const app = new Koa({ proxy: false });
  const registry = buildRegistry({ conditionalDeleteMultiple: config.conditionalDeleteMultiple });
  // Without PUBLIC_URL, links use the origin the client addressed (fine locally; set PUBLIC_URL behind proxies).
  const publicOrigin = config.publicUrl?.replace(/\/$/, '');
  const settings = { defaultCount: config.defaultCount, maxCount: config.maxCount };

  app.use(requestContext(logger));
  app.use(renderErrors());
  app.use(async (ctx, next) => {
    if (ctx.path !== '/healthz') return next();
    const healthy = await database.ping();
    if (!healthy) throw new FhirError('unavailable', 'The database does not answer');
    ctx.body = { status: 'ok' };
  });
  app.use(
    fhirEndpoint({
      mountPath: FHIR_MOUNT,
      maxBodyBytes: config.maxBodyBytes,
      handle: (request, ctx) => {
        const baseUrl = `${publicOrigin ?? `${ctx.protocol}://${ctx.host}`}${FHIR_MOUNT}`;
        const context: FhirContext = {
          store: database.storeFor(config.defaultTenant, { localBaseUrls: [baseUrl] }),
          registry,
          baseUrl,
          settings,
          searchParameters: baseSearchParameters(),
          validate: assertValid,
        };
        return handleFhirRequest(request, context);
      },
    }),
  );
  return app;
}
