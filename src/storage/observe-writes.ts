/**
 * A ResourceStore that tells a listener about every version it has durably written, so that the server's own
 * reactions to data (a new SearchParameter to index, a revoked Consent to act on) happen in one place and only for
 * writes that committed: inside `transaction`, versions are held back until the transaction commits, and a
 * retried transaction reports only its last attempt.
 */
import type { ResourceStore, StoredVersion } from './resource-store';

export type WriteListener = (tenant: string, versions: readonly StoredVersion[]) => void;

export function observeWrites(store: ResourceStore, listener: WriteListener): ResourceStore {
  return observed(store, (versions) => listener(store.tenant, versions));
}

function observed(store: ResourceStore, report: (versions: readonly StoredVersion[]) => void): ResourceStore {
  return {
    tenant: store.tenant,
    read: (type, id) => store.read(type, id),
    vread: (type, id, version) => store.vread(type, id, version),
    history: (query) => store.history(query),
    search: (query) => store.search(query),
    count: (queries, limit) => store.count(queries, limit),
    matchIds: (query, limit) => store.matchIds(query, limit),
    matches: (resource, criteria) => store.matches(resource, criteria),
    matchReferences: (query, param, limit) => store.matchReferences(query, param, limit),
    lock: (name) => store.lock(name),
    create: async (resource, options) => {
      const version = await store.create(resource, options);
      report([version]);
      return version;
    },
    createMany: async (resources) => {
      const versions = await store.createMany(resources);
      report(versions);
      return versions;
    },
    update: async (resource, options) => {
      const result = await store.update(resource, options);
      if (result.kind === 'written') report([result.version]);
      return result;
    },
    delete: async (type, id) => {
      const tombstone = await store.delete(type, id);
      if (tombstone) report([tombstone]);
      return tombstone;
    },
    appendToChain: async (chain, link) => {
      const versions = await store.appendToChain(chain, link);
      report(versions);
      return versions;
    },
    readChainHead: (chain) => store.readChainHead(chain),
    reindex: (type, after, limit) => store.reindex(type, after, limit),
    transaction: async (work) => {
      let committed: StoredVersion[] = [];
      const result = await store.transaction((tx) => {
        const pending: StoredVersion[] = [];
        committed = pending;
        return work(observed(tx, (versions) => pending.push(...versions)));
      });
      if (committed.length > 0) report(committed);
      return result;
    },
  };
}
