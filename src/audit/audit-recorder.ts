/**
 * Turns each finished request into its AuditEvent and hands it to the sink (DESIGN.md example 8): the one place
 * where audit happens, fed once per request by the HTTP stage, so no interaction calls audit code. Events that are
 * no FHIR request (an organization policy accepted or declined at sign-in, a request to the management API) come
 * through here too, to the same chain.
 */
import type { SearchParameterRegistry } from '../search/search-parameters';
import type { ResourceStore } from '../storage/resource-store';
import type { AuditedExchange, AuditRecorder } from './audited-exchange';
import { buildAuditEvent, type AuditIdentity } from './build-audit-event';
import { buildManagementAccessEvent } from './build-management-access-event';
import { buildPolicyDecisionEvent } from './build-policy-decision-event';
import type { AuditSink } from './chained-audit-sink';
import { findConcernedResources } from './find-concerned-resources';
import { classifyInteraction } from './restful-interaction';

export interface AuditRecorderOptions {
  readonly sink: AuditSink;
  /** The organization's store, read when a request's response names no resource whose patients can be found. */
  readonly storeFor: (tenant: string) => ResourceStore;
  /** The organization's search parameters (the Patient compartment parameters are read with them). */
  readonly parametersFor: (tenant: string) => SearchParameterRegistry;
  readonly identity: AuditIdentity;
}

export function createAuditRecorder(options: AuditRecorderOptions): AuditRecorder {
  return {
    record: async (exchange: AuditedExchange) => {
      const tenant = exchange.principal.tenant;
      const body = exchange.request?.body as { resourceType?: unknown; type?: unknown } | undefined;
      const target = classifyInteraction(exchange.method, exchange.path, body?.resourceType === 'Bundle' ? body.type : undefined);
      const concerned = await findConcernedResources(exchange, target, options.storeFor(tenant), options.parametersFor(tenant));
      await options.sink.record(tenant, buildAuditEvent(exchange, target, concerned, options.identity));
    },
    recordPolicyDecision: (decision) => options.sink.record(decision.principal.tenant, buildPolicyDecisionEvent(decision, options.identity)),
    recordManagementAccess: (access) => options.sink.record(access.principal.tenant, buildManagementAccessEvent(access, options.identity)),
  };
}
