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
  await db.collection(resourceType).createIndexes([
    { key: { tenant: 1, lastUpdated: 1, _id: 1 }, name: 'tenant_lastUpdated' },
    { key: { tenant: 1, 'sp.identifier': 1 }, name: 'tenant_identifier' },
  ]);
  await db.collection(historyCollectionName(resourceType)).createIndexes([
    { key: { tenant: 1, lastUpdated: -1, _id: -1 }, name: 'tenant_lastUpdated' },
    { key: { tenant: 1, id: 1, lastUpdated: -1, _id: -1 }, name: 'tenant_id_lastUpdated' },
  ]);
}
