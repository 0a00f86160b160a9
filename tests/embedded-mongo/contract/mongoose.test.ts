/**
 * mongoose 9 on the server, as the project uses it for its own records: schemas with validation, autoIndex,
 * timestamps, subdocuments, populate, lean reads and connection.transaction.
 * https://mongoosejs.com/docs/guide.html , https://mongoosejs.com/docs/populate.html ,
 * https://mongoosejs.com/docs/transactions.html
 */
import mongoose, { Schema, type Connection } from 'mongoose';
import { MongoServerError, type CommandStartedEvent } from 'mongodb';
import { rejectionOf, useContractDatabase } from './fixtures/contract-database';
import { describeWithTransactions } from './fixtures/transaction-support';

const database = useContractDatabase();

const organizationSchema = new Schema({ name: { type: String, required: true } });

const practitionerSchema = new Schema(
  {
    email: { type: String, required: true, unique: true },
    name: { given: String, family: { type: String, required: true } },
    qualifications: [{ code: { type: String, required: true }, issuedAt: Date }],
    organization: { type: Schema.Types.ObjectId, ref: 'Organization' },
    visits: { type: Number, default: 0 },
  },
  { timestamps: true },
);

let connection: Connection;
const commandsSent: CommandStartedEvent[] = [];

beforeAll(async () => {
  connection = await mongoose.createConnection(database.mongo.uri, { dbName: database.mongo.dbName, monitorCommands: true }).asPromise();
  connection.getClient().on('commandStarted', (event) => commandsSent.push(event));
});

afterAll(async () => {
  await connection.close();
});

let modelCounter = 0;

/** Fresh models on fresh collections, so tests do not see each other's documents; indexes are built first. */
async function createModels() {
  const suffix = ++modelCounter;
  const Organization = connection.model(`Organization${suffix}`, organizationSchema.clone());
  const schema = practitionerSchema.clone();
  schema.path('organization', { type: Schema.Types.ObjectId, ref: Organization.modelName });
  const Practitioner = connection.model(`Practitioner${suffix}`, schema);
  await Promise.all([Organization.init(), Practitioner.init()]);
  return { Organization, Practitioner };
}

const ann = { email: 'ann@example.org', name: { given: 'Ann', family: 'Lee' } };

describe('mongoose', () => {
  it('creates the schema’s unique index through autoIndex', async () => {
    const { Practitioner } = await createModels();
    const indexes = await Practitioner.collection.listIndexes().toArray();
    expect(indexes.find((index) => index.name === 'email_1')).toMatchObject({ key: { email: 1 }, unique: true });
  });

  it('rejects saving a duplicate of a unique field with the server’s 11000', async () => {
    const { Practitioner } = await createModels();
    await Practitioner.create(ann);
    const error = await rejectionOf(new Practitioner({ ...ann, name: { family: 'Other' } }).save(), MongoServerError);
    expect(error.code).toBe(11000);
    expect(error.keyValue).toEqual({ email: 'ann@example.org' });
  });

  it('rejects a document missing required fields on the client, without sending an insert', async () => {
    const { Practitioner } = await createModels();
    const insertsBefore = commandsSent.filter((event) => event.commandName === 'insert').length;
    const error = await rejectionOf(Practitioner.create({ name: { given: 'Nameless' } }), mongoose.Error.ValidationError);
    expect(Object.keys(error.errors).sort()).toEqual(['email', 'name.family']);
    expect(error.errors.email?.kind).toBe('required');
    expect(commandsSent.filter((event) => event.commandName === 'insert').length).toBe(insertsBefore);
    expect(await Practitioner.countDocuments()).toBe(0);
  });

  it('sets createdAt and updatedAt on create and moves updatedAt on update', async () => {
    const { Practitioner } = await createModels();
    const created = await Practitioner.create(ann);
    expect(created.createdAt).toBeInstanceOf(Date);
    expect(created.updatedAt?.getTime()).toBe(created.createdAt?.getTime());
    await new Promise((resolve) => setTimeout(resolve, 5));
    const updated = await Practitioner.findOneAndUpdate({ _id: created._id }, { $inc: { visits: 1 } }, { new: true });
    expect(updated?.createdAt?.getTime()).toBe(created.createdAt?.getTime());
    expect(updated?.updatedAt?.getTime()).toBeGreaterThan(created.updatedAt?.getTime() ?? Infinity);
  });

  it('stores nested documents and arrays of subdocuments, each array element with its own _id', async () => {
    const { Practitioner } = await createModels();
    const practitioner = await Practitioner.create({ ...ann, qualifications: [{ code: 'MD', issuedAt: new Date('2001-06-01T00:00:00Z') }] });
    practitioner.qualifications.push({ code: 'PhD' });
    await practitioner.save();
    const stored = await Practitioner.collection.findOne({ _id: practitioner._id });
    expect(stored?.name).toEqual({ given: 'Ann', family: 'Lee' });
    expect(stored?.qualifications).toEqual([
      { _id: expect.any(mongoose.Types.ObjectId), code: 'MD', issuedAt: new Date('2001-06-01T00:00:00Z') },
      { _id: expect.any(mongoose.Types.ObjectId), code: 'PhD' },
    ]);
  });

  it('returns the updated document from findOneAndUpdate with new: true', async () => {
    const { Practitioner } = await createModels();
    await Practitioner.create(ann);
    const updated = await Practitioner.findOneAndUpdate({ email: ann.email }, { $set: { 'name.given': 'Annie' }, $inc: { visits: 2 } }, { new: true });
    expect({ given: updated?.name?.given, visits: updated?.visits }).toEqual({ given: 'Annie', visits: 2 });
  });

  it('populates a reference with the document of the other model', async () => {
    const { Organization, Practitioner } = await createModels();
    const organization = await Organization.create({ name: 'General Hospital' });
    await Practitioner.create({ ...ann, organization: organization._id });
    const practitioner = await Practitioner.findOne({ email: ann.email }).populate<{ organization: { name: string } }>('organization');
    expect(practitioner?.organization.name).toBe('General Hospital');
  });

  it('returns plain objects from lean(), with ObjectIds and Dates as BSON values', async () => {
    const { Practitioner } = await createModels();
    await Practitioner.create(ann);
    const lean = await Practitioner.findOne({ email: ann.email }).lean();
    expect(lean).not.toBeInstanceOf(mongoose.Document);
    expect(lean?._id).toBeInstanceOf(mongoose.Types.ObjectId);
    expect(lean?.createdAt).toBeInstanceOf(Date);
    expect(lean?.name).toEqual({ given: 'Ann', family: 'Lee' });
  });

  it('counts documents matching a filter', async () => {
    const { Practitioner } = await createModels();
    await Practitioner.create([ann, { email: 'bo@example.org', name: { family: 'Bo' }, visits: 3 }, { email: 'cy@example.org', name: { family: 'Cy' }, visits: 5 }]);
    expect(await Practitioner.countDocuments({ visits: { $gte: 3 } })).toBe(2);
  });
});

describeWithTransactions('mongoose transactions', () => {
  it('commits every write of connection.transaction', async () => {
    const { Organization, Practitioner } = await createModels();
    await connection.transaction(async (session) => {
      const [organization] = await Organization.create([{ name: 'Clinic' }], { session });
      await Practitioner.create([{ ...ann, organization: organization?._id }], { session });
    });
    expect({ organizations: await Organization.countDocuments(), practitioners: await Practitioner.countDocuments() }).toEqual({ organizations: 1, practitioners: 1 });
  });

  it('rolls back every write when the connection.transaction callback throws', async () => {
    const { Organization, Practitioner } = await createModels();
    await Practitioner.create(ann);
    const failure = connection.transaction(async (session) => {
      await Organization.create([{ name: 'Clinic' }], { session });
      await Practitioner.create([{ ...ann, name: { family: 'Duplicate' } }], { session });
    });
    const error = await rejectionOf(failure, MongoServerError);
    expect(error.code).toBe(11000);
    expect({ organizations: await Organization.countDocuments(), practitioners: await Practitioner.countDocuments() }).toEqual({ organizations: 0, practitioners: 1 });
  });
});
