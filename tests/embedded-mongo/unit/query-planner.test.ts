/**
 * The planner must narrow candidates with an index (never change results), pick among candidate plans by a trial
 * as mongod does, and walk an index for sorted, limited queries when that finds the results first.
 * https://www.mongodb.com/docs/manual/core/query-plans/ ,
 * https://www.mongodb.com/docs/manual/core/multikey-index-bounds/
 */
import type { Document } from 'bson';
import { Collection } from '../../../src/embedded-mongo/engine/collection';
import { enumeratePlans, IndexCursor, type QueryPlan } from '../../../src/embedded-mongo/engine/query-planner';
import { executeQuery } from '../../../src/embedded-mongo/engine/execute-query';
import { compileFilter } from '../../../src/embedded-mongo/engine/matcher';
import { describeStages } from '../../../src/embedded-mongo/engine/plan-stages';
import { sortDocuments, type SortField } from '../../../src/embedded-mongo/engine/sort-documents';

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

/** Runs a query as the engine does (plan, trial, filter, sort) and returns the chosen plan and result _ids. */
function run(collection: Collection, filter: Document, sort: SortField[] = [], limit?: number): { plan: QueryPlan; ids: unknown[] } {
  const { plan, docs } = executeQuery(collection, { filter, sort, wanted: limit, accept: compileFilter(filter) });
  return { plan, ids: [...docs].slice(0, limit).map((d) => d._id) };
}

/** The number of index entries a plan's scan visits. */
function entriesScanned(plan: QueryPlan): number {
  const cursor = new IndexCursor(plan, plan.index.snapshot());
  let entries = 0;
  while (cursor.next() !== undefined) entries++;
  return entries;
}

const byId: SortField[] = [{ name: '_id', direction: 1 }];

describe('query planner', () => {
  const collection = collectionWith(1000);

  it('uses an index for equality and scans only the matching entries', () => {
    const { plan, ids } = run(collection, { k: 42 });
    expect(plan.summary).toBe('IXSCAN k_1');
    expect(entriesScanned(plan)).toBe(1);
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

  it('serves a sort on a field bound to several points by scanning the points in order', () => {
    const { plan, ids } = run(collection, { _id: { $in: [7, 3, 900, 5] } }, [{ name: '_id', direction: -1 }]);
    expect(plan.summary).toBe('IXSCAN _id_ (sort)');
    expect(ids).toEqual([900, 7, 5, 3]);
  });

  it('reads a long range in order, forward and backward, each entry once', () => {
    const forward = run(collection, { k: { $gte: 10, $lte: 990 } }, [{ name: 'k', direction: 1 }]);
    const backward = run(collection, { k: { $gte: 10, $lte: 990 } }, [{ name: 'k', direction: -1 }]);
    const expected = Array.from({ length: 981 }, (_, i) => 10 + i);
    expect(forward.plan.summary).toBe('IXSCAN k_1 (sort)');
    expect(forward.ids).toEqual(expected);
    expect(backward.plan.reverse).toBe(true);
    expect(backward.ids).toEqual([...expected].reverse());
  });

  it('returns each document once from a multikey index with several matching keys', () => {
    const { plan, ids } = run(collection, { tags: { $in: ['t0', 'u0'] } });
    expect(plan.summary).toBe('IXSCAN tags_1');
    expect(new Set(ids).size).toBe(ids.length);
    const expected = Array.from({ length: 1000 }, (_, i) => i).filter((i) => i % 3 === 0 || i % 5 === 0);
    expect([...ids].sort((a, b) => Number(a) - Number(b))).toEqual(expected);
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

  it('answers a point lookup on a unique index without a trial (the only candidate)', () => {
    expect(enumeratePlans(collection, { _id: 5, k: 5, g: 5 }, [])).toHaveLength(1);
  });
});

describe('$elemMatch bounds on arrays of subdocuments', () => {
  // Each document has a `birthdate` range and a `_lastUpdated` range in 2024: without $elemMatch the 2024 value
  // of the other element would satisfy `hi >= 1990` for every document.
  const dated = new Collection('db', 'dated');
  dated.createIndex({ v: 2, key: { tenant: 1, 'sp.d.p': 1, 'sp.d.hi': 1 }, name: 'tenant_1_sp.d.p_1_sp.d.hi_1' });
  for (let i = 0; i < 300; i++) {
    const birth = new Date(Date.UTC(1900 + (i % 100), 0, 1));
    const updated = new Date(Date.UTC(2024, 0, 1));
    dated.insert({ _id: i, tenant: 'T', sp: { d: [{ p: 'birthdate', lo: birth, hi: birth }, { p: '_lastUpdated', lo: updated, hi: updated }] } }, i + 1);
  }
  const from1990 = new Date(Date.UTC(1990, 0, 1));

  it('compounds the bounds of both subfields when one $elemMatch holds them', () => {
    const filter = { tenant: 'T', 'sp.d': { $elemMatch: { p: 'birthdate', hi: { $gte: from1990 } } } };
    const { plan, ids } = run(dated, filter);
    expect(plan.summary).toBe('IXSCAN tenant_1_sp.d.p_1_sp.d.hi_1');
    expect(plan.intervals['sp.d.p']).toEqual(['["birthdate", "birthdate"]']);
    expect(plan.intervals['sp.d.hi']?.[0]).toMatch(/^\[new Date\(631152000000\), /);
    expect(entriesScanned(plan)).toBe(30);
    expect(ids).toHaveLength(30);
  });

  it('does not compound conditions on the same array outside $elemMatch (different elements may satisfy them)', () => {
    const filter = { tenant: 'T', 'sp.d.p': 'birthdate', 'sp.d.hi': { $gte: from1990 } };
    const { plan, ids } = run(dated, filter);
    expect(plan.intervals['sp.d.hi']).toEqual(['[MinKey, MaxKey]']);
    expect(ids).toHaveLength(300);
  });

  it('does not intersect the two ends of a range on an array field outside $elemMatch', () => {
    const tagged = new Collection('db', 'tagged');
    tagged.createIndex({ v: 2, key: { k: 1 }, name: 'k_1' });
    tagged.insert({ _id: 1, k: ['a', 'z'] }, 1);
    tagged.insert({ _id: 2, k: ['m'] }, 2);
    // Document 1 matches: 'z' >= 'l' and 'a' < 'n', though no single element lies in [l, n).
    expect(run(tagged, { k: { $gte: 'l', $lt: 'n' } }).ids.sort()).toEqual([1, 2]);
    const within = run(tagged, { k: { $elemMatch: { $gte: 'l', $lt: 'n' } } });
    expect(within.plan.intervals.k).toEqual(['["l", "n")']);
    expect(within.ids).toEqual([2]);
  });
});

describe('choosing among candidate plans', () => {
  // Clause `common` matches 5,000 documents, clause `rare` 20: only one can bound the multikey index.
  const keyed = new Collection('db', 'keyed');
  keyed.createIndex({ v: 2, key: { tenant: 1, 'sp.k': 1 }, name: 'tenant_1_sp.k_1' });
  for (let i = 0; i < 6000; i++) {
    const keys = [`n=${i}`, i < 5000 ? 'code=common' : 'code=other', i % 300 === 0 ? 'subject=rare' : `subject=s${i % 7}`];
    keyed.insert({ _id: i, tenant: 'T', deleted: false, sp: { k: keys } }, i + 1);
  }
  const expected = Array.from({ length: 20 }, (_, n) => n * 300);

  it.each([
    ['common first', [{ 'sp.k': 'code=common' }, { 'sp.k': 'subject=rare' }]],
    ['rare first', [{ 'sp.k': 'subject=rare' }, { 'sp.k': 'code=common' }]],
  ])('bounds the scan with the selective clause of two on one multikey field (%s)', (_order, clauses) => {
    const filter = { $and: [{ tenant: 'T' }, ...clauses] };
    const { plan, ids } = run(keyed, filter, byId, 21);
    expect(plan.intervals['sp.k']).toEqual(['["subject=rare", "subject=rare"]']);
    expect(ids).toEqual(expected.filter((i) => i < 5000));
  });

  it('walks the _id index in sort order for a broad filter with a limit', () => {
    const { plan, ids } = run(keyed, { tenant: 'T', deleted: false, 'sp.k': 'code=common' }, byId, 21);
    expect(plan.summary).toBe('IXSCAN _id_ (sort)');
    expect(ids).toEqual(Array.from({ length: 21 }, (_, i) => i));
  });

  it('scans the narrow index and sorts in memory for a narrow filter with a limit', () => {
    const { plan, ids } = run(keyed, { tenant: 'T', 'sp.k': 'subject=rare' }, byId, 21);
    expect(plan.summary).toBe('IXSCAN tenant_1_sp.k_1');
    expect(ids).toEqual(expected);
  });

  it('leaves $or clauses to the filter and bounds the scan with the other conditions', () => {
    const filter = { tenant: 'T', 'sp.k': 'subject=rare', $or: [{ 'sp.k': 'code=common' }, { _id: { $gt: 5500 } }] };
    const { plan, ids } = run(keyed, filter);
    expect(plan.intervals['sp.k']).toEqual(['["subject=rare", "subject=rare"]']);
    expect([...ids].sort((a, b) => Number(a) - Number(b))).toEqual(expected.filter((i) => i < 5000 || i > 5500));
  });

  it('chooses the plan with the most results per work when none finishes within the trial budget', () => {
    const wide = new Collection('db', 'wide');
    wide.createIndex({ v: 2, key: { x: 1 }, name: 'x_1' });
    for (let i = 0; i < 25_000; i++) wide.insert({ _id: i, x: i, y: i % 500 === 0 }, i + 1);
    // Walking _id finds 10 results in its first 10,000 entries, the x range 20: neither reaches 101 or its end.
    const { plan, ids } = run(wide, { x: { $gte: 5000 }, y: true }, byId);
    expect(plan.summary).toBe('IXSCAN x_1');
    expect(ids).toEqual(Array.from({ length: 40 }, (_, n) => 5000 + n * 500));
  });

  it('explains the winner as stages over the index with its bounds', () => {
    const filter = { tenant: 'T', 'sp.k': 'subject=rare' };
    const { plan } = run(keyed, filter, byId, 21);
    const stages = describeStages(plan, { filter, sort: byId, limit: 21 });
    expect(stages).toMatchObject({
      stage: 'SORT',
      limitAmount: 21,
      inputStage: { stage: 'FETCH', inputStage: { stage: 'IXSCAN', indexName: 'tenant_1_sp.k_1' } },
    });
    expect(stages.inputStage.inputStage.indexBounds).toEqual({ tenant: ['["T", "T"]'], 'sp.k': ['["subject=rare", "subject=rare"]'] });
  });
});

describe('plan cache', () => {
  // https://www.mongodb.com/docs/manual/core/query-plans/#plan-cache-entry-state
  function keyedCollection(): Collection {
    const keyed = new Collection('db', 'cached');
    keyed.createIndex({ v: 2, key: { tenant: 1, 'sp.k': 1 }, name: 'tenant_1_sp.k_1' });
    for (let i = 0; i < 6000; i++) {
      keyed.insert({ _id: i, tenant: 'T', sp: { k: [i < 5000 ? 'code=common' : 'code=other', i % 300 === 0 ? 'subject=rare' : `subject=s${i % 7}`] } }, i + 1);
    }
    return keyed;
  }
  const query = (first: string, second: string) => {
    const filter = { $and: [{ tenant: 'T' }, { 'sp.k': first }, { 'sp.k': second }] };
    return { filter, sort: byId, wanted: 21, accept: compileFilter(filter) };
  };

  it('runs the plan the trial chose for the next query of the same shape, without a trial', () => {
    const keyed = keyedCollection();
    const first = executeQuery(keyed, query('code=common', 'subject=rare'));
    const second = executeQuery(keyed, query('code=other', 'subject=rare'));
    expect([first.cached, second.cached]).toEqual([false, true]);
    expect(second.plan.signature).toBe(first.plan.signature);
    expect(second.plan.intervals['sp.k']).toEqual(['["subject=rare", "subject=rare"]']);
    expect([...second.docs].map((d) => d._id)).toEqual([5100, 5400, 5700]);
  });

  it('evicts a cached plan that needs more than ten times the works of its trial, and plans again', () => {
    const keyed = keyedCollection();
    executeQuery(keyed, query('code=common', 'subject=rare'));
    // The same shape with the clauses the other way round: the cached choice (the second clause) is now the broad one.
    const swapped = executeQuery(keyed, query('subject=rare', 'code=common'));
    expect(swapped.cached).toBe(false);
    expect(swapped.plan.intervals['sp.k']).toEqual(['["subject=rare", "subject=rare"]']);
    expect(executeQuery(keyed, query('subject=rare', 'code=common')).cached).toBe(true);
  });

  it('plans again once the collection has another index', () => {
    const keyed = keyedCollection();
    executeQuery(keyed, query('code=common', 'subject=rare'));
    keyed.createIndex({ v: 2, key: { tenant: 1 }, name: 'tenant_1' });
    expect(executeQuery(keyed, query('code=common', 'subject=rare')).cached).toBe(false);
  });
});

describe('results equal a collection scan for random FHIR-shaped queries', () => {
  /** mulberry32: a small seeded generator, so a failure reproduces. */
  function generator(seed: number): () => number {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const random = generator(20240601);
  const int = (n: number): number => Math.floor(random() * n);
  const pick = <T>(values: readonly T[]): T => values[int(values.length)] as T;
  const day = (n: number): Date => new Date(Date.UTC(1950, 0, 1) + n * 86_400_000 * 30);
  const names = ['smith', 'smithers', 'smyth', 'jones', 'johnson', 'lee'];

  const fhir = new Collection('db', 'Observation');
  const keys: Record<string, 1>[] = [
    { tenant: 1, 'sp.k': 1 },
    { tenant: 1, 'sp.d.p': 1, 'sp.d.lo': 1 },
    { tenant: 1, 'sp.d.p': 1, 'sp.d.hi': 1 },
    { tenant: 1, 'sp.n.p': 1, 'sp.n.lo': 1 },
    { tenant: 1, comp: 1 },
    { tenant: 1, 'so.date.d': 1, _id: 1 },
  ];
  for (const key of keys) {
    fhir.createIndex({ v: 2, key, name: Object.keys(key).join('_') });
  }
  const all: Document[] = [];
  for (let i = 0; i < 800; i++) {
    const keys = new Set([`code=c${int(5)}`, `subject=r:Patient/${int(30)}`, `status=${pick(['final', 'preliminary'])}`, `name=s:${pick(names)}`]);
    for (let extra = int(5); extra > 0; extra--) keys.add(`tag=t${int(20)}`);
    const dates = Array.from({ length: 1 + int(3) }, () => {
      const lo = int(800);
      return { p: pick(['date', 'birthdate', '_lastUpdated']), lo: day(lo), hi: day(lo + int(24)) };
    });
    const quantities = Array.from({ length: int(3) }, () => {
      const lo = int(100);
      return { p: 'value', lo, hi: lo + int(3), s: 'http://unitsofmeasure.org', c: pick(['mg', 'kg']) };
    });
    const doc: Document = {
      _id: `T/${String(i).padStart(4, '0')}`,
      tenant: i % 5 === 0 ? 'U' : 'T',
      deleted: i % 17 === 0,
      sp: { k: [...keys], d: dates, n: quantities },
      comp: [`Patient/${int(30)}`],
      so: i % 4 === 0 ? {} : { date: { d: day(int(800)) } },
    };
    fhir.insert(doc, i + 1);
    all.push(doc);
  }

  const clauses: (() => Document)[] = [
    () => ({ 'sp.k': `subject=r:Patient/${int(30)}` }),
    () => ({ 'sp.k': `code=c${int(5)}` }),
    () => ({ 'sp.k': { $in: [`code=c${int(5)}`, `tag=t${int(20)}`] } }),
    () => ({ 'sp.k': { $elemMatch: { $gte: 'name=s:smi', $lt: 'name=s:smj' } } }),
    () => ({ 'sp.k': { $gte: 'name=s:smi', $lt: 'name=s:smj' } }),
    () => ({ 'sp.k': /^name=s:smi/ }),
    () => ({ 'sp.d': { $elemMatch: { p: pick(['date', 'birthdate']), hi: { $gte: day(int(800)) } } } }),
    () => ({ 'sp.d': { $elemMatch: { p: pick(['date', 'birthdate']), lo: { $lt: day(int(800)) } } } }),
    () => ({ 'sp.d': { $elemMatch: { p: 'date', lo: { $gte: day(int(400)) }, hi: { $lte: day(400 + int(400)) } } } }),
    () => ({ 'sp.d.p': 'birthdate', 'sp.d.hi': { $gte: day(int(800)) } }),
    () => ({ 'sp.n': { $elemMatch: { p: 'value', lo: { $gte: int(100) }, c: pick(['mg', 'kg']) } } }),
    () => ({ _id: { $in: Array.from({ length: 1 + int(40) }, () => `T/${String(int(800)).padStart(4, '0')}`) } }),
    () => ({ comp: `Patient/${int(30)}` }),
    () => ({ $or: [{ 'sp.k': `code=c${int(5)}` }, { 'so.date.d': { $gt: day(int(800)) } }] }),
    () => ({ 'sp.k': { $not: { $eq: `status=${pick(['final', 'preliminary'])}` } } }),
  ];
  const sorts: SortField[][] = [
    [],
    [{ name: '_id', direction: 1 }],
    [{ name: '_id', direction: -1 }],
    [{ name: 'so.date.d', direction: 1 }, { name: '_id', direction: 1 }],
    [{ name: 'so.date.d', direction: -1 }, { name: '_id', direction: -1 }],
    [{ name: 'so.date.d', direction: 1 }, { name: '_id', direction: -1 }],
  ];

  const queries = Array.from({ length: 400 }, () => {
    const chosen = [{ tenant: random() < 0.9 ? 'T' : 'U' }, ...Array.from({ length: 1 + int(3) }, () => pick(clauses)())];
    if (random() < 0.5) chosen.push({ deleted: false });
    const sort = pick(sorts);
    // Without a sort, which documents a skip or limit keeps depends on the plan, so only sorted queries page.
    const limit = sort.length > 0 && random() < 0.7 ? 1 + int(25) : undefined;
    const skip = limit !== undefined && random() < 0.3 ? int(10) : 0;
    return { filter: { $and: chosen }, sort, limit, skip };
  });

  it('returns exactly what a full scan with the filter, sort, skip and limit returns, for 400 queries', () => {
    const plans = new Set<string>();
    for (const { filter, sort, limit, skip } of queries) {
      const predicate = compileFilter(filter);
      const wanted = limit === undefined ? undefined : skip + limit;
      const execution = executeQuery(fhir, { filter, sort, wanted, accept: predicate });
      plans.add(execution.plan.summary);
      const end = limit === undefined ? undefined : skip + limit;
      const actual = [...execution.docs].slice(skip, end).map((d) => d._id);
      const scanned = sortDocuments(all.filter(predicate), sort).slice(skip, end).map((d) => d._id);
      const context = JSON.stringify({ filter, sort, limit, skip, plan: execution.plan.summary });
      if (sort.length === 0) expect([context, [...actual].sort()]).toEqual([context, [...scanned].sort()]);
      else expect([context, actual]).toEqual([context, scanned]);
    }
    // The queries exercise bounded scans, sort walks and in-memory sorts, not one plan only.
    expect(plans.size).toBeGreaterThanOrEqual(4);
  });
});
