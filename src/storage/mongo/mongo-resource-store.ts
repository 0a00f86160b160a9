/**
 * The ResourceStore port on MongoDB (official driver). Per resource type one collection holds the latest
 * version (or deletion tombstone) of each resource, and `<Type>_history` every version a newer one replaced.
 * A create is one insert; any later write moves the replaced version to history and replaces it, in one
 * multi-document transaction guarded by that version, so a failed write leaves nothing behind and concurrent
 * writers never produce the same version twice.
 * Internal fields (tenant, version number, search values) sit beside the resource and never reach a client.
 */
import { randomUUID } from 'node:crypto';
import { MongoServerError, type ClientSession, type Collection, type Db, type Filter, type MongoClient } from 'mongodb';
import type { Resource } from '@medplum/fhirtypes';
import {
  InvalidCursorError,
  ResourceExistsError,
  type ChainHead,
  type ChainLinks,
  type HistoryPage,
  type HistoryQuery,
  type PageQuery,
  type ResourceQuery,
  type ResourceStore,
  type ResultPage,
  type StoredVersion,
  type VersionMethod,
  type WriteResult,
} from '../resource-store';
import type { IndexValues, Indexer, IndexerOptions } from '../../search/extract-index-values';
import type { Criterion } from '../../search/search-request';
import { keyPrefix } from '../../search/index-keys';
import { ensureTypeIndexes, historyCollectionName } from './resource-indexes';
import { criterionFilter } from './search-filter';
import { matchesInMemory } from './match-in-memory';
import { compareEntries, decodePosition, encodePosition, idDirection, keysetFilter, mongoSort, sortFields, valueAt, type SortValue } from './search-paging';

/** A current-version document. */
interface CurrentDocument {
  _id: string;
  tenant: string;
  id: string;
  version: number;
  lastUpdated: Date;
  deleted: boolean;
  method: VersionMethod;
  resource: Resource | null;
  sp: IndexValues;
}

/** A history document: one per version (keyed `<tenant>/<id>/<version>`). */
interface HistoryDocument extends Omit<CurrentDocument, 'sp'> {
  type: string;
}

/** The history entry of a version that a newer one replaced. */
function archived(type: string, doc: CurrentDocument): HistoryDocument {
  const { sp: _searchValues, ...fields } = doc;
  return { ...fields, _id: `${doc._id}/${doc.version}`, type };
}

/** Shared by every tenant's store: the connection and how search values are computed on write. */
export interface MongoStoreContext {
  readonly client: MongoClient;
  readonly db: Db;
  readonly indexer: Indexer;
}

/** What search reads of a stored document: everything but the search values other than the sort keys. */
const SEARCH_PROJECTION = { 'sp.k': 0, 'sp.d': 0, 'sp.n': 0, 'sp.c': 0 } as const;

/**
 * Opens the store of one tenant. `options.localBaseUrls` are the FHIR base URLs by which clients address this
 * server: absolute references starting with one of them are indexed as the `Type/id` they name.
 */
export function openResourceStore(context: MongoStoreContext, tenant: string, options: IndexerOptions = {}): ResourceStore {
  if (!/^[A-Za-z0-9\-.]{1,64}$/.test(tenant)) throw new Error(`invalid tenant id: ${tenant}`);
  return new MongoResourceStore(context, tenant, undefined, options);
}

function toVersion(type: string, doc: CurrentDocument | HistoryDocument): StoredVersion {
  return {
    resourceType: type,
    id: doc.id,
    versionId: String(doc.version),
    lastUpdated: doc.lastUpdated.toISOString(),
    method: doc.method,
    deleted: doc.deleted,
    resource: doc.resource ?? undefined,
  };
}

/** The resource as stored and returned: server-managed id and meta, everything else as the client sent it. */
function stamp(resource: Resource, id: string, version: number, lastUpdated: Date): Resource {
  const { resourceType, id: _replaced, meta: _managed, ...content } = resource;
  const meta = { ...(resource.meta ?? {}), versionId: String(version), lastUpdated: lastUpdated.toISOString() };
  return { resourceType, id, meta, ...content } as Resource;
}

class MongoResourceStore implements ResourceStore {
  /** The chain heads this store's own appends committed last (appendToChain), by `<tenant>/<chain>`. */
  private readonly committedHeads = new Map<string, ChainHead>();

  constructor(
    private readonly context: MongoStoreContext,
    readonly tenant: string,
    private readonly session: ClientSession | undefined,
    private readonly indexing: IndexerOptions,
  ) {}

  private key(id: string): string {
    return `${this.tenant}/${id}`;
  }

  private current(type: string): Collection<CurrentDocument> {
    return this.context.db.collection<CurrentDocument>(type);
  }

  private historyOf(type: string): Collection<HistoryDocument> {
    return this.context.db.collection<HistoryDocument>(historyCollectionName(type));
  }

  /** Runs one write atomically: inside the caller's transaction, or in a transaction of its own. */
  private async atomically<T>(work: (session: ClientSession) => Promise<T>): Promise<T> {
    if (this.session) return work(this.session);
    return retryConcurrentWrites(() => this.context.client.withSession((session) => session.withTransaction(() => work(session))));
  }

  /** The current-collection document of one version (`resource` null for a deletion). */
  private currentDocument(id: string, version: number, lastUpdated: Date, method: VersionMethod, resource: Resource | null): CurrentDocument {
    const stored = resource ? stamp(resource, id, version, lastUpdated) : null;
    return {
      _id: this.key(id),
      tenant: this.tenant,
      id,
      version,
      lastUpdated,
      deleted: stored === null,
      method,
      resource: stored,
      sp: stored ? this.context.indexer(stored, this.tenant, this.indexing) : {},
    };
  }

  /**
   * Writes the next version. The version it replaces moves to the history collection under `<key>/<version>`,
   * so two writers replacing the same version collide there; a first version is one insert and needs no
   * transaction of its own.
   */
  private async writeVersion(
    session: ClientSession | undefined,
    type: string,
    id: string,
    previous: CurrentDocument | null,
    method: VersionMethod,
    resource: Resource | null,
  ): Promise<StoredVersion> {
    await ensureTypeIndexes(this.context.db, type);
    const version = (previous?.version ?? 0) + 1;
    const lastUpdated = new Date(Math.max(Date.now(), (previous?.lastUpdated.getTime() ?? 0) + 1));
    const current = this.currentDocument(id, version, lastUpdated, method, resource);
    try {
      if (previous) {
        await this.historyOf(type).insertOne(archived(type, previous), { session });
        const replaced = await this.current(type).replaceOne({ _id: current._id, version: previous.version }, current, { session });
        if (replaced.matchedCount !== 1) throw new ConcurrentWrite();
      } else {
        await this.current(type).insertOne(current, { session });
      }
    } catch (error) {
      throw error instanceof MongoServerError && error.code === 11000 ? new ConcurrentWrite() : error;
    }
    return toVersion(type, current);
  }

  async create(resource: Resource, options: { id?: string } = {}): Promise<StoredVersion> {
    return this.writeVersion(this.session, resource.resourceType, options.id ?? randomUUID(), null, 'POST', resource);
  }

  async createMany(resources: readonly (Resource & { id: string })[]): Promise<StoredVersion[]> {
    return this.atomically((session) => this.insertFirstVersions(resources, session));
  }

  /** Version 1 of each resource, with one insertMany per type. */
  private async insertFirstVersions(resources: readonly (Resource & { id: string })[], session: ClientSession): Promise<StoredVersion[]> {
    const lastUpdated = new Date();
    const byType = new Map<string, CurrentDocument[]>();
    const versions = resources.map((resource) => {
      const type = resource.resourceType;
      const current = this.currentDocument(resource.id, 1, lastUpdated, 'POST', resource);
      byType.set(type, [...(byType.get(type) ?? []), current]);
      return toVersion(type, current);
    });
    for (const [type, documents] of byType) {
      await ensureTypeIndexes(this.context.db, type);
      try {
        await this.current(type).insertMany(documents, { session });
      } catch (error) {
        throw error instanceof MongoServerError && error.code === 11000 ? new ResourceExistsError(type) : error;
      }
    }
    return versions;
  }

  private chainHeads(): Collection<ChainHeadDocument> {
    return this.context.db.collection<ChainHeadDocument>(CHAIN_COLLECTION);
  }

  /**
   * The head document moves first, and only from the head this transaction read: a concurrent appender either
   * conflicts on it (WriteConflict, retried by the driver) or finds it moved (ConcurrentWrite, retried here from the
   * new head), before it could insert links that follow a stale head. The head this store committed last is kept,
   * so an append that nobody raced (the usual case: one audit sink per process) skips reading it.
   */
  async appendToChain(chain: string, link: (head: ChainHead | undefined) => ChainLinks): Promise<StoredVersion[]> {
    const key = `${this.tenant}/${chain}`;
    let moved: ChainHead | undefined;
    const append = async (session: ClientSession, known: ChainHead | undefined): Promise<StoredVersion[]> => {
      const stored = known ?? (await this.chainHeads().findOne({ _id: key }, { session }));
      const from = stored ? { sequence: stored.sequence, hash: stored.hash } : undefined;
      const links = link(from);
      const head = { sequence: links.head.sequence, hash: links.head.hash };
      if (from) {
        const updated = await this.chainHeads().updateOne({ _id: key, sequence: from.sequence, hash: from.hash }, { $set: head }, { session });
        if (updated.matchedCount !== 1) throw new ConcurrentWrite();
      } else {
        try {
          await this.chainHeads().insertOne({ _id: key, tenant: this.tenant, chain, ...head }, { session });
        } catch (error) {
          throw error instanceof MongoServerError && error.code === 11000 ? new ConcurrentWrite() : error;
        }
      }
      moved = head;
      return this.insertFirstVersions(links.resources, session);
    };
    if (this.session) return append(this.session, undefined);
    try {
      const versions = await retryConcurrentWrites(() => {
        const known = this.committedHeads.get(key);
        this.committedHeads.delete(key);
        return this.context.client.withSession((session) => session.withTransaction(() => append(session, known)));
      }, CHAIN_ATTEMPTS);
      if (moved) this.committedHeads.set(key, moved);
      return versions;
    } catch (error) {
      this.committedHeads.delete(key);
      throw error;
    }
  }

  async readChainHead(chain: string): Promise<ChainHead | undefined> {
    const head = await this.chainHeads().findOne({ _id: `${this.tenant}/${chain}` }, { session: this.session });
    return head ? { sequence: head.sequence, hash: head.hash } : undefined;
  }

  async read(resourceType: string, id: string): Promise<StoredVersion | undefined> {
    const doc = await this.current(resourceType).findOne({ _id: this.key(id) }, { session: this.session });
    return doc ? toVersion(resourceType, doc) : undefined;
  }

  async vread(resourceType: string, id: string, versionId: string): Promise<StoredVersion | undefined> {
    if (!/^[1-9][0-9]{0,15}$/.test(versionId)) return undefined;
    const current = await this.current(resourceType).findOne({ _id: this.key(id), version: Number(versionId) }, { session: this.session });
    const doc = current ?? (await this.historyOf(resourceType).findOne({ _id: `${this.key(id)}/${versionId}` }, { session: this.session }));
    return doc ? toVersion(resourceType, doc) : undefined;
  }

  async update(resource: Resource & { id: string }, options: { ifVersion?: string; method?: 'PUT' | 'PATCH' } = {}): Promise<WriteResult> {
    return this.atomically(async (session) => {
      const type = resource.resourceType;
      const previous = await this.current(type).findOne({ _id: this.key(resource.id) }, { session });
      if (options.ifVersion !== undefined && (!previous || String(previous.version) !== options.ifVersion)) {
        return { kind: 'version-mismatch', current: previous ? toVersion(type, previous) : undefined } as const;
      }
      const version = await this.writeVersion(session, type, resource.id, previous, options.method ?? 'PUT', resource);
      return { kind: 'written', version, created: !previous || previous.deleted } as const;
    });
  }

  async delete(resourceType: string, id: string): Promise<StoredVersion | undefined> {
    return this.atomically(async (session) => {
      const previous = await this.current(resourceType).findOne({ _id: this.key(id) }, { session });
      if (!previous || previous.deleted) return undefined;
      return this.writeVersion(session, resourceType, id, previous, 'DELETE', null);
    });
  }

  /**
   * History reads both collections of each type: the current collection holds the latest version (or
   * tombstone) of every resource, the history collection every version before it.
   */
  async history(query: HistoryQuery): Promise<HistoryPage> {
    const types = query.resourceType ? [query.resourceType] : await this.typesWithData();
    const base: Filter<HistoryDocument> = { tenant: this.tenant };
    if (query.since) base.lastUpdated = { $gte: query.since };
    const sources = types.flatMap((type) => [
      { type, collection: this.current(type) as unknown as Collection<HistoryDocument>, filter: query.id === undefined ? base : { ...base, _id: this.key(query.id) } },
      { type, collection: this.historyOf(type), filter: query.id === undefined ? base : { ...base, id: query.id } },
    ]);
    const position = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    if (query.cursor !== undefined && !position) throw new InvalidCursorError();
    const after = (filter: Filter<HistoryDocument>): Filter<HistoryDocument> =>
      position ? { $and: [filter, { $or: [{ lastUpdated: { $lt: position.at } }, { lastUpdated: position.at, _id: { $lt: position.key } }] }] } : filter;
    const found = query.at
      ? await this.versionsAt(sources, query.at)
      : (
          await Promise.all(
            sources.map(async ({ type, collection, filter }) =>
              (await collection.find(after(filter), { session: this.session }).sort({ lastUpdated: -1, _id: -1 }).limit(query.count + 1).toArray()).map((doc) => ({ type, doc })),
            ),
          )
        ).flat();
    const merged = found
      .filter(({ doc }) => !position || !query.at || isBefore(doc, position))
      .sort((a, b) => b.doc.lastUpdated.getTime() - a.doc.lastUpdated.getTime() || (a.doc._id < b.doc._id ? 1 : -1));
    const page = merged.slice(0, query.count);
    const last = page[page.length - 1];
    const total = position || query.at ? undefined : (await Promise.all(sources.map((s) => s.collection.countDocuments(s.filter, { session: this.session })))).reduce((a, b) => a + b, 0);
    return {
      versions: page.map(({ type, doc }) => toVersion(type, doc)),
      total,
      nextCursor: merged.length > query.count && last ? encodeCursor(last.doc) : undefined,
    };
  }

  /** `_at`: for each resource, its last version at or before the instant, from either collection. */
  private async versionsAt(
    sources: { type: string; collection: Collection<HistoryDocument>; filter: Filter<HistoryDocument> }[],
    at: Date,
  ): Promise<{ type: string; doc: HistoryDocument }[]> {
    const latest = new Map<string, { type: string; doc: HistoryDocument }>();
    for (const { type, collection, filter } of sources) {
      const docs = await collection
        .find({ ...filter, lastUpdated: { ...(filter.lastUpdated as object | undefined), $lte: at } }, { session: this.session })
        .toArray();
      for (const doc of docs) {
        const key = `${type}/${doc.id}`;
        const known = latest.get(key);
        if (!known || known.doc.version < doc.version) latest.set(key, { type, doc });
      }
    }
    return [...latest.values()];
  }

  /** The resource types that have a collection in this database. */
  private async typesWithData(): Promise<string[]> {
    const collections = await this.context.db.listCollections({}, { nameOnly: true }).toArray();
    return collections.map((c) => c.name).filter((name) => /^[A-Z][A-Za-z]+$/.test(name));
  }

  /** The filter selecting a query's live resources of this tenant. */
  private filterOf(query: ResourceQuery, now: number): Filter<CurrentDocument> {
    const clauses = query.criteria.map((criterion) => criterionFilter(criterion, (id) => this.key(id), now));
    return { $and: [{ tenant: this.tenant, deleted: false }, ...clauses] } as Filter<CurrentDocument>;
  }

  async search(query: PageQuery): Promise<ResultPage> {
    const fields = sortFields(query.sort);
    const idOrder = idDirection(query.sort);
    const position = query.cursor === undefined ? undefined : decodePosition(query.cursor, fields.length);
    const backward = position?.direction === 'previous';
    const now = Date.now();
    const found = await Promise.all(
      query.queries.map(async (q) => {
        await ensureTypeIndexes(this.context.db, q.resourceType);
        const base = this.filterOf(q, now);
        const filter = position ? { $and: [base, keysetFilter(fields, idOrder, position, q.resourceType, (id) => this.key(id))] } : base;
        const docs = await this.current(q.resourceType)
          .find(filter as Filter<CurrentDocument>, { session: this.session, projection: SEARCH_PROJECTION })
          .sort(mongoSort(fields, idOrder, backward))
          .limit(query.count + 1)
          .toArray();
        return docs.map((doc) => ({ type: q.resourceType, id: doc.id, doc, values: fields.map(({ field }) => valueAt(doc, field)) }));
      }),
    );
    const merged = found.flat().sort((a, b) => compareEntries(a, b, fields, idOrder, backward));
    const more = merged.length > query.count;
    const page = merged.slice(0, query.count);
    if (backward) page.reverse();
    const first = page[0];
    const last = page[page.length - 1];
    const at = (direction: 'next' | 'previous', entry: { type: string; id: string; values: SortValue[] }): string =>
      encodePosition({ direction, type: entry.type, id: entry.id, values: entry.values });
    return {
      versions: page.map(({ type, doc }) => toVersion(type, doc)),
      next: last && (backward || more) ? at('next', last) : undefined,
      previous: first && (backward ? more : position !== undefined) ? at('previous', first) : undefined,
    };
  }

  async count(queries: readonly ResourceQuery[], limit?: number): Promise<number> {
    const now = Date.now();
    const counts = await Promise.all(
      queries.map((q) => this.current(q.resourceType).countDocuments(this.filterOf(q, now), { session: this.session, ...(limit !== undefined ? { limit } : {}) })),
    );
    return counts.reduce((sum, n) => sum + n, 0);
  }

  matches(resource: Resource, criteria: readonly Criterion[]): boolean {
    const id = resource.id ?? '';
    const doc = {
      _id: this.key(id),
      tenant: this.tenant,
      id,
      deleted: false,
      lastUpdated: new Date(resource.meta?.lastUpdated ?? Date.now()),
      sp: this.context.indexer(resource, this.tenant, this.indexing),
    };
    return matchesInMemory(doc, this.filterOf({ resourceType: resource.resourceType, criteria }, Date.now()));
  }

  async matchIds(query: ResourceQuery, limit: number): Promise<string[]> {
    const docs = await this.current(query.resourceType)
      .find(this.filterOf(query, Date.now()), { session: this.session, projection: { id: 1 } })
      .limit(limit)
      .toArray();
    return docs.map((doc) => doc.id);
  }

  async matchReferences(query: ResourceQuery, param: string, limit: number): Promise<string[]> {
    const prefix = keyPrefix(param, 'r');
    const references = new Set<string>();
    const cursor = this.current(query.resourceType).find(this.filterOf(query, Date.now()), { session: this.session, projection: { 'sp.k': 1 } });
    for await (const doc of cursor) {
      for (const k of doc.sp.k ?? []) if (k.startsWith(prefix)) references.add(k.slice(prefix.length));
      if (references.size >= limit) break;
    }
    await cursor.close();
    return [...references].slice(0, limit);
  }

  async reindex(resourceType: string, after: string | undefined, limit: number): Promise<{ last: string | undefined; count: number }> {
    await ensureTypeIndexes(this.context.db, resourceType);
    const filter: Filter<CurrentDocument> = { tenant: this.tenant, deleted: false, ...(after !== undefined ? { _id: { $gt: this.key(after) } } : { _id: { $gt: `${this.tenant}/` } }) };
    const docs = await this.current(resourceType).find(filter, { session: this.session, projection: { sp: 0 } }).sort({ _id: 1 }).limit(limit).toArray();
    if (docs.length === 0) return { last: undefined, count: 0 };
    // Guarded by version: a version written meanwhile was indexed with the current parameters already.
    await this.current(resourceType).bulkWrite(
      docs.map((doc) => ({ updateOne: { filter: { _id: doc._id, version: doc.version }, update: { $set: { sp: this.context.indexer(doc.resource as Resource, this.tenant, this.indexing) } } } })),
      { session: this.session, ordered: false },
    );
    return { last: docs[docs.length - 1]?.id, count: docs.length };
  }

  async lock(name: string): Promise<void> {
    if (!this.session) throw new Error('lock() is only meaningful inside transaction()');
    // Two transactions writing the same document conflict; the driver retries the later one from the start.
    await this.context.db
      .collection<{ _id: string; n: number }>(LOCK_COLLECTION)
      .updateOne({ _id: `${this.tenant}/${name}` }, { $inc: { n: 1 } }, { upsert: true, session: this.session });
  }

  async transaction<T>(work: (store: ResourceStore) => Promise<T>): Promise<T> {
    if (this.session) return work(this);
    return retryConcurrentWrites(() =>
      this.context.client.withSession((session) =>
        session.withTransaction(() => work(new MongoResourceStore(this.context, this.tenant, session, this.indexing))),
      ),
    );
  }
}

/** Documents that transactions write only to conflict with each other (see lock()). */
const LOCK_COLLECTION = '_locks';

/** The head of each tenant's hash chains (appendToChain), keyed `<tenant>/<chain>`. */
const CHAIN_COLLECTION = '_chains';

interface ChainHeadDocument {
  _id: string;
  tenant: string;
  chain: string;
  sequence: number;
  hash: string;
}

/** Another writer stored the version this write was about to create; the whole write is retried. */
class ConcurrentWrite extends Error {
  constructor() {
    super('concurrent write to the same resource');
  }
}

const WRITE_ATTEMPTS = 10;

/** Every server process appends to the same chains, so losing the race to the head is routine, not a fault. */
const CHAIN_ATTEMPTS = 100;

async function retryConcurrentWrites<T>(attempt: () => Promise<T>, attempts = WRITE_ATTEMPTS): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof ConcurrentWrite) || i >= attempts) throw error;
    }
  }
}

function encodeCursor(doc: HistoryDocument): string {
  return Buffer.from(JSON.stringify([doc.lastUpdated.getTime(), doc._id])).toString('base64url');
}

function decodeCursor(cursor: string): { at: Date; key: string } | undefined {
  try {
    const [ms, key] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [number, string];
    return typeof ms === 'number' && typeof key === 'string' ? { at: new Date(ms), key } : undefined;
  } catch {
    return undefined;
  }
}

function isBefore(doc: HistoryDocument, position: { at: Date; key: string }): boolean {
  const t = doc.lastUpdated.getTime();
  return t < position.at.getTime() || (t === position.at.getTime() && doc._id < position.key);
}
