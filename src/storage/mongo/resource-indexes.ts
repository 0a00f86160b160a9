/**
 * The indexes every resource type's collections need, created the first time a type is written (146 types
 * times two collections would otherwise be created at every start).
 */
import type { Db } from 'mongodb';

const ensured = new WeakMap<Db, Map<string, Promise<void>>>();

export function historyCollectionName(resourceType: string): string {
  return `${resourceType}_history`;
}

/** Creates the type's indexes once per database handle; concurrent callers share the same promise. */
export function ensureTypeIndexes(db: Db, resourceType: string): Promise<void> {
  let perDb = ensured.get(db);
  if (!perDb) {
    perDb = new Map();
    ensured.set(db, perDb);
  }
  let pending = perDb.get(resourceType);
  if (!pending) {
    pending = createIndexes(db, resourceType);
    perDb.set(resourceType, pending);
    pending.catch(() => perDb?.delete(resourceType));
  }
  return pending;
}

async function createIndexes(db: Db, resourceType: string): Promise<void> {
  // Search values (src/search/extract-index-values.ts): one multikey index serves every equality, prefix and
  // presence lookup; dates and numbers are bounded by parameter and one end of their interval.
  await db.collection(resourceType).createIndexes([
    { key: { tenant: 1, lastUpdated: 1, _id: 1 }, name: 'tenant_lastUpdated' },
    { key: { tenant: 1, 'sp.k': 1 }, name: 'tenant_keys' },
    { key: { tenant: 1, 'sp.d.p': 1, 'sp.d.lo': 1 }, name: 'tenant_dates_lo' },
    { key: { tenant: 1, 'sp.d.p': 1, 'sp.d.hi': 1 }, name: 'tenant_dates_hi' },
    { key: { tenant: 1, 'sp.n.p': 1, 'sp.n.lo': 1 }, name: 'tenant_numbers' },
    { key: { tenant: 1, 'sp.c.p': 1, 'sp.c.c0': 1 }, name: 'tenant_composites' },
  ]);
  await db.collection(historyCollectionName(resourceType)).createIndexes([
    { key: { tenant: 1, lastUpdated: -1, _id: -1 }, name: 'tenant_lastUpdated' },
    { key: { tenant: 1, id: 1, lastUpdated: -1, _id: -1 }, name: 'tenant_id_lastUpdated' },
  ]);
}
