/**
 * Validation of a resource against the base R4 StructureDefinitions before it is stored (issue: REST core):
 * unknown elements, datatypes and primitive formats, cardinality, required elements and invariants come from
 * @medplum/core's validator, which reports every problem with its FHIRPath location; the id format and the
 * expected resource type are checked here, and required bindings in required-bindings.ts. Every issue is an
 * error: nothing invalid is stored.
 */
import { OperationOutcomeError, validateResource as validateWithMedplum } from '@medplum/core';
import type { OperationOutcomeIssue, Resource, SearchParameter } from '@medplum/fhirtypes';
import { isResourceType, loadDefinitions } from '../definitions';
import { checkRequiredBindings } from './required-bindings';
import { searchParameterProblems } from '../search/search-parameters';

/** One problem found in a resource, shaped as an OperationOutcome issue. */
export interface ValidationIssue {
  readonly severity: 'error' | 'warning' | 'information';
  readonly code: string;
  readonly diagnostics: string;
  readonly expression: string[];
}

const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

function issue(code: string, diagnostics: string, expression: string): ValidationIssue {
  return { severity: 'error', code, diagnostics, expression: [expression] };
}

function fromMedplum(raw: OperationOutcomeIssue): ValidationIssue {
  const where = raw.expression?.[0] ?? '';
  const detail = raw.details?.text ?? raw.diagnostics ?? 'Invalid element';
  return {
    severity: raw.severity === 'warning' || raw.severity === 'information' ? raw.severity : 'error',
    code: raw.code === 'structure' && /format|Invalid (date|value)/i.test(detail) ? 'value' : raw.code,
    diagnostics: where ? `${where}: ${detail}` : detail,
    expression: raw.expression ?? [],
  };
}

/** All problems of `resource` as a resource of `expectedType`; an empty list means valid. */
export function validateResource(resource: unknown, options: { expectedType?: string } = {}): ValidationIssue[] {
  loadDefinitions();
  if (resource === null || typeof resource !== 'object' || Array.isArray(resource)) {
    return [issue('structure', 'A resource must be a JSON object', '')];
  }
  const { resourceType, id } = resource as { resourceType?: unknown; id?: unknown };
  if (typeof resourceType !== 'string' || !isResourceType(resourceType)) {
    return [issue('structure', `Unknown resourceType '${String(resourceType)}'`, 'resourceType')];
  }
  if (options.expectedType && resourceType !== options.expectedType) {
    return [issue('invalid', `Expected a ${options.expectedType}, got a ${resourceType}`, 'resourceType')];
  }
  const issues: ValidationIssue[] = [];
  if (id !== undefined && (typeof id !== 'string' || !ID_PATTERN.test(id))) {
    issues.push(issue('value', `${resourceType}.id: ids are 1-64 characters of A-Z, a-z, 0-9, '-' and '.'`, `${resourceType}.id`));
  }
  try {
    validateWithMedplum(resource as Resource);
  } catch (error) {
    if (!(error instanceof OperationOutcomeError)) throw error;
    issues.push(...error.outcome.issue.map(fromMedplum));
  }
  issues.push(...checkRequiredBindings(resource as { resourceType: string }));
  // An active SearchParameter is a definition the server will index with: it must be one it can evaluate.
  if (resourceType === 'SearchParameter' && (resource as SearchParameter).status === 'active') {
    issues.push(...searchParameterProblems(resource as SearchParameter).map((p) => issue('business-rule', `${p.path}: ${p.message}`, p.path)));
  }
  return issues;
}
