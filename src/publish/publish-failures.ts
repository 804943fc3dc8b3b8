/**
 * The errors a publish pipeline settles messages with, built from what is known about each one:
 * whether a copy may have reached a broker, how many resends it had, which message of a call the
 * broker found too large. Pure functions of an entry's facts.
 *
 * Internal (not exported from the package root).
 */
import { AckTimeoutError, ConnectionError, type LiftbridgeError, MessageTooLargeError } from '../errors/errors.js';
import { withCorrelationId } from './with-correlation-id.js';

const RPC = 'PublishAsync';
/** grpc-go's default largest inbound message (the broker's limit unless configured otherwise). */
export const GRPC_SERVER_MAX_BYTES = 4 * 1024 * 1024;

/** What the errors say about a message. */
export interface FailureFacts {
  readonly stream: string;
  readonly partition: number;
  readonly correlationId: string;
  readonly address: string | undefined;
  /** Failed sends so far. */
  readonly failures: number;
  /** Some copy may have reached a broker. */
  readonly mayHaveLeft: boolean;
  /** Its framed request, once encoded. */
  readonly bytes: Buffer | undefined;
}

/** The outcome of a message whose resends are over (or off): says whether it may have been stored. */
export function finalError(e: FailureFacts, error: LiftbridgeError, address: string | undefined, resend: boolean): LiftbridgeError {
  const retries = e.failures - 1;
  const tail = resend ? ` after ${retries} ${retries === 1 ? 'resend' : 'resends'}` : '';
  if (error instanceof ConnectionError && !e.mayHaveLeft) {
    // No copy can have reached a broker: say so, and that sending it again cannot duplicate it.
    return new ConnectionError(`${RPC} stream=${e.stream} partition=${e.partition}: the message was not sent${tail} (${error.message})`, {
      rpc: RPC,
      address,
      cause: error,
      grpcCode: error.grpcCode,
      correlationId: e.correlationId,
      neverSent: true,
    });
  }
  if (error instanceof ConnectionError) {
    return new ConnectionError(
      `${RPC} stream=${e.stream} partition=${e.partition}: the connection to ${address ?? 'the broker'} was lost${tail}; the message may or may not have been stored (${error.message})`,
      { rpc: RPC, address, cause: error, grpcCode: error.grpcCode, correlationId: e.correlationId },
    );
  }
  if (error instanceof AckTimeoutError && tail !== '') {
    return new AckTimeoutError(`${error.message}${tail}`, { rpc: RPC, address: error.address, cause: error.cause, correlationId: e.correlationId });
  }
  return withCorrelationId(error, e.correlationId);
}

/** No ack within `ackWaitMs` of the bytes reaching the socket. */
export function ackTimeout(e: FailureFacts, ackWaitMs: number): AckTimeoutError {
  return new AckTimeoutError(
    `${RPC} stream=${e.stream} partition=${e.partition} broker=${e.address ?? '?'}: no ack within ${ackWaitMs} ms (after ${e.failures + 1} send${e.failures === 0 ? '' : 's'}); the message may or may not have been stored`,
    { rpc: RPC, address: e.address, correlationId: e.correlationId },
  );
}

/** A request the broker's gRPC server would refuse by ending the whole call: not sent. */
export function aboveGrpcLimit(e: FailureFacts, framedBytes: number, address: string): MessageTooLargeError | undefined {
  if (framedBytes - 5 <= GRPC_SERVER_MAX_BYTES) return undefined;
  return new MessageTooLargeError(
    `${RPC} stream=${e.stream}: a request of ${framedBytes - 5} bytes is above the broker's gRPC limit (${GRPC_SERVER_MAX_BYTES}); not sent`,
    {
      rpc: RPC,
      address,
      correlationId: e.correlationId,
    },
  );
}

/**
 * The broker ended a call because one message exceeded its gRPC limit ("grpc: received message
 * larger than max (N vs. LIMIT)"): `undefined` when `e` is that message (the error is its own
 * outcome); otherwise the lost connection it is for the others on the call.
 */
export function lostToTooLarge(e: FailureFacts, error: MessageTooLargeError, address: string): ConnectionError | undefined {
  const m = /\((\d+) vs\. (\d+)\)/.exec(error.message);
  const size = (e.bytes?.length ?? 0) - 5;
  if (m !== null ? size === Number(m[1]) : size > GRPC_SERVER_MAX_BYTES) return undefined;
  return new ConnectionError(`${RPC} broker=${address}: the call ended because another message on it was too large (${error.message})`, {
    rpc: RPC,
    address,
    cause: error,
    correlationId: e.correlationId,
  });
}
