/**
 * The shapes of an update: updateOne and updateMany counts, upserts, $setOnInsert, the positional `$` and
 * filtered `$[identifier]` operators, pipeline updates and replaceOne.
 * https://www.mongodb.com/docs/manual/reference/method/db.collection.updateOne/ ,
 * https://www.mongodb.com/docs/manual/reference/method/db.collection.update/#upsert-behavior ,
 * https://www.mongodb.com/docs/manual/reference/operator/update/positional-filtered/ ,
 * https://www.mongodb.com/docs/manual/tutorial/update-documents-with-aggregation-pipeline/
 */
import { ObjectId } from 'mongodb';
import { useContractDatabase } from './fixtures/contract-database';

const database = useContractDatabase();

describe('updateOne and updateMany', () => {
  it('updateOne changes only the first matching document', async () => {
    const documents = database.collection('documents');
    await documents.insertMany([
      { _id: 1, kind: 'x', n: 0 },
      { _id: 2, kind: 'x', n: 0 },
    ]);
    const result = await documents.updateOne({ kind: 'x' }, { $inc: { n: 1 } });
    expect({ matched: result.matchedCount, modified: result.modifiedCount }).toEqual({ matched: 1, modified: 1 });
    expect(await documents.countDocuments({ n: 1 })).toBe(1);
  });

  it('updateMany changes every matching document and reports the counts', async () => {
    const documents = database.collection('documents');
    await documents.insertMany([
      { _id: 1, kind: 'x', n: 0 },
      { _id: 2, kind: 'x', n: 5 },
      { _id: 3, kind: 'y', n: 0 },
    ]);
    const result = await documents.updateMany({ kind: 'x' }, { $set: { n: 5 } });
    expect({ matched: result.matchedCount, modified: result.modifiedCount, upserted: result.upsertedCount }).toEqual({ matched: 2, modified: 1, upserted: 0 });
    expect(result.upsertedId).toBeNull();
  });

  it('reports matchedCount 0 and changes nothing when no document matches', async () => {
    const documents = database.collection('documents');
    await documents.insertOne({ _id: 1, n: 0 });
    const result = await documents.updateOne({ _id: 2 }, { $set: { n: 1 } });
    expect({ matched: result.matchedCount, modified: result.modifiedCount }).toEqual({ matched: 0, modified: 0 });
    expect(await documents.findOne({ _id: 1 })).toEqual({ _id: 1, n: 0 });
  });
});

describe('upsert', () => {
  it('inserts a document when nothing matches and returns its generated upsertedId', async () => {
    const documents = database.collection('documents');
    const result = await documents.updateOne({ key: 'k1' }, { $set: { v: 1 } }, { upsert: true });
    expect({ matched: result.matchedCount, modified: result.modifiedCount, upserted: result.upsertedCount }).toEqual({ matched: 0, modified: 0, upserted: 1 });
    expect(result.upsertedId).toBeInstanceOf(ObjectId);
    expect(await documents.findOne({ _id: result.upsertedId ?? undefined })).toEqual({ _id: result.upsertedId, key: 'k1', v: 1 });
  });

  it('copies the equality conditions of the filter, including dotted paths, but not the operator conditions', async () => {
    // "the update creates a base document from the equality clauses in the <query> parameter" (upsert behaviour).
    const documents = database.collection('documents');
    await documents.updateOne({ key: 'k2', 'meta.source': 'lab', score: { $gt: 1 } }, { $set: { v: 2 } }, { upsert: true });
    expect(await documents.findOne({ key: 'k2' }, { projection: { _id: 0 } })).toEqual({ key: 'k2', meta: { source: 'lab' }, v: 2 });
  });

  it('takes the _id from an equality on _id in the filter', async () => {
    const documents = database.collection('documents');
    const result = await documents.updateOne({ _id: 'chosen' }, { $set: { v: 3 } }, { upsert: true });
    expect(result.upsertedId).toBe('chosen');
    expect(await documents.findOne({ _id: 'chosen' })).toEqual({ _id: 'chosen', v: 3 });
  });

  it('applies $setOnInsert when the upsert inserts', async () => {
    const documents = database.collection('documents');
    await documents.updateOne({ key: 'k3' }, { $set: { v: 1 }, $setOnInsert: { createdBy: 'upsert' } }, { upsert: true });
    expect(await documents.findOne({ key: 'k3' }, { projection: { _id: 0 } })).toEqual({ key: 'k3', v: 1, createdBy: 'upsert' });
  });

  it('ignores $setOnInsert when the upsert updates an existing document', async () => {
    const documents = database.collection('documents');
    await documents.insertOne({ key: 'k4', v: 1, createdBy: 'insert' });
    const result = await documents.updateOne({ key: 'k4' }, { $set: { v: 2 }, $setOnInsert: { createdBy: 'upsert' } }, { upsert: true });
    expect({ matched: result.matchedCount, upserted: result.upsertedCount }).toEqual({ matched: 1, upserted: 0 });
    expect(await documents.findOne({ key: 'k4' }, { projection: { _id: 0 } })).toEqual({ key: 'k4', v: 2, createdBy: 'insert' });
  });
});

describe('array element updates', () => {
  it('updates the first matching element through the positional $ operator', async () => {
    const orders = database.collection('orders');
    await orders.insertOne({ _id: 1, items: [{ sku: 'a', qty: 1 }, { sku: 'b', qty: 1 }, { sku: 'b', qty: 1 }] });
    await orders.updateOne({ _id: 1, 'items.sku': 'b' }, { $set: { 'items.$.qty': 5 } });
    expect(await orders.findOne({ _id: 1 })).toEqual({ _id: 1, items: [{ sku: 'a', qty: 1 }, { sku: 'b', qty: 5 }, { sku: 'b', qty: 1 }] });
  });

  it('updates every element matching an arrayFilters condition through $[identifier]', async () => {
    const grades = database.collection('grades');
    await grades.insertOne({ _id: 1, grades: [95, 102, 90, 150] });
    await grades.updateOne({ _id: 1 }, { $set: { 'grades.$[high]': 100 } }, { arrayFilters: [{ high: { $gte: 100 } }] });
    expect(await grades.findOne({ _id: 1 })).toEqual({ _id: 1, grades: [95, 100, 90, 100] });
  });

  it('applies arrayFilters on fields of subdocument elements', async () => {
    const orders = database.collection('orders');
    await orders.insertOne({ _id: 1, items: [{ q: 1 }, { q: 5 }, { q: 7 }] });
    await orders.updateOne({ _id: 1 }, { $set: { 'items.$[big].flag': true } }, { arrayFilters: [{ 'big.q': { $gt: 2 } }] });
    expect(await orders.findOne({ _id: 1 })).toEqual({ _id: 1, items: [{ q: 1 }, { q: 5, flag: true }, { q: 7, flag: true }] });
  });
});

describe('pipeline updates', () => {
  it('computes fields from the document with an aggregation pipeline', async () => {
    const orders = database.collection('orders');
    await orders.insertOne({ _id: 1, price: 4, quantity: 3, obsolete: true });
    await orders.updateOne({ _id: 1 }, [{ $set: { total: { $multiply: ['$price', '$quantity'] } } }, { $unset: 'obsolete' }]);
    expect(await orders.findOne({ _id: 1 })).toEqual({ _id: 1, price: 4, quantity: 3, total: 12 });
  });
});

describe('replaceOne', () => {
  it('replaces every field but _id', async () => {
    const documents = database.collection('documents');
    await documents.insertOne({ _id: 1, a: 1, b: 2 });
    const result = await documents.replaceOne({ _id: 1 }, { c: 3 });
    expect({ matched: result.matchedCount, modified: result.modifiedCount }).toEqual({ matched: 1, modified: 1 });
    expect(await documents.findOne({ _id: 1 })).toEqual({ _id: 1, c: 3 });
  });

  it('inserts the replacement with upsert when nothing matches, taking _id from the filter', async () => {
    const documents = database.collection('documents');
    const result = await documents.replaceOne({ _id: 'new' }, { c: 3 }, { upsert: true });
    expect(result.upsertedId).toBe('new');
    expect(await documents.findOne({ _id: 'new' })).toEqual({ _id: 'new', c: 3 });
  });
});
