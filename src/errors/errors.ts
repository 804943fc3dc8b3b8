/**
 * The error classes of rx-liftbridge. Every failure that reaches user code is a
 * {@link LiftbridgeError}; raw gRPC errors never do. See docs/errors.md for when each
 * one happens and whether retrying helps.
 *
 * @module
 */

const BRAND = Symbol.for('rx-liftbridge.error');

/** Stable string codes, one per error class. */
export type LiftbridgeErrorCode =
  | 'UNKNOWN'
  | 'INVALID_ARGUMENT'
  | 'CONNECTION'
  | 'TIMEOUT'
  | 'ACK_TIMEOUT'
  | 'CLIENT_CLOSED'
  | 'STREAM_EXISTS'
  | 'NO_SUCH_STREAM'
  | 'NO_SUCH_PARTITION'
  | 'NOT_LEADER'
  | 'PARTITION_PAUSED'
  | 'READONLY_PARTITION'
  | 'END_OF_READONLY_PARTITION'
  | 'STOP_POSITION_REACHED'
  | 'INCORRECT_OFFSET'
  | 'MESSAGE_TOO_LARGE'
  | 'ENCRYPTION_FAILED'
  | 'PERMISSION_DENIED'
  | 'CURSORS_DISABLED'
  | 'CONSUMER_GROUP'
  | 'BUFFER_OVERFLOW'
  | 'INTERNAL';

/** Extra facts an error may carry. */
export interface LiftbridgeErrorDetails {
  /** The error that caused this one (a gRPC status error, another LiftbridgeError, ...). */
  readonly cause?: unknown;
  /** The broker address the failing call went to, when known. */
  readonly address?: string;
  /** The gRPC status code name, when the error came from a gRPC status (e.g. `UNAVAILABLE`). */
  readonly grpcCode?: string;
  /** The RPC that failed, when known (e.g. `CreateStream`). */
  readonly rpc?: string;
  /** Publishing: the correlation id of the message this error is the outcome of. */
  readonly correlationId?: string;
  /** For connection errors: the request provably never reached a broker (no connection existed). */
  readonly neverSent?: boolean;
}

/**
 * Base class of every error rx-liftbridge emits.
 *
 * `instanceof` works across the ESM and CJS copies of the package (a shared brand is
 * checked), so `err instanceof LiftbridgeError` is reliable in mixed applications.
 */
export class LiftbridgeError extends Error {
  /** Stable machine-readable code. */
  readonly code: LiftbridgeErrorCode;
  /** Whether repeating the same operation later may succeed. */
  readonly retriable: boolean;
  /** Broker address of the failing call, when known. */
  readonly address: string | undefined;
  /** gRPC status code name behind this error, when there was one. */
  readonly grpcCode: string | undefined;
  /** RPC name of the failing call, when known. */
  readonly rpc: string | undefined;
  /** Publishing: the correlation id of the message this error is the outcome of. */
  readonly correlationId: string | undefined;

  constructor(message: string, code: LiftbridgeErrorCode, retriable: boolean, details: LiftbridgeErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = retriable;
    this.address = details.address;
    this.grpcCode = details.grpcCode;
    this.rpc = details.rpc;
    this.correlationId = details.correlationId;
  }

  /**
   * A plain-object form for logs and HTTP responses (`JSON.stringify(error)` calls it): `name`,
   * `code`, `message`, `retriable`, every typed field that is set (`field`, `address`, `grpcCode`,
   * `rpc`, `correlationId`, `neverSent`...; bigint values as decimal strings) and `cause` (a
   * LiftbridgeError in this same form, another Error as `{ name, message, code? }`, anything else as
   * a string). The stack is left out.
   */
  toJSON(): Record<string, unknown> {
    return errorToJson(this, 0);
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this === LiftbridgeError) {
      return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
    }
    return Function.prototype[Symbol.hasInstance].call(this, value) || sameNamedBrand(this, value);
  }
}
Object.defineProperty(LiftbridgeError.prototype, BRAND, { value: true });

/** Causes are followed this deep in `toJSON` (cycles end there too). */
const MAX_CAUSE_DEPTH = 5;

function errorToJson(e: LiftbridgeError, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = { name: e.name, code: e.code, message: e.message, retriable: e.retriable };
  for (const [key, value] of Object.entries(e)) {
    if (value === undefined || key in out) continue;
    out[key] = typeof value === 'bigint' ? value.toString() : value;
  }
  const cause: unknown = e.cause;
  if (cause !== undefined) out.cause = causeToJson(cause, depth + 1);
  return out;
}

function causeToJson(cause: unknown, depth: number): unknown {
  if (depth > MAX_CAUSE_DEPTH) return '[cause chain too deep]';
  if (cause instanceof LiftbridgeError) return errorToJson(cause, depth);
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return { name: cause.name, message: cause.message, ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}) };
  }
  return typeof cause === 'bigint' ? cause.toString() : String(cause);
}

// Subclass checks across module copies fall back to the class name plus the brand.
function sameNamedBrand(ctor: { name: string }, value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if ((value as Record<symbol, unknown>)[BRAND] !== true) return false;
  let proto: unknown = Object.getPrototypeOf(value);
  while (proto !== null && proto !== undefined) {
    const c = (proto as { constructor?: { name?: string } }).constructor;
    if (c?.name === ctor.name) return true;
    proto = Object.getPrototypeOf(proto);
  }
  return false;
}

/** An argument or option was invalid; raised before anything is sent. Not retriable. */
export class InvalidArgumentError extends LiftbridgeError {
  /** Dotted path of the offending option or argument (e.g. `retry.maxRetries`). */
  readonly field: string;
  constructor(field: string, problem: string, details: LiftbridgeErrorDetails = {}) {
    super(`Invalid ${field}: ${problem}`, 'INVALID_ARGUMENT', false, details);
    this.field = field;
  }
}

/** No broker could be reached (after the configured retries), or the connection was lost. Retriable. */
export class ConnectionError extends LiftbridgeError {
  /**
   * True when the request provably never reached a broker (no connection was established, the
   * broker refused the stream before processing it, or the message was still queued in the client),
   * so even a non-idempotent call such as a publish can be sent again without risk of a duplicate.
   */
  readonly neverSent: boolean;
  constructor(message: string, details: LiftbridgeErrorDetails = {}) {
    super(message, 'CONNECTION', true, details);
    this.neverSent = details.neverSent ?? false;
  }
}

/** An operation did not finish within its deadline or total time budget. Retriable; the outcome may be unknown. */
export class TimeoutError extends LiftbridgeError {
  constructor(message: string, details: LiftbridgeErrorDetails = {}) {
    super(message, 'TIMEOUT', true, details);
  }
}

/** A publish was not acknowledged in time; the message may or may not have been stored. */
export class AckTimeoutError extends LiftbridgeError {
  constructor(message: string, details: LiftbridgeErrorDetails = {}) {
    super(message, 'ACK_TIMEOUT', true, details);
  }
}

/** The client was closed (or destroyed) before or while the operation ran. Not retriable on this client. */
export class ClientClosedError extends LiftbridgeError {
  constructor(message = 'The Liftbridge client is closed', details: LiftbridgeErrorDetails = {}) {
    super(message, 'CLIENT_CLOSED', false, details);
  }
}

/** CreateStream: a stream with that name already exists (stream names are cluster-wide). */
export class StreamExistsError extends LiftbridgeError {
  constructor(message: string, details: LiftbridgeErrorDetails = {}) {
    super(message, 'STREAM_EXISTS', false, details);
  }
}

/**
 * The stream does not exist (or was deleted). Raised only when the cluster confirms it: a single
 * broker's "not found" (e.g. one that has just restarted and not caught up) is retried instead.
 */
export class NoSuchStreamError extends LiftbridgeError {
  constructor(message: string, details: LiftbridgeErrorDetails = {}) {
    super(message, 'NO_SUCH_STREAM', false, details);
  }
}

/** The partition does not exist in the stream (confirmed by the cluster, like {@link NoSuchStreamError}). */
export class NoSuchPartitionError extends LiftbridgeError {
  constructor(message: string, details: LiftbridgeErrorDetails = {}) {
    super(message, 'NO_SUCH_PARTITION', false, details);
  }
}

/**
 * The call went to a broker that does not lead the partition (or coordinate the group,
 * or hold the cursor partition). The client refreshes metadata and retries this itself;
 * users see it only when retries are exhausted.
 */
export class NotLeaderError extends LiftbridgeError {
  constructor(message: string, details: LiftbridgeErrorDetails = {}) {
    super(message, 'NOT_LEADER', true, details);
  }
}

/** The partition is paused; a subscription with `resume: true` or a publish resumes it. */
export class PartitionPausedError extends LiftbridgeError {
  constructor(message: string, details: LiftbridgeErrorDetails = {}) {
    super(message, 'PARTITION_PAUSED', false, details);
  }
}

/** A publish hit a readonly partition. */
export class ReadonlyPartitionError extends LiftbridgeError {
  constructor(message: string, details: LiftbridgeErrorDetails = {}) {
    super(message, 'READONLY_PARTITION', false, details);
  }
}

/** Optimistic concurrency: the message's expected offset was not the next offset. */
export class IncorrectOffsetError extends LiftbridgeError {
  constructor(message: string, details: LiftbridgeErrorDetails = {}) {
    super(message, 'INCORRECT_OFFSET', false, details);
  }
}

/** The message exceeds a server size limit. */
export class MessageTooLargeError extends LiftbridgeError {
  constructor(message: string, details: LiftbridgeErrorDetails = {}) {
    super(message, 'MESSAGE_TOO_LARGE', false, details);
  }
}

/** The server could not encrypt the message (encryption at rest without a key). */
export class EncryptionFailedError extends LiftbridgeError {
  constructor(message: string, details: LiftbridgeErrorDetails = {}) {
    super(message, 'ENCRYPTION_FAILED', false, details);
  }
}

/** The broker's authorization policy denied the call. */
export class PermissionDeniedError extends LiftbridgeError {
  constructor(message: string, details: LiftbridgeErrorDetails = {}) {
    super(message, 'PERMISSION_DENIED', false, details);
  }
}

/** Cursor operations on a server started without a cursors stream (`cursors.stream.partitions: 0`). */
export class CursorsDisabledError extends LiftbridgeError {
  constructor(message: string, details: LiftbridgeErrorDetails = {}) {
    super(message, 'CURSORS_DISABLED', false, details);
  }
}

/** A consumer-group call failed (not a member, epoch mismatch, no coordinator, ...). */
export class ConsumerGroupError extends LiftbridgeError {
  constructor(message: string, retriable: boolean, details: LiftbridgeErrorDetails = {}) {
    super(message, 'CONSUMER_GROUP', retriable, details);
  }
}

/**
 * A bounded buffer would have grown past its bound (e.g. a publisher's `maxBuffered` for an
 * Observable source that ignores backpressure). Not retriable: slow the source down or use an
 * Iterable/AsyncIterable source, which is pulled on demand.
 */
export class BufferOverflowError extends LiftbridgeError {
  constructor(message: string, details: LiftbridgeErrorDetails = {}) {
    super(message, 'BUFFER_OVERFLOW', false, details);
  }
}

/** The broker reported an internal failure. Often transient (e.g. no metadata leader yet). */
export class InternalServerError extends LiftbridgeError {
  constructor(message: string, details: LiftbridgeErrorDetails = {}) {
    super(message, 'INTERNAL', true, details);
  }
}

/** A failure the client could not classify. */
export class UnknownServerError extends LiftbridgeError {
  constructor(message: string, details: LiftbridgeErrorDetails = {}) {
    super(message, 'UNKNOWN', false, details);
  }
}
