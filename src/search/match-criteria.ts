/**
 * Parses the search parameters of conditional interactions and simple searches into MatchCriteria: `_id`,
 * `identifier` (token forms) and `_lastUpdated` (date with prefixes). Commas are OR, repeated parameters AND
 * (search.html#combining). The search issue replaces this with the full SearchRequest parser.
 */
import type { MatchCriteria, TokenValue } from '../storage/resource-store';
import { parseDateRange } from './date-range';
import { FhirError } from '../errors';

type LastUpdated = NonNullable<MatchCriteria['lastUpdated']>[number];

/** Parameters that shape the result, not the match; the caller handles them. */
export const RESULT_PARAMETERS = new Set(['_count', '_page', '_format', '_pretty', '_summary', '_elements', '_total', '_sort']);

export interface ParsedCriteria {
  readonly criteria: MatchCriteria;
  /** Parameters that were not understood (search.html#errors: ignored when lenient). */
  readonly unknown: string[];
}

/** Splits a parameter value on commas not escaped with a backslash (search.html#escaping); parts stay escaped. */
export function splitValues(value: string): string[] {
  return value.split(/(?<!\\),/);
}

/** Splits `system|code` on the first unescaped bar. */
export function parseToken(value: string): TokenValue {
  const bar = value.search(/(?<!\\)\|/);
  if (bar < 0) return { system: undefined, code: unescapeValue(value) };
  const code = value.slice(bar + 1);
  return { system: unescapeValue(value.slice(0, bar)), code: code === '' ? undefined : unescapeValue(code) };
}

export function unescapeValue(value: string): string {
  return value.replace(/\\([,|$\\])/g, '$1');
}

function parseLastUpdated(value: string): LastUpdated {
  const prefixed = /^(eq|gt|ge|lt|le)/.exec(value);
  const prefix = (prefixed?.[1] ?? 'eq') as LastUpdated['prefix'];
  const range = parseDateRange(value.slice(prefixed ? 2 : 0));
  if (!range) {
    throw new FhirError('invalid-search', `Invalid _lastUpdated value '${value}': expected [prefix]YYYY[-MM[-DD[Thh:mm[:ss[.sss]][Z|(+|-)hh:mm]]]] with prefix eq, gt, ge, lt or le`, {
      expression: ['_lastUpdated'],
    });
  }
  return { prefix, ...range };
}

/** Parses query parameters; malformed values of understood parameters are 400 errors. */
export function parseMatchCriteria(query: readonly (readonly [string, string])[]): ParsedCriteria {
  let ids: string[] | undefined;
  const identifiers: TokenValue[][] = [];
  const lastUpdated: LastUpdated[] = [];
  const unknown: string[] = [];
  for (const [name, value] of query) {
    if (RESULT_PARAMETERS.has(name)) continue;
    if (name === '_id') {
      const values = splitValues(value).map(unescapeValue);
      ids = ids ? ids.filter((id) => values.includes(id)) : values;
    } else if (name === 'identifier') {
      identifiers.push(splitValues(value).map(parseToken));
    } else if (name === '_lastUpdated') {
      lastUpdated.push(parseLastUpdated(value));
    } else {
      unknown.push(name);
    }
  }
  const criteria: MatchCriteria = {
    ...(ids ? { ids } : {}),
    ...(identifiers.length > 0 ? { identifiers } : {}),
    ...(lastUpdated.length > 0 ? { lastUpdated } : {}),
  };
  return { criteria, unknown };
}
