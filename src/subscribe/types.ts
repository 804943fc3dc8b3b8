/**
 * Public types of subscribing: messages and start/stop positions as data.
 */
import type { PositionStore } from '../consume/position-store.js';
import { InvalidArgumentError } from '../errors/errors.js';
import { INT64_MAX, describe, requireDuration, requireInt64, requireNonEmptyString } from '../internal/validate.js';
import type { RetryOptions } from '../retry/retry-policy.js';

/** One stored message. */
export interface Message {
  readonly stream: string;
  readonly partition: number;
  /** Exact offset in the partition. */
  readonly offset: bigint;
  /** Broker receive time, Unix nanoseconds (exact). */
  readonly timestampNs: bigint;
  /** `timestampNs` as a Date (millisecond precision). */
  readonly timestamp: Date;
  /** Key; empty when the message had none. */
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /**
   * Headers, including `subject` and `reply`, which the broker adds. An object without a
   * prototype: every name the wire carries (Go's `map[string][]byte`), `__proto__` and
   * `constructor` included, is an own property, and nothing is inherited. Test names with `in` or
   * `Object.hasOwn(headers, name)` (there is no `headers.hasOwnProperty`); `Object.entries` and
   * spreading work as usual.
   */
  readonly headers: Readonly<Record<string, Uint8Array>>;
  readonly subject: string;
  readonly replySubject: string;
}

/**
 * The JSON form of a delivered {@link Message} (what `JSON.stringify(message)` writes): 64-bit
 * values as decimal strings (exact; `BigInt(json.offset)` reads them back), `timestamp` as an ISO
 * 8601 string, bytes (`key`, `value`, header values) as standard padded base64.
 */
export interface MessageJSON {
  readonly stream: string;
  readonly partition: number;
  readonly offset: string;
  readonly timestampNs: string;
  readonly timestamp: string;
  readonly key: string;
  readonly value: string;
  /** Header values in base64, in an object without a prototype (any name, `__proto__` too). */
  readonly headers: Readonly<Record<string, string>>;
  readonly subject: string;
  readonly replySubject: string;
}

/** Where a subscription starts. Build with {@link StartAt}. */
export type StartPosition =
  | { readonly type: 'new-only' }
  | { readonly type: 'earliest' }
  | { readonly type: 'latest' }
  | { readonly type: 'offset'; readonly offset: bigint }
  | { readonly type: 'time'; readonly timestampNs: bigint }
  | { readonly type: 'ago'; readonly ms: number }
  | { readonly type: 'cursor'; readonly cursorId: string; readonly otherwise: StartPosition }
  | { readonly type: 'stored'; readonly store: PositionStore; readonly otherwise: StartPosition };

/** Where a subscription stops (and completes). Build with {@link StopAt}. */
export type StopPosition =
  | { readonly type: 'offset'; readonly offset: bigint }
  | { readonly type: 'latest' }
  | { readonly type: 'time'; readonly timestampNs: bigint };

/** A Date (valid, not before 1970) or Unix ns (int64) as Unix ns; throws InvalidArgumentError `time`. */
function toNs(time: unknown): bigint {
  if (typeof time === 'bigint') return requireInt64('time', time);
  if (!(time instanceof Date)) throw new InvalidArgumentError('time', `expected a Date or Unix nanoseconds as a bigint, got ${describe(time)}`);
  const ms = time.getTime();
  if (Number.isNaN(ms)) throw new InvalidArgumentError('time', 'expected a valid Date, got an Invalid Date');
  if (ms < 0) throw new InvalidArgumentError('time', `expected a time at or after 1970-01-01, got ${time.toISOString()}`);
  const ns = BigInt(ms) * 1_000_000n;
  if (ns > INT64_MAX) throw new InvalidArgumentError('time', `${time.toISOString()} is beyond what int64 nanoseconds can hold (2262-04-11)`);
  return ns;
}

const PLAIN_STARTS: readonly string[] = ['new-only', 'earliest', 'latest', 'offset', 'time', 'ago'];

/** The fallback of a stored start: a position built with StartAt, not another stored start. */
function requireFallback(otherwise: unknown): StartPosition {
  const type = (otherwise as { type?: unknown } | null)?.type;
  if (typeof otherwise !== 'object' || otherwise === null || typeof type !== 'string' || !PLAIN_STARTS.includes(type)) {
    throw new InvalidArgumentError('otherwise', `expected a start position built with StartAt (not a stored start), got ${describe(type ?? otherwise)}`);
  }
  return otherwise as StartPosition;
}

/**
 * Start positions. The builders check their arguments and throw {@link InvalidArgumentError}
 * (naming the argument: `offset`, `time`, `ms`, `cursorId`, `otherwise`, `store`) for values the
 * wire cannot carry: offsets and nanosecond times are int64 (0 to 2^63-1), Dates must be valid and
 * not before 1970.
 */
export const StartAt = Object.freeze({
  /** Only messages published after the subscription starts (the default). */
  newOnly: (): StartPosition => ({ type: 'new-only' }),
  /** The oldest stored message. */
  earliest: (): StartPosition => ({ type: 'earliest' }),
  /** The newest stored message (delivered again), then new ones. */
  latest: (): StartPosition => ({ type: 'latest' }),
  /** A given offset (clamped to the oldest stored one; beyond the newest, waits for it). */
  offset: (offset: bigint): StartPosition => ({ type: 'offset', offset: requireInt64('offset', offset) }),
  /** The first message received at or after a time (Date, or Unix ns as bigint): an absolute instant, fixed here. */
  time: (time: Date | bigint): StartPosition => ({ type: 'time', timestampNs: toNs(time) }),
  /**
   * The first message received at or after `ms` milliseconds ago. Relative: resolved each time the
   * subscription's Observable is subscribed, with the client's scheduler clock (not when
   * `subscribe()` is called).
   */
  ago: (ms: number): StartPosition => ({ type: 'ago', ms: requireDuration('ms', ms, { max: Number.MAX_SAFE_INTEGER }) }),
  /**
   * After the offset stored in the Liftbridge cursor `cursorId` (stored value + 1), per
   * partition; where none is stored, `otherwise`.
   * @param otherwise @defaultValue StartAt.earliest()
   */
  cursor: (cursorId: string, otherwise: StartPosition = { type: 'earliest' }): StartPosition => ({
    type: 'cursor',
    cursorId: requireNonEmptyString('cursorId', cursorId),
    otherwise: requireFallback(otherwise),
  }),
  /**
   * After the offset a {@link PositionStore} holds (stored value + 1), per partition; where it
   * holds none, `otherwise`.
   * @param otherwise @defaultValue StartAt.earliest()
   */
  stored: (store: PositionStore, otherwise: StartPosition = { type: 'earliest' }): StartPosition => {
    const s = store as Partial<PositionStore> | null | undefined;
    if (typeof s?.load !== 'function' || typeof s.save !== 'function') {
      throw new InvalidArgumentError('store', `expected a PositionStore (with load() and save()), got ${describe(store)}`);
    }
    return { type: 'stored', store, otherwise: requireFallback(otherwise) };
  },
});

/** Stop positions. The builders throw {@link InvalidArgumentError} like {@link StartAt}'s. */
export const StopAt = Object.freeze({
  /** Complete after delivering this offset. */
  offset: (offset: bigint): StopPosition => ({ type: 'offset', offset: requireInt64('offset', offset) }),
  /** Complete after the newest message at subscribe time (an empty partition completes at once). */
  latest: (): StopPosition => ({ type: 'latest' }),
  /** Complete after the last message received at or before a time. */
  time: (time: Date | bigint): StopPosition => ({ type: 'time', timestampNs: toNs(time) }),
});

/** Options of `subscribe`. */
export interface SubscribeOptions {
  /**
   * Which partitions to read: one id, a list, or `'all'` (every partition of the stream,
   * each on its own gRPC stream, merged). `partition` is the same for one id.
   * @defaultValue 0
   */
  partitions?: number | readonly number[] | 'all';
  /** One partition to read (shorthand of `partitions: n`). @defaultValue 0 */
  partition?: number;
  /** @defaultValue StartAt.newOnly() */
  startAt?: StartPosition;
  /** Complete at this position; omitted = read forever. */
  stopAt?: StopPosition;
  /** Read from any in-sync replica instead of the leader (may lag the leader). @defaultValue false */
  readIsrReplica?: boolean;
  /** Resume the partition first if it is paused. @defaultValue false */
  resume?: boolean;
  /**
   * Read newest to oldest from the start position, then complete. Needs a server after
   * v1.9.0 (Liftbridge main, v26.01.1); v1.x releases ignore it and read forwards. A resumed
   * subscription reads on below the last delivered offset. The server only accepts a stop
   * offset equal to the start: a lower one ends with `InvalidArgumentError`.
   * @defaultValue false
   */
  reverse?: boolean;
  /**
   * Per partition: how many delivered messages may be unsettled (handed to `consume()`
   * and not finished) before the partition stops reading from the broker. Memory per
   * partition is bounded by this many messages plus the HTTP/2 window (the client's
   * `flowControlWindowBytes`, 1 MiB by default) and one DATA frame (16 KiB); see
   * docs/subscribing.md for the formula. A plain subscriber settles each message on delivery.
   * @defaultValue 256
   */
  prefetch?: number;
  /**
   * How the partitions' Subscribe calls travel: `'http2'` (the SDK's own gRPC client over Node's
   * HTTP/2, messages decoded in place; about half grpc-js's CPU per message) or `'grpc-js'` (the
   * client's grpc-js connections). Both pause a partition by HTTP/2 flow control
   * and map errors the same way. @defaultValue 'http2'
   */
  transport?: 'http2' | 'grpc-js';
  /**
   * Retry policy of this subscription's reconnections, over the client's `retry` (unset fields
   * come from it). Each *outage* — from the moment the partition's stream breaks (or the
   * subscription starts) until it is re-established and has delivered a message or stayed up for
   * a second — gets `maxRetries` and `totalTimeoutMs`; the next outage starts afresh. The life of
   * the subscription is not bounded. For long-lived consumers that must outlast any outage, retry
   * forever with backoff: `retry: { totalTimeoutMs: Infinity, maxRetries: Infinity }` (only
   * subscriptions accept `Infinity`). See docs/subscribing.md.
   * @defaultValue the client's `retry`
   */
  retry?: RetryOptions;
}
