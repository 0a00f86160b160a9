/**
 * What every command handler receives, and the small parsing helpers they share. Handlers return the reply
 * body (the dispatcher adds `ok: 1`) or throw a CommandError.
 */
import type { Document } from 'bson';
import type { Engine } from '../engine/engine';
import type { DataAccess } from '../engine/data-access';
import type { SessionState } from '../engine/session-registry';
import { CommandError } from '../errors';
import { LockWait } from '../engine/transaction';

export interface CommandContext {
  readonly engine: Engine;
  readonly dbName: string;
  readonly access: DataAccess;
  readonly session: SessionState | undefined;
  readonly connectionId: number;
}

export type CommandHandler = (command: Document, context: CommandContext) => Document | Promise<Document>;

/** The collection name a command targets (its first field's value). */
export function collectionName(command: Document, name: string): string {
  const value = command[name];
  if (typeof value !== 'string' || value.length === 0) {
    throw new CommandError('InvalidNamespace', `collection name has invalid type ${typeof value}`);
  }
  if (value.includes('\u0000') || value.startsWith('system.') || value.includes('$')) {
    throw new CommandError('InvalidNamespace', `Invalid collection name: ${value}`);
  }
  return value;
}

/** A non-negative integer option, or undefined when absent. */
export function optionalCount(command: Document, field: string): number | undefined {
  const value = command[field];
  if (value === undefined || value === null) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || !Number.isInteger(n)) {
    throw new CommandError('TypeMismatch', `Field '${field}' must be a number`);
  }
  return n;
}

/** An object option, or undefined when absent. */
export function optionalDocument(command: Document, field: string): Document | undefined {
  const value = command[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new CommandError('TypeMismatch', `Field '${field}' must be of BSON type object`);
  }
  return value as Document;
}

const LOCK_WAIT_LIMIT_MS = 60_000;

/**
 * Runs one write statement; when it meets a document locked by an open transaction it waits for that
 * transaction to finish and runs the statement again (statements check locks before changing anything).
 */
export async function runStatement<T>(statement: () => T): Promise<T> {
  const deadline = Date.now() + LOCK_WAIT_LIMIT_MS;
  for (;;) {
    try {
      return statement();
    } catch (error) {
      if (!(error instanceof LockWait) || Date.now() > deadline) throw error;
      await error.until;
    }
  }
}
