/**
 * Logical sessions and the transaction each one may have open. Transactions live longer than one command, so
 * the registry also aborts those left open past the transaction lifetime limit
 * (mongod's transactionLifetimeLimitSeconds, 60 s by default) and those of ended sessions.
 * https://www.mongodb.com/docs/manual/reference/server-sessions/
 */
import type { Binary, Document } from 'bson';
import { Transaction } from './transaction';

export interface SessionState {
  readonly key: string;
  txn: Transaction | undefined;
  /** The highest transaction number this session has committed, for retried commitTransaction. */
  lastCommitted: number;
  lastUsed: number;
}

/** The registry key of a session id document `{ id: UUID }`. */
export function sessionKeyOf(lsid: Document | undefined): string | undefined {
  const id = lsid?.id as Binary | undefined;
  return id ? Buffer.from(id.buffer).toString('hex') : undefined;
}

export class SessionRegistry {
  private readonly sessions = new Map<string, SessionState>();

  get(key: string): SessionState {
    let session = this.sessions.get(key);
    if (!session) {
      session = { key, txn: undefined, lastCommitted: -1, lastUsed: Date.now() };
      this.sessions.set(key, session);
    }
    session.lastUsed = Date.now();
    return session;
  }

  end(key: string): SessionState | undefined {
    const session = this.sessions.get(key);
    this.sessions.delete(key);
    return session;
  }

  /** Open transactions older than `lifetimeMs`, and sessions idle longer than `idleMs` (then forgotten). */
  expired(lifetimeMs: number, idleMs: number, now = Date.now()): { transactions: SessionState[]; idle: SessionState[] } {
    const transactions: SessionState[] = [];
    const idle: SessionState[] = [];
    for (const session of this.sessions.values()) {
      if (session.txn?.state === 'active' && now - session.txn.startedAt > lifetimeMs) transactions.push(session);
      else if (now - session.lastUsed > idleMs) idle.push(session);
    }
    for (const session of idle) this.sessions.delete(session.key);
    return { transactions, idle };
  }

  all(): SessionState[] {
    return [...this.sessions.values()];
  }
}
