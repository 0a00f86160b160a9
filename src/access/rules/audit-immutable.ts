/**
 * The audit trail cannot be changed through the API (seed 000 section 7; issue 6 "Audit"): create, update, patch
 * and delete of AuditEvent are refused on every path, direct, conditional or inside a batch or transaction,
 * whatever the token's scopes. Only the audit sink writes AuditEvents, through the storage port.
 * https://hl7.org/fhir/R4/auditevent.html
 */
import type { AccessInteraction, AccessRule, RuleAnswer } from '../access-policy';

export const AUDIT_IMMUTABLE_RULE = 'audit-immutable';

const WRITES = new Set<AccessInteraction>(['create', 'update', 'patch', 'delete']);

export function auditImmutableRule(): AccessRule {
  return {
    name: AUDIT_IMMUTABLE_RULE,
    decide: ({ interaction, resourceType }): RuleAnswer =>
      resourceType === 'AuditEvent' && WRITES.has(interaction)
        ? { kind: 'deny', reason: 'AuditEvents are recorded by the server for every access and can never be created, changed or deleted through the API' }
        : { kind: 'abstain' },
  };
}
