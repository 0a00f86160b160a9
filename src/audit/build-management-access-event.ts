/**
 * The AuditEvent of a request to the management API (issue 6: every access is recorded; seed 000 section 7):
 * listing or revoking emergency accesses, reading notifications and their delivery log, registering applications,
 * creating launches, publishing policies. Shaped like the FHIR request events (build-audit-event.ts: the same
 * agents, source and request entity) with its own type, the HTTP verb as subtype, the patients whose data the
 * response carried, and the request as the query entity.
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import type { Principal } from '../auth/principal';
import { AUTHOR, HTTP_VERB, INFORMATION_RECIPIENT, MANAGEMENT_API_EVENT, OUTCOME, QUERY_ROLE, SYSTEM_OBJECT_ENTITY } from './audit-codes';
import { describeAgents, describeSource, patientEntity, requestEntity, type AuditIdentity } from './build-audit-event';

/** One finished request to the management API, by an authenticated caller. */
export interface AuditedManagementAccess {
  readonly principal: Principal;
  readonly method: string;
  /** The path and query as received, e.g. `/admin/break-glass?status=active`. */
  readonly url: string;
  readonly status: number;
  /** The ids of the patients whose data the response carried (e.g. the emergency accesses listed). */
  readonly patients: readonly string[];
  readonly clientAddress: string;
  readonly requestId: string;
  readonly started: Date;
  readonly ended: Date;
}

/** As for FHIR requests (find-concerned-resources.ts), at most this many patients are named in one event. */
const MAX_PATIENTS = 100;

const ACTIONS: Readonly<Record<string, AuditEvent['action']>> = { GET: 'R', HEAD: 'R', POST: 'E', PUT: 'U', PATCH: 'U', DELETE: 'D' };

function outcomeOf(status: number): AuditEvent['outcome'] {
  if (status < 400) return OUTCOME.success;
  return status < 500 ? OUTCOME.minorFailure : OUTCOME.seriousFailure;
}

export function buildManagementAccessEvent(access: AuditedManagementAccess, identity: AuditIdentity): AuditEvent {
  const reads = access.method === 'GET' || access.method === 'HEAD';
  const url = access.url.slice(0, 2000);
  return {
    resourceType: 'AuditEvent',
    type: MANAGEMENT_API_EVENT,
    subtype: [{ system: HTTP_VERB, code: access.method }],
    action: ACTIONS[access.method] ?? 'E',
    period: { start: access.started.toISOString(), end: access.ended.toISOString() },
    recorded: access.ended.toISOString(),
    outcome: outcomeOf(access.status),
    outcomeDesc: `${access.status} ${access.method} ${url}`,
    agent: describeAgents(access.principal, { user: reads ? INFORMATION_RECIPIENT : AUTHOR, clientReceives: reads }, access.clientAddress, identity.issuer, identity),
    source: describeSource(access.principal.tenant, identity.issuer, identity),
    entity: [
      requestEntity(access.requestId),
      ...[...new Set(access.patients)].slice(0, MAX_PATIENTS).map(patientEntity),
      { type: SYSTEM_OBJECT_ENTITY, role: QUERY_ROLE, description: url, query: Buffer.from(url).toString('base64') },
    ],
  };
}
