/**
 * The audit capture stage (DESIGN.md "The request path", example 8 after HAPI's BalpAuditCaptureInterceptor):
 * wraps the FHIR endpoint so that every authenticated FHIR request, allowed, refused or failed, is recorded once,
 * from what the endpoint left on `ctx.state`, and holds the response until its AuditEvent is durable. When the
 * audit trail cannot be written, the response is withheld (503): no access goes unrecorded.
 */
import type { Context, Middleware } from 'koa';
import { FhirError } from '../errors';
import type { AuditedFailure, AuditRecorder } from '../audit/audited-exchange';

export interface CaptureAuditOptions {
  readonly mountPath: string;
  /** Paths below the mount that read no stored data and are not recorded (the CapabilityStatement). */
  readonly unauditedPaths: readonly string[];
  /** The FHIR base URL as the client addressed it. */
  readonly baseUrlOf: (ctx: Context) => string;
  readonly recorder: AuditRecorder;
}

function failureOf(error: unknown): AuditedFailure {
  if (error instanceof FhirError) {
    return { status: error.status, issueCode: error.issues[0]?.code ?? 'exception', message: error.message, ...(error.rule ? { rule: error.rule } : {}) };
  }
  // The details of an unexpected error go to the operator's log (render-errors.ts), not into the trail.
  return { status: 500, issueCode: 'exception', message: 'Internal server error' };
}

/** The path segments of a request the FHIR layer could not read (possibly with malformed escapes). */
function segmentsOf(path: string): string[] {
  return path
    .split('/')
    .filter((segment) => segment.length > 0)
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment;
      }
    });
}

export function captureAudit(options: CaptureAuditOptions): Middleware {
  const mount = options.mountPath.replace(/\/$/, '');
  const unaudited = new Set(options.unauditedPaths.map((p) => `${mount}${p}`));
  return async (ctx, next) => {
    if (ctx.path !== mount && !ctx.path.startsWith(`${mount}/`)) return next();
    const principal = ctx.state.principal;
    if (!principal || unaudited.has(ctx.path.replace(/\/$/, ''))) return next();
    const started = new Date();
    let failed: { error: unknown } | undefined;
    try {
      await next();
    } catch (error) {
      failed = { error };
    }
    const request = ctx.state.fhirRequest;
    try {
      await options.recorder.record({
        principal,
        method: ctx.method,
        path: request?.path ?? segmentsOf(ctx.path.slice(mount.length)),
        query: request?.query ?? [...new URLSearchParams(ctx.querystring)],
        request,
        response: failed ? undefined : ctx.state.fhirResponse,
        failure: failed ? failureOf(failed.error) : undefined,
        requestId: ctx.state.requestId,
        clientAddress: ctx.ip,
        baseUrl: options.baseUrlOf(ctx),
        started,
        ended: new Date(),
      });
    } catch (error) {
      ctx.state.log.error({ err: error }, 'the audit trail could not be written; the response is withheld');
      throw new FhirError('unavailable', 'This access could not be recorded in the audit trail, so its response is withheld; try again later');
    }
    if (failed) throw failed.error;
  };
}
