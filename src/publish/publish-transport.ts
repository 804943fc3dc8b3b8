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
import { Http2PublishTransport } from './http2-publish-transport.js';
import type { PublisherHost } from './publisher-host.js';

/** Callbacks of one call. */
export interface CallHandlers {
  /** One response message: the protobuf in `bytes[start, end)` (valid during the call only). */
  onMessage(bytes: Buffer, start: number, end: number): void;
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
      if (!finished) handlers.onMessage(bytes, 0, bytes.length);
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
      end: () => {
        // Half-closed: it carries nothing more; its slot is free for another call.
        call.end();
        release();
      },
      cancel: () => {
        finished = true;
        call.cancel();
        release();
      },
    };
  }
}

/** Which transport publishers use. */
export type PublishTransportKind = 'http2' | 'grpc-js';

const perClient = new WeakMap<object, Map<PublishTransportKind, PublishTransport>>();

/**
 * The client's transport of that kind (one each, created on first use). The HTTP/2 transport's
 * sessions close when the client closes (`status$` completes).
 */
export function transportFor(host: PublisherHost, kind: PublishTransportKind): PublishTransport {
  let map = perClient.get(host);
  if (map === undefined) {
    map = new Map();
    perClient.set(host, map);
  }
  let t = map.get(kind);
  if (t === undefined) {
    if (kind === 'grpc-js') t = new GrpcJsPublishTransport((address) => host.acquireStream(address));
    else {
      const h2 = new Http2PublishTransport(host.options.transport);
      host.status$.subscribe({ complete: () => h2.close() });
      t = h2;
    }
    map.set(kind, t);
  }
  return t;
}
