/**
 * What the subscribe layer needs from a Subscribe (server-streaming) call, whatever carries it:
 * the project's HTTP/2 client (./http2-subscribe-transport.ts, the default) or a grpc-js stream
 * slot (./grpc-js-subscribe-transport.ts, `transport: 'grpc-js'`).
 *
 * Internal (not exported from the package root).
 */
import type { SubscribeRequest, Message as WireMessage } from '../generated/liftbridge/api.js';

export type { SubscribeTransportKind } from './settings.js';

/** Callbacks of one Subscribe call. None runs after {@link SubscribeCall.cancel}, except `onClosed`. */
export interface SubscribeHandlers {
  /** Each message, in order, the empty handshake message first. Never called while paused. */
  onMessage(message: WireMessage): void;
  /**
   * The call is over and every message it read was delivered (a paused call reports it after
   * `resume()` delivered the rest): `undefined` for an OK status, else the error (a gRPC status
   * error with `code` and `details`, or a typed error) for src/errors/map-error.ts.
   */
  onEnd(error: unknown): void;
  /** The underlying stream is closed and its stream slot free (after `onEnd`, or after `cancel()`). */
  onClosed(): void;
}

/** One open Subscribe call. */
export interface SubscribeCall {
  /** Stops delivering messages and stops reading the stream: HTTP/2 flow control stops the broker. */
  pause(): void;
  /** Delivers what was read meanwhile, then reads on. */
  resume(): void;
  /** Cancels the call (RST_STREAM CANCEL) and frees its stream slot. Idempotent. */
  cancel(): void;
}

/** Opens Subscribe calls. */
export interface SubscribeTransport {
  open(address: string, request: SubscribeRequest, handlers: SubscribeHandlers): SubscribeCall;
}
