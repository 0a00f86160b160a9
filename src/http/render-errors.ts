/**
 * The one error renderer: a FhirError becomes its status and OperationOutcome (Spanish texts added when the
 * client prefers Spanish); anything else is a 500 OperationOutcome with the request id and no stack, logged
 * with the stack for operators. Unmatched routes become a 404 OperationOutcome.
 */
import type { Context, Middleware } from 'koa';
import { FhirError } from '../errors';
import { FHIR_JSON } from './fhir-endpoint';

/** 'es' when Accept-Language prefers Spanish over English. */
export function preferredLanguage(ctx: Context): 'en' | 'es' {
  const best = ctx.acceptsLanguages('en', 'es');
  return best === 'es' ? 'es' : 'en';
}

function send(ctx: Context, error: FhirError): void {
  ctx.status = error.status;
  ctx.type = `${FHIR_JSON}; charset=utf-8`;
  ctx.body = JSON.stringify(error.toOperationOutcome(preferredLanguage(ctx)));
}

export function renderErrors(): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        send(ctx, new FhirError('not-found', `No endpoint at ${ctx.method} ${ctx.path}`));
      }
    } catch (error) {
      if (error instanceof FhirError) {
        if (error.status >= 500) ctx.state.log.error({ err: error }, 'request failed');
        send(ctx, error);
        return;
      }
      ctx.state.log.error({ err: error }, 'unexpected error');
      send(ctx, new FhirError('internal', `Internal server error (request id ${String(ctx.state.requestId)})`));
    }
  };
}
