/**
 * Small argument checks shared by every entry point. Each throws an
 * {@link InvalidArgumentError} that names the field.
 *
 * Internal (not exported from the package root).
 */
import { type Observable, throwError } from 'rxjs';
import { InvalidArgumentError } from '../errors/errors.js';

/**
 * The SDK's rule for invalid arguments (RxJS convention): a function that returns an Observable
 * never throws. `build` validates its arguments and builds the Observable; whatever it throws is
 * delivered as the returned Observable's error, to each subscriber, before anything is sent.
 */
export function validated<T>(build: () => Observable<T>): Observable<T> {
  try {
    return build();
  } catch (error) {
    return throwError(() => error);
  }
}

/** {@link validated} for operators: an invalid argument errors the piped Observable on subscribe (the source is never subscribed). */
export function validatedOperator<S, R>(build: () => (source: S) => Observable<R>): (source: S) => Observable<R> {
  try {
    return build();
  } catch (error) {
    return () => throwError(() => error);
  }
}

export function requireInteger(field: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new InvalidArgumentError(field, `expected an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw new InvalidArgumentError(field, `expected ${rangeText(min, max)}, got ${value}`);
  }
  return value;
}

/**
 * Longest duration a Node timer holds (2^31-1 ms, about 24.8 days): Node turns a longer one into a
 * 1 ms timer, so a "very long" timeout would fire at once.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** Largest value of a protobuf int64 (offsets, timestamps in ns, byte and message counts). */
export const INT64_MAX = 2n ** 63n - 1n;

/**
 * Validates a duration in ms: a finite number >= 0 (> 0 with `allowZero: false`), at most `max`,
 * which defaults to {@link MAX_TIMER_MS} because most durations become timers. Durations that are
 * only sent to the server (retention ages...) pass a larger `max`.
 */
export function requireDuration(field: string, value: unknown, opts: { allowZero?: boolean; max?: number } = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidArgumentError(field, `expected a finite number of milliseconds, got ${describe(value)}`);
  }
  if (value < 0) throw new InvalidArgumentError(field, `durations cannot be negative, got ${value}`);
  if (value === 0 && opts.allowZero === false) throw new InvalidArgumentError(field, 'must be greater than 0');
  const max = opts.max ?? MAX_TIMER_MS;
  if (value > max) {
    const why = max === MAX_TIMER_MS ? ' (the longest a timer can wait, about 24.8 days)' : '';
    throw new InvalidArgumentError(field, `must be at most ${max} ms${why}, got ${value}`);
  }
  return value;
}

/** Validates a bigint that travels as a protobuf int64: from `min` (default 0n) to 2^63-1. */
export function requireInt64(field: string, value: unknown, min = 0n): bigint {
  if (typeof value !== 'bigint') throw new InvalidArgumentError(field, `expected a bigint from ${min}n to 2^63-1, got ${describe(value)}`);
  if (value < min || value > INT64_MAX) {
    throw new InvalidArgumentError(field, `expected a bigint from ${min}n to ${INT64_MAX}n (int64), got ${value}n`);
  }
  return value;
}

/**
 * Validates an RxJS scheduler: something with `now()` and `schedule()`. Checked up front, because a
 * bad one otherwise fails inside a timer callback, where nothing can catch it.
 */
export function requireScheduler(field: string, value: unknown): void {
  const s = value as { now?: unknown; schedule?: unknown } | null;
  if ((typeof s !== 'object' && typeof s !== 'function') || s === null || typeof s.now !== 'function' || typeof s.schedule !== 'function') {
    throw new InvalidArgumentError(field, `expected an RxJS SchedulerLike (with now() and schedule()), got ${describe(value)}`);
  }
}

export function requireBoolean(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new InvalidArgumentError(field, `expected a boolean, got ${describe(value)}`);
  return value;
}

export function requireOneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(field, `expected one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

export function requireFunction(field: string, value: unknown): void {
  if (typeof value !== 'function') throw new InvalidArgumentError(field, `expected a function, got ${describe(value)}`);
}

/** Rejects keys that are not part of an options object (catches typos such as `maxRetry`). */
export function rejectUnknownKeys(field: string, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new InvalidArgumentError(field === '' ? key : `${field}.${key}`, `unknown option (known: ${known.join(', ')})`);
    }
  }
}

export function requireObject(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(field, `expected an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

// Stream names become directory names on every replica; keep them to a safe alphabet.
const STREAM_NAME = /^[A-Za-z0-9_\-.]+$/;

/**
 * Validates a stream name. Names of streams this client creates must be at most 249
 * characters of `A-Z a-z 0-9 _ - .` (they become directory names on every replica);
 * names of existing streams (`creating: false`) only need to be non-empty, without
 * whitespace, control characters or path separators.
 */
export function requireStreamName(field: string, value: unknown, creating = false): string {
  if (typeof value !== 'string') throw new InvalidArgumentError(field, `expected a stream name string, got ${describe(value)}`);
  if (value.length === 0) throw new InvalidArgumentError(field, 'stream name cannot be empty');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what this check rejects
  if (/[\s/\\\x00-\x1f]/.test(value)) {
    throw new InvalidArgumentError(field, `stream name ${JSON.stringify(value)} contains whitespace, a control character or a path separator`);
  }
  if (!creating) return value;
  if (value.length > 249) throw new InvalidArgumentError(field, `stream name longer than 249 characters (${value.length})`);
  if (value === '.' || value === '..') throw new InvalidArgumentError(field, `'${value}' is not a valid stream name`);
  if (value.startsWith('__')) throw new InvalidArgumentError(field, `stream names starting with '__' are reserved for the server`);
  if (!STREAM_NAME.test(value)) {
    throw new InvalidArgumentError(field, `stream name '${value}' may only contain letters, digits, '_', '-' and '.'`);
  }
  return value;
}

/** Validates a NATS subject: non-empty, no whitespace, no empty tokens. Wildcards are allowed. */
export function requireSubject(field: string, value: unknown): string {
  if (typeof value !== 'string') throw new InvalidArgumentError(field, `expected a NATS subject string, got ${describe(value)}`);
  if (value.length === 0) throw new InvalidArgumentError(field, 'subject cannot be empty');
  if (/\s/.test(value)) throw new InvalidArgumentError(field, `subject '${value}' contains whitespace`);
  if (value.split('.').some((t) => t.length === 0)) {
    throw new InvalidArgumentError(field, `subject '${value}' has an empty token`);
  }
  return value;
}

export function requirePartition(field: string, value: unknown): number {
  return requireInteger(field, value, 0, 2_147_483_647);
}

export function requireNonEmptyString(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(field, `expected a non-empty string, got ${describe(value)}`);
  }
  return value;
}

function rangeText(min: number, max: number): string {
  if (max === Number.MAX_SAFE_INTEGER) return `an integer >= ${min}`;
  return `an integer from ${min} to ${max}`;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
