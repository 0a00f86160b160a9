/**
 * `_summary` and `_elements` (search.html#summary, #elements): a subset of each returned resource, marked with
 * the SUBSETTED tag so that nobody mistakes it for the whole. Mandatory elements, `id` and `meta` are always kept.
 */
import type { Coding, Resource } from '@medplum/fhirtypes';
import { topLevelElements, type TopLevelElement } from '../../definitions';
import type { SummaryMode } from '../../search/search-request';

const SUBSETTED: Coding = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };
const ALWAYS = new Set(['resourceType', 'id', 'meta']);

function elementOf(elements: readonly TopLevelElement[], key: string): TopLevelElement | undefined {
  return elements.find((e) => (e.choice ? key.startsWith(e.name) && /^[A-Z]/.test(key.slice(e.name.length)) : e.name === key.replace(/^_/, '')));
}

function subset(resource: Resource, keep: (element: TopLevelElement | undefined, key: string) => boolean): Resource {
  const elements = topLevelElements(resource.resourceType);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) {
    const element = elementOf(elements, key);
    if (ALWAYS.has(key) || element?.required || keep(element, key)) out[key] = value;
  }
  const meta = resource.meta ?? {};
  out.meta = { ...meta, tag: [...(meta.tag ?? []).filter((t) => t.code !== SUBSETTED.code || t.system !== SUBSETTED.system), SUBSETTED] };
  return out as unknown as Resource;
}

/** The resource as `_summary` / `_elements` ask for it; unchanged when neither applies. */
export function shapeResource(resource: Resource, summary: SummaryMode | undefined, elements: readonly string[] | undefined): Resource {
  if (elements !== undefined) return subset(resource, (element) => element !== undefined && elements.includes(element.name));
  switch (summary) {
    case 'true':
      return subset(resource, (element) => element?.summary === true);
    case 'text':
      return subset(resource, (_element, key) => key === 'text');
    case 'data':
      return subset(resource, (_element, key) => key !== 'text');
    default:
      return resource;
  }
}
