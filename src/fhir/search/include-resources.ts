/**
 * `_include` and `_revinclude` (search.html#include): the resources the matches refer to, and those that refer to
 * the matches, through named reference parameters (or all of a type's with `*`); `:iterate` repeats on what was
 * included until nothing new appears. Every lookup goes through the caller's read filter, so an include never
 * adds a resource the caller could not have searched for.
 */
import type { StoredVersion } from '../../storage/resource-store';
import type { IncludeRule } from '../../search/search-request';
import type { SearchParameterDefinition } from '../../search/search-parameters';
import { indexValuesOf } from '../../search/extract-index-values';
import { keyPrefix, referenceKey } from '../../search/index-keys';
import type { FhirContext } from '../fhir-context';
import { visibility } from './resolve-query';

/** Rounds of `:iterate` after the first; graphs deeper than this are cut (reported as truncated). */
const MAX_ITERATIONS = 4;

export interface Included {
  readonly versions: StoredVersion[];
  /** True when the include limit cut the result. */
  readonly truncated: boolean;
}

const identity = (version: StoredVersion): string => `${version.resourceType}/${version.id}`;

/** The reference parameters a rule follows from resources of `type`. */
function parametersOf(context: FhirContext, rule: IncludeRule, type: string): SearchParameterDefinition[] {
  if (rule.sourceType !== '*' && rule.sourceType !== type) return [];
  const all = context.searchParameters.indexed(type).filter((d) => d.type === 'reference');
  return rule.param === '*' ? all : all.filter((d) => d.code === rule.param);
}

/** `Type/id` references held in a parameter, limited to the rule's target type. */
function referencesOf(context: FhirContext, definition: SearchParameterDefinition, version: StoredVersion, targetType: string | undefined): string[] {
  if (!version.resource) return [];
  const prefix = keyPrefix(definition.code, 'r');
  const keys = indexValuesOf([definition], version.resource, { localBaseUrls: [context.baseUrl] }).k ?? [];
  return keys
    .filter((k) => k.startsWith(prefix))
    .map((k) => k.slice(prefix.length))
    .filter((reference) => /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(reference) && (!targetType || reference.startsWith(`${targetType}/`)));
}

async function forward(context: FhirContext, rules: readonly IncludeRule[], from: readonly StoredVersion[], limit: number): Promise<StoredVersion[]> {
  const wanted = new Map<string, Set<string>>();
  for (const rule of rules) {
    for (const version of from) {
      for (const definition of parametersOf(context, rule, version.resourceType)) {
        for (const reference of referencesOf(context, definition, version, rule.targetType)) {
          const [type = '', id = ''] = reference.split('/');
          if (!context.registry.types.has(type)) continue;
          wanted.set(type, (wanted.get(type) ?? new Set()).add(id));
        }
      }
    }
  }
  const found = await Promise.all(
    [...wanted].map(async ([type, ids]) => {
      const query = { resourceType: type, criteria: [{ kind: 'ids' as const, ids: [...ids] }, ...visibility(context, type)] };
      return (await context.store.search({ queries: [query], sort: [], count: limit })).versions;
    }),
  );
  return found.flat();
}

async function reverse(context: FhirContext, rules: readonly IncludeRule[], from: readonly StoredVersion[], limit: number): Promise<StoredVersion[]> {
  const found = await Promise.all(
    rules.flatMap((rule) => {
      const sourceTypes = rule.sourceType === '*' ? [] : [rule.sourceType];
      return sourceTypes.flatMap((sourceType) =>
        parametersOf(context, rule, sourceType).map(async (definition) => {
          const targets = from.filter((v) => (!rule.targetType || v.resourceType === rule.targetType) && (definition.targets.length === 0 || definition.targets.includes(v.resourceType)));
          if (targets.length === 0) return [];
          const keys = targets.map((v) => referenceKey(definition.code, identity(v)));
          const query = { resourceType: sourceType, criteria: [{ kind: 'keys' as const, keys }, ...visibility(context, sourceType)] };
          return (await context.store.search({ queries: [query], sort: [], count: limit })).versions;
        }),
      );
    }),
  );
  return found.flat();
}

/** Resources to add to a page of matches, each once and never a match again, at most `limit`. */
export async function includeResources(context: FhirContext, matches: readonly StoredVersion[], include: readonly IncludeRule[], revinclude: readonly IncludeRule[], limit: number): Promise<Included> {
  const seen = new Set(matches.map(identity));
  const added: StoredVersion[] = [];
  let truncated = false;
  const take = (versions: StoredVersion[]): StoredVersion[] => {
    const fresh: StoredVersion[] = [];
    for (const version of versions) {
      if (seen.has(identity(version))) continue;
      if (added.length >= limit) {
        truncated = true;
        break;
      }
      seen.add(identity(version));
      added.push(version);
      fresh.push(version);
    }
    return fresh;
  };
  let frontier = take([...(await forward(context, include.filter((r) => !r.iterate), matches, limit + 1)), ...(await reverse(context, revinclude.filter((r) => !r.iterate), matches, limit + 1))]);
  const iterating = { include: include.filter((r) => r.iterate), revinclude: revinclude.filter((r) => r.iterate) };
  if (iterating.include.length + iterating.revinclude.length > 0) {
    // The first iteration also starts from the matches; later ones only from what the previous one added.
    let source: readonly StoredVersion[] = [...matches, ...frontier];
    for (let round = 0; round < MAX_ITERATIONS && source.length > 0 && !truncated; round++) {
      frontier = take([...(await forward(context, iterating.include, source, limit + 1)), ...(await reverse(context, iterating.revinclude, source, limit + 1))]);
      source = frontier;
    }
  }
  return { versions: added, truncated };
}
