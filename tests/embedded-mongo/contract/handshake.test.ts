/**
 * Connection handshake and the admin commands the driver relies on.
 * https://www.mongodb.com/docs/manual/reference/command/hello/ , .../command/ping/ , .../command/buildInfo/ ,
 * .../command/endSessions/
 */
import { MongoServerError } from 'mongodb';
import { connectWithCommandLog } from './fixtures/command-log';
import { rejectionOf, useContractDatabase } from './fixtures/contract-database';

const database = useContractDatabase();

describe('handshake and admin commands', () => {
  it('connects and answers ping with ok: 1', async () => {
    expect(await database.db.command({ ping: 1 })).toMatchObject({ ok: 1 });
  });

  it('reports a version string in buildInfo', async () => {
    const buildInfo = await database.db.admin().command({ buildInfo: 1 });
    expect(buildInfo.version).toEqual(expect.stringMatching(/^\d+\.\d+/));
  });

  it('says in hello that it is a writable primary', async () => {
    const hello = await database.db.admin().command({ hello: 1 });
    expect(hello.isWritablePrimary === true || hello.ismaster === true).toBe(true);
  });

  it('announces wire version 9 (MongoDB 4.4) or later in hello', async () => {
    const hello = await database.db.admin().command({ hello: 1 });
    expect(hello.maxWireVersion).toBeGreaterThanOrEqual(9);
  });

  it('announces logicalSessionTimeoutMinutes in hello, so the driver uses sessions', async () => {
    const hello = await database.db.admin().command({ hello: 1 });
    expect(hello.logicalSessionTimeoutMinutes).toEqual(expect.any(Number));
  });

  it('rejects an unknown command with CommandNotFound (59)', async () => {
    const error = await rejectionOf(database.db.command({ noSuchCommandInMongoDB: 1 }), MongoServerError);
    expect(error.code).toBe(59);
    expect(error.codeName).toBe('CommandNotFound');
    expect(error.message).toContain('no such command');
    expect(error.message).toContain('noSuchCommandInMongoDB');
  });

  it('accepts endSessions, which the driver sends for its pooled sessions on close', async () => {
    const log = await connectWithCommandLog(database.mongo.uri);
    await log.client.db(database.mongo.dbName).collection('sessions').findOne({});
    await log.client.close();
    expect(log.commandNames()).toContain('endSessions');
    expect(log.succeeded.map((event) => event.commandName)).toContain('endSessions');
  });
});
