/**
 * The one way the client retries: a retry sequence (one outage at a time) over the retry policy,
 * on the injected scheduler, with `onRetry` guarded and the `reconnecting` status reported. Used
 * by unary operations (the runner), the partition stream's resume loop and the group loop.
 *
 * An outage starts at the first failure (or when a long-lived call is first set up) and ends only
 * when the caller says it recovered (a unary operation never does: its whole life is one outage;
 * a partition stream recovers once its call delivered data or stayed up for
 * {@link STABLE_AFTER_MS}). Inside an outage the attempt counter keeps counting and the budget
 * (`totalTimeoutMs`) keeps running, so an outage never outlives its budget and `status$` never
 * shows attempt 1 twice within one. Everything done inside an outage (lookups, a call's setup) must
 * end within {@link OutageBudget.remainingMs}.
 *
 * Internal: not exported from the package root.
 */
import { type Observable, type SchedulerLike, timer } from 'rxjs';
import type { LiftbridgeError } from '../errors/errors.js';
import type { Logger } from '../internal/logger.js';
import { backoffDelay, notifyRetry, type RetryPolicy } from '../retry/retry-policy.js';

/** A re-established call counts as recovered after delivering data or staying up this long. */
export const STABLE_AFTER_MS = 1_000;

/** What to do after a failure. */
export type NextAttempt =
  | { readonly kind: 'retry'; readonly attempt: number; readonly delayMs: number }
  | {
      readonly kind: 'exhausted';
      /** `retries`: `maxRetries` were made; `budget`: the next delay would pass `totalTimeoutMs`. */
      readonly reason: 'retries' | 'budget';
      readonly retries: number;
      readonly elapsedMs: number;
    };

/** The policy fields a retry sequence reads. */
export type BackoffPolicy = Pick<RetryPolicy, 'maxRetries' | 'totalTimeoutMs' | 'initialDelayMs' | 'maxDelayMs' | 'multiplier' | 'jitter'>;

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

/** The bookkeeping of one outage (pure: time and randomness are injected). */
export function outageBudget(policy: BackoffPolicy, now: () => number, random: () => number): OutageBudget {
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
      if (attempt > policy.maxRetries) return { kind: 'exhausted', reason: 'retries', retries: attempt - 1, elapsedMs };
      const delayMs = backoffDelay(policy, attempt, random);
      if (elapsedMs + delayMs >= policy.totalTimeoutMs) return { kind: 'exhausted', reason: 'budget', retries: attempt - 1, elapsedMs };
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

/** A retry about to wait, as reported to `status$` (`reconnecting`) by the caller's `report`. */
export interface RetryEvent {
  readonly attempt: number;
  readonly delayMs: number;
  readonly error: LiftbridgeError;
}

/** What a retry sequence needs: the policy, the client's scheduler and random source, where to report. */
export interface RetryContext {
  readonly policy: BackoffPolicy & Pick<RetryPolicy, 'onRetry'>;
  /** The client's scheduler (virtual in tests): the clock of the budget and of every delay. */
  readonly scheduler: SchedulerLike;
  readonly random: () => number;
  /** Where a throwing `onRetry` is reported. */
  readonly logger?: Pick<Logger, 'warn'>;
  /** Called for every retry that will happen (status events); a throw is logged, never breaks the loop. */
  readonly report?: (event: RetryEvent) => void;
}

/** One retry sequence: an {@link OutageBudget} that also notifies and waits. */
export interface RetrySchedule extends OutageBudget {
  /**
   * A failure with `error`: decides like {@link OutageBudget.failed}; when it retries, calls the
   * policy's `onRetry` and `report` first (both guarded).
   */
  next(error: LiftbridgeError): NextAttempt;
  /** Emits once after `delayMs` on the client's scheduler, then completes. */
  delay(delayMs: number): Observable<0>;
}

export function retrySchedule(ctx: RetryContext): RetrySchedule {
  const budget = outageBudget(ctx.policy, () => ctx.scheduler.now(), ctx.random);
  return {
    begin: () => budget.begin(),
    failed: () => budget.failed(),
    recovered: () => budget.recovered(),
    get active() {
      return budget.active;
    },
    remainingMs: () => budget.remainingMs(),
    next(error) {
      const decision = budget.failed();
      if (decision.kind === 'retry') {
        notifyRetry(ctx.policy, ctx.logger, error, decision.attempt, decision.delayMs);
        try {
          ctx.report?.({ attempt: decision.attempt, delayMs: decision.delayMs, error });
        } catch (thrown) {
          ctx.logger?.warn('reporting a retry failed; retrying anyway', { error: thrown });
        }
      }
      return decision;
    },
    delay: (delayMs) => timer(delayMs, ctx.scheduler) as Observable<0>,
  };
}
