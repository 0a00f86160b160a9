/**
 * The AuditEvent a request left behind (issue 6 "Audit"): found by the request's X-Request-Id, which the server
 * records as an entity of type XrequestId, read straight from the database so that looking adds no event.
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import type { FhirTestServer } from './fhir-server';

/** The stored AuditEvent of a request, if any. */
export async function storedAuditOf(server: FhirTestServer, requestId: string): Promise<AuditEvent | undefined> {
  const doc = await server.db.collection('AuditEvent').findOne({ tenant: server.tenant, 'resource.entity': { $elemMatch: { 'type.code': 'XrequestId', 'what.identifier.value': requestId } } });
  return (doc?.resource as AuditEvent | undefined) ?? undefined;
}

/** The stored AuditEvent of a request; throws when the request left none. */
export async function auditOf(server: FhirTestServer, requestId: string): Promise<AuditEvent> {
  const event = await storedAuditOf(server, requestId);
  if (!event) throw new Error(`no AuditEvent for request ${requestId}`);
  return event;
}
