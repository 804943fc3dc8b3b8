/**
 * The one place where gRPC statuses, PublishAsyncError codes and Ack error codes become
 * rx-liftbridge errors. Nothing else in the SDK inspects a raw gRPC error.
 *
 * @module
 * Internal (not exported from the package root).
 */
import { ClientError, Status } from 'nice-grpc-common';
import { Ack_Error, PublishAsyncError_Code } from '../generated/liftbridge/api.js';
import {
  ClientClosedError,
  ConnectionError,
  ConsumerGroupError,
  CursorsDisabledError,
  EncryptionFailedError,
  IncorrectOffsetError,
  InternalServerError,
  InvalidArgumentError,
  LiftbridgeError,
  type LiftbridgeErrorDetails,
  MessageTooLargeError,
  NoSuchPartitionError,
  NoSuchStreamError,
  NotLeaderError,
  PartitionPausedError,
  PermissionDeniedError,
  ReadonlyPartitionError,
  StreamExistsError,
  TimeoutError,
  UnknownServerError,
} from './errors.js';

/** What the mapper knows about the failing call. */
export interface CallContext {
  /** RPC name, e.g. `Subscribe`. */
  readonly rpc: string;
  /** Broker address the call went to. */
  readonly address?: string | undefined;
  readonly stream?: string | undefined;
  readonly partition?: number | undefined;
  /** Publishing: the correlation id of the message concerned. */
  readonly correlationId?: string | undefined;
}

// grpc-js's texts when no connection existed, so the request was never written.
const NEVER_CONNECTED = /No connection established|Waiting for LB pick|ECONNREFUSED/i;

// The server's texts for a missing partition; a stream *named* "partition..." must not match.
const NO_SUCH_PARTITION = /no such partition|partition not found|partition does not exist/i;

const GROUP_RPCS = new Set(['JoinConsumerGroup', 'LeaveConsumerGroup', 'FetchConsumerGroupAssignments', 'ReportConsumerGroupCoordinator']);

/** A grpc-js status error (`ServiceError`). */
export function isServiceError(error: unknown): error is { code: number; details: string; message: string } {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'number' && typeof (error as { details?: unknown }).details === 'string';
}

/** True for the error an AbortSignal produces (cancellation is not an error). */
export function isAbortError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    ((error as { name?: unknown }).name === 'AbortError' ||
      (error instanceof ClientError && error.code === Status.CANCELLED && /aborted|cancelled on client/i.test(error.details)))
  );
}

function where(ctx: CallContext): string {
  const parts: string[] = [ctx.rpc];
  if (ctx.stream !== undefined) parts.push(`stream=${ctx.stream}`);
  if (ctx.partition !== undefined) parts.push(`partition=${ctx.partition}`);
  if (ctx.address !== undefined) parts.push(`broker=${ctx.address}`);
  return parts.join(' ');
}

/**
 * Maps any failure of a broker call to a {@link LiftbridgeError}. LiftbridgeErrors pass
 * through unchanged.
 */
export function mapError(error: unknown, ctx: CallContext): LiftbridgeError {
  if (error instanceof LiftbridgeError) return error;
  if (error instanceof ClientError) return mapStatus(error.code, error.details, ctx, error);
  if (isServiceError(error)) return mapStatus(error.code as Status, error.details, ctx, error);
  const message = error instanceof Error ? error.message : String(error);
  if (/channel has been shut down|Channel has been shut down/i.test(message)) {
    return new ClientClosedError(`${where(ctx)}: the client is closed`, { cause: error, rpc: ctx.rpc, address: ctx.address });
  }
  // Not a gRPC status. Socket-level failures are connection errors; anything else is a bug
  // or an unexpected failure that a retry will not fix.
  const sysCode = (error as { code?: unknown } | null)?.code;
  if ((typeof sysCode === 'string' && /^E[A-Z]+$/.test(sysCode)) || /socket hang up|ECONN|EPIPE|ETIMEDOUT/i.test(message)) {
    return new ConnectionError(`${where(ctx)} failed: ${message}`, { cause: error, rpc: ctx.rpc, address: ctx.address });
  }
  return new UnknownServerError(`${where(ctx)} failed: ${message}`, { cause: error, rpc: ctx.rpc, address: ctx.address });
}

/** Maps a gRPC status (code and details text) to an error class. */
export function mapStatus(code: Status, detailsText: string, ctx: CallContext, cause?: unknown): LiftbridgeError {
  const details: LiftbridgeErrorDetails = {
    cause,
    rpc: ctx.rpc,
    address: ctx.address,
    grpcCode: Status[code],
    correlationId: ctx.correlationId,
  };
  const text = detailsText || Status[code] || 'unknown error';
  const msg = `${where(ctx)}: ${text}`;
  const isGroup = GROUP_RPCS.has(ctx.rpc);

  switch (code) {
    case Status.UNAVAILABLE:
    case Status.CANCELLED:
      return new ConnectionError(msg, { ...details, neverSent: NEVER_CONNECTED.test(text) });
    case Status.DEADLINE_EXCEEDED:
      // grpc-js: the deadline passed before a connection was ever established.
      if (/Waiting for LB pick/i.test(text)) return new ConnectionError(msg, { ...details, neverSent: true });
      return new TimeoutError(msg, details);
    case Status.ALREADY_EXISTS:
      return new StreamExistsError(msg, details);
    case Status.INVALID_ARGUMENT:
      if (/too large|max.*bytes|exceeds/i.test(text)) return new MessageTooLargeError(msg, details);
      return new InvalidArgumentError('request', text, details);
    case Status.NOT_FOUND:
      if (isGroup) return new ConsumerGroupError(msg, false, details);
      if (NO_SUCH_PARTITION.test(text)) return new NoSuchPartitionError(msg, details);
      return new NoSuchStreamError(msg, details);
    case Status.FAILED_PRECONDITION:
      if (/leader|coordinator/i.test(text) && !/candidates/i.test(text)) return new NotLeaderError(msg, details);
      if (isGroup || /consumer|group|assigned/i.test(text)) {
        return new ConsumerGroupError(msg, /epoch/i.test(text), details);
      }
      if (/no such partition/i.test(text)) return new NoSuchPartitionError(msg, details);
      if (/readonly/i.test(text)) return new ReadonlyPartitionError(msg, details);
      if (/pause|closed/i.test(text) || ctx.rpc === 'Subscribe') return new PartitionPausedError(msg, details);
      if (/encryption/i.test(text)) return new EncryptionFailedError(msg, details);
      return new UnknownServerError(msg, details);
    case Status.RESOURCE_EXHAUSTED:
      if (/larger than max|too large/i.test(text)) return new MessageTooLargeError(msg, details);
      // "End of readonly partition", "Stop offset reached", "Stream is empty": the
      // subscribe layer turns these into completion; elsewhere they are plain failures.
      return new UnknownServerError(msg, details);
    case Status.INTERNAL:
      if (/cursors (stream|partition \d+) does not exist/i.test(text)) {
        return new CursorsDisabledError(`${msg} (the server runs without a cursors stream: set cursors.stream.partitions > 0 in its configuration)`, details);
      }
      if (/encrypt/i.test(text)) return new EncryptionFailedError(msg, details);
      // A paused partition's log is closed: v1.9.0 reports a Subscribe to it this way.
      if (ctx.rpc === 'Subscribe' && /segment has been closed|log was closed/i.test(text)) return new PartitionPausedError(msg, details);
      return new InternalServerError(msg, details);
    case Status.PERMISSION_DENIED:
    case Status.UNAUTHENTICATED:
      return new PermissionDeniedError(msg, details);
    case Status.UNKNOWN:
      if (/not authorized/i.test(text)) return new PermissionDeniedError(msg, details);
      if (/incorrect offset|expected offset/i.test(text)) return new IncorrectOffsetError(msg, details);
      return new UnknownServerError(msg, details);
    default:
      return new UnknownServerError(msg, details);
  }
}

/** Maps a per-message PublishAsync failure. */
export function mapPublishAsyncError(code: PublishAsyncError_Code, text: string, ctx: CallContext): LiftbridgeError {
  const details: LiftbridgeErrorDetails = { rpc: ctx.rpc, address: ctx.address, correlationId: ctx.correlationId };
  const msg = `${where(ctx)}: ${text || PublishAsyncError_Code[code]}`;
  switch (code) {
    case PublishAsyncError_Code.BAD_REQUEST:
      if (/too large|exceeds/i.test(text)) return new MessageTooLargeError(msg, details);
      return new InvalidArgumentError('message', text, details);
    case PublishAsyncError_Code.NOT_FOUND:
      if (NO_SUCH_PARTITION.test(text)) return new NoSuchPartitionError(msg, details);
      return new NoSuchStreamError(msg, details);
    case PublishAsyncError_Code.READONLY:
      return new ReadonlyPartitionError(msg, details);
    case PublishAsyncError_Code.INCORRECT_OFFSET:
      return new IncorrectOffsetError(msg, details);
    case PublishAsyncError_Code.ENCRYPTION_FAILED:
      return new EncryptionFailedError(msg, details);
    case PublishAsyncError_Code.PERMISSION_DENIED:
      return new PermissionDeniedError(msg, details);
    case PublishAsyncError_Code.INTERNAL:
      // "failed to publish to NATS: nats: maximum payload exceeded" (NATS max_payload, 1 MiB by default)
      if (/maximum payload|too large|exceeds/i.test(text)) return new MessageTooLargeError(msg, details);
      return new InternalServerError(msg, details);
    default:
      return new UnknownServerError(msg, details);
  }
}

/** Maps an error carried inside an Ack (`Ack.ackError`); returns undefined for OK. */
export function mapAckError(code: Ack_Error, ctx: CallContext): LiftbridgeError | undefined {
  const details: LiftbridgeErrorDetails = { rpc: ctx.rpc, address: ctx.address, correlationId: ctx.correlationId };
  switch (code) {
    case Ack_Error.OK:
      return undefined;
    case Ack_Error.INCORRECT_OFFSET:
      return new IncorrectOffsetError(`${where(ctx)}: incorrect expected offset`, details);
    case Ack_Error.TOO_LARGE:
      return new MessageTooLargeError(`${where(ctx)}: message too large`, details);
    case Ack_Error.ENCRYPTION:
      return new EncryptionFailedError(`${where(ctx)}: encryption failed`, details);
    default:
      return new UnknownServerError(`${where(ctx)}: ack error ${String(code)}`, details);
  }
}
