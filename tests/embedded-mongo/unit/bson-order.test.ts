/**
 * MongoDB's comparison order across BSON types, which indexes, range scans and sorting rely on.
 * https://www.mongodb.com/docs/manual/reference/bson-type-comparison-order/
 */
import { Long, MaxKey, MinKey, ObjectId, Decimal128, Timestamp } from 'bson';
import { compareValues, valuesEqual } from '../../../src/embedded-mongo/values/bson-order';
import { documentKey } from '../../../src/embedded-mongo/values/document-key';

describe('BSON comparison order', () => {
  it('orders the type classes MinKey < null < numbers < strings < objects < arrays < ObjectId < booleans < dates < timestamps < MaxKey', () => {
    const ordered = [new MinKey(), null, 5, 'a', { a: 1 }, [1], new ObjectId(), false, new Date(0), new Timestamp({ t: 0, i: 0 }), new MaxKey()];
    for (let i = 0; i < ordered.length - 1; i++) {
      expect(compareValues(ordered[i], ordered[i + 1])).toBeLessThan(0);
      expect(compareValues(ordered[i + 1], ordered[i])).toBeGreaterThan(0);
    }
  });

  it('compares numbers across numeric types by value', () => {
    expect(valuesEqual(1, Long.fromNumber(1))).toBe(true);
    expect(valuesEqual(2.5, Decimal128.fromString('2.5'))).toBe(true);
    expect(compareValues(Long.fromNumber(3), 2.9)).toBeGreaterThan(0);
  });

  it('compares subdocuments field by field, by type, then name, then value', () => {
    expect(compareValues({ a: 1 }, { a: 2 })).toBeLessThan(0);
    expect(compareValues({ a: 1 }, { b: 0 })).toBeLessThan(0);
    expect(compareValues({ a: 1 }, { a: 1, b: 1 })).toBeLessThan(0);
    expect(compareValues({ a: 5 }, { a: 'x' })).toBeLessThan(0);
  });

  it('gives equal _id values the same document key', () => {
    expect(documentKey(1)).toBe(documentKey(Long.fromNumber(1)));
    const id = new ObjectId();
    expect(documentKey(id)).toBe(documentKey(new ObjectId(id.toHexString())));
    expect(documentKey('1')).not.toBe(documentKey(1));
    expect(documentKey({ a: 1 })).toBe(documentKey({ a: 1 }));
  });
});
