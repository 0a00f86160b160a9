/**
 * Errors in the shape mongod gives them: class, numeric code, codeName and the fields drivers and the server's
 * own error mapping read (keyPattern, keyValue, writeErrors).
 * https://www.mongodb.com/docs/manual/reference/error-codes/ ,
 * https://www.mongodb.com/docs/manual/core/index-unique/
 */
import { MongoBulkWriteError, MongoServerError, type Document } from 'mongodb';
import { rejectionOf, useContractDatabase } from './fixtures/contract-database';
import { listWriteErrors } from './fixtures/write-errors';

const database = useContractDatabase();

/** The message prefix mongod gives a duplicate key error; the rendering of the key after it varies by version. */
function duplicateKeyMessage(collectionName: string, indexName: string): RegExp {
  const namespace = `${database.mongo.dbName}.${collectionName}`.replace(/[.$]/g, '\\$&');
  return new RegExp(`^E11000 duplicate key error collection: ${namespace} index: ${indexName} dup key:`);
}

describe('duplicate key (11000)', () => {
  it('rejects a second document with the same value of a unique index, naming the index, key pattern and key value', async () => {
    const accounts = database.collection('accounts');
    await accounts.createIndex({ email: 1 }, { unique: true });
    await accounts.insertOne({ email: 'a@example.org' });
    const error = await rejectionOf(accounts.insertOne({ email: 'a@example.org' }), MongoServerError);
    expect(error.code).toBe(11000);
    expect(error.keyPattern).toEqual({ email: 1 });
    expect(error.keyValue).toEqual({ email: 'a@example.org' });
    expect(error.message).toMatch(duplicateKeyMessage(accounts.collectionName, 'email_1'));
  });

  it('rejects a duplicate _id naming the _id_ index', async () => {
    const accounts = database.collection('accounts');
    await accounts.insertOne({ _id: 'same' });
    const error = await rejectionOf(accounts.insertOne({ _id: 'same' }), MongoServerError);
    expect(error.code).toBe(11000);
    expect(error.keyPattern).toEqual({ _id: 1 });
    expect(error.keyValue).toEqual({ _id: 'same' });
    expect(error.message).toMatch(duplicateKeyMessage(accounts.collectionName, '_id_'));
  });

  it('rejects an update that would duplicate a unique value', async () => {
    const accounts = database.collection('accounts');
    await accounts.createIndex({ email: 1 }, { unique: true });
    await accounts.insertMany([
      { _id: 1, email: 'a@example.org' },
      { _id: 2, email: 'b@example.org' },
    ]);
    const error = await rejectionOf(accounts.updateOne({ _id: 2 }, { $set: { email: 'a@example.org' } }), MongoServerError);
    expect(error.code).toBe(11000);
    expect(error.keyValue).toEqual({ email: 'a@example.org' });
    expect(await accounts.findOne({ _id: 2 })).toEqual({ _id: 2, email: 'b@example.org' });
  });

  it('reports a duplicate in insertMany as a MongoBulkWriteError whose write error carries 11000', async () => {
    const accounts = database.collection('accounts');
    await accounts.createIndex({ email: 1 }, { unique: true });
    const error = await rejectionOf(accounts.insertMany([{ email: 'x@example.org' }, { email: 'x@example.org' }]), MongoBulkWriteError);
    expect(error).toBeInstanceOf(MongoServerError);
    expect(error.code).toBe(11000);
    const [writeError] = listWriteErrors(error);
    expect({ index: writeError?.index, code: writeError?.code }).toEqual({ index: 1, code: 11000 });
    expect(writeError?.errmsg).toMatch(duplicateKeyMessage(accounts.collectionName, 'email_1'));
  });

  it('reports a duplicate in bulkWrite as a MongoBulkWriteError whose write error carries 11000', async () => {
    const accounts = database.collection('accounts');
    await accounts.insertOne({ _id: 1 });
    const error = await rejectionOf(accounts.bulkWrite([{ insertOne: { document: { _id: 1 } } }]), MongoBulkWriteError);
    expect(listWriteErrors(error).map((writeError) => writeError.code)).toEqual([11000]);
  });
});

describe('other server errors', () => {
  it('rejects createCollection of an existing collection with NamespaceExists (48)', async () => {
    // Different options, so the answer is 48 on every MongoDB 7 release: releases where create became
    // idempotent still refuse an existing collection whose options differ.
    const existing = database.collection('existing');
    await database.db.createCollection(existing.collectionName);
    const error = await rejectionOf(database.db.createCollection(existing.collectionName, { validator: { name: { $exists: true } } }), MongoServerError);
    expect(error.code).toBe(48);
    expect(error.codeName).toBe('NamespaceExists');
  });

  it('rejects an update operator that changes _id with ImmutableField (66)', async () => {
    const documents = database.collection('documents');
    await documents.insertOne({ _id: 1 });
    const error = await rejectionOf(documents.updateOne({ _id: 1 }, { $set: { _id: 2 } }), MongoServerError);
    expect(error.code).toBe(66);
    expect(error.codeName).toBe('ImmutableField');
    expect(error.message).toContain('_id');
    expect(await documents.findOne({ _id: 1 })).toEqual({ _id: 1 });
  });

  it('rejects a replacement with a different _id with ImmutableField (66)', async () => {
    const documents = database.collection('documents');
    await documents.insertOne({ _id: 1 });
    const error = await rejectionOf(documents.replaceOne({ _id: 1 }, { _id: 2, v: 1 }), MongoServerError);
    expect(error.code).toBe(66);
  });

  it('rejects $inc on a non-numeric field with TypeMismatch (14)', async () => {
    const documents = database.collection('documents');
    await documents.insertOne({ _id: 1, label: 'text' });
    const error = await rejectionOf(documents.updateOne({ _id: 1 }, { $inc: { label: 1 } }), MongoServerError);
    expect(error.code).toBe(14);
    expect(error.codeName).toBe('TypeMismatch');
    expect(error.message).toContain('Cannot apply $inc to a value of non-numeric type');
  });

  it('rejects $inc with a non-numeric amount with TypeMismatch (14)', async () => {
    const documents = database.collection('documents');
    await documents.insertOne({ _id: 1, n: 1 });
    const incrementByText: Document = { $inc: { n: 'one' } };
    const error = await rejectionOf(documents.updateOne({ _id: 1 }, incrementByText), MongoServerError);
    expect(error.code).toBe(14);
  });

  it('rejects an unknown update operator with FailedToParse (9)', async () => {
    // mongod answers "Unknown modifier: $<name>" with FailedToParse (9); error-codes lists 9 as FailedToParse.
    const documents = database.collection('documents');
    await documents.insertOne({ _id: 1 });
    const error = await rejectionOf(documents.updateOne({ _id: 1 }, { $frobnicate: { a: 1 } }), MongoServerError);
    expect(error.code).toBe(9);
    expect(error.codeName).toBe('FailedToParse');
    expect(error.message).toContain('Unknown modifier: $frobnicate');
  });

  it('rejects two operators on the same path with ConflictingUpdateOperators (40)', async () => {
    const documents = database.collection('documents');
    await documents.insertOne({ _id: 1, a: 1 });
    const error = await rejectionOf(documents.updateOne({ _id: 1 }, { $set: { a: 2 }, $inc: { a: 1 } }), MongoServerError);
    expect(error.code).toBe(40);
  });

  it('rejects $push on a field that is not an array with BadValue (2)', async () => {
    const documents = database.collection('documents');
    await documents.insertOne({ _id: 1, a: 'scalar' });
    const pushOntoScalar: Document = { $push: { a: 1 } };
    const error = await rejectionOf(documents.updateOne({ _id: 1 }, pushOntoScalar), MongoServerError);
    expect(error.code).toBe(2);
  });

  it('rejects an unknown query operator with BadValue (2)', async () => {
    const documents = database.collection('documents');
    await documents.insertOne({ _id: 1 });
    const error = await rejectionOf(documents.find({ a: { $frobnicate: 1 } }).toArray(), MongoServerError);
    expect(error.code).toBe(2);
    expect(error.message).toContain('unknown operator: $frobnicate');
  });
});
