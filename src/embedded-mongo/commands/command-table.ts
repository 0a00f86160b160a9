/**
 * Every command the engine answers, as one table (node-oidc-provider style): name -> handler. Anything else
 * is CommandNotFound (59), exactly as mongod answers an unknown command.
 */
import type { CommandHandler } from './command-context';
import { buildInfo, endSessions, hello, listDatabases, ping } from './handshake';
import { del, insert, update } from './write-commands';
import { aggregate, count, distinct, find, findAndModify, getMore, killCursors } from './read-commands';
import { create, createIndexes, drop, dropDatabase, dropIndexes, listCollections, listIndexes } from './catalog-commands';
import { abortTransaction, commitTransaction } from './transaction-commands';
import { explain } from './explain';

export const COMMANDS: ReadonlyMap<string, CommandHandler> = new Map<string, CommandHandler>([
  ['hello', hello],
  ['isMaster', hello],
  ['ismaster', hello],
  ['ping', ping],
  ['buildInfo', buildInfo],
  ['buildinfo', buildInfo],
  ['endSessions', endSessions],
  ['listDatabases', listDatabases],
  ['insert', insert],
  ['update', update],
  ['delete', del],
  ['find', find],
  ['getMore', getMore],
  ['killCursors', killCursors],
  ['findAndModify', findAndModify],
  ['findandmodify', findAndModify],
  ['aggregate', aggregate],
  ['count', count],
  ['distinct', distinct],
  ['explain', explain],
  ['create', create],
  ['drop', drop],
  ['dropDatabase', dropDatabase],
  ['listCollections', listCollections],
  ['createIndexes', createIndexes],
  ['listIndexes', listIndexes],
  ['dropIndexes', dropIndexes],
  ['commitTransaction', commitTransaction],
  ['abortTransaction', abortTransaction],
]);

/** Commands that may run inside a transaction (mongod refuses catalog and admin commands there). */
export const TRANSACTION_COMMANDS: ReadonlySet<string> = new Set([
  'insert', 'update', 'delete', 'find', 'getMore', 'killCursors', 'findAndModify', 'findandmodify', 'aggregate',
  'count', 'distinct', 'create', 'createIndexes', 'commitTransaction', 'abortTransaction',
]);
