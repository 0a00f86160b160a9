/**
 * Parses search parameters (search.html) into a SearchRequest: parameter types, modifiers and prefixes,
 * escaping, comma (OR) and repetition (AND), chains and `_has`, and the result parameters. Malformed values are
 * 400s naming the parameter; unknown or unsupported parameters are an error in strict mode
 * (`Prefer: handling=strict`, conditional interactions) and otherwise skipped and reported (search.html#errors).
 * Values only ever become data in the criteria, never query syntax.
 */
import { isResourceType } from '../definitions';
import { expandValueSet } from '../definitions/value-sets';
import { FhirError } from '../errors';
import { parseDateRange } from './date-range';
import {
  exactKey,
  identifierTypeKey,
  keyPrefix,
  normalizeString,
  presenceKey,
  referenceIdentifierQueryKey,
  referenceKey,
  stringKey,
  tokenQueryKey,
  tokenTextKey,
  uriKey,
} from './index-keys';
import { isIndexed, RESULT_PARAMETERS, type SearchParameterDefinition, type SearchParameterRegistry } from './search-parameters';
import type {
  ComponentCondition,
  Criterion,
  DateCondition,
  IgnoredParameter,
  IncludeRule,
  NumberCondition,
  ParsedCriterion,
  Prefix,
  SearchRequest,
  SortRule,
  SummaryMode,
  TotalMode,
} from './search-request';

export interface ParseOptions {
  readonly parameters: SearchParameterRegistry;
  /** Strict handling: unknown and unsupported parameters are errors. */
  readonly strict: boolean;
  readonly defaultCount: number;
  readonly maxCount: number;
  /** The FHIR base URL of this server: absolute references to it are searched as `Type/id`. */
  readonly baseUrl: string;
}

const PREFIXES: readonly Prefix[] = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'];
const MAX_VALUES = 100;
const MAX_DEPTH = 3;
const MODIFIERS: Record<string, readonly string[]> = {
  string: ['exact', 'contains', 'missing'],
  token: ['not', 'text', 'in', 'not-in', 'of-type', 'missing'],
  reference: ['identifier', 'missing'],
  uri: ['below', 'above', 'missing'],
  date: ['missing'],
  number: ['missing'],
  quantity: ['missing'],
  composite: ['missing'],
};
/** Modifiers the specification defines that this server does not evaluate (subsumption needs a terminology server). */
const UNSUPPORTED_MODIFIERS: Record<string, readonly string[]> = { token: ['above', 'below'], reference: ['above', 'below'], string: ['text'] };

function invalid(name: string, message: string): FhirError {
  return new FhirError('invalid-search', `Parameter '${name}': ${message}`, { expression: [name] });
}

/** Splits on a separator not escaped with a backslash (search.html#escaping); the parts keep their escapes. */
export function splitUnescaped(value: string, separator: ',' | '|' | '$'): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const char = value[i] as string;
    if (char === '\\' && i + 1 < value.length) {
      current += char + (value[i + 1] as string);
      i++;
    } else if (char === separator) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

export function unescapeValue(value: string): string {
  return value.replace(/\\([,|$\\])/g, '$1');
}

/** Parses `[prefix]value`, defaulting to eq. */
function splitPrefix(value: string): { prefix: Prefix; rest: string } {
  const candidate = value.slice(0, 2) as Prefix;
  return PREFIXES.includes(candidate) && /^[a-z]{2}[0-9+\-.]/.test(value) ? { prefix: candidate, rest: value.slice(2) } : { prefix: 'eq', rest: value };
}

export function parseDateCondition(name: string, value: string): DateCondition {
  const { prefix, rest } = splitPrefix(value);
  // A '+' offset sent unencoded in a URL arrives as a space (application/x-www-form-urlencoded).
  const range = parseDateRange(rest.replace(/(T[\d:.]+) (\d{2}:\d{2})$/, '$1+$2'));
  if (!range) {
    throw invalid(name, `'${value}' is not a date: expected [prefix]YYYY[-MM[-DD[Thh:mm[:ss[.sss]][Z|(+|-)hh:mm]]]] with prefix ${PREFIXES.join(', ')}`);
  }
  return { prefix, start: range.start, end: range.end };
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** A number with the range its precision implies: `100` is [99.5, 100.5), `1e2` is [50, 150) (search.html#number). */
export function parseNumberCondition(name: string, value: string): NumberCondition {
  const { prefix, rest } = splitPrefix(value);
  if (!NUMBER.test(rest)) throw invalid(name, `'${value}' is not a number: expected [prefix]decimal such as 100, ge5.4 or 1e3`);
  const [mantissa = '', exponent = '0'] = rest.toLowerCase().split('e');
  const decimals = mantissa.includes('.') ? mantissa.length - mantissa.indexOf('.') - 1 : 0;
  const half = 0.5 * 10 ** (Number(exponent) - decimals);
  const number = Number(rest);
  return { prefix, value: number, low: number - half, high: number + half };
}

function parseQuantityCondition(name: string, value: string): NumberCondition {
  const parts = splitUnescaped(value, '|');
  if (parts.length !== 1 && parts.length !== 3) {
    throw invalid(name, `'${value}' is not a quantity: expected [prefix]number, [prefix]number|system|code or [prefix]number||code`);
  }
  const condition = parseNumberCondition(name, parts[0] as string);
  if (parts.length === 1) return condition;
  const system = unescapeValue(parts[1] as string);
  const code = unescapeValue(parts[2] as string);
  return { ...condition, ...(system ? { system } : {}), ...(code ? { code } : {}) };
}

/** `system|code`, `|code`, `system|` or `code` (search.html#token). */
export function parseToken(value: string): { system: string | undefined; code: string | undefined } {
  const parts = splitUnescaped(value, '|');
  if (parts.length === 1) return { system: undefined, code: unescapeValue(value) };
  const [system = '', ...rest] = parts;
  const code = rest.join('|');
  return { system: unescapeValue(system), code: code === '' ? undefined : unescapeValue(code) };
}

interface ParamName {
  readonly code: string;
  readonly modifier: string | undefined;
}

function splitName(name: string): ParamName {
  const colon = name.indexOf(':');
  return colon < 0 ? { code: name, modifier: undefined } : { code: name.slice(0, colon), modifier: name.slice(colon + 1) };
}

class Parser {
  readonly ignored: IgnoredParameter[] = [];

  constructor(private readonly options: ParseOptions) {}

  /** Skips (lenient) or rejects (strict) a parameter the server does not apply. */
  skip(name: string, reason: string): undefined {
    if (this.options.strict) {
      throw new FhirError('invalid-search', `Parameter '${name}' ${reason}`, { expression: [name] });
    }
    this.ignored.push({ name, reason });
    return undefined;
  }

  values(name: string, value: string, separator: ',' | '$' = ','): string[] {
    const illegal = /\\(?![,|$\\])/.exec(value.replace(/\\\\/g, ''));
    if (illegal) throw invalid(name, `'${value.slice(0, 80)}' has an illegal escape; only \\, \\| \\$ and \\\\ may be escaped (search.html#escaping)`);
    const values = splitUnescaped(value, separator);
    if (values.length > MAX_VALUES) throw invalid(name, `at most ${MAX_VALUES} values may be given`);
    return values;
  }

  /** One `name=value` pair on `type`, or undefined when skipped. */
  criterion(type: string, name: string, value: string, depth = 0): ParsedCriterion | undefined {
    if (depth > MAX_DEPTH) throw invalid(name, `chains and _has may nest at most ${MAX_DEPTH} levels`);
    if (name.startsWith('_has:')) return this.has(type, name, value, depth);
    const dot = name.indexOf('.');
    if (dot > 0) return this.chain(type, name, dot, value, depth);
    const { code, modifier } = splitName(name);
    if (code === '_id') return this.ids(name, modifier, value);
    if (code === '_lastUpdated') {
      if (modifier !== undefined) throw invalid(name, `_lastUpdated takes no modifier`);
      return { kind: 'last-updated', conditions: this.values(name, value).map((v) => parseDateCondition(name, v)) };
    }
    const definition = this.options.parameters.get(type, code);
    if (!definition) return this.skip(name, `is not a search parameter of ${type}`);
    if (!isIndexed(definition)) return this.skip(name, `is not supported by this server`);
    if (this.options.parameters.isPending(type, code)) return this.skip(name, 'is still being indexed; it can be searched once its reindex job has finished');
    return this.parameter(type, name, definition, modifier, value);
  }

  private ids(name: string, modifier: string | undefined, value: string): Criterion {
    if (modifier !== undefined) throw invalid(name, '_id takes no modifier');
    const ids = this.values(name, value).map(unescapeValue);
    for (const id of ids) if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) throw invalid(name, `'${id.slice(0, 80)}' is not a valid resource id`);
    return { kind: 'ids', ids };
  }

  private parameter(type: string, name: string, definition: SearchParameterDefinition, modifier: string | undefined, value: string): ParsedCriterion {
    const code = definition.code;
    if (modifier === 'missing') {
      if (value !== 'true' && value !== 'false') throw invalid(name, `:missing takes true or false, not '${value}'`);
      return { kind: value === 'true' ? 'no-keys' : 'keys', keys: [presenceKey(code)] };
    }
    const allowed = MODIFIERS[definition.type] ?? [];
    if (modifier !== undefined && !allowed.includes(modifier) && !(definition.type === 'reference' && isResourceType(modifier))) {
      if (UNSUPPORTED_MODIFIERS[definition.type]?.includes(modifier)) throw invalid(name, `the :${modifier} modifier is not supported by this server`);
      throw invalid(name, `unknown modifier ':${modifier}' for a ${definition.type} parameter; allowed: ${allowed.map((m) => `:${m}`).join(', ')}${definition.type === 'reference' ? ', :[type]' : ''}`);
    }
    const values = this.values(name, value);
    switch (definition.type) {
      case 'string':
        return stringCriterion(name, code, modifier, values);
      case 'token':
        return tokenCriterion(name, code, modifier, values);
      case 'reference':
        return this.reference(name, definition, modifier, values);
      case 'uri':
        return uriCriterion(name, code, modifier, values);
      case 'date':
        return { kind: 'dates', param: code, conditions: values.map((v) => parseDateCondition(name, v)) };
      case 'number':
        return { kind: 'numbers', param: code, conditions: values.map((v) => parseNumberCondition(name, v)) };
      case 'quantity':
        return { kind: 'numbers', param: code, conditions: values.map((v) => parseQuantityCondition(name, v)) };
      case 'composite':
        return { kind: 'composite', param: code, alternatives: values.map((v) => this.composite(name, definition, v)) };
      default:
        throw invalid(name, `${definition.type} parameters are not supported`);
    }
  }

  private reference(name: string, definition: SearchParameterDefinition, modifier: string | undefined, values: string[]): ParsedCriterion {
    const keys: string[] = [];
    const ids: string[] = [];
    for (const raw of values) {
      const key = this.referenceKey(name, definition, modifier, raw);
      if (key !== undefined) keys.push(key);
      else ids.push(unescapeValue(raw));
    }
    if (ids.length === 0) return { kind: 'keys', keys };
    if (definition.targets.length === 0) throw invalid(name, `'${ids[0]}' needs a type: give Type/${ids[0]}`);
    return { kind: 'bare-reference', name, param: definition.code, targets: definition.targets, ids, keys };
  }

  /** The key of one reference value, or undefined for a bare id (resolved against the stored resources). */
  private referenceKey(name: string, definition: SearchParameterDefinition, modifier: string | undefined, raw: string): string | undefined {
    const code = definition.code;
    if (modifier === 'identifier') {
      const { system, code: identifier } = parseToken(raw);
      return referenceIdentifierQueryKey(code, system, identifier);
    }
    let value = unescapeValue(raw);
    if (value.startsWith(`${this.options.baseUrl}/`)) value = value.slice(this.options.baseUrl.length + 1);
    if (modifier !== undefined) {
      if (definition.targets.length > 0 && !definition.targets.includes(modifier)) {
        throw invalid(name, `${modifier} is not a target of ${code} (targets: ${definition.targets.join(', ')})`);
      }
      const [type, id] = value.includes('/') ? value.split('/') : [modifier, value];
      if (type !== modifier || !id) throw invalid(name, `'${value}' is not an id of a ${modifier}`);
      return referenceKey(code, `${modifier}/${id}`);
    }
    return /^[A-Za-z0-9\-.]{1,64}$/.test(value) ? undefined : referenceKey(code, value);
  }

  private composite(name: string, definition: SearchParameterDefinition, value: string): ComponentCondition[] {
    const parts = this.values(name, value, '$');
    if (parts.length !== definition.components.length) {
      throw invalid(name, `'${value}' must have ${definition.components.length} components separated by '$'`);
    }
    return parts.map((part, i): ComponentCondition => {
      const component = (definition.components[i] as (typeof definition.components)[number]).definition;
      switch (component.type) {
        case 'token': {
          const { system, code } = parseToken(part);
          return { kind: 'keys', keys: [tokenQueryKey('', system, code)] };
        }
        case 'string':
          return { kind: 'key-prefix', prefix: stringKey('', normalizeString(unescapeValue(part))) };
        case 'reference':
          return { kind: 'keys', keys: [referenceKey('', unescapeValue(part))] };
        case 'uri':
          return { kind: 'keys', keys: [uriKey('', unescapeValue(part))] };
        case 'date':
          return { kind: 'date', condition: parseDateCondition(name, part) };
        case 'number':
          return { kind: 'number', condition: parseNumberCondition(name, part) };
        case 'quantity':
          return { kind: 'number', condition: parseQuantityCondition(name, part) };
        default:
          throw invalid(name, `component ${i + 1} has unsupported type ${component.type}`);
      }
    });
  }

  /** `param[:Type].rest` (search.html#chaining). */
  private chain(type: string, name: string, dot: number, value: string, depth: number): ParsedCriterion | undefined {
    const { code, modifier } = splitName(name.slice(0, dot));
    const rest = name.slice(dot + 1);
    const definition = this.options.parameters.get(type, code);
    if (!definition) return this.skip(name, `is not a search parameter of ${type}`);
    if (definition.type !== 'reference') throw invalid(name, `only reference parameters can be chained; ${code} is a ${definition.type} parameter`);
    if (modifier !== undefined && !isResourceType(modifier)) throw invalid(name, `'${modifier}' is not a resource type`);
    const innerCode = splitName(rest.split('.')[0] as string).code;
    const candidates = modifier ? [modifier] : definition.targets;
    const targets = candidates.filter((target) => innerCode.startsWith('_has') || innerCode === '_id' || innerCode === '_lastUpdated' || this.options.parameters.get(target, innerCode));
    if (targets.length === 0) throw invalid(name, `no target of ${code} (${candidates.join(', ') || 'none'}) has a search parameter '${innerCode}'`);
    const resolved = targets.flatMap((target) => {
      const criterion = this.criterion(target, rest, value, depth + 1);
      return criterion ? [{ type: target, criterion }] : [];
    });
    return resolved.length > 0 ? { kind: 'chain', param: code, targets: resolved } : undefined;
  }

  /** `_has:Type:param:rest` (search.html#has). */
  private has(type: string, name: string, value: string, depth: number): ParsedCriterion | undefined {
    const [, sourceType = '', param = '', ...restParts] = name.split(':');
    const rest = restParts.join(':');
    if (!isResourceType(sourceType) || !param || !rest) throw invalid(name, `expected _has:Type:referenceParameter:parameter, e.g. _has:Observation:patient:code`);
    const definition = this.options.parameters.get(sourceType, param);
    if (!definition || definition.type !== 'reference') throw invalid(name, `${param} is not a reference parameter of ${sourceType}`);
    if (definition.targets.length > 0 && !definition.targets.includes(type)) throw invalid(name, `${sourceType}.${param} cannot refer to a ${type}`);
    const criterion = this.criterion(sourceType, rest, value, depth + 1);
    return criterion ? { kind: 'has', type: sourceType, param, criterion } : undefined;
  }
}

function stringCriterion(name: string, code: string, modifier: string | undefined, values: string[]): Criterion {
  const plain = values.map(unescapeValue);
  if (modifier === 'exact') return { kind: 'keys', keys: plain.map((v) => exactKey(code, v)) };
  const normalized = plain.map(normalizeString);
  if (normalized.some((v) => v.length === 0)) throw invalid(name, 'an empty string matches nothing useful; give at least one letter or digit');
  if (modifier === 'contains') return { kind: 'key-contains', prefix: keyPrefix(code, 's'), fragments: normalized };
  return { kind: 'key-prefix', prefixes: normalized.map((v) => stringKey(code, v)) };
}

function tokenCriterion(name: string, code: string, modifier: string | undefined, values: string[]): Criterion {
  switch (modifier) {
    case 'text':
      return { kind: 'key-prefix', prefixes: values.map((v) => tokenTextKey(code, normalizeString(unescapeValue(v)))) };
    case 'in':
    case 'not-in': {
      const keys = values.flatMap((url) => {
        const expansion = expandValueSet(unescapeValue(url));
        if (!expansion) throw invalid(name, `the value set '${unescapeValue(url)}' is not known to this server or cannot be expanded without a terminology service`);
        return expansion.map((c) => tokenQueryKey(code, c.system, c.code));
      });
      return { kind: modifier === 'in' ? 'keys' : 'no-keys', keys };
    }
    case 'of-type':
      return {
        kind: 'keys',
        keys: values.map((v) => {
          const parts = splitUnescaped(v, '|').map(unescapeValue);
          if (parts.length !== 3 || parts.some((p) => p === '')) throw invalid(name, `:of-type takes typeSystem|typeCode|value, not '${v}'`);
          return identifierTypeKey(code, parts[0] as string, parts[1] as string, parts[2] as string);
        }),
      };
    default: {
      const keys = values.map((v) => {
        const { system, code: value } = parseToken(v);
        if (system === undefined && (value === undefined || value === '')) throw invalid(name, 'a token needs a code, system|code, |code or system|');
        return tokenQueryKey(code, system, value);
      });
      return { kind: modifier === 'not' ? 'no-keys' : 'keys', keys };
    }
  }
}

function uriCriterion(name: string, code: string, modifier: string | undefined, values: string[]): Criterion {
  const uris = values.map(unescapeValue);
  if ((modifier === 'below' || modifier === 'above') && uris.some((uri) => /^urn:/i.test(uri))) {
    throw invalid(name, `:${modifier} applies to URLs, not to URNs such as OIDs (search.html#uri)`);
  }
  if (modifier === 'below') return { kind: 'key-prefix', prefixes: uris.map((uri) => uriKey(code, uri)) };
  if (modifier === 'above') {
    // Every URI of which the value is a descendant: the value cut at each path separator.
    const ancestors = uris.flatMap((uri) => uri.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/')).filter((u) => /[^:/]/.test(u.replace(/^[a-z]+:\/*/i, ''))));
    return { kind: 'keys', keys: ancestors.map((uri) => uriKey(code, uri)) };
  }
  return { kind: 'keys', keys: uris.map((uri) => uriKey(code, uri)) };
}

/** The sortable parameters: `_id`, `_lastUpdated` and every indexed parameter that is not a composite. */
function sortRule(options: ParseOptions, types: readonly string[], raw: string): SortRule {
  const descending = raw.startsWith('-');
  const param = descending ? raw.slice(1) : raw;
  if (param !== '_id' && param !== '_lastUpdated') {
    for (const type of types) {
      const definition = options.parameters.get(type, param);
      if (!definition || !isIndexed(definition) || definition.type === 'composite') {
        throw invalid('_sort', `'${param}' is not a sortable search parameter of ${type}`);
      }
    }
  }
  return { param, descending };
}

function includeRule(options: ParseOptions, types: readonly string[], name: string, value: string, reverse: boolean): IncludeRule {
  const modifier = name.split(':')[1];
  if (modifier !== undefined && modifier !== 'iterate' && modifier !== 'recurse') throw invalid(name, `unknown modifier ':${modifier}'; use :iterate`);
  const iterate = modifier !== undefined;
  if (value === '*') {
    if (reverse) throw invalid(name, `'*' is only allowed in _include; name the referring type, e.g. Provenance:*`);
    return { sourceType: '*', param: '*', targetType: undefined, iterate };
  }
  const [sourceType = '', param = '', targetType, extra] = value.split(':');
  if (extra !== undefined || !isResourceType(sourceType) || !param) throw invalid(name, `'${value}' must be Type:parameter[:targetType]`);
  if (targetType !== undefined && !isResourceType(targetType)) throw invalid(name, `'${targetType}' is not a resource type`);
  if (param !== '*') {
    const definition = options.parameters.get(sourceType, param);
    if (!definition || definition.type !== 'reference') throw invalid(name, `${param} is not a reference parameter of ${sourceType}`);
    if (targetType && definition.targets.length > 0 && !definition.targets.includes(targetType)) throw invalid(name, `${sourceType}.${param} cannot refer to a ${targetType}`);
    if (reverse && !iterate && definition.targets.length > 0 && !types.some((t) => definition.targets.includes(t))) {
      throw invalid(name, `${sourceType}.${param} cannot refer to a ${types.join(' or ')}`);
    }
  }
  if (!reverse && !iterate && !types.includes(sourceType)) throw invalid(name, `${sourceType} is not the type searched (${types.join(', ')}); use _include:iterate for included resources`);
  return { sourceType, param, targetType, iterate };
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw invalid(name, `'${value}' is not one of ${allowed.join(', ')}`);
  return value as T;
}

/**
 * Parses the query of a search on `types` (one type, or the `_type` list of a system-level search: then every
 * criterion must be defined on every type and is parsed once per type).
 */
export function parseSearchRequest(query: readonly (readonly [string, string])[], types: readonly string[], options: ParseOptions): SearchRequest {
  const parser = new Parser(options);
  const criteriaByType = new Map<string, ParsedCriterion[]>(types.map((type) => [type, []]));
  const applied: [string, string][] = [];
  let sort: SortRule[] = [];
  let count = options.defaultCount;
  let page: string | undefined;
  let total: TotalMode | undefined;
  let summary: SummaryMode | undefined;
  let elements: string[] | undefined;
  const include: IncludeRule[] = [];
  const revinclude: IncludeRule[] = [];
  for (const [name, value] of query) {
    const base = name.split(':')[0] as string;
    if (name === '_type') continue;
    if (RESULT_PARAMETERS.has(base)) {
      switch (base) {
        case '_count':
          if (!/^\d{1,9}$/.test(value)) throw invalid(name, `_count must be a non-negative integer, not '${value}'`);
          count = Math.min(Number(value), options.maxCount);
          break;
        case '_sort':
          sort = value.split(',').map((raw) => sortRule(options, types, raw.trim()));
          break;
        case '_page':
          page = value;
          break;
        case '_total':
          total = oneOf(name, value, ['none', 'estimate', 'accurate'] as const);
          break;
        case '_summary':
          summary = oneOf(name, value, ['true', 'text', 'data', 'count', 'false'] as const);
          break;
        case '_elements':
          elements = value.split(',').map((e) => e.trim());
          for (const element of elements) if (!/^[a-z][A-Za-z0-9]*$/.test(element)) throw invalid(name, `'${element}' is not an element name`);
          break;
        case '_include':
        case '_revinclude':
          (base === '_include' ? include : revinclude).push(...value.split(',').map((v) => includeRule(options, types, name, v, base === '_revinclude')));
          break;
        default:
          parser.skip(name, 'is not supported by this server');
          continue;
      }
      applied.push([name, value]);
      continue;
    }
    // "Empty parameters are not an error - they are just ignored by the server" (search.html#errors)
    if (value === '') continue;
    const perType = types.map((type) => [type, parser.criterion(type, name, value)] as const);
    const skipped = perType.filter(([, criterion]) => criterion === undefined);
    if (skipped.length === 0) {
      for (const [type, criterion] of perType) criteriaByType.get(type)?.push(criterion as ParsedCriterion);
      applied.push([name, value]);
    } else if (skipped.length < perType.length) {
      parser.skip(name, `is not defined for ${skipped.map(([type]) => type).join(', ')}`);
    }
  }
  return {
    resourceTypes: types,
    criteria: criteriaByType,
    sort,
    count,
    page,
    total,
    summary,
    elements,
    include,
    revinclude,
    applied,
    ignored: dedupe(parser.ignored),
  };
}

function dedupe(ignored: IgnoredParameter[]): IgnoredParameter[] {
  const seen = new Set<string>();
  return ignored.filter((i) => !seen.has(i.name) && seen.add(i.name));
}
