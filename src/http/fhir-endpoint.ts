/**
 * The FHIR REST endpoint on Koa: turns the HTTP request into a FhirRequest (path, query, headers, parsed body),
 * negotiates formats (http.html#mime-type: JSON only, `_format` overrides Accept), and writes the FhirResponse
 * with its ETag, Last-Modified and Location headers. Everything FHIR happens behind handleFhirRequest.
 */
import type { Context, Middleware } from 'koa';
import type { FhirMethod, FhirRequest, FhirResponse, PreferReturn } from '../fhir/fhir-request';
import { FhirError } from '../errors';
import { readJsonBody } from './read-json-body';

declare module 'koa' {
  interface DefaultState {
    /** The request as the FHIR layer received it, once it could be read (the audit stage records it). */
    fhirRequest?: FhirRequest;
    /** The FHIR layer's answer, once there is one. */
    fhirResponse?: FhirResponse;
  }
}

export const FHIR_JSON = 'application/fhir+json';
const JSON_TYPES = new Set(['application/fhir+json', 'application/json', 'application/json+fhir', 'text/json']);
const FORMAT_ALIASES = new Set(['json', ...JSON_TYPES]);
const METHODS = new Set<FhirMethod>(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

export interface FhirEndpointOptions {
  /** Where the FHIR base is mounted, e.g. /fhir. */
  readonly mountPath: string;
  /** The largest accepted request body in bytes (413 beyond). */
  readonly maxBodyBytes: number;
  /** Runs the request in the FHIR layer (composition root builds the context per request). */
  readonly handle: (request: FhirRequest, ctx: Context) => Promise<FhirResponse>;
}

function mediaType(header: string | undefined): string | undefined {
  return header?.split(';')[0]?.trim().toLowerCase() || undefined;
}

/** Accept and `_format` must allow JSON; FHIR XML and other formats are not offered (406). */
function checkAcceptable(ctx: Context): void {
  const format = ctx.query._format;
  if (format !== undefined) {
    const value = (Array.isArray(format) ? format[0] : format)?.toLowerCase().trim() ?? '';
    if (!FORMAT_ALIASES.has(value.split(';')[0] ?? '')) {
      throw new FhirError('not-acceptable', `_format '${value}' is not supported; this server speaks application/fhir+json`);
    }
    return;
  }
  const accept = ctx.get('accept');
  if (!accept) return;
  const ranges = accept.split(',').map((range) => mediaType(range) ?? '');
  const acceptable = ranges.some((range) => range === '*/*' || range === 'application/*' || JSON_TYPES.has(range));
  if (!acceptable) throw new FhirError('not-acceptable', `None of the accepted media types (${accept}) is offered; this server speaks application/fhir+json`);
}

function preference(ctx: Context, name: 'return' | 'handling'): string | undefined {
  for (const part of ctx.get('prefer').split(/[;,]/)) {
    const [key, value] = part.split('=').map((s) => s.trim());
    if (key === name && value) return value.replace(/^"|"$/g, '');
  }
  return undefined;
}

/** Whether the request carries a body (RFC 9110 section 6.4.1: a Content-Length above 0, or a Transfer-Encoding). */
function hasBody(ctx: Context): boolean {
  return Number(ctx.get('content-length') || '0') > 0 || ctx.get('transfer-encoding') !== '';
}

async function toFhirRequest(ctx: Context, mountPath: string, maxBodyBytes: number): Promise<FhirRequest> {
  const method = ctx.method.toUpperCase() as FhirMethod;
  if (!METHODS.has(method)) throw new FhirError('method-not-allowed', `HTTP method ${ctx.method} is not part of the FHIR RESTful API`);
  const rest = ctx.path.slice(mountPath.length);
  const path = rest.split('/').filter((segment) => segment.length > 0).map((segment) => decodeURIComponent(segment));
  const contentType = mediaType(ctx.get('content-type'));
  let body: unknown;
  let query = [...new URLSearchParams(ctx.querystring)].filter(([name]) => name !== '_format' && name !== '_pretty');
  if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
    const isSearchForm = method === 'POST' && path[path.length - 1] === '_search';
    if (isSearchForm) {
      if (contentType !== 'application/x-www-form-urlencoded') {
        throw new FhirError('unsupported-media-type', `POST _search takes application/x-www-form-urlencoded, not '${contentType ?? 'none'}'`);
      }
      const form = await readJsonBody(ctx.req, maxBodyBytes, { raw: true });
      query = [...query, ...new URLSearchParams(String(form))];
    } else if (contentType === undefined && !hasBody(ctx)) {
      // A POST without a body (an operation without parameters) carries no content to type.
      body = undefined;
    } else {
      const allowed = method === 'PATCH' ? contentType === 'application/json-patch+json' || JSON_TYPES.has(contentType ?? '') : JSON_TYPES.has(contentType ?? '');
      if (!allowed) {
        throw new FhirError('unsupported-media-type', `Content-Type '${contentType ?? 'none'}' is not supported for ${method}; send application/fhir+json${method === 'PATCH' ? ' or application/json-patch+json' : ''}`);
      }
      body = await readJsonBody(ctx.req, maxBodyBytes);
    }
  }
  const preferReturn = preference(ctx, 'return');
  const preferHandling = preference(ctx, 'handling');
  return {
    method,
    path,
    query,
    body,
    contentType: contentType === 'application/json-patch+json' ? contentType : contentType && JSON_TYPES.has(contentType) ? FHIR_JSON : contentType,
    ifMatch: ctx.get('if-match') || undefined,
    ifNoneMatch: ctx.get('if-none-match') || undefined,
    ifModifiedSince: ctx.get('if-modified-since') || undefined,
    ifNoneExist: ctx.get('if-none-exist') || undefined,
    preferReturn: preferReturn === 'minimal' || preferReturn === 'representation' || preferReturn === 'OperationOutcome' ? (preferReturn as PreferReturn) : undefined,
    preferHandling: preferHandling === 'strict' || preferHandling === 'lenient' ? preferHandling : undefined,
  };
}

function writeResponse(ctx: Context, response: FhirResponse, pretty: boolean): void {
  ctx.status = response.status;
  if (response.etag) ctx.set('ETag', response.etag);
  if (response.lastModified) ctx.set('Last-Modified', response.lastModified);
  if (response.location) {
    ctx.set('Location', response.location);
    ctx.set('Content-Location', response.location);
  }
  if (response.body !== undefined && response.status !== 304) {
    ctx.type = `${FHIR_JSON}; charset=utf-8`;
    ctx.body = pretty ? JSON.stringify(response.body, null, 2) : JSON.stringify(response.body);
  } else {
    // An empty body, without Koa's default status text.
    ctx.body = '';
    ctx.remove('Content-Type');
  }
}

/** The Koa middleware serving the FHIR base and everything under it. */
export function fhirEndpoint(options: FhirEndpointOptions): Middleware {
  const mount = options.mountPath.replace(/\/$/, '');
  return async (ctx, next) => {
    if (ctx.path !== mount && !ctx.path.startsWith(`${mount}/`)) return next();
    checkAcceptable(ctx);
    const request = await toFhirRequest(ctx, mount, options.maxBodyBytes);
    ctx.state.fhirRequest = request;
    const response = await options.handle(request, ctx);
    ctx.state.fhirResponse = response;
    writeResponse(ctx, response, ctx.query._pretty === 'true');
  };
}
