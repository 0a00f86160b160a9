/**
 * A FHIR search as the rest of the server sees it once its parameters are parsed (search.html): storage-neutral
 * criteria over the stored search values (index-keys.ts, extract-index-values.ts), sort rules, paging and the
 * result parameters. The storage adapter turns `Criterion` into its query language; chains and `_has` are
 * resolved into plain criteria by running their inner searches first.
 */

/** search.html#prefix */
export type Prefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';

/** A date search value: the interval its precision implies, and how a stored interval must relate to it. */
export interface DateCondition {
  readonly prefix: Prefix;
  readonly start: Date;
  /** Inclusive (the last millisecond). */
  readonly end: Date;
}

/** A number or quantity search value with the interval its precision implies (search.html#number). */
export interface NumberCondition {
  readonly prefix: Prefix;
  readonly value: number;
  /** Inclusive lower and exclusive upper bound implied by the value's precision (for eq, ne and ap). */
  readonly low: number;
  readonly high: number;
  /** Quantities: `system|code` must both match; a code alone (`||code`) matches the code or the unit. */
  readonly system?: string;
  readonly code?: string;
}

/** One component of a composite value. */
export type ComponentCondition =
  | { readonly kind: 'keys'; readonly keys: readonly string[] }
  | { readonly kind: 'key-prefix'; readonly prefix: string }
  | { readonly kind: 'date'; readonly condition: DateCondition }
  | { readonly kind: 'number'; readonly condition: NumberCondition };

/** Criteria the storage adapter evaluates; every one is a condition on one resource. */
export type Criterion =
  /** The resource's id is one of these. */
  | { readonly kind: 'ids'; readonly ids: readonly string[] }
  /** The resource's id is none of these. */
  | { readonly kind: 'no-ids'; readonly ids: readonly string[] }
  /** `_lastUpdated`: any of the conditions. */
  | { readonly kind: 'last-updated'; readonly conditions: readonly DateCondition[] }
  /** The resource has at least one of these keys. */
  | { readonly kind: 'keys'; readonly keys: readonly string[] }
  /** The resource has none of these keys (`:not`, `:missing=true`, `:not-in`). */
  | { readonly kind: 'no-keys'; readonly keys: readonly string[] }
  /** The resource has a key starting with one of these prefixes (string starts-with, `:below`, `:text`). */
  | { readonly kind: 'key-prefix'; readonly prefixes: readonly string[] }
  /** The resource has a key that starts with `prefix` and contains one of the fragments after it (`:contains`). */
  | { readonly kind: 'key-contains'; readonly prefix: string; readonly fragments: readonly string[] }
  /** A date parameter satisfies any of the conditions. */
  | { readonly kind: 'dates'; readonly param: string; readonly conditions: readonly DateCondition[] }
  /** A number or quantity parameter satisfies any of the conditions. */
  | { readonly kind: 'numbers'; readonly param: string; readonly conditions: readonly NumberCondition[] }
  /** One element selected by a composite parameter satisfies every component of one alternative. */
  | { readonly kind: 'composite'; readonly param: string; readonly alternatives: readonly (readonly ComponentCondition[])[] }
  /** Any of the groups matches (each group an AND of criteria). */
  | { readonly kind: 'any'; readonly groups: readonly (readonly Criterion[])[] };

/** `param:Type.rest=value` (search.html#chaining): a reference to a resource matching the inner criterion. */
export interface ChainCriterion {
  readonly kind: 'chain';
  readonly param: string;
  readonly targets: readonly { readonly type: string; readonly criterion: ParsedCriterion }[];
}

/** `_has:Type:param:rest=value` (search.html#has): referenced by a resource of Type matching the inner criterion. */
export interface HasCriterion {
  readonly kind: 'has';
  readonly type: string;
  readonly param: string;
  readonly criterion: ParsedCriterion;
}

/**
 * `param=id` without a type (search.html#reference): a reference to the resource with that id of whichever
 * target type holds it; an id held by resources of several target types is ambiguous and rejected.
 */
export interface BareReferenceCriterion {
  readonly kind: 'bare-reference';
  /** The parameter as the client named it, for messages. */
  readonly name: string;
  readonly param: string;
  readonly targets: readonly string[];
  readonly ids: readonly string[];
  /** Keys of the values given with a type, ORed with the ids. */
  readonly keys: readonly string[];
}

export type ParsedCriterion = Criterion | ChainCriterion | HasCriterion | BareReferenceCriterion;

export interface SortRule {
  /** A sortable parameter code, `_id` or `_lastUpdated`. */
  readonly param: string;
  readonly descending: boolean;
}

/** `_include` / `_revinclude` (search.html#include). */
export interface IncludeRule {
  /** The resource type that holds the reference. */
  readonly sourceType: string;
  /** A reference parameter of sourceType, or '*' for all of them. */
  readonly param: string;
  readonly targetType: string | undefined;
  readonly iterate: boolean;
}

export type TotalMode = 'none' | 'estimate' | 'accurate';
export type SummaryMode = 'true' | 'text' | 'data' | 'count' | 'false';

/** A parameter the server did not apply, and why (reported in lenient mode, an error in strict mode). */
export interface IgnoredParameter {
  readonly name: string;
  readonly reason: string;
}

export interface SearchRequest {
  /** One type for a type-level search; the `_type` list (or every type) for a system-level search. */
  readonly resourceTypes: readonly string[];
  /** The criteria (AND) for each type searched: a parameter means something different on each type. */
  readonly criteria: ReadonlyMap<string, readonly ParsedCriterion[]>;
  readonly sort: readonly SortRule[];
  readonly count: number;
  /** The paging position from a previous page's link. */
  readonly page: string | undefined;
  readonly total: TotalMode | undefined;
  readonly summary: SummaryMode | undefined;
  readonly elements: readonly string[] | undefined;
  readonly include: readonly IncludeRule[];
  readonly revinclude: readonly IncludeRule[];
  /** The parameters applied, in request order, for the Bundle's self link. */
  readonly applied: readonly (readonly [string, string])[];
  readonly ignored: readonly IgnoredParameter[];
}
