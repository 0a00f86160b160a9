/**
 * Membership of the Patient compartment as search criteria (compartmentdefinition-patient.html): a resource is in
 * Patient/X's compartment when one of its compartment parameters refers to Patient/X; Patient/X itself is too,
 * as is a Patient linked to it. Compartment searches and patient-confined access both use these criteria.
 */
import { patientCompartmentParameters } from '../definitions/compartments';
import { referenceKey } from './index-keys';
import type { Criterion } from './search-request';

/**
 * The criterion for `resourceType` resources in the compartment of any of the patients (ids); undefined for types
 * outside the compartment.
 */
export function patientsCompartmentCriterion(patientIds: readonly string[], resourceType: string): Criterion | undefined {
  const params = patientCompartmentParameters(resourceType);
  const linked: Criterion = { kind: 'keys', keys: patientIds.flatMap((id) => params.map((param) => referenceKey(param, `Patient/${id}`))) };
  if (resourceType === 'Patient') return { kind: 'any', groups: [[{ kind: 'ids', ids: [...patientIds] }], [linked]] };
  return params.length > 0 ? linked : undefined;
}

/** The criterion for `resourceType` resources in Patient/`patientId`'s compartment; undefined for types outside it. */
export function patientCompartmentCriterion(patientId: string, resourceType: string): Criterion | undefined {
  return patientsCompartmentCriterion([patientId], resourceType);
}

/** The criteria (AND) for `resourceType` resources outside Patient/`patientId`'s compartment; undefined for types outside it. */
export function outsidePatientCompartment(patientId: string, resourceType: string): Criterion[] | undefined {
  const params = patientCompartmentParameters(resourceType);
  const linked: Criterion = { kind: 'no-keys', keys: params.map((param) => referenceKey(param, `Patient/${patientId}`)) };
  if (resourceType === 'Patient') return [{ kind: 'no-ids', ids: [patientId] }, linked];
  return params.length > 0 ? [linked] : undefined;
}
