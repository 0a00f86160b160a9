/**
 * Index keys as mongod generates them: one per array element, fields through the same array element kept
 * together, and the array paths (multikey paths) recorded for the planner.
 * https://www.mongodb.com/docs/manual/core/index-multikey/ ,
 * https://www.mongodb.com/docs/manual/core/multikey-index-bounds/#compound-bounds-for-multikey-index
 */
import { generateKeys } from '../../../src/embedded-mongo/engine/index-keys';
import { CollectionIndex } from '../../../src/embedded-mongo/engine/collection-index';

const paths = (...names: string[]): string[][] => names.map((name) => name.split('.'));

describe('index keys', () => {
  it('gives one key per element of an array', () => {
    expect(generateKeys({ tags: ['a', 'b'] }, paths('tags'))).toEqual([['a'], ['b']]);
  });

  it('keeps the values of one array element together for fields through the same array', () => {
    const doc = { d: [{ p: 'birthdate', hi: 1 }, { p: 'updated', hi: 9 }] };
    expect(generateKeys(doc, paths('d.p', 'd.hi'))).toEqual([
      ['birthdate', 1],
      ['updated', 9],
    ]);
  });

  it('combines every value of fields through different arrays', () => {
    expect(generateKeys({ t: 'T', k: ['a', 'b'] }, paths('t', 'k'))).toEqual([
      ['T', 'a'],
      ['T', 'b'],
    ]);
  });

  it('gives a missing field undefined within its element', () => {
    expect(generateKeys({ d: [{ p: 'x' }, { p: 'y', hi: 2 }] }, paths('d.p', 'd.hi'))).toEqual([
      ['x', undefined],
      ['y', 2],
    ]);
  });

  it('reaches through an array only its subdocuments, as a single-field index reads the path', () => {
    expect(generateKeys({ a: [{ b: [1] }, { b: [{ c: 5 }] }] }, paths('a.b.c'))).toEqual([[5]]);
    expect(generateKeys({ a: [1, 2] }, paths('a.b'))).toEqual([[undefined]]);
  });

  it('records the depth of every array on a field path', () => {
    const arrays = [new Set<number>(), new Set<number>(), new Set<number>()];
    generateKeys({ t: 'T', sp: { d: [{ p: 'x', hi: [1, 2] }] } }, paths('t', 'sp.d.p', 'sp.d.hi'), arrays);
    expect(arrays.map((depths) => [...depths].sort())).toEqual([[], [2], [2, 3]]);
  });

  it('marks an index multikey once a document holds an array on its path, even a single-element one', () => {
    const index = new CollectionIndex({ v: 2, key: { a: 1 }, name: 'a_1' });
    index.add({ _id: 1, a: 1 }, '1');
    expect(index.multikey).toBe(false);
    index.add({ _id: 2, a: [2] }, '2');
    expect(index.multikey).toBe(true);
  });
});
