/**
 * The retry state of a long-lived call (a partition subscription): one outage at a time.
 *
 * An outage starts at the first failure (or when the call is first set up) and ends only when the
 * call has recovered: it delivered data, or stayed up for {@link STABLE_AFTER_MS}. A call that is
 * accepted and breaks again at once (a broker that restarts, accepts, then loses leadership) stays
 * in the same outage: the attempt counter keeps counting and the budget keeps running, so an
 * outage never outlives `totalTimeoutMs` and `status$` never shows attempt 1 twice within one.
 *
 * Everything the loop does inside an outage (metadata lookups, the call's setup) must end within
 * {@link OutageBudget.remainingMs}; the caller bounds its inner operations with it, so nested
 * retry loops cannot stretch the budget.
 *
 * @internal
 */
import { backoffDelay, type RetryPolicy } from './retry-policy.js';

/** A re-established call counts as recovered after delivering data or staying up this long. */
export const STABLE_AFTER_MS = 1_000;

/** What to do after a failure. */
export type NextAttempt =
  | { readonly kind: 'retry'; readonly attempt: number; readonly delayMs: number }
  | { readonly kind: 'exhausted'; readonly retries: number; readonly elapsedMs: number };

export interface OutageBudget {
  /** Starts an outage now unless one is running (call when setting up the first call, too). */
  begin(): void;
  /** A failure within the outage: the next retry, or `exhausted` when retries or budget are spent. */
  failed(): NextAttempt;
  /** The call recovered: the outage is over; the next failure starts a new one. */
  recovered(): void;
  /** Whether an outage is running. */
  readonly active: boolean;
  /** Time left in the running outage (Infinity with an unlimited budget or outside an outage). */
  remainingMs(): number;
}

export function outageBudget(policy: Pick<RetryPolicy, 'maxRetries' | 'totalTimeoutMs' | 'initialDelayMs' | 'maxDelayMs' | 'multiplier' | 'jitter'>, now: () => number, random: () => number): OutageBudget {
  let startedAt: number | undefined;
  let attempt = 0;
  return {
    begin() {
      if (startedAt !== undefined) return;
      startedAt = now();
      attempt = 0;
    },
    failed() {
      if (startedAt === undefined) {
        startedAt = now();
        attempt = 0;
      }
      attempt++;
      const elapsedMs = now() - startedAt;
      const delayMs = backoffDelay(policy, attempt, random);
      if (attempt > policy.maxRetries || elapsedMs + delayMs >= policy.totalTimeoutMs) return { kind: 'exhausted', retries: attempt - 1, elapsedMs };
      return { kind: 'retry', attempt, delayMs };
    },
    recovered() {
      startedAt = undefined;
      attempt = 0;
    },
    get active() {
      return startedAt !== undefined;
    },
    remainingMs() {
      if (startedAt === undefined || !Number.isFinite(policy.totalTimeoutMs)) return Infinity;
      return Math.max(0, policy.totalTimeoutMs - (now() - startedAt));
    },
  };
}
