/**
 * Connection handshake and server information: hello/isMaster (the driver's first message and its monitoring
 * heartbeat), ping, buildInfo, and the session/administration commands drivers send around them.
 * https://www.mongodb.com/docs/manual/reference/command/hello/
 */
import type { Document } from 'bson';
import type { CommandHandler } from './command-context';

/** The wire version of MongoDB 7.0; the driver accepts 9..29 (see the feasibility notes). */
export const MAX_WIRE_VERSION = 21;
export const SERVER_VERSION = '7.0.0';

/** The reply to hello and isMaster: a writable standalone that supports sessions. */
export function helloReply(connectionId: number, legacyName: boolean): Document {
  return {
    ...(legacyName ? { ismaster: true } : { isWritablePrimary: true }),
    helloOk: true,
    maxBsonObjectSize: 16 * 1024 * 1024,
    maxMessageSizeBytes: 48_000_000,
    maxWriteBatchSize: 100_000,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId,
    minWireVersion: 0,
    maxWireVersion: MAX_WIRE_VERSION,
    readOnly: false,
  };
}

export const hello: CommandHandler = (command, context) => helloReply(context.connectionId, !('hello' in command));

export const ping: CommandHandler = () => ({});

export const buildInfo: CommandHandler = () => ({
  version: SERVER_VERSION,
  versionArray: SERVER_VERSION.split('.').map(Number).concat(0),
  gitVersion: 'embedded',
  bits: 64,
  maxBsonObjectSize: 16 * 1024 * 1024,
  storageEngines: ['embedded'],
  javascriptEngine: 'none',
});

export const endSessions: CommandHandler = (command, context) => {
  const ids = Array.isArray(command.endSessions) ? (command.endSessions as Document[]) : [];
  for (const lsid of ids) {
    const key = Buffer.from((lsid.id as { buffer: Uint8Array }).buffer).toString('hex');
    const session = context.engine.sessions.end(key);
    if (session?.txn) context.engine.abort(session.txn);
    context.engine.cursors.killSession(key);
  }
  return {};
};

export const listDatabases: CommandHandler = (command, context) => {
  const names = context.engine.catalog.databaseNames();
  if (command.nameOnly) return { databases: names.map((name) => ({ name })) };
  return {
    databases: names.map((name) => ({ name, sizeOnDisk: 0, empty: context.engine.catalog.collections(name).length === 0 })),
    totalSize: 0,
  };
};
