/**
 * The planner must narrow candidates with an index (never change results) and walk an index for sorted,
 * limited queries instead of sorting the collection. https://www.mongodb.com/docs/manual/core/query-plans/
 */
import { Collection } from '../../../src/embedded-mongo/engine/collection';
import { planQuery, scanPlan } from '../../../src/embedded-mongo/engine/query-planner';
import { compileFilter } from '../../../src/embedded-mongo/engine/matcher';

function collectionWith(count: number): Collection {
  const collection = new Collection('db', 'c');
  collection.createIndex({ v: 2, key: { k: 1 }, name: 'k_1' });
  collection.createIndex({ v: 2, key: { g: 1, t: -1 }, name: 'g_1_t_-1' });
  collection.createIndex({ v: 2, key: { tags: 1 }, name: 'tags_1' });
  for (let i = 0; i < count; i++) {
    collection.insert({ _id: i, k: i, g: i % 10, t: i, name: `n${i}`, tags: [`t${i % 3}`, `u${i % 5}`] }, i + 1);
  }
  return collection;
}

function run(collection: Collection, filter: Record<string, unknown>, sort: { name: string; direction: 1 | -1 }[] = []) {
  const plan = planQuery(collection, filter, sort);
  const predicate = compileFilter(filter);
  return { plan, ids: [...scanPlan(plan)].filter(predicate).map((d) => d._id as number) };
}

describe('query planner', () => {
  const collection = collectionWith(1000);

  it('uses an index for equality and scans only the matching entries', () => {
    const { plan, ids } = run(collection, { k: 42 });
    expect(plan.summary).toBe('IXSCAN k_1');
    expect([...scanPlan(plan)]).toHaveLength(1);
    expect(ids).toEqual([42]);
  });

  it('uses an index for a range within the type bracket', () => {
    const { plan, ids } = run(collection, { k: { $gte: 990, $lt: 995 } });
    expect(plan.summary).toBe('IXSCAN k_1');
    expect(ids).toEqual([990, 991, 992, 993, 994]);
  });

  it('uses equality on a compound prefix and serves the sort in index order', () => {
    const { plan, ids } = run(collection, { g: 3 }, [{ name: 't', direction: -1 }]);
    expect(plan.summary).toBe('IXSCAN g_1_t_-1 (sort)');
    expect(ids.slice(0, 3)).toEqual([993, 983, 973]);
  });

  it('walks the compound index backwards for the opposite sort', () => {
    const { plan, ids } = run(collection, { g: 3 }, [{ name: 't', direction: 1 }]);
    expect(plan.reverse).toBe(true);
    expect(ids.slice(0, 3)).toEqual([3, 13, 23]);
  });

  it('returns each document once from a multikey index with several matching keys', () => {
    const { plan, ids } = run(collection, { tags: { $in: ['t0', 'u0'] } });
    expect(plan.summary).toBe('IXSCAN tags_1');
    expect(new Set(ids).size).toBe(ids.length);
    const expected = Array.from({ length: 1000 }, (_, i) => i).filter((i) => i % 3 === 0 || i % 5 === 0);
    expect([...ids].sort((a, b) => a - b)).toEqual(expected);
  });

  it('uses an anchored case-sensitive regex as a string range', () => {
    const named = new Collection('db', 'n');
    named.createIndex({ v: 2, key: { name: 1 }, name: 'name_1' });
    ['alpha', 'alps', 'beta', 'Alpine'].forEach((name, i) => named.insert({ _id: i, name }, i + 1));
    const { plan, ids } = run(named, { name: /^alp/ });
    expect(plan.summary).toBe('IXSCAN name_1');
    expect(ids).toEqual([0, 1]);
  });

  it('falls back to a collection scan when no index applies', () => {
    expect(run(collection, { name: 'n5' }).plan.summary).toBe('COLLSCAN');
  });
});
