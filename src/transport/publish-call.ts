/**
 * The PublishAsync call as the publish layer sees it, whichever implementation backs it (Node's
 * HTTP/2 client or grpc-js): write framed messages, learn when their bytes reached the socket, get
 * responses, end or cancel. Messages are handed over already framed (5-byte gRPC prefix + protobuf).
 *
 * Internal (not exported from the package root).
 */
import type { LiftbridgeError } from '../errors/errors.js';

export type { PublishTransportKind } from './settings.js';

/** Callbacks of one call. */
export interface CallHandlers {
  /** One response message: the protobuf in `bytes[start, end)` (valid during the call only). */
  onMessage(bytes: Buffer, start: number, end: number): void;
  /** The call failed (mapped error). Called at most once, and never after onEnd. */
  onError(error: LiftbridgeError): void;
  /** The broker ended the call with status OK. */
  onEnd(): void;
}

/**
 * What became of one written message's bytes:
 * - `'written'`: handed to the socket (they may reach the broker: its ack deadline starts now);
 * - `'unsent'`: provably never reached the broker (still queued locally when the call failed, no
 *   connection, or the stream was refused / never processed): sending it again cannot duplicate it;
 * - `'unknown'`: the call failed while they were on their way.
 */
export type WireResult = 'written' | 'unsent' | 'unknown';

/** One PublishAsync call. */
export interface PublishCall {
  /**
   * Writes one framed message. Returns `'queued'` when the transport reports through `onWire` when
   * (or whether) the bytes reach the socket; otherwise (nothing returned) they count as handed over
   * at once and `onWire`, if called, means `'written'`. `onWire` runs at most once, before the
   * call's `onError`/`onEnd`, and never after `cancel()`.
   */
  write(framed: Buffer, onWire?: (result?: WireResult) => void): 'queued' | undefined;
  /**
   * Checks that the broker still answers (an HTTP/2 PING); when it does not within `timeoutMs`,
   * the connection is closed and its calls fail. Optional: transports with their own keepalive
   * need not implement it.
   */
  probe?(timeoutMs: number): void;
  /** Half-closes: the broker still handles what it received. */
  end(): void;
  /** Cancels now. No callbacks afterwards. */
  cancel(): void;
}

/** Opens PublishAsync calls to a broker address. */
export interface PublishTransport {
  open(address: string, handlers: CallHandlers): PublishCall;
}
