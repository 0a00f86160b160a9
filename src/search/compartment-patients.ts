/**
 * The patients a resource belongs to, by the Patient compartment definition (compartmentdefinition-patient.html):
 * the Patients its compartment parameters refer to, read with the same write-time value extraction that indexes
 * it, so a reference counts here exactly when a compartment search would find the resource by it.
 */
import type { Resource } from '@medplum/fhirtypes';
import { patientCompartmentParameters } from '../definitions/compartments';
import { indexValuesOf, type IndexerOptions } from './extract-index-values';
import { referenceKey } from './index-keys';
import { isIndexed, type SearchParameterRegistry } from './search-parameters';

const PATIENT_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * The ids of the patients whose compartment holds `resource`: a Patient is in its own compartment (and in those
 * of the Patients it links to); any other type through its compartment parameters. Empty for types outside it.
 */
export function listPatientsOf(resource: Resource, parameters: SearchParameterRegistry, options: IndexerOptions = {}): string[] {
  const patients = new Set<string>();
  if (resource.resourceType === 'Patient' && resource.id) patients.add(resource.id);
  const codes = patientCompartmentParameters(resource.resourceType);
  const definitions = codes.flatMap((code) => {
    const definition = parameters.get(resource.resourceType, code);
    return definition && isIndexed(definition) ? [definition] : [];
  });
  if (definitions.length === 0) return [...patients];
  const prefixes = codes.map((code) => referenceKey(code, 'Patient/'));
  for (const key of indexValuesOf(definitions, resource, options).k ?? []) {
    const prefix = prefixes.find((p) => key.startsWith(p));
    const id = prefix === undefined ? undefined : key.slice(prefix.length);
    // Versioned references are indexed in both forms; the plain one names the patient.
    if (id !== undefined && PATIENT_ID.test(id)) patients.add(id);
  }
  return [...patients];
}
