/**
 * insertOne and insertMany: generated _id, field order, ordered and unordered batches with a failing statement.
 * https://www.mongodb.com/docs/manual/reference/method/db.collection.insertMany/ ,
 * https://www.mongodb.com/docs/manual/core/document/#document-field-order
 */
import { MongoBulkWriteError, ObjectId } from 'mongodb';
import { rejectionOf, useContractDatabase } from './fixtures/contract-database';
import { listWriteErrors } from './fixtures/write-errors';

const database = useContractDatabase();

interface NumberedDocument {
  _id: number;
  label?: string;
}

const batchWithDuplicateInTheMiddle: NumberedDocument[] = [{ _id: 1 }, { _id: 2 }, { _id: 1 }, { _id: 3 }, { _id: 4 }];

describe('insertOne', () => {
  it('generates an ObjectId _id when the document has none, and returns it as insertedId', async () => {
    const patients = database.collection('patients');
    const result = await patients.insertOne({ name: 'Ann' });
    expect(result.acknowledged).toBe(true);
    expect(result.insertedId).toBeInstanceOf(ObjectId);
    expect(await patients.findOne({ _id: result.insertedId })).toEqual({ _id: result.insertedId, name: 'Ann' });
  });

  it('stores _id as the first field even when the client sent it last', async () => {
    // "The _id field is always the first field in the document" (Document Field Order).
    const patients = database.collection('patients');
    await patients.insertOne({ name: 'Bo', age: 40, _id: new ObjectId() });
    await patients.insertOne({ name: 'Cy' });
    const stored = await patients.find().toArray();
    expect(stored.map((document) => Object.keys(document))).toEqual([
      ['_id', 'name', 'age'],
      ['_id', 'name'],
    ]);
  });

  it('keeps a client-chosen _id of any type', async () => {
    const codes = database.collection<{ _id: string; display: string }>('codes');
    const result = await codes.insertOne({ _id: 'http://loinc.org|8867-4', display: 'Heart rate' });
    expect(result.insertedId).toBe('http://loinc.org|8867-4');
    expect(await codes.findOne({ _id: 'http://loinc.org|8867-4' })).toEqual({ _id: 'http://loinc.org|8867-4', display: 'Heart rate' });
  });
});

describe('insertMany', () => {
  it('inserts every document and reports insertedCount and insertedIds by position', async () => {
    const numbers = database.collection<NumberedDocument>('numbers');
    const result = await numbers.insertMany([{ _id: 10 }, { _id: 11 }, { _id: 12 }]);
    expect(result.insertedCount).toBe(3);
    expect(result.insertedIds).toEqual({ 0: 10, 1: 11, 2: 12 });
    expect(await numbers.countDocuments()).toBe(3);
  });

  it('stops an ordered batch at the duplicate: the documents before it stay, the ones after are not inserted', async () => {
    const numbers = database.collection<NumberedDocument>('numbers');
    const error = await rejectionOf(numbers.insertMany(batchWithDuplicateInTheMiddle), MongoBulkWriteError);
    expect(error.insertedCount).toBe(2);
    expect(listWriteErrors(error).map((writeError) => ({ index: writeError.index, code: writeError.code }))).toEqual([{ index: 2, code: 11000 }]);
    expect((await numbers.find().sort({ _id: 1 }).toArray()).map((document) => document._id)).toEqual([1, 2]);
  });

  it('continues an unordered batch past the duplicate and reports only the failed statement', async () => {
    const numbers = database.collection<NumberedDocument>('numbers');
    const error = await rejectionOf(numbers.insertMany(batchWithDuplicateInTheMiddle, { ordered: false }), MongoBulkWriteError);
    expect(error.insertedCount).toBe(4);
    expect(listWriteErrors(error).map((writeError) => ({ index: writeError.index, code: writeError.code }))).toEqual([{ index: 2, code: 11000 }]);
    expect((await numbers.find().sort({ _id: 1 }).toArray()).map((document) => document._id)).toEqual([1, 2, 3, 4]);
  });

  it('reports every failed statement of an unordered batch, each with its index', async () => {
    const numbers = database.collection<NumberedDocument>('numbers');
    await numbers.insertOne({ _id: 1 });
    const error = await rejectionOf(numbers.insertMany([{ _id: 1 }, { _id: 2 }, { _id: 2 }, { _id: 3 }], { ordered: false }), MongoBulkWriteError);
    expect(error.insertedCount).toBe(2);
    expect(listWriteErrors(error).map((writeError) => writeError.index)).toEqual([0, 2]);
    expect(await numbers.countDocuments()).toBe(3);
  });
});
