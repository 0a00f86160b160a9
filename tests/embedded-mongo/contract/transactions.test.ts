/**
 * Multi-document transactions through sessions: atomic commit and abort, snapshot isolation, write conflicts
 * and the driver's withTransaction retry. Skipped on a standalone mongod (transactions need a replica set).
 * https://www.mongodb.com/docs/manual/core/transactions/ ,
 * https://www.mongodb.com/docs/manual/core/transactions-in-applications/#transienttransactionerror ,
 * https://www.mongodb.com/docs/manual/core/transactions-production-consideration/#in-progress-transactions-and-write-conflicts
 */
import { MongoServerError, type ClientSession } from 'mongodb';
import { rejectionOf, useContractDatabase } from './fixtures/contract-database';
import { describeWithTransactions } from './fixtures/transaction-support';

const database = useContractDatabase();

/** Runs `work` with a fresh session and ends the session afterwards, whatever happens. */
async function withSession<T>(work: (session: ClientSession) => Promise<T>): Promise<T> {
  const session = database.client.startSession();
  try {
    return await work(session);
  } finally {
    await session.endSession();
  }
}

describeWithTransactions('transactions', () => {
  it('makes every write of a committed withTransaction visible', async () => {
    const accounts = database.collection('accounts');
    await accounts.insertMany([
      { _id: 'a', balance: 100 },
      { _id: 'b', balance: 0 },
    ]);
    await withSession((session) =>
      session.withTransaction(async () => {
        await accounts.updateOne({ _id: 'a' }, { $inc: { balance: -30 } }, { session });
        await accounts.updateOne({ _id: 'b' }, { $inc: { balance: 30 } }, { session });
        await accounts.insertOne({ _id: 'log', amount: 30 }, { session });
      }),
    );
    expect(await accounts.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 'a', balance: 70 },
      { _id: 'b', balance: 30 },
      { _id: 'log', amount: 30 },
    ]);
  });

  it('makes the writes of a manually started transaction visible at commitTransaction', async () => {
    const documents = database.collection('documents');
    await withSession(async (session) => {
      session.startTransaction();
      await documents.insertMany([{ _id: 1 }, { _id: 2 }], { session });
      await session.commitTransaction();
    });
    expect(await documents.countDocuments()).toBe(2);
  });

  it('makes none of the writes visible after abortTransaction', async () => {
    const documents = database.collection('documents');
    await documents.insertOne({ _id: 'kept', n: 0 });
    await withSession(async (session) => {
      session.startTransaction();
      await documents.insertOne({ _id: 'new' }, { session });
      await documents.updateOne({ _id: 'kept' }, { $set: { n: 1 } }, { session });
      await documents.deleteOne({ _id: 'kept' }, { session });
      await session.abortTransaction();
    });
    expect(await documents.find().toArray()).toEqual([{ _id: 'kept', n: 0 }]);
  });

  it('lets the transaction read its own uncommitted writes', async () => {
    const documents = database.collection('documents');
    await withSession(async (session) => {
      session.startTransaction();
      await documents.insertOne({ _id: 1, state: 'draft' }, { session });
      expect(await documents.findOne({ _id: 1 }, { session })).toEqual({ _id: 1, state: 'draft' });
      await session.abortTransaction();
    });
  });

  it('finds its own update through an index on the field it changed, and not the old value, in sort order', async () => {
    const documents = database.collection('documents');
    await documents.createIndex({ state: 1 });
    await documents.insertMany([
      { _id: 1, state: 'draft', rank: 3 },
      { _id: 2, state: 'final', rank: 2 },
      { _id: 3, state: 'draft', rank: 1 },
    ]);
    await withSession(async (session) => {
      session.startTransaction();
      await documents.updateOne({ _id: 1 }, { $set: { state: 'final' } }, { session });
      await documents.insertOne({ _id: 4, state: 'final', rank: 0 }, { session });
      expect(await documents.find({ state: 'final' }, { session }).sort({ rank: 1 }).toArray()).toEqual([
        { _id: 4, state: 'final', rank: 0 },
        { _id: 2, state: 'final', rank: 2 },
        { _id: 1, state: 'final', rank: 3 },
      ]);
      expect(await documents.find({ state: 'draft' }, { session }).toArray()).toEqual([{ _id: 3, state: 'draft', rank: 1 }]);
      expect(await documents.countDocuments({ state: 'final' }, { session })).toBe(3);
      await session.abortTransaction();
    });
  });

  it('hides uncommitted writes from reads outside the transaction until commit', async () => {
    const documents = database.collection('documents');
    await documents.insertOne({ _id: 1, state: 'old' });
    await withSession(async (session) => {
      session.startTransaction();
      await documents.insertOne({ _id: 2 }, { session });
      await documents.updateOne({ _id: 1 }, { $set: { state: 'new' } }, { session });
      expect(await documents.find().toArray()).toEqual([{ _id: 1, state: 'old' }]);
      await session.commitTransaction();
    });
    expect(await documents.find().sort({ _id: 1 }).toArray()).toEqual([{ _id: 1, state: 'new' }, { _id: 2 }]);
  });

  it('fails the second transaction writing the same document with WriteConflict (112) labelled TransientTransactionError', async () => {
    const documents = database.collection('documents');
    await documents.insertOne({ _id: 'shared', n: 0 });
    await withSession((first) =>
      withSession(async (second) => {
        first.startTransaction();
        second.startTransaction();
        await documents.updateOne({ _id: 'shared' }, { $inc: { n: 1 } }, { session: first });
        const error = await rejectionOf(documents.updateOne({ _id: 'shared' }, { $inc: { n: 10 } }, { session: second }), MongoServerError);
        expect(error.code).toBe(112);
        expect(error.codeName).toBe('WriteConflict');
        expect(error.hasErrorLabel('TransientTransactionError')).toBe(true);
        await second.abortTransaction();
        await first.commitTransaction();
      }),
    );
    expect(await documents.findOne({ _id: 'shared' })).toEqual({ _id: 'shared', n: 1 });
  });

  it('retries the withTransaction callback after a write conflict until it commits', async () => {
    const documents = database.collection('documents');
    await documents.insertOne({ _id: 'shared', n: 0 });
    let invocations = 0;
    await withSession(async (blocker) => {
      blocker.startTransaction();
      await documents.updateOne({ _id: 'shared' }, { $inc: { n: 1 } }, { session: blocker });
      await withSession((session) =>
        session.withTransaction(async () => {
          invocations++;
          try {
            await documents.updateOne({ _id: 'shared' }, { $inc: { n: 10 } }, { session });
          } catch (error) {
            // The conflicting transaction finishes while the driver prepares its retry.
            if (blocker.inTransaction()) await blocker.commitTransaction();
            throw error;
          }
        }),
      );
    });
    expect(invocations).toBe(2);
    expect(await documents.findOne({ _id: 'shared' })).toEqual({ _id: 'shared', n: 11 });
  });

  it('aborts the whole transaction on a duplicate key and leaves none of its writes', async () => {
    const documents = database.collection('documents');
    await documents.insertOne({ _id: 'existing' });
    const error = await rejectionOf(
      withSession((session) =>
        session.withTransaction(async () => {
          await documents.insertOne({ _id: 'first' }, { session });
          await documents.insertOne({ _id: 'existing' }, { session });
        }),
      ),
      MongoServerError,
    );
    expect(error.code).toBe(11000);
    expect((await documents.find().toArray()).map((document) => document._id)).toEqual(['existing']);
  });

  it('leaves nothing of a transaction whose session ends without commit, and frees its documents for others', async () => {
    const documents = database.collection('documents');
    const session = database.client.startSession();
    session.startTransaction();
    await documents.insertOne({ _id: 'abandoned' }, { session });
    await session.endSession();
    expect(await documents.countDocuments()).toBe(0);
    await documents.insertOne({ _id: 'abandoned', by: 'another writer' });
    expect(await documents.find().toArray()).toEqual([{ _id: 'abandoned', by: 'another writer' }]);
  });
});
