/**
 * The conditions FHIR search and point lookups are made of, matched directly rather than through mingo: equality
 * to a scalar, `$eq`, `$in` of scalars, ranges within a type bracket, and `$elemMatch` of those on arrays. Each
 * query runs its filter on every candidate (and a plan trial on several plans' candidates), so this is the cost
 * that decides a query's time. Anything unusual in a document (nested arrays, non-document elements under a
 * document `$elemMatch`) answers "undecided", and mingo then decides for that document.
 * https://www.mongodb.com/docs/manual/tutorial/query-arrays/ ,
 * https://www.mongodb.com/docs/manual/reference/operator/query/elemMatch/ ,
 * https://www.mongodb.com/docs/manual/reference/method/db.collection.find/#type-bracketing
 */
import { compareValues, isRangeOperand, typeRank, valuesEqual } from '../values/bson-order';
import { isSubdocument, somePathValue, splitPath } from '../values/field-paths';

/** true or false, or undefined when the direct reading does not cover the document. */
export type Verdict = (doc: unknown) => boolean | undefined;

type ValueTest = (value: unknown) => boolean;

/** Keys that make an `$elemMatch` a query on subdocuments rather than conditions on the elements themselves. */
const LOGICAL = new Set(['$and', '$or', '$nor', '$where', '$expr', '$text', '$comment', '$jsonSchema']);

/**
 * Whether an `$elemMatch` operand states conditions on each element itself (`{$gte: 5, $lt: 9}`) rather than a
 * query on subdocument elements (`{p: 'x', hi: {...}}`).
 * https://www.mongodb.com/docs/manual/reference/operator/query/elemMatch/
 */
export function isElementConditions(query: Record<string, unknown>): boolean {
  const keys = Object.keys(query);
  return keys.length > 0 && keys.every((k) => k.startsWith('$') && !LOGICAL.has(k));
}

/** The direct matcher of `{ [key]: condition }`, or undefined when its form is not one of those covered. */
export function compileFastCondition(key: string, condition: unknown): Verdict | undefined {
  if (key.startsWith('$')) return undefined;
  const path = splitPath(key);
  if (!isSubdocument(condition)) {
    const test = compileEquality(condition);
    return test && testSomeValue(path, [test]);
  }
  const keys = Object.keys(condition);
  if (keys.length === 0 || !keys.every((k) => k.startsWith('$'))) return undefined;
  const tests: ValueTest[] = [];
  let elemMatch: Verdict | undefined;
  for (const [op, operand] of Object.entries(condition)) {
    if (op === '$elemMatch') {
      elemMatch = compileElemMatch(path, operand);
      if (!elemMatch) return undefined;
      continue;
    }
    const test = compileValueTest(op, operand);
    if (!test) return undefined;
    tests.push(test);
  }
  const verdicts = tests.length > 0 ? [testSomeValue(path, tests)] : [];
  if (elemMatch) verdicts.push(elemMatch);
  return combineVerdicts(verdicts);
}

/** false when one verdict is false, otherwise undecided when one is, otherwise true. */
function combineVerdicts(verdicts: readonly Verdict[]): Verdict {
  if (verdicts.length === 1) return verdicts[0] as Verdict;
  return (doc) => {
    let undecided = false;
    for (const verdict of verdicts) {
      const result = verdict(doc);
      if (result === false) return false;
      if (result === undefined) undecided = true;
    }
    return undecided ? undefined : true;
  };
}

/** A document-form `$elemMatch` query, or a filter: every condition holds of the document. */
function compileFastDocument(query: Record<string, unknown>): Verdict | undefined {
  const verdicts: Verdict[] = [];
  for (const [key, condition] of Object.entries(query)) {
    if (key === '$and') {
      if (!Array.isArray(condition) || condition.length === 0 || !condition.every(isSubdocument)) return undefined;
      for (const clause of condition) {
        const verdict = compileFastDocument(clause);
        if (!verdict) return undefined;
        verdicts.push(verdict);
      }
      continue;
    }
    const verdict = compileFastCondition(key, condition);
    if (!verdict) return undefined;
    verdicts.push(verdict);
  }
  return verdicts.length > 0 ? combineVerdicts(verdicts) : undefined;
}

/** Each test holds for some value the path reaches (not necessarily the same one, as MongoDB reads arrays). */
function testSomeValue(path: readonly string[], tests: readonly ValueTest[]): Verdict {
  if (tests.length === 1) {
    const test = tests[0] as ValueTest;
    return (doc) => somePathValue(doc, path, test);
  }
  return (doc) => tests.every((test) => somePathValue(doc, path, test));
}

/** Some element of an array at the path satisfies the `$elemMatch` query. */
function compileElemMatch(path: readonly string[], query: unknown): Verdict | undefined {
  if (!isSubdocument(query) || path.some((part) => /^\d+$/.test(part))) return undefined;
  const keys = Object.keys(query);
  if (keys.length === 0) return undefined;
  let matches: Verdict;
  if (isElementConditions(query)) {
    const tests: ValueTest[] = [];
    for (const [op, operand] of Object.entries(query)) {
      const test = compileValueTest(op, operand);
      if (!test) return undefined;
      tests.push(test);
    }
    matches = (element) => (Array.isArray(element) ? undefined : tests.every((test) => test(element)));
  } else {
    const inner = compileFastDocument(query);
    if (!inner) return undefined;
    matches = (element) => (isSubdocument(element) ? inner(element) : undefined);
  }
  return (doc) => testSomeElement(doc, path, 0, matches);
}

/**
 * Whether an element of an array the path ends at matches, reaching it through arrays of subdocuments on the
 * way: true, false, or undefined when an element or a nested array on the way leaves it undecided.
 */
function testSomeElement(value: unknown, path: readonly string[], i: number, matches: Verdict): boolean | undefined {
  if (i === path.length) return Array.isArray(value) ? decideAny(value, matches) : false;
  if (Array.isArray(value)) {
    if (value.some(Array.isArray)) return undefined;
    return decideAny(value, (element) => (isSubdocument(element) ? testSomeElement(element[path[i] as string], path, i + 1, matches) : false));
  }
  return isSubdocument(value) ? testSomeElement(value[path[i] as string], path, i + 1, matches) : false;
}

/** true when one item answers true, otherwise undefined when one is undecided, otherwise false. */
function decideAny(items: readonly unknown[], verdict: Verdict): boolean | undefined {
  let undecided = false;
  for (const item of items) {
    const result = verdict(item);
    if (result === true) return true;
    if (result === undefined) undecided = true;
  }
  return undecided ? undefined : false;
}

function compileValueTest(op: string, operand: unknown): ValueTest | undefined {
  switch (op) {
    case '$eq':
      return compileEquality(operand);
    case '$in': {
      if (!Array.isArray(operand) || !operand.every(isEqualityScalar)) return undefined;
      const strings = new Set(operand.filter((o): o is string => typeof o === 'string'));
      const others = operand.filter((o) => typeof o !== 'string').map((o) => compileEquality(o) as ValueTest);
      return (v) => (typeof v === 'string' ? strings.has(v) : others.some((test) => test(v)));
    }
    case '$gt':
      return compileRange(operand, (c) => c > 0);
    case '$gte':
      return compileRange(operand, (c) => c >= 0);
    case '$lt':
      return compileRange(operand, (c) => c < 0);
    case '$lte':
      return compileRange(operand, (c) => c <= 0);
    default:
      return undefined;
  }
}

/** Equality in BSON order, with the common types compared without it (they are most of what a filter reads). */
function compileEquality(operand: unknown): ValueTest | undefined {
  if (!isEqualityScalar(operand)) return undefined;
  if (typeof operand === 'string' || typeof operand === 'boolean') return (v) => v === operand;
  if (typeof operand === 'number' && !Number.isNaN(operand)) {
    return (v) => (typeof v === 'number' ? v === operand : typeof v === 'object' && v !== null && valuesEqual(v, operand));
  }
  return (v) => valuesEqual(v, operand);
}

/** A range holds only within the operand's type bracket, compared in BSON order. */
function compileRange(operand: unknown, holds: (order: number) => boolean): ValueTest | undefined {
  if (!isRangeOperand(operand)) return undefined;
  const rank = typeRank(operand);
  const inBracket = (v: unknown): boolean => typeRank(v) === rank && holds(compareValues(v, operand));
  if (typeof operand === 'string') return (v) => (typeof v === 'string' ? holds(v < operand ? -1 : v > operand ? 1 : 0) : inBracket(v));
  if (typeof operand === 'number') {
    return (v) => (typeof v === 'number' && !Number.isNaN(v) ? holds(v < operand ? -1 : v > operand ? 1 : 0) : inBracket(v));
  }
  if (operand instanceof Date && !Number.isNaN(operand.getTime())) {
    const time = operand.getTime();
    return (v) => (v instanceof Date && !Number.isNaN(v.getTime()) ? holds(v.getTime() - time) : inBracket(v));
  }
  return inBracket;
}

/** Scalars equality can be read for directly: not null (which also matches missing fields), not a regex. */
function isEqualityScalar(value: unknown): boolean {
  const rank = typeRank(value);
  return value !== null && value !== undefined && (rank === 3 || rank === 4 || rank === 8 || rank === 9 || rank === 10) && !(value instanceof RegExp);
}
