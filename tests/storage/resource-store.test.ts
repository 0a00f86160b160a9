/**
 * The ResourceStore contract (DESIGN.md example 4), run against MongoDB: the embedded engine by default, a real
 * server with MONGODB_URI. Versioning and history follow http.html#versioning and http.html#history.
 */
import { MongoClient, type Db } from 'mongodb';
import type { Patient } from '@medplum/fhirtypes';
import { openResourceStore } from '../../src/storage/mongo/mongo-resource-store';
import { ResourceExistsError, type ResourceStore } from '../../src/storage/resource-store';
import { createIndexer } from '../../src/search/extract-index-values';
import { tokenQueryKey } from '../../src/search/index-keys';
import { baseSearchParameters } from '../../src/search/search-parameters';
import { startTestMongo, type TestMongo } from '../support/mongo';

let mongo: TestMongo;
let client: MongoClient;
let db: Db;
let store: ResourceStore;
const indexer = createIndexer(() => baseSearchParameters());

/** The ids of live Patients with an identifier matching `system|code` in one of the token forms. */
async function byIdentifier(on: ResourceStore, system: string | undefined, code: string): Promise<string[]> {
  const page = await on.search({ queries: [{ resourceType: 'Patient', criteria: [{ kind: 'keys', keys: [tokenQueryKey('identifier', system, code)] }] }], sort: [], count: 10 });
  return page.versions.map((v) => v.id);
}

beforeAll(async () => {
  mongo = await startTestMongo();
  client = await new MongoClient(mongo.uri).connect();
  db = client.db(mongo.dbName);
  store = openResourceStore({ client, db, indexer }, 'org-a');
});

afterAll(async () => {
  await db.dropDatabase();
  await client.close();
  await mongo.stop();
});

const patient = (family: string, extra: Partial<Patient> = {}): Patient => ({ resourceType: 'Patient', name: [{ family }], ...extra });

describe('ResourceStore', () => {
  it('creates version 1 with a server-assigned id and server-managed meta', async () => {
    const created = await store.create(patient('Create', { meta: { tag: [{ code: 'keep' }] } }));
    expect(created.versionId).toBe('1');
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.resource).toMatchObject({
      resourceType: 'Patient',
      id: created.id,
      meta: { versionId: '1', lastUpdated: created.lastUpdated, tag: [{ code: 'keep' }] },
      name: [{ family: 'Create' }],
    });
  });

  it('creates many resources of several types at once with the ids given', async () => {
    const versions = await store.createMany([
      { ...patient('Many1'), id: 'many-1' },
      { resourceType: 'Organization', id: 'many-org', name: 'Many' },
      { ...patient('Many2'), id: 'many-2' },
    ]);
    expect(versions.map((v) => [v.resourceType, v.id, v.versionId])).toEqual([
      ['Patient', 'many-1', '1'],
      ['Organization', 'many-org', '1'],
      ['Patient', 'many-2', '1'],
    ]);
    expect((await store.read('Organization', 'many-org'))?.resource).toMatchObject({ name: 'Many', meta: { versionId: '1' } });
    expect((await store.history({ resourceType: 'Patient', id: 'many-2', count: 5 })).versions).toHaveLength(1);
  });

  it('creates none of them when one id is taken', async () => {
    await expect(store.createMany([{ ...patient('Fresh'), id: 'many-fresh' }, { ...patient('Taken'), id: 'many-1' }])).rejects.toThrow(ResourceExistsError);
    expect(await store.read('Patient', 'many-fresh')).toBeUndefined();
  });

  it('reads back exactly what was stored, without internal fields', async () => {
    const created = await store.create(patient('Read'));
    const read = await store.read('Patient', created.id);
    expect(read?.resource).toEqual(created.resource);
    expect(Object.keys(read?.resource ?? {}).sort()).toEqual(['id', 'meta', 'name', 'resourceType']);
  });

  it('keeps every version for vread and numbers them without gaps', async () => {
    const created = await store.create(patient('V1'));
    const second = await store.update({ ...patient('V2'), id: created.id });
    expect(second).toMatchObject({ kind: 'written', created: false, version: { versionId: '2' } });
    expect((await store.vread('Patient', created.id, '1'))?.resource).toMatchObject({ name: [{ family: 'V1' }] });
    expect((await store.vread('Patient', created.id, '2'))?.resource).toMatchObject({ name: [{ family: 'V2' }] });
    expect(await store.vread('Patient', created.id, '3')).toBeUndefined();
    expect(await store.vread('Patient', created.id, 'x')).toBeUndefined();
  });

  it('refuses an update whose expected version is not the latest', async () => {
    const created = await store.create(patient('Lock'));
    await store.update({ ...patient('Lock2'), id: created.id }, { ifVersion: '1' });
    const stale = await store.update({ ...patient('Lock3'), id: created.id }, { ifVersion: '1' });
    expect(stale).toMatchObject({ kind: 'version-mismatch', current: { versionId: '2' } });
  });

  it('creates on update when the client chooses a new id', async () => {
    const result = await store.update({ ...patient('Chosen'), id: 'chosen-id-1' });
    expect(result).toMatchObject({ kind: 'written', created: true, version: { id: 'chosen-id-1', versionId: '1' } });
  });

  it('leaves a tombstone on delete and reports nothing to delete the second time', async () => {
    const created = await store.create(patient('Gone'));
    const tombstone = await store.delete('Patient', created.id);
    expect(tombstone).toMatchObject({ versionId: '2', deleted: true, method: 'DELETE', resource: undefined });
    expect(await store.read('Patient', created.id)).toMatchObject({ deleted: true, versionId: '2' });
    expect(await store.delete('Patient', created.id)).toBeUndefined();
    const revived = await store.update({ ...patient('Back'), id: created.id });
    expect(revived).toMatchObject({ kind: 'written', created: true, version: { versionId: '3' } });
  });

  it('gives concurrent updates of one resource distinct consecutive versions', async () => {
    const created = await store.create(patient('Race'));
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => store.update({ ...patient(`Race${i}`), id: created.id })),
    );
    const versions = results.map((r) => (r.kind === 'written' ? Number(r.version.versionId) : 0)).sort((a, b) => a - b);
    expect(versions).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    const history = await store.history({ resourceType: 'Patient', id: created.id, count: 50 });
    expect(history.versions.map((v) => v.versionId)).toEqual(['9', '8', '7', '6', '5', '4', '3', '2', '1']);
  });

  it('pages instance history newest first with a cursor and a total', async () => {
    const created = await store.create(patient('H1'));
    for (let i = 2; i <= 5; i++) await store.update({ ...patient(`H${i}`), id: created.id });
    const first = await store.history({ resourceType: 'Patient', id: created.id, count: 2 });
    expect(first.total).toBe(5);
    expect(first.versions.map((v) => v.versionId)).toEqual(['5', '4']);
    const second = await store.history({ resourceType: 'Patient', id: created.id, count: 2, cursor: first.nextCursor });
    expect(second.versions.map((v) => v.versionId)).toEqual(['3', '2']);
    const third = await store.history({ resourceType: 'Patient', id: created.id, count: 2, cursor: second.nextCursor });
    expect(third.versions.map((v) => v.versionId)).toEqual(['1']);
    expect(third.nextCursor).toBeUndefined();
  });

  it('filters history with _since and answers _at with the version current at that instant', async () => {
    const created = await store.create(patient('At1'));
    await new Promise((r) => setTimeout(r, 5));
    const between = new Date();
    await new Promise((r) => setTimeout(r, 5));
    await store.update({ ...patient('At2'), id: created.id });
    const since = await store.history({ resourceType: 'Patient', id: created.id, since: between, count: 10 });
    expect(since.versions.map((v) => v.versionId)).toEqual(['2']);
    const at = await store.history({ resourceType: 'Patient', id: created.id, at: between, count: 10 });
    expect(at.versions.map((v) => v.versionId)).toEqual(['1']);
  });

  it('finds live resources by identifier in each token form', async () => {
    const created = await store.create(patient('Ident', { identifier: [{ system: 'urn:mrn', value: 'M-1' }] }));
    const ids = (system: string | undefined, code: string): Promise<string[]> => byIdentifier(store, system, code);
    expect(await ids('urn:mrn', 'M-1')).toEqual([created.id]);
    expect(await ids(undefined, 'M-1')).toEqual([created.id]);
    expect(await ids('urn:other', 'M-1')).toEqual([]);
    expect(await ids('', 'M-1')).toEqual([]);
    await store.delete('Patient', created.id);
    expect(await ids('urn:mrn', 'M-1')).toEqual([]);
  });

  it('commits a transaction whole or not at all', async () => {
    await expect(
      store.transaction(async (tx) => {
        await tx.create(patient('TxA', { identifier: [{ value: 'tx-rollback' }] }));
        throw new Error('fail halfway');
      }),
    ).rejects.toThrow('fail halfway');
    expect(await byIdentifier(store, undefined, 'tx-rollback')).toEqual([]);
    const made = await store.transaction(async (tx) => [await tx.create(patient('TxB')), await tx.create(patient('TxC'))]);
    expect(await store.read('Patient', made[1]?.id ?? '')).toMatchObject({ versionId: '1' });
  });

  it('never shows one tenant the resources of another', async () => {
    const other = openResourceStore({ client, db, indexer }, 'org-b');
    const mine = await store.create(patient('Tenant', { identifier: [{ value: 'shared-mrn' }] }));
    expect(await other.read('Patient', mine.id)).toBeUndefined();
    expect(await byIdentifier(other, undefined, 'shared-mrn')).toEqual([]);
    expect((await other.history({ resourceType: 'Patient', count: 100 })).versions).toEqual([]);
    expect(await other.delete('Patient', mine.id)).toBeUndefined();
  });

  it('lists system history across resource types', async () => {
    const org = await store.create({ resourceType: 'Organization', name: 'Sys' });
    const page = await store.history({ count: 1 });
    expect(page.versions[0]).toMatchObject({ resourceType: 'Organization', id: org.id });
  });
});
