/**
 * An account that declined (or has not yet accepted) the current version of its organization's terms of use and
 * privacy policy keeps only essential access (requirements seed 000 5.4: "block all non-essential access except
 * for appeals or questions to staff"; auth/organization-policies.ts). Essential is:
 * - questions and appeals to staff: creating a Communication it sends (`sender` is its fhirUser) to at least one
 *   member of staff (a Practitioner, PractitionerRole, Organization, CareTeam or HealthcareService recipient), and
 *   reading the Communications it sent or received (the answers);
 * - appeals as work items, for the personas that may create Tasks: creating and reading Tasks it requests;
 * - finding whom to address: reading the organization's directory (practitioners, services, locations).
 * The policy itself is read at `GET /admin/policies/current`. Everything else is refused naming this rule, with the
 * escalation path. It only narrows: the persona table and the token's scopes still apply to what it leaves.
 */
import { DATA_CLASSES } from '../permissions';
import { referenceKey } from '../../search/index-keys';
import type { Criterion } from '../../search/search-request';
import { readsData, type AccessRule, type RuleAnswer } from '../access-policy';
import type { PolicyStanding } from '../../auth/principal';

export const ORGANIZATION_POLICY_RULE = 'organization-policy';

/** Recipients that are staff of the organization. */
const STAFF_TYPES = ['Practitioner', 'PractitionerRole', 'Organization', 'CareTeam', 'HealthcareService'];
const DIRECTORY: readonly string[] = DATA_CLASSES.directory;

const ESCALATION =
  "To restore your access, accept the current terms of use and privacy policy the next time you sign in (every sign-in shows them again until you accept). To ask a question or appeal, send a Communication from you (sender) to a member of staff, or create a Task you request; you can read the policy at GET /admin/policies/current.";

function reasonFor(standing: PolicyStanding): string {
  const what = `version ${standing.version} of your organization's terms of use and privacy policy`;
  return standing.status === 'declined'
    ? `you declined ${what}; until you accept it, only questions and appeals to staff are available`
    : `you have not accepted ${what} yet; until you do, only questions and appeals to staff are available`;
}

export function organizationPolicyRule(): AccessRule {
  return {
    name: ORGANIZATION_POLICY_RULE,
    escalation: ESCALATION,
    decide: ({ principal, interaction, resourceType }): RuleAnswer => {
      const standing = principal.policy;
      if (!standing) return { kind: 'abstain' };
      const reads = readsData(interaction);
      if (reads && DIRECTORY.includes(resourceType)) return { kind: 'abstain' };
      const me = principal.fhirUser;
      if (me && resourceType === 'Communication') {
        if (interaction === 'create') {
          const toStaff: Criterion = { kind: 'key-prefix', prefixes: STAFF_TYPES.map((type) => referenceKey('recipient', `${type}/`)) };
          return {
            kind: 'restrict',
            filter: [{ kind: 'keys', keys: [referenceKey('sender', me)] }, toStaff],
            reasons: [`${reasonFor(standing)}: the Communication must have you (${me}) as its sender`, `${reasonFor(standing)}: the Communication must be addressed to a member of staff (${STAFF_TYPES.join(', ')})`],
          };
        }
        if (reads) return { kind: 'restrict', filter: [{ kind: 'keys', keys: [referenceKey('sender', me), referenceKey('recipient', me)] }], reasons: [`${reasonFor(standing)}: only Communications you sent or received`] };
      }
      if (me && resourceType === 'Task' && (interaction === 'create' || reads)) {
        return { kind: 'restrict', filter: [{ kind: 'keys', keys: [referenceKey('requester', me)] }], reasons: [`${reasonFor(standing)}: only Tasks you request (appeals)`] };
      }
      return { kind: 'deny', reason: reasonFor(standing) };
    },
  };
}
