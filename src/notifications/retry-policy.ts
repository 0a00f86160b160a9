/**
 * When to try a failed delivery again: exponential backoff with jitter, so a provider outage is not hammered and
 * deliveries that failed together do not all come back in the same instant (seed 000 4.2: "auto-retry within
 * policy"). After the last attempt a delivery stays `failed` until staff retry it.
 */

export interface RetryPolicy {
  /** Attempts per round, the first included (a manual retry starts a new round). */
  readonly maxAttempts: number;
  /** Delay before the second attempt. */
  readonly baseDelayMs: number;
  /** Each further delay is this many times the previous one. */
  readonly factor: number;
  /** Up to this fraction of the delay is added at random. */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF = { factor: 3, jitter: 0.2 } as const;

/**
 * The delay before the next attempt after `attemptsMade` attempts of this round, or undefined when the round has
 * used all its attempts. With the defaults (30 s, x3, 6 attempts): 30 s, 1.5 min, 4.5 min, 13.5 min, 40.5 min.
 */
export function nextRetryDelay(policy: RetryPolicy, attemptsMade: number, random: () => number = Math.random): number | undefined {
  if (attemptsMade >= policy.maxAttempts) return undefined;
  const delay = policy.baseDelayMs * policy.factor ** Math.max(0, attemptsMade - 1);
  return Math.round(delay * (1 + policy.jitter * random()));
}
