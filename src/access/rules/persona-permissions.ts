/**
 * The persona permission table (permissions.ts) applied to every request of a person: an interaction on a type
 * needs a grant of the account's persona, and conditional grants confine it to the patients the user cares for,
 * its department's resources, or its own record. A break-the-glass grant adds its patient to those the user cares
 * for until it expires (requirements seed 000 2.1); approved elevated permissions add grants while they last
 * (seed 000 5.3). System clients are left to their scopes.
 */
import type { Principal } from '../../auth/principal';
import { patientCompartmentCriterion, patientsCompartmentCriterion } from '../../search/patient-compartment';
import { referenceKey } from '../../search/index-keys';
import type { Criterion } from '../../search/search-request';
import { INTERACTION_LETTER, type AccessQuestion, type AccessRule, type RuleAnswer } from '../access-policy';
import { departmentService, type AccessFacts } from '../access-facts';
import { grantsFor, type Condition } from '../permissions';

export const PERSONA_RULE = 'persona-permissions';

const NOTHING: Criterion = { kind: 'ids', ids: [] };

/** The parameter by which a type names the department (HealthcareService) it is assigned to. */
const DEPARTMENT_PARAMETER: Readonly<Record<string, string>> = { ServiceRequest: 'performer', Schedule: 'actor', Appointment: 'actor', AppointmentResponse: 'actor' };

/** The patients whose records the user may reach through a care relationship, now. */
export function caredFor(principal: Principal, facts: AccessFacts, now = Date.now()): string[] {
  const emergency = principal.breakGlass && principal.breakGlass.expiresAt.getTime() > now ? [principal.breakGlass.patient] : [];
  return [...new Set([...facts.patients, ...emergency])];
}

function confinement(condition: Condition, question: AccessQuestion): Criterion {
  const { principal, facts, resourceType } = question;
  switch (condition) {
    case 'own-record': {
      const own = principal.fhirUser?.startsWith('Patient/') ? principal.fhirUser.slice('Patient/'.length) : undefined;
      return (own && patientCompartmentCriterion(own, resourceType)) || NOTHING;
    }
    case 'care-relationship':
      return patientsCompartmentCriterion(caredFor(principal, facts), resourceType) ?? NOTHING;
    case 'department': {
      const department = departmentService(principal);
      if (!department) return NOTHING;
      if (resourceType === 'Slot') return { kind: 'keys', keys: facts.departmentSchedules.map((id) => referenceKey('schedule', `Schedule/${id}`)) };
      const param = DEPARTMENT_PARAMETER[resourceType];
      return param ? { kind: 'keys', keys: [referenceKey(param, department)] } : NOTHING;
    }
  }
}

const VERBS = { c: 'create', r: 'read', u: 'update', d: 'delete', s: 'search' } as const;

export function personaPermissionsRule(): AccessRule {
  return {
    name: PERSONA_RULE,
    escalation:
      "If your work requires it, ask an organization administrator of your organization to review your role, your department or the patient's care team, or to grant temporary elevated permissions; in a clinical emergency, request break-the-glass access for the patient.",
    decide: (question): RuleAnswer => {
      const { principal, interaction, resourceType } = question;
      if (principal.kind !== 'user' || !principal.role) return { kind: 'abstain' };
      const letter = INTERACTION_LETTER[interaction];
      const grants = grantsFor(principal.role, resourceType, letter);
      // Time-boxed elevated permissions (seed 000 5.3) add to the table while they are in effect.
      if (question.facts.elevations.some((e) => e.grants.some((g) => g.types.includes(resourceType) && g.allow.includes(letter)))) return { kind: 'allow' };
      if (grants.length === 0) {
        return {
          kind: 'deny',
          reason: `the ${principal.role} role may not ${VERBS[letter]} ${resourceType} resources`,
        };
      }
      if (grants.some((grant) => grant.when === undefined)) return { kind: 'allow' };
      const groups = [...new Set(grants.map((grant) => grant.when as Condition))].map((condition) => [confinement(condition, question)]);
      return { kind: 'allow', filter: groups.length === 1 ? (groups[0] as Criterion[]) : [{ kind: 'any', groups }] };
    },
  };
}
