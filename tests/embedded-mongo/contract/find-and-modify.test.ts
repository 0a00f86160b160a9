/**
 * findOneAndUpdate, findOneAndReplace and findOneAndDelete: which document they pick (sort), which version
 * they return (returnDocument), upsert and projection.
 * https://www.mongodb.com/docs/manual/reference/command/findAndModify/
 */
import { useContractDatabase } from './fixtures/contract-database';

const database = useContractDatabase();

const queue = [
  { _id: 1, state: 'ready', priority: 2, payload: 'b' },
  { _id: 2, state: 'ready', priority: 9, payload: 'a' },
  { _id: 3, state: 'done', priority: 5, payload: 'c' },
];

describe('findOneAndUpdate', () => {
  it('returns the document as it was before the update by default', async () => {
    const jobs = database.collection('jobs');
    await jobs.insertMany(queue);
    expect(await jobs.findOneAndUpdate({ _id: 1 }, { $set: { state: 'running' } })).toEqual(queue[0]);
    expect(await jobs.findOne({ _id: 1 })).toEqual({ ...queue[0], state: 'running' });
  });

  it('returns the updated document with returnDocument: "after"', async () => {
    const jobs = database.collection('jobs');
    await jobs.insertMany(queue);
    expect(await jobs.findOneAndUpdate({ _id: 1 }, { $inc: { priority: 1 } }, { returnDocument: 'after' })).toEqual({ ...queue[0], priority: 3 });
  });

  it('picks the first document in sort order among several matches', async () => {
    const jobs = database.collection('jobs');
    await jobs.insertMany(queue);
    const claimed = await jobs.findOneAndUpdate({ state: 'ready' }, { $set: { state: 'running' } }, { sort: { priority: -1 }, returnDocument: 'after' });
    expect(claimed).toEqual({ ...queue[1], state: 'running' });
    expect(await jobs.countDocuments({ state: 'ready' })).toBe(1);
  });

  it('upserts and returns the new document with returnDocument: "after"', async () => {
    const jobs = database.collection('jobs');
    const created = await jobs.findOneAndUpdate({ _id: 7 }, { $set: { state: 'ready' } }, { upsert: true, returnDocument: 'after' });
    expect(created).toEqual({ _id: 7, state: 'ready' });
  });

  it('returns null for an upsert with returnDocument: "before"', async () => {
    const jobs = database.collection('jobs');
    expect(await jobs.findOneAndUpdate({ _id: 8 }, { $set: { state: 'ready' } }, { upsert: true })).toBeNull();
    expect(await jobs.findOne({ _id: 8 })).toEqual({ _id: 8, state: 'ready' });
  });

  it('returns null when nothing matches and upsert is off', async () => {
    const jobs = database.collection('jobs');
    await jobs.insertMany(queue);
    expect(await jobs.findOneAndUpdate({ state: 'missing' }, { $set: { state: 'running' } })).toBeNull();
  });

  it('applies the projection to the returned document', async () => {
    const jobs = database.collection('jobs');
    await jobs.insertMany(queue);
    const returned = await jobs.findOneAndUpdate({ _id: 2 }, { $set: { state: 'running' } }, { projection: { state: 1, _id: 0 }, returnDocument: 'after' });
    expect(returned).toEqual({ state: 'running' });
  });

  it('returns the server reply with includeResultMetadata: true', async () => {
    const jobs = database.collection('jobs');
    await jobs.insertMany(queue);
    const reply = await jobs.findOneAndUpdate({ _id: 3 }, { $set: { state: 'ready' } }, { includeResultMetadata: true });
    expect(reply.ok).toBe(1);
    expect(reply.value).toEqual(queue[2]);
    expect(reply.lastErrorObject).toMatchObject({ n: 1, updatedExisting: true });
  });
});

describe('findOneAndReplace', () => {
  it('replaces the first document in sort order and returns the replacement with returnDocument: "after"', async () => {
    const jobs = database.collection('jobs');
    await jobs.insertMany(queue);
    const replaced = await jobs.findOneAndReplace({ state: 'ready' }, { state: 'archived' }, { sort: { priority: 1 }, returnDocument: 'after' });
    expect(replaced).toEqual({ _id: 1, state: 'archived' });
  });

  it('returns the original document by default', async () => {
    const jobs = database.collection('jobs');
    await jobs.insertMany(queue);
    expect(await jobs.findOneAndReplace({ _id: 3 }, { state: 'archived' })).toEqual(queue[2]);
    expect(await jobs.findOne({ _id: 3 })).toEqual({ _id: 3, state: 'archived' });
  });

  it('upserts the replacement when nothing matches', async () => {
    const jobs = database.collection('jobs');
    const created = await jobs.findOneAndReplace({ _id: 9 }, { state: 'new' }, { upsert: true, returnDocument: 'after' });
    expect(created).toEqual({ _id: 9, state: 'new' });
  });
});

describe('findOneAndDelete', () => {
  it('deletes the first document in sort order and returns it', async () => {
    const jobs = database.collection('jobs');
    await jobs.insertMany(queue);
    expect(await jobs.findOneAndDelete({ state: 'ready' }, { sort: { payload: 1 } })).toEqual(queue[1]);
    expect((await jobs.find().sort({ _id: 1 }).toArray()).map((job) => job._id)).toEqual([1, 3]);
  });

  it('returns the projection of the deleted document', async () => {
    const jobs = database.collection('jobs');
    await jobs.insertMany(queue);
    expect(await jobs.findOneAndDelete({ _id: 1 }, { projection: { payload: 1 } })).toEqual({ _id: 1, payload: 'b' });
  });

  it('returns null when nothing matches', async () => {
    const jobs = database.collection('jobs');
    await jobs.insertMany(queue);
    expect(await jobs.findOneAndDelete({ _id: 42 })).toBeNull();
    expect(await jobs.countDocuments()).toBe(3);
  });
});
