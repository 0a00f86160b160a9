/**
 * The storage port: the only door to stored FHIR resources (DESIGN.md "Storage"). Every store is bound to one
 * tenant (organization) when it is created, so no call can reach another tenant's data; versions, history
 * tombstones and optimistic locking follow the FHIR RESTful API (http.html#versioning, http.html#history).
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Criterion, SortRule } from '../search/search-request';

/** How a version came to be, as the history Bundle's `entry.request.method` reports it. */
export type VersionMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A create named an id that is already in use. */
export class ResourceExistsError extends Error {
  constructor(readonly resourceType: string) {
    super(`a ${resourceType} with that id already exists`);
    this.name = 'ResourceExistsError';
  }
}

/** A history cursor that this store did not issue (tampered with or truncated). */
export class InvalidCursorError extends Error {
  constructor() {
    super('invalid paging cursor');
    this.name = 'InvalidCursorError';
  }
}

/** One stored version of a resource (a deleted version is a tombstone without a resource). */
export interface StoredVersion {
  readonly resourceType: string;
  readonly id: string;
  readonly versionId: string;
  /** FHIR instant with millisecond precision. */
  readonly lastUpdated: string;
  readonly method: VersionMethod;
  readonly deleted: boolean;
  /** The resource exactly as a client reads it (with id and meta.versionId/lastUpdated); absent when deleted. */
  readonly resource: Resource | undefined;
}

/** Outcome of a write that may lose an optimistic-locking race. */
export type WriteResult =
  | { readonly kind: 'written'; readonly version: StoredVersion; readonly created: boolean }
  | { readonly kind: 'version-mismatch'; readonly current: StoredVersion | undefined };

/** Which versions a history request wants (http.html#history). */
export interface HistoryQuery {
  /** Omitted for system-level history. */
  readonly resourceType?: string;
  /** Instance-level history (requires resourceType). */
  readonly id?: string;
  /** Only versions updated at or after this instant (`_since`). */
  readonly since?: Date;
  /** Only versions current at this instant (`_at`): the last version at or before it, per resource. */
  readonly at?: Date;
  readonly count: number;
  /** Opaque paging position returned by the previous page; an unknown one rejects with InvalidCursorError. */
  readonly cursor?: string;
}

export interface HistoryPage {
  /** Newest first. */
  readonly versions: StoredVersion[];
  readonly total: number | undefined;
  /** Position of the next (older) page, if any. */
  readonly nextCursor: string | undefined;
}

/** The live resources of one type that satisfy every criterion (search.html; criteria from src/search/). */
export interface ResourceQuery {
  readonly resourceType: string;
  readonly criteria: readonly Criterion[];
}

/** One page of a search over one or more types, in sort order with a deterministic tie-break. */
export interface PageQuery {
  readonly queries: readonly ResourceQuery[];
  readonly sort: readonly SortRule[];
  readonly count: number;
  /** A position returned with a previous page (`next` or `previous`); an unknown one rejects with InvalidCursorError. */
  readonly cursor?: string;
}

export interface ResultPage {
  readonly versions: StoredVersion[];
  /** Position of the following page, when there may be one. */
  readonly next: string | undefined;
  /** Position of the preceding page, when this is not the first. */
  readonly previous: string | undefined;
}

/** The head of a hash chain (the audit trail): the sequence number and hash of its last link. */
export interface ChainHead {
  readonly sequence: number;
  readonly hash: string;
}

/** What `appendToChain` stores: the resources of the new links (ids given) and the head they lead to. */
export interface ChainLinks {
  readonly resources: readonly (Resource & { id: string })[];
  readonly head: ChainHead;
}

export interface ResourceStore {
  /** The organization every call of this store is confined to. */
  readonly tenant: string;

  /** Stores version 1 of a new resource; the server assigns the id unless `id` is given. */
  create(resource: Resource, options?: { id?: string }): Promise<StoredVersion>;

  /**
   * Stores version 1 of several new resources with the ids given, in one round of writes (transaction
   * Bundles create hundreds of resources at once). All or nothing: an id already in use rejects with
   * ResourceExistsError and stores none of them.
   */
  createMany(resources: readonly (Resource & { id: string })[]): Promise<StoredVersion[]>;

  /** The latest version (possibly a deletion tombstone), or undefined when the resource never existed. */
  read(resourceType: string, id: string): Promise<StoredVersion | undefined>;

  vread(resourceType: string, id: string, versionId: string): Promise<StoredVersion | undefined>;

  /**
   * Stores a new version (update-as-create when the resource does not exist or was deleted).
   * With `ifVersion`, only when the latest version is that one; concurrent writers never share a version.
   */
  update(resource: Resource & { id: string }, options?: { ifVersion?: string; method?: 'PUT' | 'PATCH' }): Promise<WriteResult>;

  /** Records a deletion tombstone; undefined when there was no live resource to delete. */
  delete(resourceType: string, id: string): Promise<StoredVersion | undefined>;

  history(query: HistoryQuery): Promise<HistoryPage>;

  /**
   * A page of live resources matching the queries, ordered by `sort` then resource type and id. Paging is keyset
   * based: a page's position names the last (or first) entry's sort values, so results stay correct while the
   * data changes (search.html#paging).
   */
  search(query: PageQuery): Promise<ResultPage>;

  /** How many live resources match, counting no further than `limit` when it is given. */
  count(queries: readonly ResourceQuery[], limit?: number): Promise<number>;

  /** The ids of matching resources, at most `limit`. */
  matchIds(query: ResourceQuery, limit: number): Promise<string[]>;

  /**
   * Whether `resource`, as it is or would be stored, satisfies every criterion (evaluated as a query would, on the
   * search values computed from it): lets the access policy test a resource being read or written.
   */
  matches(resource: Resource, criteria: readonly Criterion[]): boolean;

  /** The distinct `Type/id` references that matching resources hold in reference parameter `param`, at most `limit`. */
  matchReferences(query: ResourceQuery, param: string, limit: number): Promise<string[]>;

  /**
   * Recomputes the stored search values of up to `limit` live resources of a type, in id order after `after`
   * (a reindex after the search parameters changed); versions and content are untouched. Returns the last id
   * processed (undefined when there were none left) and how many were processed.
   */
  reindex(resourceType: string, after: string | undefined, limit: number): Promise<{ last: string | undefined; count: number }>;

  /**
   * Appends links to the named hash chain of this tenant: in one transaction, reads the chain's head, asks `link`
   * for the resources that follow it, creates them (as createMany does) and moves the head to the one `link`
   * returns, provided no other writer moved it meanwhile. A writer that lost that race (another server process
   * appending to the same chain) runs again from the new head, so `link` may run more than once and the chain
   * never forks.
   */
  appendToChain(chain: string, link: (head: ChainHead | undefined) => ChainLinks): Promise<StoredVersion[]>;

  /** The named chain's head as last committed; undefined when nothing was ever appended to it. */
  readChainHead(chain: string): Promise<ChainHead | undefined>;

  /**
   * Inside `transaction`: serializes this transaction against every other that locks the same name (a
   * conditional create's search, for instance), so check-then-write sequences cannot interleave.
   */
  lock(name: string): Promise<void>;

  /**
   * Runs `work` all-or-nothing: every write made through the store it receives commits together or not at all.
   * `work` may run more than once when a transient conflict forces a retry.
   */
  transaction<T>(work: (store: ResourceStore) => Promise<T>): Promise<T>;
}
