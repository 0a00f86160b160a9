/**
 * SMART discovery: `GET <fhir base>/.well-known/smart-configuration` (SMART App Launch 2.x, conformance.html),
 * always `application/json` whatever the Accept header. The document is built once from the authorization server.
 */
import type { Middleware } from 'koa';

export function smartConfiguration(options: { readonly path: string; readonly document: Record<string, unknown> }): Middleware {
  const body = JSON.stringify(options.document);
  return async (ctx, next) => {
    if (ctx.path !== options.path) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.set('Allow', 'GET, HEAD');
      ctx.status = 405;
      ctx.type = 'application/json';
      ctx.body = JSON.stringify({ error: 'method_not_allowed' });
      return;
    }
    ctx.set('Access-Control-Allow-Origin', '*');
    ctx.type = 'application/json';
    ctx.body = body;
  };
}
