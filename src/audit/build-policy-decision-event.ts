/**
 * The AuditEvent of an organization policy decision (requirements seed 000 5.4): at sign-in an account accepts or
 * declines a version of its organization's terms of use and privacy policy. Not a RESTful interaction, so it has
 * no exchange: it is shaped like the request events (build-audit-event.ts: the same agents, source and request
 * entity) with its own type and subtype, the user as author of the decision, and the policy version as entity.
 * https://hl7.org/fhir/R4/auditevent.html
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import type { Principal } from '../auth/principal';
import { AUTHOR, OUTCOME, POLICY_DECISION_EVENT, POLICY_DECISIONS, SECURITY_RESOURCE_ROLE, SYSTEM_OBJECT_ENTITY } from './audit-codes';
import { describeAgents, describeSource, requestEntity, type AuditIdentity } from './build-audit-event';

/** One answer of an account to a version of its organization's policy, as the sign-in pages received it. */
export interface AuditedPolicyDecision {
  /** The account (a user principal of its organization) and the application whose authorization request it was. */
  readonly principal: Principal;
  readonly policy: { readonly id: string; readonly version: number; readonly title: string };
  readonly decision: keyof typeof POLICY_DECISIONS;
  /** Where the versions are published (the management API), the namespace of their ids. */
  readonly registry: string;
  readonly clientAddress: string;
  readonly requestId: string;
  readonly at: Date;
}

export function buildPolicyDecisionEvent(decision: AuditedPolicyDecision, identity: AuditIdentity): AuditEvent {
  const { principal, policy } = decision;
  const at = decision.at.toISOString();
  return {
    resourceType: 'AuditEvent',
    type: POLICY_DECISION_EVENT,
    subtype: [POLICY_DECISIONS[decision.decision]],
    // The decision is recorded (created) by the user's answer.
    action: 'C',
    period: { start: at, end: at },
    recorded: at,
    outcome: OUTCOME.success,
    outcomeDesc: `${decision.decision === 'accepted' ? 'Accepted' : 'Declined'} version ${policy.version} of the organization's policy "${policy.title}"`,
    // The answer flows from the user's browser to the authorization server.
    agent: describeAgents(principal, { user: AUTHOR, clientReceives: false }, decision.clientAddress, identity.issuer, identity),
    source: describeSource(principal.tenant, identity.issuer, identity),
    entity: [
      requestEntity(decision.requestId),
      {
        what: { identifier: { system: decision.registry, value: policy.id }, display: policy.title },
        type: SYSTEM_OBJECT_ENTITY,
        role: SECURITY_RESOURCE_ROLE,
        name: policy.title,
        detail: [
          { type: 'version', valueString: String(policy.version) },
          { type: 'decision', valueString: decision.decision },
        ],
      },
    ],
  };
}
