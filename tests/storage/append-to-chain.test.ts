/**
 * The ResourceStore's hash chains (resource-store.ts appendToChain / readChainHead): links are created together with
 * the move of the chain's head, in one transaction conditioned on the head that was read, so writers on separate
 * connections (separate server processes) never fork a chain and a failed append leaves nothing behind.
 */
import { MongoClient, type Db } from 'mongodb';
import type { Basic } from '@medplum/fhirtypes';
import { openResourceStore } from '../../src/storage/mongo/mongo-resource-store';
import { ResourceExistsError, type ChainHead, type ChainLinks, type ResourceStore } from '../../src/storage/resource-store';
import { createIndexer } from '../../src/search/extract-index-values';
import { baseSearchParameters } from '../../src/search/search-parameters';
import { startTestMongo, type TestMongo } from '../support/mongo';

let mongo: TestMongo;
const clients: MongoClient[] = [];
let db: Db;
const indexer = createIndexer(() => baseSearchParameters());

async function storeOnOwnConnection(tenant: string): Promise<ResourceStore> {
  const client = await new MongoClient(mongo.uri).connect();
  clients.push(client);
  return openResourceStore({ client, db: client.db(mongo.dbName), indexer }, tenant);
}

/** One link per call: a Basic resource whose id is its sequence number and whose text names its predecessor. */
function nextLink(head: ChainHead | undefined, writer: string): ChainLinks {
  const sequence = (head?.sequence ?? 0) + 1;
  const resource: Basic & { id: string } = { resourceType: 'Basic', id: `link-${sequence}`, code: { text: `${writer} after ${head?.hash ?? 'nothing'}` } };
  return { resources: [resource], head: { sequence, hash: `hash-${sequence}-${writer}` } };
}

beforeAll(async () => {
  mongo = await startTestMongo();
  const client = await new MongoClient(mongo.uri).connect();
  clients.push(client);
  db = client.db(mongo.dbName);
});

afterAll(async () => {
  await db.dropDatabase();
  for (const client of clients) await client.close();
  await mongo.stop();
});

describe('ResourceStore hash chains', () => {
  it('creates the links and moves the head, which starts undefined', async () => {
    const store = await storeOnOwnConnection('chain-a');
    expect(await store.readChainHead('test')).toBeUndefined();
    const versions = await store.appendToChain('test', (head) => nextLink(head, 'w'));
    expect(versions.map((v) => [v.resourceType, v.id, v.versionId])).toEqual([['Basic', 'link-1', '1']]);
    expect(await store.readChainHead('test')).toEqual({ sequence: 1, hash: 'hash-1-w' });
    await store.appendToChain('test', (head) => nextLink(head, 'w'));
    expect(await store.readChainHead('test')).toEqual({ sequence: 2, hash: 'hash-2-w' });
    expect((await store.read('Basic', 'link-2'))?.resource).toMatchObject({ code: { text: 'w after hash-1-w' } });
  });

  it('keeps each tenant and each chain apart', async () => {
    const other = await storeOnOwnConnection('chain-b');
    expect(await other.readChainHead('test')).toBeUndefined();
    await other.appendToChain('test', (head) => nextLink(head, 'b'));
    await other.appendToChain('other', (head) => nextLink({ sequence: head?.sequence ?? 100, hash: '' }, 'b'));
    expect(await other.readChainHead('test')).toEqual({ sequence: 1, hash: 'hash-1-b' });
    expect(await other.readChainHead('other')).toEqual({ sequence: 101, hash: 'hash-101-b' });
    expect((await (await storeOnOwnConnection('chain-a')).readChainHead('test'))?.sequence).toBe(2);
  });

  it('leaves the head and the store unchanged when the links cannot be stored', async () => {
    const store = await storeOnOwnConnection('chain-c');
    await store.appendToChain('test', (head) => nextLink(head, 'c'));
    const clash = store.appendToChain('test', (head) => ({ resources: [{ resourceType: 'Basic', id: 'link-1', code: {} }, { resourceType: 'Basic', id: 'fresh', code: {} }], head: { sequence: (head?.sequence ?? 0) + 2, hash: 'x' } }));
    await expect(clash).rejects.toBeInstanceOf(ResourceExistsError);
    expect(await store.readChainHead('test')).toEqual({ sequence: 1, hash: 'hash-1-c' });
    expect(await store.read('Basic', 'fresh')).toBeUndefined();
  });

  it('follows the latest head even when another writer appended since this store last did', async () => {
    const [a, b] = [await storeOnOwnConnection('chain-d'), await storeOnOwnConnection('chain-d')] as [ResourceStore, ResourceStore];
    await a.appendToChain('test', (head) => nextLink(head, 'a'));
    await b.appendToChain('test', (head) => nextLink(head, 'b'));
    const seen: (ChainHead | undefined)[] = [];
    await a.appendToChain('test', (head) => {
      seen.push(head);
      return nextLink(head, 'a');
    });
    expect(seen[seen.length - 1]).toEqual({ sequence: 2, hash: 'hash-2-b' });
    expect(await b.readChainHead('test')).toEqual({ sequence: 3, hash: 'hash-3-a' });
  });

  it('never forks when writers on separate connections append at the same time', async () => {
    const writers = await Promise.all(['p1', 'p2', 'p3'].map(async (name) => ({ name, store: await storeOnOwnConnection('chain-race') })));
    let calls = 0;
    // Each writer appends one batch after another (as one server's audit sink does), all writers at once.
    const appendAll = async ({ name, store }: { name: string; store: ResourceStore }) => {
      const versions = [];
      for (let i = 0; i < 20; i++) {
        versions.push(
          ...(await store.appendToChain('test', (head) => {
            calls += 1;
            return nextLink(head, name);
          })),
        );
      }
      return versions;
    };
    const appended = (await Promise.all(writers.map(appendAll))).flat();
    expect(appended).toHaveLength(60);
    expect(new Set(appended.map((v) => v.id)).size).toBe(60);
    const head = await writers[0]?.store.readChainHead('test');
    expect(head?.sequence).toBe(60);
    // Every link names the hash of the one before it: one unbroken line, whoever won each race.
    const heads = new Map<number, string>();
    for (let sequence = 1; sequence <= 60; sequence++) {
      const text = ((await writers[0]?.store.read('Basic', `link-${sequence}`))?.resource as Basic | undefined)?.code?.text ?? '';
      const [writer, previous] = text.split(' after ');
      expect(previous).toBe(heads.get(sequence - 1) ?? 'nothing');
      heads.set(sequence, `hash-${sequence}-${writer}`);
    }
    expect(heads.get(60)).toBe(head?.hash);
    expect(calls).toBeGreaterThanOrEqual(60);
  });
});
