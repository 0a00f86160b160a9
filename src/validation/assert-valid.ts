/**
 * The validator the FHIR layer calls before storing anything: every error found becomes one issue of a single
 * 400 OperationOutcome, each with its FHIRPath location.
 */
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { validateResource } from './validate-resource';
import { FhirError } from '../errors';

export function assertValid(resource: unknown, expectedType: string): asserts resource is Resource {
  const errors = validateResource(resource, { expectedType }).filter((issue) => issue.severity === 'error');
  if (errors.length === 0) return;
  const issues = errors.map((issue) => ({
    severity: 'error',
    code: issue.code as OperationOutcomeIssue['code'],
    diagnostics: issue.diagnostics,
    ...(issue.expression.length > 0 ? { expression: issue.expression } : {}),
  })) as OperationOutcomeIssue[];
  throw new FhirError('invalid', errors[0]?.diagnostics ?? 'Invalid resource', { issues });
}
