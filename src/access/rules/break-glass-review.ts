/**
 * The compliance review items of emergency accesses (Task coded break-glass#review, workflows/break-glass/) are
 * the organization's compliance records (requirements seed 000 2.1 "scheduled for post-incident compliance
 * review"): only the server creates them, nobody deletes them, only compliance reviewers (organization
 * administrators and flagged accounts) and the organization's system clients see and update them, and no reviewer
 * updates the review of their own emergency access. For everyone else they do not exist.
 */
import { referenceKey, tokenQueryKey } from '../../search/index-keys';
import type { Criterion } from '../../search/search-request';
import type { AccessRule, RuleAnswer } from '../access-policy';

export const BREAK_GLASS_REVIEW_RULE = 'break-glass-review';

/** This server's code system for emergency access: the review task, the override states and the task's inputs. */
export const BREAK_GLASS_SYSTEM = 'http://fhir-interop-server.org/fhir/CodeSystem/break-glass';
export const REVIEW_CODE = 'review';

const NOT_A_REVIEW: Criterion = { kind: 'no-keys', keys: [tokenQueryKey('code', BREAK_GLASS_SYSTEM, REVIEW_CODE)] };

const REASONS = {
  create: 'compliance review items of emergency accesses are created by the server when an emergency access starts',
  delete: "compliance review items of emergency accesses are the organization's compliance records and are never deleted",
  others: 'compliance review items of emergency accesses are for compliance reviewers only',
  own: 'nobody reviews their own emergency access',
};

export function breakGlassReviewRule(): AccessRule {
  return {
    name: BREAK_GLASS_REVIEW_RULE,
    decide: ({ principal, interaction, resourceType }): RuleAnswer => {
      if (resourceType !== 'Task') return { kind: 'abstain' };
      if (interaction === 'create' || interaction === 'delete') return { kind: 'restrict', filter: [NOT_A_REVIEW], reasons: [REASONS[interaction]] };
      if (principal.kind !== 'system' && !principal.complianceReviewer) return { kind: 'restrict', filter: [NOT_A_REVIEW], reasons: [REASONS.others] };
      if ((interaction === 'update' || interaction === 'patch') && principal.fhirUser) {
        const notOwn: Criterion = { kind: 'any', groups: [[NOT_A_REVIEW], [{ kind: 'no-keys', keys: [referenceKey('requester', principal.fhirUser)] }]] };
        return { kind: 'restrict', filter: [notOwn], reasons: [REASONS.own] };
      }
      return { kind: 'abstain' };
    },
  };
}
