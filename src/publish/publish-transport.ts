/**
 * How a publisher opens PublishAsync calls. Two transports:
 *
 * - `'http2'` (default): gRPC framing over Node's own HTTP/2 client ({@link Http2PublishTransport}),
 *   one session per broker. Writes that pile up while the socket is busy go out together, so one
 *   call carries many messages per syscall.
 * - `'grpc-js'`: the client's grpc-js connections (a stream slot per call). grpc-js writes one
 *   message per event-loop turn on a call, which caps one call at roughly 30 000 msg/s.
 *
 * Messages are handed over already framed (5-byte gRPC prefix + protobuf).
 *
 * @internal
 */
import { mapError } from '../errors/map-error.js';
import type { LiftbridgeError } from '../errors/errors.js';
import type { StreamLease } from '../transport/connection-pool.js';

/** Callbacks of one call. */
export interface CallHandlers {
  /** One response message (protobuf, unframed). */
  onMessage(bytes: Buffer): void;
  /** The call failed (mapped error). Called at most once, and never after onEnd. */
  onError(error: LiftbridgeError): void;
  /** The broker ended the call with status OK. */
  onEnd(): void;
}

/** One PublishAsync call. */
export interface PublishCall {
  /** Writes one framed message; `cb` runs once it was handed to the socket. */
  write(framed: Buffer, cb?: () => void): void;
  /** Half-closes: the broker still handles what it received. */
  end(): void;
  /** Cancels now. No callbacks afterwards. */
  cancel(): void;
}

export interface PublishTransport {
  open(address: string, handlers: CallHandlers): PublishCall;
}

/** PublishAsync over the client's grpc-js connections. */
export class GrpcJsPublishTransport implements PublishTransport {
  constructor(private readonly acquire: (address: string) => StreamLease) {}

  open(address: string, handlers: CallHandlers): PublishCall {
    const lease = this.acquire(address);
    let released = false;
    const release = (): void => {
      if (!released) {
        released = true;
        lease.release();
      }
    };
    let call: ReturnType<StreamLease['client']['publishAsyncRaw']>;
    try {
      call = lease.client.publishAsyncRaw();
    } catch (error) {
      release();
      throw mapError(error, { rpc: 'PublishAsync', address });
    }
    let finished = false;
    call.on('data', (bytes: Buffer) => {
      if (!finished) handlers.onMessage(bytes);
    });
    call.on('error', (error: unknown) => {
      release();
      if (finished) return;
      finished = true;
      handlers.onError(mapError(error, { rpc: 'PublishAsync', address }));
    });
    call.on('end', () => {
      release();
      if (finished) return;
      finished = true;
      handlers.onEnd();
    });
    return {
      write: (framed, cb) => {
        if (cb === undefined) call.write(framed.subarray(5));
        else call.write(framed.subarray(5), cb);
      },
      end: () => call.end(),
      cancel: () => {
        finished = true;
        call.cancel();
        release();
      },
    };
  }
}
