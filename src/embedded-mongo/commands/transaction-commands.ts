/**
 * commitTransaction and abortTransaction. A commit retried after it succeeded answers ok again, as mongod
 * does, so the driver's commit retry is safe; a transaction the server no longer knows is NoSuchTransaction.
 * https://www.mongodb.com/docs/manual/reference/command/commitTransaction/
 */
import type { CommandHandler } from './command-context';
import { CommandError, TRANSIENT_TRANSACTION_ERROR } from '../errors';

/** The error for a command that names a transaction the session does not have open. */
export function noSuchTransaction(txnNumber: number): CommandError {
  return new CommandError('NoSuchTransaction', `Transaction with { txnNumber: ${txnNumber} } has been aborted.`, {
    labels: [TRANSIENT_TRANSACTION_ERROR],
  });
}

function txnNumberOf(command: Parameters<CommandHandler>[0]): number {
  return Number(command.txnNumber ?? -1);
}

export const commitTransaction: CommandHandler = async (command, context) => {
  const session = context.session;
  const txnNumber = txnNumberOf(command);
  if (!session) throw new CommandError('InvalidOptions', 'commitTransaction must be run within a session');
  const txn = session.txn;
  if (!txn || txn.txnNumber !== txnNumber) {
    if (session.lastCommitted === txnNumber) return {};
    throw noSuchTransaction(txnNumber);
  }
  if (txn.state === 'committed') return {};
  if (txn.state === 'aborted') throw noSuchTransaction(txnNumber);
  const changes = context.engine.commit(txn);
  session.lastCommitted = txnNumber;
  await context.engine.persist(changes);
  return {};
};

export const abortTransaction: CommandHandler = (command, context) => {
  const session = context.session;
  const txnNumber = txnNumberOf(command);
  const txn = session?.txn;
  if (!txn || txn.txnNumber !== txnNumber || txn.state !== 'active') {
    if (txn?.state === 'committed' && txn.txnNumber === txnNumber) {
      throw new CommandError('TransactionCommitted', 'Transaction has been committed');
    }
    throw noSuchTransaction(txnNumber);
  }
  context.engine.abort(txn);
  return {};
};
