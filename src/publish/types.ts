/**
 * Public types of publishing: messages, acks, receipts, results and options.
 */
import type { Observable } from 'rxjs';
import type { LiftbridgeError } from '../errors/errors.js';
import type { RetryOptions } from '../retry/retry-policy.js';

/**
 * Who must have stored a message before it is acknowledged.
 *
 * - `'leader'`: the partition leader appended it (not yet replicated; can be lost if the leader dies).
 * - `'all'`: every in-sync replica has it (committed).
 * - `'none'`: the broker confirms nothing. The outcome is a {@link Sent} receipt once the message
 *   was handed to the connection; see docs/publishing.md.
 */
export type AckPolicy = 'leader' | 'all' | 'none';

/** The broker's acknowledgement of one stored message. */
export interface Ack {
  readonly stream: string;
  readonly partition: number;
  /** Offset the message was stored at. */
  readonly offset: bigint;
  /** The stream's base subject. */
  readonly partitionSubject: string;
  /** The subject the message was published on (`<subject>.<partition>` for partitions > 0). */
  readonly msgSubject: string;
  readonly correlationId: string;
  readonly ackPolicy: 'leader' | 'all';
  /** When the leader received the message (Unix ns). */
  readonly receptionTimestampNs: bigint;
  /** When the message was committed (Unix ns). */
  readonly commitTimestampNs: bigint;
  /**
   * The ack as JSON-safe data (bigints as decimal strings), so that `JSON.stringify(ack)` works in
   * logs and HTTP responses. A copy made by spreading (`{ ...ack }`) loses it; call it first.
   * @example
   * ```ts
   * res.json(ack); // {"offset":"42","receptionTimestampNs":"1732790000000000000",...}
   * ```
   */
  toJSON(): AckJSON;
}

/** The fields of an {@link Ack} (what `encodeAckEnvelope` takes). */
export type AckData = Omit<Ack, 'toJSON'>;

/** {@link Ack} as JSON: the same fields, bigints as decimal strings (exact; parse with `BigInt()`). */
export interface AckJSON {
  readonly stream: string;
  readonly partition: number;
  readonly offset: string;
  readonly partitionSubject: string;
  readonly msgSubject: string;
  readonly correlationId: string;
  readonly ackPolicy: 'leader' | 'all';
  readonly receptionTimestampNs: string;
  readonly commitTimestampNs: string;
}

/**
 * The outcome of a message published with `ackPolicy: 'none'`: it left the client (was written to
 * the broker connection). Nothing says whether the broker stored it.
 */
export interface Sent {
  readonly type: 'sent';
  readonly stream: string;
  readonly partition: number;
  readonly correlationId: string;
}

/** A value, key or header value: bytes, or a string (encoded as UTF-8). */
export type Bytes = Uint8Array | string;

/** One message to publish (the input of `publishTo` and `publishBulk`). */
export interface PublishMessage {
  readonly value: Bytes;
  /** Message key: drives compaction and, by default, the partition (see {@link Partitioner}). */
  readonly key?: Bytes;
  /** Message headers. The server adds `subject` and `reply` headers on storage. */
  readonly headers?: Readonly<Record<string, Bytes>>;
  /** Target partition; overrides the partitioner. */
  readonly partition?: number;
  /** Correlation id echoed in the ack and carried by errors. @defaultValue a generated unique id */
  readonly correlationId?: string;
  /** Optimistic concurrency: the offset the message must get. Sent as -1 when unset. */
  readonly expectedOffset?: bigint;
  /** Target stream, overriding the publisher's stream (`publishBulk` needs it when no `stream` option is given). */
  readonly stream?: string;
}

/** An input of `publishTo`/`publishBulk`: a full message, or just its value. */
export type PublishInput = PublishMessage | Bytes;

/**
 * What `publishBulk()` and a `publishTo()` operator read inputs from: an Observable, an Iterable or
 * an AsyncIterable of inputs. Iterables are pulled only while the in-flight window has room.
 */
export type PublishSource = Observable<PublishInput> | Iterable<PublishInput> | AsyncIterable<PublishInput>;

/** What a partitioner sees. */
export interface PartitionerContext {
  readonly stream: string;
  /** The key (empty when none). */
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** Partitions of the stream, from the client's metadata. */
  readonly partitions: number;
}

/**
 * A custom partitioner: returns an integer from 0 to `partitions - 1`. Anything else, or a throw,
 * makes that message's outcome an `InvalidArgumentError` (`field: 'options.partitioner'`, the
 * thrown error as `cause`); the other messages go on.
 */
export type PartitionerFunction = (message: PartitionerContext) => number;

/**
 * How a message without an explicit `partition` finds its partition:
 * `'key'` (the default: CRC-32 of the key modulo the partition count, exactly go-liftbridge's
 * `PartitionByKey`, so Go and Node producers put a key in the same partition; a message without a
 * key goes to partition 0), `'round-robin'` (a per-stream counter on this client), or a function
 * (`() => 0` for "always partition 0", go-liftbridge's behaviour without a partitioner).
 */
export type Partitioner = 'key' | 'round-robin' | PartitionerFunction;

/** Options of `publish` (one message). */
export interface PublishOptions {
  /** Message key (drives compaction and key partitioning). */
  key?: Bytes;
  /** Message headers. The server adds `subject` and `reply` headers on storage. */
  headers?: Readonly<Record<string, Bytes>>;
  /** Target partition; overrides `partitioner`. @defaultValue the partitioner's choice (by key: no key = 0) */
  partition?: number;
  /** Chooses the partition when `partition` is not given. @defaultValue 'key' */
  partitioner?: Partitioner;
  /** @defaultValue 'leader' */
  ackPolicy?: AckPolicy;
  /** How long to wait for the ack of one send, in ms. @defaultValue 5000 */
  ackWaitMs?: number;
  /** Correlation id echoed in the ack. @defaultValue a generated unique id */
  correlationId?: string;
  /** Optimistic concurrency: the offset the message must get. Sent as -1 when unset. */
  expectedOffset?: bigint;
  /**
   * Retry options (`{}` = the client's `retry` policy) turn on resends after a broken connection,
   * a leader change or an ack timeout: at-least-once, a resend can store the message twice.
   * Without them (`false`, the default) a message that may have reached a broker is never sent
   * again: the outcome of such a failure is a typed error. Looking up the leader, and sending a
   * message that provably never left the client, are retried within the client's policy either way.
   * @defaultValue false
   */
  retry?: RetryOptions | false;
  /** Largest message (value + key + headers) accepted, in bytes. @defaultValue 1048576 */
  maxMessageBytes?: number;
  /** See {@link PublishToOptions.transport}. @defaultValue 'http2' */
  transport?: 'http2' | 'grpc-js';
}

/** Options of `publishTo` and `publishBulk`. */
export interface PublishToOptions {
  /**
   * Messages sent and not yet settled (acknowledged, failed, and emitted). The source is pulled
   * only while fewer are in flight: the producer's backpressure. @defaultValue 1024
   */
  maxInFlight?: number;
  /**
   * Observable sources cannot be paused: inputs that arrive while `maxInFlight` are in flight wait
   * in a queue of at most this many; one more fails the pipeline with a `BufferOverflowError`
   * (which says when the burst was synchronous, e.g. `range()` or `from(array)`).
   * Iterable and AsyncIterable sources are pulled on demand and never queue: prefer them for large
   * producers, or set this to the size of a synchronous burst. @defaultValue 8192
   */
  maxBuffered?: number;
  /**
   * Bytes of sent messages still queued in the client (not yet handed to the socket) above which
   * no further input is taken: on a slow link the source waits instead of the process buffering
   * without bound. One message is always let through. @defaultValue 4194304 (4 MiB)
   */
  maxQueuedBytes?: number;
  /**
   * How long to wait for the ack of one send, in ms, counted from when its bytes were handed to
   * the socket (not from when it was queued). @defaultValue 5000
   */
  ackWaitMs?: number;
  /** Emit outcomes in input order (`true`) or as they arrive. @defaultValue true */
  ordered?: boolean;
  /**
   * Chooses the partition of messages without `partition`. @defaultValue 'key' (go-liftbridge's
   * `PartitionByKey`: CRC-32 of the key modulo the partition count; no key = partition 0)
   */
  partitioner?: Partitioner;
  /** @defaultValue 'leader' */
  ackPolicy?: AckPolicy;
  /**
   * `true`: the first failed message ends the Observable with its error (outcomes are
   * {@link Ack}s). `false`: every input yields a {@link PublishResult} and the rest goes on.
   * @defaultValue true
   */
  failFast?: boolean;
  /**
   * Resends after a broken connection, a leader change or an ack timeout, within this policy
   * (at-least-once: a resend can store a message twice). `false`: a message that may have reached
   * a broker is never sent again; its failure is its outcome. @defaultValue the client's `retry` policy
   */
  retry?: RetryOptions | false;
  /** Largest message (value + key + headers) accepted, in bytes. @defaultValue 1048576 */
  maxMessageBytes?: number;
  /**
   * How PublishAsync calls travel: `'http2'` (Node's HTTP/2 client with gRPC framing, one session
   * per broker; many messages per syscall) or `'grpc-js'` (the client's grpc-js connections; one
   * message per event-loop turn, about 30 000 msg/s per broker at most). @defaultValue 'http2'
   */
  transport?: 'http2' | 'grpc-js';
}

/** Options of `publishBulk`. */
export interface PublishBulkOptions extends PublishToOptions {
  /** Stream of inputs that name none. */
  stream?: string;
  /**
   * `true`: complete after every input has its outcome. `false`: complete as soon as the last input
   * was sent; acks that arrived by then are emitted, the rest are not awaited (gufo's
   * `wait=False`). @defaultValue true
   */
  wait?: boolean;
}

/** The outcome of one input when `failFast: false`. */
export type PublishResult<A = Ack> =
  | { readonly ok: true; readonly ack: A; readonly input: PublishMessage }
  | { readonly ok: false; readonly error: LiftbridgeError; readonly input: PublishMessage };

/** What a publish of ack policy `P` emits: {@link Ack}, or {@link Sent} for `'none'`. */
export type AckOf<P> = [P] extends ['none'] ? Sent : 'none' extends P ? Ack | Sent : Ack;

/**
 * What `publishTo`/`publishBulk` emit for ack policy `P` and `failFast` `F`: acks (or receipts),
 * or {@link PublishResult}s with `failFast: false`.
 */
export type Outcome<P extends AckPolicy, F extends boolean> = [F] extends [false]
  ? PublishResult<AckOf<P>>
  : false extends F
    ? AckOf<P> | PublishResult<AckOf<P>>
    : AckOf<P>;
