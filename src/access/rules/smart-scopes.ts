/**
 * SMART scopes grant access (SMART App Launch 2.x, scopes-and-launch-context.html): an interaction on a type needs
 * a resource scope with its letter (c, r, u, d, s; v1 read = rs, write = cud). `patient/` scopes confine the
 * types of the Patient compartment to the launch patient's compartment (types outside it, such as Practitioner or
 * Medication, stay readable as named); v2 granular constraints (`?category=laboratory`) confine further. Several
 * scopes for the same type and interaction add up (any of them suffices).
 */
import type { Principal, ScopeInteraction, SmartScope } from '../../auth/principal';
import { parseSearchRequest } from '../../search/parse-search-request';
import { patientCompartmentCriterion } from '../../search/patient-compartment';
import type { SearchParameterRegistry } from '../../search/search-parameters';
import type { Criterion } from '../../search/search-request';
import { INTERACTION_LETTER, type AccessRule, type RuleAnswer } from '../access-policy';

export const SMART_SCOPES_RULE = 'smart-scopes';

/** Matches no resource: a scope whose confinement cannot be established grants nothing. */
const NOTHING: Criterion = { kind: 'ids', ids: [] };

/** A granular constraint as criteria; constraints that need other resources (chains, _has, bare ids) grant nothing. */
function constraintCriteria(parameters: SearchParameterRegistry, scope: SmartScope, resourceType: string): Criterion[] {
  try {
    const parsed = parseSearchRequest([...new URLSearchParams(scope.query)], [resourceType], { parameters, strict: true, defaultCount: 1, maxCount: 1, baseUrl: '' });
    const criteria = [...(parsed.criteria.get(resourceType) ?? [])];
    return criteria.every((c): c is Criterion => c.kind !== 'chain' && c.kind !== 'has' && c.kind !== 'bare-reference') ? criteria : [NOTHING];
  } catch {
    return [NOTHING];
  }
}

/** What one granting scope confines the type to (empty: the whole organization's resources of the type). */
function confinement(parameters: SearchParameterRegistry, principal: Principal, scope: SmartScope, resourceType: string): Criterion[] {
  const criteria: Criterion[] = [];
  if (scope.context === 'patient') {
    const patient = principal.launch.patient;
    const compartment = patient ? patientCompartmentCriterion(patient, resourceType) : NOTHING;
    if (compartment) criteria.push(compartment);
  }
  if (scope.query !== undefined) criteria.push(...constraintCriteria(parameters, scope, resourceType));
  return criteria;
}

function example(principal: Principal, letter: ScopeInteraction, resourceType: string): string {
  const context = principal.kind === 'system' ? 'system' : principal.launch.patient ? 'patient' : 'user';
  return `${context}/${resourceType}.${letter}`;
}

export function smartScopesRule(parameters: SearchParameterRegistry): AccessRule {
  return {
    name: SMART_SCOPES_RULE,
    escalation: 'Authorize the application again asking for the scope it needs; if your role does not allow that scope, ask an organization administrator of your organization.',
    decide: ({ principal, interaction, resourceType }): RuleAnswer => {
      const letter = INTERACTION_LETTER[interaction];
      const granting = principal.scopes.filter((s) => (s.resourceType === '*' || s.resourceType === resourceType) && s.interactions.has(letter));
      if (granting.length === 0) {
        const granted = principal.scopes.map((s) => s.raw).join(' ') || 'none';
        return { kind: 'deny', reason: `the access token has no scope allowing it; it needs a scope such as ${example(principal, letter, resourceType)} (granted: ${granted})` };
      }
      const groups = granting.map((scope) => confinement(parameters, principal, scope, resourceType));
      if (groups.some((group) => group.length === 0)) return { kind: 'allow' };
      return { kind: 'allow', filter: groups.length === 1 ? (groups[0] as Criterion[]) : [{ kind: 'any', groups }] };
    },
  };
}
