/**
 * Dotted paths through arrays (multikey index entries, sort keys) and equality to null, where mingo alone
 * departs from MongoDB. https://www.mongodb.com/docs/manual/tutorial/query-for-null-fields/
 */
import { compileFilter } from '../../../src/embedded-mongo/engine/matcher';
import { collectPathValues, sortKey } from '../../../src/embedded-mongo/values/field-paths';
import { EMPTY_ARRAY_KEY } from '../../../src/embedded-mongo/values/bson-order';

describe('field paths', () => {
  it('fans out through arrays of subdocuments and expands a final array', () => {
    expect(collectPathValues({ a: [{ b: 1 }, { b: [2, 3] }, { c: 4 }] }, ['a', 'b'])).toEqual([1, 2, 3, undefined]);
  });

  it('also reads a numeric component as an array index', () => {
    expect(collectPathValues({ a: [{ b: 1 }, { b: 2 }] }, ['a', '1', 'b'])).toEqual([2]);
  });

  it('sorts an array ascending by its smallest element and descending by its largest', () => {
    expect(sortKey({ a: [3, 1, 2] }, ['a'], 1)).toBe(1);
    expect(sortKey({ a: [3, 1, 2] }, ['a'], -1)).toBe(3);
  });

  it('sorts an empty array below null and a missing field as null', () => {
    expect(sortKey({ a: [] }, ['a'], 1)).toBe(EMPTY_ARRAY_KEY);
    expect(sortKey({}, ['a'], 1)).toBeNull();
  });
});

describe('equality to null', () => {
  const doc = { a: [{ b: 1 }, { c: 2 }] };

  it('matches a path missing in one element of an array of subdocuments', () => {
    expect(compileFilter({ 'a.b': null })(doc)).toBe(true);
    expect(compileFilter({ 'a.b': { $eq: null } })(doc)).toBe(true);
    expect(compileFilter({ 'a.b': { $in: [null] } })(doc)).toBe(true);
  });

  it('makes $ne: null and $nin: [null] the exact negation', () => {
    expect(compileFilter({ 'a.b': { $ne: null } })(doc)).toBe(false);
    expect(compileFilter({ 'a.b': { $nin: [null] } })(doc)).toBe(false);
    expect(compileFilter({ 'a.b': { $ne: null } })({ a: [{ b: 1 }] })).toBe(true);
  });

  it('keeps the other values of $in', () => {
    expect(compileFilter({ 'a.b': { $in: [null, 7] } })({ a: [{ b: 7 }] })).toBe(true);
    expect(compileFilter({ 'a.b': { $in: [null, 7] } })({ a: [{ b: 8 }] })).toBe(false);
  });

  it('matches missing fields, null values and arrays holding null', () => {
    expect(compileFilter({ x: null })({})).toBe(true);
    expect(compileFilter({ x: null })({ x: null })).toBe(true);
    expect(compileFilter({ x: null })({ x: [1, null] })).toBe(true);
    expect(compileFilter({ x: null })({ x: 0 })).toBe(false);
  });
});
