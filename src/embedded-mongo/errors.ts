/**
 * Command errors in MongoDB's reply shape, so the unchanged driver raises the same MongoServerError
 * (code, codeName, errorLabels, extra fields such as keyPattern/keyValue) as it would against mongod.
 * Codes: https://github.com/mongodb/mongo/blob/master/src/mongo/base/error_codes.yml
 */
import type { Document } from 'bson';

/** The error codes the engine raises, by MongoDB codeName. */
export const ErrorCode = {
  BadValue: 2,
  FailedToParse: 9,
  TypeMismatch: 14,
  InvalidLength: 16,
  IllegalOperation: 20,
  NamespaceNotFound: 26,
  ConflictingUpdateOperators: 40,
  CursorNotFound: 43,
  NamespaceExists: 48,
  CommandNotFound: 59,
  ImmutableField: 66,
  InvalidOptions: 72,
  InvalidNamespace: 73,
  IndexOptionsConflict: 85,
  IndexKeySpecsConflict: 86,
  WriteConflict: 112,
  NoSuchTransaction: 251,
  TransactionCommitted: 256,
  IndexNotFound: 27,
  DuplicateKey: 11000,
  Location17419: 17419,
} as const;

export type ErrorCodeName = keyof typeof ErrorCode;

/** Error labels that tell the driver a transaction may be retried as a whole. */
export const TRANSIENT_TRANSACTION_ERROR = 'TransientTransactionError';

/** A failed command, rendered as `{ ok: 0, errmsg, code, codeName, errorLabels?, ...extra }`. */
export class CommandError extends Error {
  readonly code: number;
  readonly codeName: ErrorCodeName;
  readonly labels: string[];
  readonly extra: Document;

  constructor(codeName: ErrorCodeName, message: string, options: { labels?: string[]; extra?: Document } = {}) {
    super(message);
    this.name = 'CommandError';
    this.codeName = codeName;
    this.code = ErrorCode[codeName];
    this.labels = options.labels ?? [];
    this.extra = options.extra ?? {};
  }

  /** The reply document for a command that failed as a whole. */
  toReply(): Document {
    const reply: Document = { ok: 0, errmsg: this.message, code: this.code, codeName: this.codeName, ...this.extra };
    if (this.labels.length > 0) reply.errorLabels = this.labels;
    return reply;
  }

  /** The entry of a write command's `writeErrors` array for statement `index`. */
  toWriteError(index: number): Document {
    return { index, code: this.code, codeName: this.codeName, errmsg: this.message, ...this.extra };
  }
}

/** A write-write conflict; the driver's withTransaction retries on its label. */
export function writeConflict(): CommandError {
  return new CommandError(
    'WriteConflict',
    'Write conflict during plan execution and yielding is disabled. :: Please retry your operation or multi-document transaction.',
    { labels: [TRANSIENT_TRANSACTION_ERROR] },
  );
}
