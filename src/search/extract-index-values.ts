/**
 * Computes a resource's search values when it is written (DESIGN.md "Storage"): every indexed SearchParameter's
 * FHIRPath expression is evaluated and its values are stored in the shapes queries need — equality keys
 * (index-keys.ts), date ranges at their precision, numbers and quantities, composite tuples, and one sort key per
 * parameter (lowest value for ascending, highest for descending). search.html#ptypes
 */
import { evalFhirPathTyped, toTypedValue, typedValueToString, type FhirPathAtom, type TypedValue } from '@medplum/core';
import type { Address, CodeableConcept, Coding, ContactPoint, HumanName, Identifier, Period, Quantity, Range, Reference, Resource, Timing } from '@medplum/fhirtypes';
import { parseDateRange, MAX_DATE, MIN_DATE } from './date-range';
import {
  exactKey,
  identifierTypeKey,
  normalizeString,
  presenceKey,
  referenceIdentifierKeys,
  referenceKey,
  stringKey,
  tokenKeys,
  tokenTextKey,
  uriKey,
} from './index-keys';
import type { SearchParameterDefinition, SearchParameterRegistry } from './search-parameters';

/** A date parameter's value as the interval it covers (inclusive, milliseconds). */
export interface DateEntry {
  p: string;
  lo: Date;
  hi: Date;
}

/** A number or quantity value: a point (lo = hi) or a Range; quantities carry system, code and unit. */
export interface NumberEntry {
  p: string;
  lo: number;
  hi: number;
  s?: string;
  c?: string;
  u?: string;
}

/** One component's values inside a composite tuple: keys for token/string/reference/uri, ranges otherwise. */
export type ComponentValues = string[] | Omit<DateEntry, 'p'>[] | Omit<NumberEntry, 'p'>[];

/** One element selected by a composite parameter, with its components' values as `c0`, `c1`, ... */
export interface CompositeEntry {
  p: string;
  [component: `c${number}`]: ComponentValues;
}

/** Sort values: the lowest (ascending) and highest (descending) value of the parameter. */
export interface SortKey {
  lo: string | number | Date;
  hi: string | number | Date;
}

/** The search values stored beside a resource (`sp` in the stored document). */
export interface IndexValues {
  k?: string[];
  d?: DateEntry[];
  n?: NumberEntry[];
  c?: CompositeEntry[];
  so?: Record<string, SortKey>;
}

/** Options of the indexer: absolute references that start with a base URL of this server are stored as `Type/id`. */
export interface IndexerOptions {
  readonly localBaseUrls?: readonly string[];
}

/** Computes the search values of an organization's resources against its search parameters. */
export type Indexer = (resource: Resource, tenant: string, options?: IndexerOptions) => IndexValues;

export function createIndexer(parametersOf: (tenant: string) => SearchParameterRegistry): Indexer {
  return (resource, tenant, options) => indexValuesOf(parametersOf(tenant).indexed(resource.resourceType), resource, options);
}

/** The search values of `resource` for the given parameters (each must be indexed, see isIndexed). */
export function indexValuesOf(definitions: readonly SearchParameterDefinition[], resource: Resource, options: IndexerOptions = {}): IndexValues {
  const collector = new ValueCollector((options.localBaseUrls ?? []).map((url) => url.replace(/\/?$/, '/')));
  const input = [toTypedValue(resource)];
  for (const definition of definitions) collector.add(definition, evaluate(definition.expression as FhirPathAtom, input));
  return collector.result();
}

function evaluate(expression: FhirPathAtom, input: TypedValue[]): TypedValue[] {
  try {
    return evalFhirPathTyped(expression, input);
  } catch {
    // An expression that cannot be evaluated on this resource's shape yields no values, as it would find none.
    return [];
  }
}

/** The values a resource produces for each parameter, in the shapes above. */
class ValueCollector {
  private readonly keys = new Set<string>();
  private readonly dates: DateEntry[] = [];
  private readonly numbers: NumberEntry[] = [];
  private readonly composites: CompositeEntry[] = [];
  private readonly sort: Record<string, SortKey> = {};

  constructor(private readonly localBases: readonly string[]) {}

  add(definition: SearchParameterDefinition, values: TypedValue[]): void {
    if (values.length === 0) return;
    const code = definition.code;
    const before = this.keys.size + this.dates.length + this.numbers.length + this.composites.length;
    switch (definition.type) {
      case 'string':
        this.addStrings(code, values.flatMap(stringValues));
        break;
      case 'token':
        this.addTokens(definition, values);
        break;
      case 'reference':
        this.addReferences(code, values);
        break;
      case 'uri':
        this.addSorted(code, values.flatMap((v) => (typeof v.value === 'string' ? [v.value] : [])), (uri) => uriKey(code, uri));
        break;
      case 'date':
        for (const range of values.flatMap(dateRanges)) this.dates.push({ p: code, ...range });
        this.sortBy(code, this.dates.filter((d) => d.p === code).flatMap((d) => [d.lo, d.hi]));
        break;
      case 'number':
      case 'quantity':
        for (const entry of values.flatMap(numberValues)) this.numbers.push({ p: code, ...entry });
        this.sortBy(code, this.numbers.filter((n) => n.p === code).flatMap((n) => [n.lo, n.hi]).filter(Number.isFinite));
        break;
      case 'composite':
        this.addComposites(definition, values);
        break;
      default:
        return;
    }
    if (this.keys.size + this.dates.length + this.numbers.length + this.composites.length > before) this.keys.add(presenceKey(code));
  }

  /** Each value, and each word of it, is a prefix-searchable key ("Quinones" finds "Carreno Quinones", search.html#string). */
  private addStrings(code: string, strings: string[]): void {
    const normalized: string[] = [];
    for (const value of strings) {
      const folded = normalizeString(value);
      if (folded.length === 0) continue;
      normalized.push(folded);
      this.keys.add(stringKey(code, folded));
      for (const word of folded.split(' ').slice(1)) this.keys.add(stringKey(code, word));
      this.keys.add(exactKey(code, value));
    }
    this.sortBy(code, normalized);
  }

  private addTokens(definition: SearchParameterDefinition, values: TypedValue[]): void {
    const code = definition.code;
    const codes: string[] = [];
    for (const { system, value, text } of values.flatMap((v) => tokenValues(v, definition.codeSystem))) {
      for (const k of tokenKeys(code, system, value)) this.keys.add(k);
      if (text) this.keys.add(tokenTextKey(code, normalizeString(text)));
      if (value !== undefined) codes.push(value);
    }
    for (const identifier of values.filter((v) => v.type === 'Identifier').map((v) => v.value as Identifier)) {
      for (const coding of identifier.type?.coding ?? []) {
        if (coding.system && coding.code && identifier.value) this.keys.add(identifierTypeKey(code, coding.system, coding.code, identifier.value));
      }
    }
    this.sortBy(code, codes);
  }

  private addReferences(code: string, values: TypedValue[]): void {
    const references: string[] = [];
    for (const { value } of values) {
      if (typeof value === 'string') {
        // canonical and uri references: the URL, and without its version
        references.push(value);
        if (value.includes('|')) references.push(value.slice(0, value.indexOf('|')));
        continue;
      }
      const reference = value as Reference | undefined;
      if (typeof reference?.reference === 'string') references.push(...this.referenceForms(reference.reference));
      const identifier = reference?.identifier;
      if (identifier && (identifier.system !== undefined || identifier.value !== undefined)) {
        for (const k of referenceIdentifierKeys(code, identifier.system, identifier.value)) this.keys.add(k);
      }
    }
    this.addSorted(code, references, (reference) => referenceKey(code, reference));
  }

  /** `Type/id` (also from a versioned or local absolute URL), or the URL as written; contained (`#x`) ones are not searchable. */
  private referenceForms(reference: string): string[] {
    if (reference.startsWith('#')) return [];
    let relative = reference;
    for (const base of this.localBases) if (reference.startsWith(base)) relative = reference.slice(base.length);
    const versioned = /^([A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64})\/_history\/[^/]+$/.exec(relative);
    return versioned ? [versioned[1] as string, relative] : [relative];
  }

  private addSorted(code: string, values: string[], toKey: (value: string) => string): void {
    for (const value of values) this.keys.add(toKey(value));
    this.sortBy(code, values);
  }

  private addComposites(definition: SearchParameterDefinition, values: TypedValue[]): void {
    for (const element of values) {
      const entry: CompositeEntry = { p: definition.code };
      let complete = true;
      definition.components.forEach((component, i) => {
        const componentValues = componentEntry(component.definition, evaluate(component.expression, [element]));
        if (componentValues.length === 0) complete = false;
        entry[`c${i}`] = componentValues;
      });
      if (complete && definition.components.length > 0) this.composites.push(entry);
    }
  }

  private sortBy(code: string, values: (string | number | Date)[]): void {
    if (values.length === 0) return;
    let lo = values[0] as string | number | Date;
    let hi = lo;
    for (const value of values) {
      if (value < lo) lo = value;
      if (value > hi) hi = value;
    }
    this.sort[code] = { lo, hi };
  }

  result(): IndexValues {
    const out: IndexValues = {};
    if (this.keys.size > 0) out.k = [...this.keys];
    if (this.dates.length > 0) out.d = this.dates;
    if (this.numbers.length > 0) out.n = this.numbers;
    if (this.composites.length > 0) out.c = this.composites;
    if (Object.keys(this.sort).length > 0) out.so = this.sort;
    return out;
  }
}

/** The component of a composite as keys (without the parameter code) or ranges. */
function componentEntry(definition: SearchParameterDefinition, values: TypedValue[]): ComponentValues {
  const code = '';
  switch (definition.type) {
    case 'token':
      return values.flatMap((v) => tokenValues(v, definition.codeSystem)).flatMap(({ system, value }) => tokenKeys(code, system, value));
    case 'string':
      return values.flatMap(stringValues).map((value) => stringKey(code, normalizeString(value)));
    case 'reference':
      return values.flatMap(({ value }) => (typeof (value as Reference | undefined)?.reference === 'string' ? [referenceKey(code, (value as Reference).reference as string)] : []));
    case 'uri':
      return values.flatMap(({ value }) => (typeof value === 'string' ? [uriKey(code, value)] : []));
    case 'date':
      return values.flatMap(dateRanges);
    case 'number':
    case 'quantity':
      return values.flatMap(numberValues);
    default:
      return [];
  }
}

/** The strings a string parameter matches (search.html#string): every part of a name or address, and the whole. */
function stringValues({ type, value }: TypedValue): string[] {
  if (value === undefined || value === null) return [];
  if (type === 'HumanName') {
    const name = value as HumanName;
    const parts = [...(name.prefix ?? []), ...(name.given ?? []), name.family, ...(name.suffix ?? [])].filter((p): p is string => typeof p === 'string');
    return [...parts, ...(name.text ? [name.text] : []), ...(parts.length > 1 ? [parts.join(' ')] : [])];
  }
  if (type === 'Address') {
    const address = value as Address;
    const parts = [...(address.line ?? []), address.city, address.district, address.state, address.postalCode, address.country].filter((p): p is string => typeof p === 'string');
    return [...parts, ...(address.text ? [address.text] : []), ...(parts.length > 1 ? [parts.join(' ')] : [])];
  }
  if (typeof value === 'string') return [value];
  const text = typedValueToString({ type, value });
  return text ? [text] : [];
}

interface TokenValue {
  system: string | undefined;
  value: string | undefined;
  text?: string;
}

/**
 * What a token parameter matches on each datatype (search.html#token, table of mappings); a `code` takes the
 * system its required value set implies.
 */
function tokenValues({ type, value }: TypedValue, codeSystem: string | undefined): TokenValue[] {
  if (value === undefined || value === null) return [];
  switch (type) {
    case 'Coding':
      return codingTokens(value as Coding);
    case 'CodeableConcept': {
      const concept = value as CodeableConcept;
      const tokens = (concept.coding ?? []).flatMap(codingTokens);
      return concept.text ? [...tokens, { system: undefined, value: undefined, text: concept.text }] : tokens;
    }
    case 'Identifier': {
      const identifier = value as Identifier;
      return identifier.value !== undefined || identifier.system !== undefined
        ? [{ system: identifier.system, value: identifier.value, text: identifier.type?.text }]
        : [];
    }
    case 'ContactPoint': {
      const contact = value as ContactPoint;
      return contact.value ? [{ system: undefined, value: contact.value }] : [];
    }
    case 'boolean':
      return [{ system: undefined, value: String(value) }];
    case 'code':
      return typeof value === 'string' ? [{ system: codeSystem, value }] : [];
    default:
      return typeof value === 'string' || typeof value === 'number' ? [{ system: undefined, value: String(value) }] : [];
  }
}

function codingTokens(coding: Coding): TokenValue[] {
  if (coding.code === undefined && coding.system === undefined) return coding.display ? [{ system: undefined, value: undefined, text: coding.display }] : [];
  return [{ system: coding.system, value: coding.code, text: coding.display }];
}

/** The intervals a date parameter covers (search.html#date): primitives at their precision, Period, Timing. */
function dateRanges({ type, value }: TypedValue): { lo: Date; hi: Date }[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') {
    const range = parseDateRange(value);
    return range ? [{ lo: range.start, hi: range.end }] : [];
  }
  if (type === 'Period') return periodRange(value as Period);
  if (type === 'Timing') {
    // Only the outer limits of a Timing matter (search.html#date): one range from its first to its last instant.
    const timing = value as Timing;
    const ranges = [...(timing.event ?? []).flatMap((event) => dateRanges({ type: 'dateTime', value: event })), ...(timing.repeat?.boundsPeriod ? periodRange(timing.repeat.boundsPeriod) : [])];
    if (ranges.length === 0) return [];
    return [{ lo: new Date(Math.min(...ranges.map((r) => r.lo.getTime()))), hi: new Date(Math.max(...ranges.map((r) => r.hi.getTime()))) }];
  }
  return [];
}

function periodRange(period: Period): { lo: Date; hi: Date }[] {
  const start = period.start ? parseDateRange(period.start) : undefined;
  const end = period.end ? parseDateRange(period.end) : undefined;
  if (!start && !end) return [];
  return [{ lo: start?.start ?? MIN_DATE, hi: end?.end ?? MAX_DATE }];
}

/** Numbers as points, Ranges as intervals, Quantities (and Money) with their units (search.html#number, #quantity). */
function numberValues({ type, value }: TypedValue): Omit<NumberEntry, 'p'>[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'number') return [{ lo: value, hi: value }];
  if (type === 'Range') {
    const range = value as Range;
    if (range.low?.value === undefined && range.high?.value === undefined) return [];
    const unit = range.low ?? range.high ?? {};
    return [{ lo: range.low?.value ?? -Infinity, hi: range.high?.value ?? Infinity, ...units(unit) }];
  }
  if (type === 'Money') {
    const money = value as { value?: number; currency?: string };
    return typeof money.value === 'number' ? [{ lo: money.value, hi: money.value, ...(money.currency ? { s: 'urn:iso:std:iso:4217', c: money.currency } : {}) }] : [];
  }
  const quantity = value as Quantity;
  return typeof quantity.value === 'number' ? [{ lo: quantity.value, hi: quantity.value, ...units(quantity) }] : [];
}

function units(quantity: Quantity): { s?: string; c?: string; u?: string } {
  return {
    ...(quantity.system ? { s: quantity.system } : {}),
    ...(quantity.code ? { c: quantity.code } : {}),
    ...(quantity.unit ? { u: quantity.unit } : {}),
  };
}
