/**
 * Search criteria (src/search/search-request.ts) as MongoDB filters over the search values stored beside each
 * resource (`sp`, see src/search/extract-index-values.ts). Every value from a request is placed in the filter as
 * data: equality operands, range bounds, and regular expressions built only from escaped literals.
 * Date and number semantics follow search.html#prefix: a stored value is the interval [lo, hi] it covers, a
 * search value the interval its precision implies. https://www.mongodb.com/docs/manual/reference/operator/query/
 */
import type { Document } from 'mongodb';
import type { ComponentCondition, Criterion, DateCondition, NumberCondition } from '../../search/search-request';

/** A regular expression source that matches `literal` exactly, whatever characters it holds (NUL included). */
export function escapeRegExp(literal: string): string {
  let out = '';
  for (const char of literal) {
    const code = char.charCodeAt(0);
    // Control characters (a NUL cannot appear in a BSON regex at all) are written as \xhh escapes.
    if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += '\\^$.*+?()[]{}|/-'.includes(char) ? `\\${char}` : char;
  }
  return out;
}

function prefixPattern(prefix: string): RegExp {
  return new RegExp(`^${escapeRegExp(prefix)}`);
}

/** `ap`: the search range widened by 10% of its distance from now (search.html#prefix). */
function approximately(condition: DateCondition, now: number): { start: Date; end: Date } {
  const gap = Math.max(Math.abs(now - condition.start.getTime()), Math.abs(condition.end.getTime() - now));
  const slack = gap * 0.1;
  return { start: new Date(condition.start.getTime() - slack), end: new Date(condition.end.getTime() + slack) };
}

/** Range conditions as a filter, operators on the same field merged (lo and hi are one field for instants). */
function bounds(...conditions: [field: string, operator: '$gt' | '$gte' | '$lt' | '$lte', value: Date][]): Document {
  const filter: Record<string, Record<string, Date>> = {};
  for (const [field, operator, value] of conditions) filter[field] = { ...filter[field], [operator]: value };
  return filter;
}

/** The condition on one stored interval [lo, hi] for a date search value. */
export function dateIntervalCondition(condition: DateCondition, lo: string, hi: string, now = Date.now()): Document {
  const { start, end } = condition;
  const within = bounds([lo, '$gte', start], [hi, '$lte', end]);
  switch (condition.prefix) {
    case 'eq':
      return within;
    case 'ne':
      return { $or: [bounds([lo, '$lt', start]), bounds([hi, '$gt', end])] };
    case 'gt':
      return bounds([hi, '$gt', end]);
    case 'lt':
      return bounds([lo, '$lt', start]);
    case 'ge':
      // above the value, or within it; `hi >= start` holds for both and bounds the index scan
      return { ...bounds([hi, '$gte', start]), $or: [bounds([hi, '$gt', end]), within] };
    case 'le':
      return { ...bounds([lo, '$lte', end]), $or: [bounds([lo, '$lt', start]), within] };
    case 'sa':
      return bounds([lo, '$gt', end]);
    case 'eb':
      return bounds([hi, '$lt', start]);
    case 'ap': {
      const widened = approximately(condition, now);
      return bounds([lo, '$lte', widened.end], [hi, '$gte', widened.start]);
    }
  }
}

/** The condition on one stored number interval for a number or quantity search value. */
function numberIntervalCondition(condition: NumberCondition): Document {
  const { value, low, high } = condition;
  switch (condition.prefix) {
    case 'eq':
      return { lo: { $gte: low }, hi: { $lt: high } };
    case 'ne':
      return { $or: [{ lo: { $lt: low } }, { hi: { $gte: high } }] };
    case 'gt':
    case 'sa':
      return condition.prefix === 'gt' ? { hi: { $gt: value } } : { lo: { $gt: value } };
    case 'lt':
    case 'eb':
      return condition.prefix === 'lt' ? { lo: { $lt: value } } : { hi: { $lt: value } };
    case 'ge':
      return { hi: { $gte: value } };
    case 'le':
      return { lo: { $lte: value } };
    case 'ap': {
      const slack = Math.abs(value) * 0.1;
      return { lo: { $lte: value + slack }, hi: { $gte: value - slack } };
    }
  }
}

function unitCondition(condition: NumberCondition): Document | undefined {
  if (condition.system !== undefined) return { s: condition.system, ...(condition.code !== undefined ? { c: condition.code } : {}) };
  if (condition.code !== undefined) return { $or: [{ c: condition.code }, { u: condition.code }] };
  return undefined;
}

function numberCondition(condition: NumberCondition): Document {
  const units = unitCondition(condition);
  const interval = numberIntervalCondition(condition);
  return units ? { $and: [interval, units] } : interval;
}

function componentCondition(field: string, condition: ComponentCondition, now: number): Document {
  switch (condition.kind) {
    case 'keys':
      return { [field]: { $in: condition.keys } };
    case 'key-prefix':
      return { [field]: prefixPattern(condition.prefix) };
    case 'date':
      return { [field]: { $elemMatch: dateIntervalCondition(condition.condition, 'lo', 'hi', now) } };
    case 'number':
      return { [field]: { $elemMatch: numberCondition(condition.condition) } };
  }
}

function anyOf(filters: Document[]): Document {
  return filters.length === 1 ? (filters[0] as Document) : { $or: filters };
}

/**
 * The filter for one criterion. `key` maps a resource id to its stored `_id`; `now` anchors `ap` on dates.
 */
export function criterionFilter(criterion: Criterion, key: (id: string) => string, now: number): Document {
  switch (criterion.kind) {
    case 'ids':
      return { _id: { $in: criterion.ids.map(key) } };
    case 'no-ids':
      return { _id: { $nin: criterion.ids.map(key) } };
    case 'last-updated':
      return anyOf(criterion.conditions.map((c) => dateIntervalCondition(c, 'lastUpdated', 'lastUpdated', now)));
    case 'keys':
      return criterion.keys.length === 1 ? { 'sp.k': criterion.keys[0] } : { 'sp.k': { $in: criterion.keys } };
    case 'no-keys':
      return { 'sp.k': { $nin: criterion.keys } };
    case 'key-prefix':
      return { 'sp.k': criterion.prefixes.length === 1 ? prefixPattern(criterion.prefixes[0] as string) : { $in: criterion.prefixes.map(prefixPattern) } };
    case 'key-contains':
      return { 'sp.k': { $in: criterion.fragments.map((f) => new RegExp(`^${escapeRegExp(criterion.prefix)}.*${escapeRegExp(f)}`)) } };
    case 'dates':
      return anyOf(criterion.conditions.map((c) => ({ 'sp.d': { $elemMatch: { p: criterion.param, ...dateIntervalCondition(c, 'lo', 'hi', now) } } })));
    case 'numbers':
      return anyOf(criterion.conditions.map((c) => ({ 'sp.n': { $elemMatch: { p: criterion.param, ...numberCondition(c) } } })));
    case 'composite':
      return anyOf(
        criterion.alternatives.map((components) => ({
          'sp.c': { $elemMatch: { p: criterion.param, $and: components.map((c, i) => componentCondition(`c${i}`, c, now)) } },
        })),
      );
    case 'any':
      return criterion.groups.length === 0 ? { _id: { $in: [] } } : anyOf(criterion.groups.map((group) => ({ $and: [{}, ...group.map((c) => criterionFilter(c, key, now))] })));
  }
}
