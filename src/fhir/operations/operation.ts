/**
 * Extended operations (operations.html): `$name` at system, type or instance level, each declared as data with its
 * OperationDefinition (kept as FHIR JSON in profiles/), so the router dispatches from the same list the
 * CapabilityStatement publishes. Input parameters come from the query (GET, operations that change nothing) or a
 * Parameters body (POST).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { OperationDefinition, Parameters } from '@medplum/fhirtypes';
import type { FhirRequest, FhirResponse } from '../fhir-request';
import type { FhirContext } from '../fhir-context';
import { PROFILES_DIR } from '../../search/search-parameters';
import { FhirError } from '../../errors';

/** Where an operation is invoked: on the base, on a type, or on one resource. */
export interface OperationTarget {
  readonly resourceType?: string;
  readonly id?: string;
}

export interface Operation {
  /** The code, without `$`. */
  readonly name: string;
  readonly definition: OperationDefinition;
  run(request: FhirRequest, context: FhirContext, target: OperationTarget, parameters: Parameters): Promise<FhirResponse>;
}

/** An OperationDefinition of profiles/ (OperationDefinition-<id>.json). */
export function readOperationDefinition(id: string): OperationDefinition {
  return JSON.parse(readFileSync(path.join(PROFILES_DIR, `OperationDefinition-${id}.json`), 'utf8')) as OperationDefinition;
}

/** The operation's input: the query of a GET, or the Parameters body of a POST (operations.html#request). */
export function operationParameters(request: FhirRequest, operation: Operation): Parameters {
  if (request.method === 'GET' || request.method === 'HEAD') {
    if (operation.definition.affectsState) throw new FhirError('method-not-allowed', `$${operation.name} changes data and must be invoked with POST`);
    return { resourceType: 'Parameters', parameter: request.query.map(([name, value]) => ({ name, valueString: value })) };
  }
  const body = request.body as Parameters | undefined;
  if (body === undefined) return { resourceType: 'Parameters', parameter: [] };
  if (body.resourceType !== 'Parameters') throw new FhirError('invalid', `$${operation.name} takes a Parameters resource, not a ${String(body.resourceType)}`, { expression: ['resourceType'] });
  return body;
}

/** Whether the operation is defined for this target (OperationDefinition.system / type / instance and resource). */
export function definedFor(operation: Operation, target: OperationTarget): boolean {
  const { definition } = operation;
  if (target.resourceType === undefined) return definition.system === true;
  if (!(definition.resource ?? []).includes(target.resourceType as never)) return false;
  return target.id === undefined ? definition.type === true : definition.instance === true;
}
