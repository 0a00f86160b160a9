/**
 * Patient/[id]/$everything (patient-operation-everything.html): the patient and every resource of its compartment
 * the caller may read, as one paged searchset across types. Supports `_since`, `_type` and `_count`.
 */
import type { Parameters } from '@medplum/fhirtypes';
import { patientCompartmentParameters, patientRecordTypes } from '../../definitions/compartments';
import type { FhirRequest, FhirResponse } from '../fhir-request';
import type { FhirContext } from '../fhir-context';
import { searchIn } from '../interactions/search';
import { requireLive } from '../interactions/read';
import { readOperationDefinition, type Operation, type OperationTarget } from './operation';
import { FhirError } from '../../errors';

function value(parameters: Parameters, name: string): string | undefined {
  return parameters.parameter?.find((p) => p.name === name)?.valueString ?? undefined;
}

export const patientEverything: Operation = {
  name: 'everything',
  definition: readOperationDefinition('Patient-everything'),
  async run(request: FhirRequest, context: FhirContext, target: OperationTarget, parameters: Parameters): Promise<FhirResponse> {
    const id = target.id as string;
    context.access.checkRead('read', requireLive(await context.store.read('Patient', id), 'Patient', id));
    const inCompartment = [...context.registry.types.keys()].filter((type) => type === 'Patient' || patientCompartmentParameters(type).length > 0);
    const wanted = value(parameters, '_type')?.split(',') ?? patientRecordTypes(inCompartment);
    for (const type of wanted) {
      if (!inCompartment.includes(type)) throw new FhirError('invalid', `_type: ${type.slice(0, 80)} is not in the Patient compartment`, { expression: ['_type'] });
    }
    const types = wanted.filter((type) => context.access.permits('search-type', type));
    const since = value(parameters, '_since');
    // _since becomes _lastUpdated, which the paging links then carry; start and end are reported as not applied.
    const passed = new Set(['_count', '_page', '_lastUpdated', 'start', 'end']);
    const query: (readonly [string, string])[] = [...request.query.filter(([name]) => passed.has(name)), ...(since ? [['_lastUpdated', `ge${since}`] as const] : [])];
    return searchIn({ ...request, query }, context, {
      types,
      path: `Patient/${id}/$everything`,
      compartment: { type: 'Patient', id },
      fixed: request.query.filter(([name]) => name === '_type'),
    });
  },
};
