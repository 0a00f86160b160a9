/**
 * One finished FHIR request as the audit trail sees it (DESIGN.md example 8): who asked, what they asked, what the
 * FHIR layer answered or why it failed, when and from where. The HTTP stage gathers it once per request; nothing
 * here knows Koa.
 */
import type { Principal } from '../auth/principal';
import type { FhirRequest, FhirResponse } from '../fhir/fhir-request';
import type { AuditedPolicyDecision } from './build-policy-decision-event';
import type { AuditedManagementAccess } from './build-management-access-event';

/** Why a request failed: its HTTP status, the OperationOutcome issue code, the message and the refusing rule. */
export interface AuditedFailure {
  readonly status: number;
  readonly issueCode: string;
  readonly message: string;
  /** The access rule that refused the request (FhirError.rule). */
  readonly rule?: string;
}

export interface AuditedExchange {
  readonly principal: Principal;
  /** The HTTP method. */
  readonly method: string;
  /** Path segments after the FHIR base. */
  readonly path: readonly string[];
  /** Query parameters as received (for POST _search, with the form's). */
  readonly query: readonly (readonly [string, string])[];
  /** The request as the FHIR layer received it; undefined when it could not be read as one (406, 413, 415, ...). */
  readonly request: FhirRequest | undefined;
  /** The FHIR layer's answer; undefined when the request failed. */
  readonly response: FhirResponse | undefined;
  readonly failure: AuditedFailure | undefined;
  /** X-Request-Id, as echoed to the client. */
  readonly requestId: string;
  /** The network address of the client (the TCP peer). */
  readonly clientAddress: string;
  /** The FHIR base URL the client addressed. */
  readonly baseUrl: string;
  readonly started: Date;
  readonly ended: Date;
}

/**
 * Hands finished requests (FHIR and management API) and policy decisions made at sign-in to the audit trail;
 * resolves once the AuditEvent is durable.
 */
export interface AuditRecorder {
  record(exchange: AuditedExchange): Promise<void>;
  recordPolicyDecision(decision: AuditedPolicyDecision): Promise<void>;
  recordManagementAccess(access: AuditedManagementAccess): Promise<void>;
}
