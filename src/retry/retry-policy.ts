/**
 * Retry policy: how often and how long an operation is retried, with exponential
 * backoff and jitter. Pure functions so that schedules can be unit-tested.
 */
import type { LiftbridgeError } from '../errors/errors.js';
import { InvalidArgumentError } from '../errors/errors.js';
import type { Logger } from '../internal/logger.js';
import { describe, rejectUnknownKeys, requireDuration, requireFunction, requireInteger, requireObject } from '../internal/validate.js';

/** Options of the retry policy applied to connecting and to every operation. */
export interface RetryOptions {
  /**
   * Retries after the first attempt; 0 disables retrying.
   * @defaultValue 10
   */
  maxRetries?: number;
  /**
   * Delay before the first retry, in milliseconds.
   * @defaultValue 100
   */
  initialDelayMs?: number;
  /**
   * Upper bound of any single delay, in milliseconds.
   * @defaultValue 5000
   */
  maxDelayMs?: number;
  /**
   * Growth factor of the delay between retries (>= 1).
   * @defaultValue 2
   */
  multiplier?: number;
  /**
   * Fraction of each delay that is randomised (0 = none, 1 = anywhere from 0 to the full delay).
   * Spreads retries of many clients apart.
   * @defaultValue 0.2
   */
  jitter?: number;
  /**
   * Total time budget of one operation, retries included, in milliseconds. When it runs
   * out the operation fails (a {@link ConnectionError} if brokers were unreachable, else a
   * {@link TimeoutError}). For long-lived subscriptions it bounds each outage (each
   * reconnection), not the life of the stream; a subscription's own `retry` may set it to
   * `Infinity` to retry forever (see `SubscribeOptions.retry`).
   * @defaultValue 30000
   */
  totalTimeoutMs?: number;
  /**
   * Called before each retry with the error that caused it, the retry number (1-based)
   * and the delay before it. The error callback of kombu's `ensure()`. An exception it throws
   * is logged (warn) and does not stop the retry.
   */
  onRetry?: (error: LiftbridgeError, attempt: number, delayMs: number) => void;
}

/** A fully specified retry policy. */
export interface RetryPolicy {
  readonly maxRetries: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly multiplier: number;
  readonly jitter: number;
  readonly totalTimeoutMs: number;
  readonly onRetry: ((error: LiftbridgeError, attempt: number, delayMs: number) => void) | undefined;
}

/** Defaults of {@link RetryOptions}. */
export const DEFAULT_RETRY: Readonly<Omit<RetryPolicy, 'onRetry'>> = Object.freeze({
  maxRetries: 10,
  initialDelayMs: 100,
  maxDelayMs: 5_000,
  multiplier: 2,
  jitter: 0.2,
  totalTimeoutMs: 30_000,
});

const RETRY_KEYS = ['maxRetries', 'initialDelayMs', 'maxDelayMs', 'multiplier', 'jitter', 'totalTimeoutMs', 'onRetry'] as const;

/** Validates retry options and fills in defaults. Throws {@link InvalidArgumentError} naming the field. */
export function resolveRetryPolicy(
  options: RetryOptions | undefined,
  field = 'retry',
  base: RetryPolicy = { ...DEFAULT_RETRY, onRetry: undefined },
  /** `unbounded`: `maxRetries` and `totalTimeoutMs` may be `Infinity` (long-lived subscriptions only). */
  opts: { readonly unbounded?: boolean } = {},
): RetryPolicy {
  if (options === undefined) return base;
  const o = requireObject(field, options);
  rejectUnknownKeys(field, o, RETRY_KEYS);
  const infinite = (v: unknown): boolean => opts.unbounded === true && v === Infinity;
  const maxRetries =
    o.maxRetries === undefined ? base.maxRetries : infinite(o.maxRetries) ? Infinity : requireInteger(`${field}.maxRetries`, o.maxRetries, 0, 1_000_000);
  const initialDelayMs = o.initialDelayMs === undefined ? base.initialDelayMs : requireDuration(`${field}.initialDelayMs`, o.initialDelayMs);
  // Only initialDelayMs given and above the default cap: the cap follows it.
  const maxDelayMs = o.maxDelayMs === undefined ? Math.max(base.maxDelayMs, initialDelayMs) : requireDuration(`${field}.maxDelayMs`, o.maxDelayMs);
  if (maxDelayMs < initialDelayMs) {
    throw new InvalidArgumentError(`${field}.maxDelayMs`, `must be >= initialDelayMs (${initialDelayMs}), got ${maxDelayMs}`);
  }
  let multiplier = base.multiplier;
  if (o.multiplier !== undefined) {
    if (typeof o.multiplier !== 'number' || !Number.isFinite(o.multiplier) || o.multiplier < 1) {
      throw new InvalidArgumentError(`${field}.multiplier`, `expected a number >= 1, got ${String(o.multiplier)}`);
    }
    multiplier = o.multiplier;
  }
  let jitter = base.jitter;
  if (o.jitter !== undefined) {
    if (typeof o.jitter !== 'number' || !(o.jitter >= 0 && o.jitter <= 1)) {
      throw new InvalidArgumentError(`${field}.jitter`, `expected a number from 0 to 1, got ${String(o.jitter)}`);
    }
    jitter = o.jitter;
  }
  const totalTimeoutMs =
    o.totalTimeoutMs === undefined
      ? base.totalTimeoutMs
      : infinite(o.totalTimeoutMs)
        ? Infinity
        : requireDuration(`${field}.totalTimeoutMs`, o.totalTimeoutMs, { allowZero: false });
  if (o.onRetry !== undefined) requireFunction(`${field}.onRetry`, o.onRetry);
  return Object.freeze({
    maxRetries,
    initialDelayMs,
    maxDelayMs,
    multiplier,
    jitter,
    totalTimeoutMs,
    onRetry: (o.onRetry as RetryPolicy['onRetry']) ?? base.onRetry,
  });
}

/** Arguments of {@link backoffDelay} (public, so called with anything): typed errors, not NaN timers. */
function checkBackoffArguments(policy: unknown, attempt: unknown, random: unknown): void {
  const p = requireObject('policy', policy);
  requireDuration('policy.initialDelayMs', p.initialDelayMs);
  requireDuration('policy.maxDelayMs', p.maxDelayMs);
  if (typeof p.multiplier !== 'number' || !Number.isFinite(p.multiplier) || p.multiplier < 1) {
    throw new InvalidArgumentError('policy.multiplier', `expected a number >= 1, got ${describe(p.multiplier)}`);
  }
  if (typeof p.jitter !== 'number' || !(p.jitter >= 0 && p.jitter <= 1)) {
    throw new InvalidArgumentError('policy.jitter', `expected a number from 0 to 1, got ${describe(p.jitter)}`);
  }
  requireInteger('attempt', attempt, 0);
  requireFunction('random', random);
}

/**
 * Calls the user's `onRetry`. A callback that throws cannot break the retry loop that called it:
 * the exception is logged (warn) and the retry goes ahead.
 */
export function notifyRetry(
  policy: Pick<RetryPolicy, 'onRetry'>,
  logger: Pick<Logger, 'warn'> | undefined,
  error: LiftbridgeError,
  attempt: number,
  delayMs: number,
): void {
  if (policy.onRetry === undefined) return;
  try {
    policy.onRetry(error, attempt, delayMs);
  } catch (thrown) {
    logger?.warn('the retry.onRetry callback threw; retrying anyway', { error: thrown });
  }
}

/**
 * Delay before retry number `attempt` (1-based): `initialDelayMs * multiplier^(attempt-1)`,
 * capped at `maxDelayMs`, then reduced by up to `jitter` of itself. `random` returns [0, 1); a
 * value outside [0, 1] counts as 0.
 * @throws {InvalidArgumentError} for a policy field, `attempt` (an integer >= 0) or `random` that is
 * not valid (the field is named: `policy.multiplier`, `attempt`...).
 */
export function backoffDelay(
  policy: Pick<RetryPolicy, 'initialDelayMs' | 'maxDelayMs' | 'multiplier' | 'jitter'>,
  attempt: number,
  random: () => number = Math.random,
): number {
  checkBackoffArguments(policy, attempt, random);
  // 0 * Infinity would be NaN: a zero initial delay stays zero however large the attempt.
  const exponential = policy.initialDelayMs === 0 ? 0 : policy.initialDelayMs * policy.multiplier ** Math.max(0, attempt - 1);
  const capped = Math.min(policy.maxDelayMs, exponential);
  // A random() outside [0, 1] (a faulty `random` option) counts as 0 instead of a negative or NaN delay.
  const r = random();
  return Math.round(capped * (1 - policy.jitter * (r >= 0 && r <= 1 ? r : 0)));
}
