/**
 * The audit stage of the management APIs (`/admin`, `/notifications`), as capture-audit.ts is for FHIR: every
 * request whose caller the API authenticated (it leaves the principal on `ctx.state`, and the ids of the patients
 * whose data it answered with in `ctx.state.auditPatients`) is recorded once, allowed or
 * refused, and its response is held until the AuditEvent is durable; when the audit trail cannot be written the
 * response is replaced by a 503. Requests without a valid token have no organization and are not recorded.
 */
import type { Middleware } from 'koa';
import type { AuditRecorder } from '../audit/audited-exchange';

export interface CaptureManagementAuditOptions {
  /** The mount paths of the management APIs. */
  readonly mountPaths: readonly string[];
  readonly recorder: AuditRecorder;
}

export function captureManagementAudit(options: CaptureManagementAuditOptions): Middleware {
  const mounts = options.mountPaths.map((mount) => mount.replace(/\/$/, ''));
  return async (ctx, next) => {
    if (!mounts.some((mount) => ctx.path === mount || ctx.path.startsWith(`${mount}/`))) return next();
    const started = new Date();
    await next();
    const principal = ctx.state.principal;
    if (!principal) return;
    try {
      await options.recorder.recordManagementAccess({
        principal,
        method: ctx.method,
        url: ctx.originalUrl,
        status: ctx.status,
        patients: ctx.state.auditPatients ?? [],
        clientAddress: ctx.ip,
        requestId: ctx.state.requestId,
        started,
        ended: new Date(),
      });
    } catch (error) {
      ctx.state.log.error({ err: error }, 'the audit trail could not be written; the response is withheld');
      ctx.status = 503;
      ctx.body = { error: 'temporarily_unavailable', error_description: 'This request could not be recorded in the audit trail, so its response is withheld; try again later' };
    }
  };
}
