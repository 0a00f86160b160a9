/**
 * Patients' consents restrict every read and write path (consent-directives.ts; DESIGN.md example 7: consent
 * hides before paging, so neither results nor totals reveal what it hides). For each restriction binding the
 * caller, the resources of the restricted patient (of the restricted types, carrying the restricted labels) are
 * excluded. A break-the-glass grant lifts the restrictions on its patient while it lasts (seed 000 2.1).
 */
import { outsidePatientCompartment } from '../../search/patient-compartment';
import type { Criterion } from '../../search/search-request';
import type { AccessRule, RuleAnswer } from '../access-policy';
import { labelKeys, type Restriction } from '../consent-directives';

export const CONSENT_RULE = 'consent';

/** Resources of `resourceType` not covered by the restriction: NOT (patient's AND labelled). */
function excluding(restriction: Restriction, resourceType: string): Criterion | undefined {
  if (restriction.classes.length > 0 && !restriction.classes.includes(resourceType)) return undefined;
  const outside = outsidePatientCompartment(restriction.patient, resourceType);
  if (!outside) return undefined;
  const labels = labelKeys(restriction);
  return labels.length === 0 ? { kind: 'any', groups: [outside] } : { kind: 'any', groups: [outside, [{ kind: 'no-keys', keys: labels }]] };
}

export function consentRule(): AccessRule {
  return {
    name: CONSENT_RULE,
    escalation:
      "The patient's consent withholds this data: only the patient can change that consent (ask the patient, or an organization administrator to contact the patient); in a clinical emergency, request break-the-glass access for the patient.",
    decide: ({ principal, resourceType, facts }): RuleAnswer => {
      const lifted = principal.breakGlass && principal.breakGlass.expiresAt.getTime() > Date.now() ? principal.breakGlass.patient : undefined;
      const filter = facts.restrictions.filter((r) => r.patient !== lifted).flatMap((r) => excluding(r, resourceType) ?? []);
      return filter.length > 0 ? { kind: 'restrict', filter } : { kind: 'abstain' };
    },
  };
}
