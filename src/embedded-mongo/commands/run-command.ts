/**
 * Runs one command document: finds its handler, attaches its session and transaction, journals what it
 * changed before the reply leaves, and renders failures in mongod's error shape.
 * https://github.com/mongodb/specifications/blob/master/source/transactions/transactions.md
 */
import type { Document } from 'bson';
import { COMMANDS, TRANSACTION_COMMANDS } from './command-table';
import type { Engine } from '../engine/engine';
import { DataAccess } from '../engine/data-access';
import { sessionKeyOf, type SessionState } from '../engine/session-registry';
import type { Transaction } from '../engine/transaction';
import { CommandError } from '../errors';
import { noSuchTransaction } from './transaction-commands';

export async function runCommand(engine: Engine, command: Document, connectionId: number): Promise<Document> {
  const name = Object.keys(command)[0] ?? '';
  const handler = COMMANDS.get(name);
  if (!handler) {
    return new CommandError('CommandNotFound', `no such command: '${name}'`).toReply();
  }
  const dbName = typeof command.$db === 'string' ? command.$db : 'admin';
  let session: SessionState | undefined;
  let txn: Transaction | undefined;
  try {
    const key = sessionKeyOf(command.lsid as Document | undefined);
    session = key ? engine.sessions.get(key) : undefined;
    txn = session ? transactionFor(engine, session, name, command) : undefined;
  } catch (error) {
    return renderError(error);
  }
  const access = new DataAccess(engine, dbName, txn && txn.state === 'active' ? txn : undefined);
  try {
    const reply = await handler(command, { engine, dbName, access, session, connectionId });
    await engine.persist(access.changes);
    // A failed statement aborts the transaction it ran in, as on mongod.
    if (txn && txn.state === 'active' && reply.writeErrors) engine.abort(txn);
    return { ...reply, ok: 1 };
  } catch (error) {
    await engine.persist(access.changes).catch(() => undefined);
    if (txn && txn.state === 'active') engine.abort(txn);
    return renderError(error);
  }
}

/** The open transaction a command belongs to, starting one on `startTransaction`. */
function transactionFor(engine: Engine, session: SessionState, name: string, command: Document): Transaction | undefined {
  if (command.autocommit !== false) return undefined;
  const txnNumber = Number(command.txnNumber);
  if (name === 'commitTransaction' || name === 'abortTransaction') return undefined;
  if (!TRANSACTION_COMMANDS.has(name)) {
    throw new CommandError('IllegalOperation', `Cannot run '${name}' in a multi-document transaction.`);
  }
  if (command.startTransaction === true) return engine.beginTransaction(session, txnNumber);
  const txn = session.txn;
  if (!txn || txn.txnNumber !== txnNumber || txn.state !== 'active') throw noSuchTransaction(txnNumber);
  return txn;
}

function renderError(error: unknown): Document {
  if (error instanceof CommandError) return error.toReply();
  return { ok: 0, errmsg: (error as Error).message ?? String(error), code: 1, codeName: 'InternalError' };
}
