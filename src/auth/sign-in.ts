/**
 * Password sign-in with throttling against guessing (OWASP Authentication Cheat Sheet, "Login Throttling"):
 * after LOGIN_THROTTLE.failures failed attempts for one username, or LOGIN_THROTTLE.ipFailures from one address,
 * within the window, sign-in is refused for the lock period without checking the password. Unknown usernames
 * cost the same scrypt work as known ones, so timing does not tell which usernames exist.
 */
import type { AccountRecord, AuthRecords } from './auth-records';
import { decoyHash, verifyPassword } from './passwords';

export const LOGIN_THROTTLE = { failures: 5, ipFailures: 20, windowMinutes: 15, lockMinutes: 15 } as const;

export type SignInResult =
  | { readonly kind: 'signed-in'; readonly account: AccountRecord }
  | { readonly kind: 'invalid' }
  | { readonly kind: 'throttled'; readonly minutes: number };

function minutesUntil(date: Date): number {
  return Math.max(1, Math.ceil((date.getTime() - Date.now()) / 60_000));
}

async function lockedUntil(records: AuthRecords, keys: readonly string[]): Promise<Date | undefined> {
  const now = Date.now();
  const entries = await records.loginThrottle.find({ _id: { $in: keys } }).lean();
  const locks = entries.map((e) => e.lockedUntil).filter((d): d is Date => d !== undefined && d.getTime() > now);
  return locks.sort((a, b) => b.getTime() - a.getTime())[0];
}

async function recordFailure(records: AuthRecords, key: string, limit: number): Promise<void> {
  const windowEnd = new Date(Date.now() + LOGIN_THROTTLE.windowMinutes * 60_000);
  const entry = await records.loginThrottle.findOneAndUpdate(
    { _id: key },
    { $inc: { failures: 1 }, $setOnInsert: { expiresAt: windowEnd } },
    { upsert: true, returnDocument: 'after' },
  ).lean();
  if (entry && entry.failures >= limit && !entry.lockedUntil) {
    const until = new Date(Date.now() + LOGIN_THROTTLE.lockMinutes * 60_000);
    await records.loginThrottle.updateOne({ _id: key }, { $set: { lockedUntil: until, expiresAt: until } });
  }
}

/** Checks a username and password; `address` is the client's IP for the per-address limit. */
export async function signIn(records: AuthRecords, username: string, password: string, address: string): Promise<SignInResult> {
  const accountKey = `account:${username.trim().toLowerCase()}`;
  const addressKey = `ip:${address}`;
  const locked = await lockedUntil(records, [accountKey, addressKey]);
  if (locked) return { kind: 'throttled', minutes: minutesUntil(locked) };
  const account = await records.accounts.findOne({ username: username.trim().toLowerCase() }).lean();
  const matches = await verifyPassword(password, account?.passwordHash ?? (await decoyHash()));
  if (!account || !matches || account.status !== 'active') {
    await recordFailure(records, accountKey, LOGIN_THROTTLE.failures);
    await recordFailure(records, addressKey, LOGIN_THROTTLE.ipFailures);
    const nowLocked = await lockedUntil(records, [accountKey, addressKey]);
    return nowLocked ? { kind: 'throttled', minutes: minutesUntil(nowLocked) } : { kind: 'invalid' };
  }
  await records.loginThrottle.deleteOne({ _id: accountKey });
  return { kind: 'signed-in', account };
}
