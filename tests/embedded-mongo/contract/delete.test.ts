/**
 * deleteOne and deleteMany.
 * https://www.mongodb.com/docs/manual/reference/method/db.collection.deleteOne/ ,
 * https://www.mongodb.com/docs/manual/reference/method/db.collection.deleteMany/
 */
import { useContractDatabase } from './fixtures/contract-database';

const database = useContractDatabase();

const fourDocuments = [
  { _id: 1, kind: 'x' },
  { _id: 2, kind: 'x' },
  { _id: 3, kind: 'x' },
  { _id: 4, kind: 'y' },
];

describe('delete', () => {
  it('deleteOne removes a single matching document', async () => {
    const documents = database.collection('documents');
    await documents.insertMany(fourDocuments);
    expect((await documents.deleteOne({ kind: 'x' })).deletedCount).toBe(1);
    expect(await documents.countDocuments({ kind: 'x' })).toBe(2);
  });

  it('deleteMany removes every matching document', async () => {
    const documents = database.collection('documents');
    await documents.insertMany(fourDocuments);
    expect((await documents.deleteMany({ kind: 'x' })).deletedCount).toBe(3);
    expect(await documents.find().toArray()).toEqual([{ _id: 4, kind: 'y' }]);
  });

  it('deleteMany with an empty filter empties the collection', async () => {
    const documents = database.collection('documents');
    await documents.insertMany(fourDocuments);
    expect((await documents.deleteMany({})).deletedCount).toBe(4);
    expect(await documents.countDocuments()).toBe(0);
  });

  it('reports deletedCount 0 when nothing matches', async () => {
    const documents = database.collection('documents');
    await documents.insertMany(fourDocuments);
    expect((await documents.deleteOne({ kind: 'z' })).deletedCount).toBe(0);
    expect(await documents.countDocuments()).toBe(4);
  });
});
