/**
 * Required terminology bindings on `code` elements (terminologies.html#required): a `status`, `gender` or
 * `use` outside its value set is an error. @medplum/core's validator does not check bindings, so the codes of
 * every required value set that can be enumerated from the R4 definitions (listed concepts, or whole FHIR code
 * systems shipped with them) are checked here; value sets defined by filters or external terminologies
 * (SNOMED CT, LOINC) are left to a terminology service.
 */
import { getDataType, type InternalSchemaElement } from '@medplum/core';
import { expandValueSet } from '../definitions/value-sets';
import type { ValidationIssue } from './validate-resource';

const codeSets = new Map<string, ReadonlySet<string> | undefined>();

/** The codes of a required value set, or undefined when it cannot be enumerated from the definitions. */
function allowedCodes(url: string): ReadonlySet<string> | undefined {
  if (!codeSets.has(url)) {
    const expansion = expandValueSet(url);
    codeSets.set(url, expansion && new Set(expansion.map((c) => c.code)));
  }
  return codeSets.get(url);
}

function elementFor(elements: Record<string, InternalSchemaElement>, key: string): { element: InternalSchemaElement; type: string } | undefined {
  const direct = elements[key];
  if (direct) return direct.type.length === 1 ? { element: direct, type: direct.type[0]?.code as string } : undefined;
  for (const [name, element] of Object.entries(elements)) {
    if (!name.endsWith('[x]')) continue;
    const base = name.slice(0, -3);
    if (!key.startsWith(base)) continue;
    const suffix = key.slice(base.length);
    const type = element.type.find((t) => t.code.toLowerCase() === suffix.toLowerCase());
    if (type) return { element, type: type.code };
  }
  return undefined;
}

function check(value: unknown, typeName: string, path: string, issues: ValidationIssue[]): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) return;
  const schema = getDataType(typeName);
  if (!schema?.elements) return;
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    if (key === 'extension' || key === 'modifierExtension' || key.startsWith('_')) continue;
    const found = elementFor(schema.elements, key);
    if (!found) continue;
    const items = Array.isArray(child) ? child : [child];
    items.forEach((item, index) => {
      const at = `${path}.${key}${Array.isArray(child) ? `[${index}]` : ''}`;
      if (found.type === 'code') {
        const binding = found.element.binding;
        if (binding?.strength !== 'required' || typeof item !== 'string' || !binding.valueSet) return;
        const codes = allowedCodes(binding.valueSet.split('|')[0] as string);
        if (codes && !codes.has(item)) {
          issues.push({
            severity: 'error',
            code: 'code-invalid',
            diagnostics: `${at}: '${item}' is not in the required value set ${binding.valueSet.split('|')[0]} (allowed: ${[...codes].slice(0, 12).join(', ')}${codes.size > 12 ? ', ...' : ''})`,
            expression: [at],
          });
        }
      } else if (found.type === 'Resource' && typeof (item as { resourceType?: unknown })?.resourceType === 'string') {
        check(item, (item as { resourceType: string }).resourceType, at, issues);
      } else if (/^[A-Z]/.test(found.type)) {
        check(item, found.type, at, issues);
      }
    });
  }
}

/** Issues for `code` values outside their required value set, with FHIRPath locations. */
export function checkRequiredBindings(resource: { resourceType: string }): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  check(resource, resource.resourceType, resource.resourceType, issues);
  return issues;
}
