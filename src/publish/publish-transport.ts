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
  write(framed: Buffer, onWire?: (result?: WireResult) => void): 'queued' | void;
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
    // Messages the call's write() did not take yet (it returned false): sent on 'drain'.
    let queue: { readonly message: Buffer; readonly onWire: ((result?: WireResult) => void) | undefined }[] = [];
    let blocked = false;
    let ending = false;
    const pump = (): void => {
      while (!blocked && queue.length > 0 && !finished) {
        const item = queue.shift() as (typeof queue)[number];
        const onWire = item.onWire;
        // grpc-js calls back once the message was handed to its HTTP/2 stream's socket write.
        const more =
          onWire === undefined
            ? call.write(item.message)
            : call.write(item.message, (error?: unknown) => {
                if (!finished) onWire(error === undefined || error === null ? 'written' : 'unknown');
              });
        if (!more) blocked = true;
      }
      if (ending && queue.length === 0 && !finished) {
        ending = false;
        // Half-closed: it carries nothing more; its slot is free for another call.
        call.end();
        release();
      }
    };
    /** What the call never took provably never left. */
    const dropQueue = (): void => {
      const q = queue;
      queue = [];
      for (const item of q) item.onWire?.('unsent');
    };
    call.on('drain', () => {
      blocked = false;
      pump();
    });
    call.on('data', (bytes: Buffer) => {
      if (!finished) handlers.onMessage(bytes, 0, bytes.length);
    });
    call.on('error', (error: unknown) => {
      release();
      if (finished) return;
      dropQueue();
      finished = true;
      handlers.onError(mapError(error, { rpc: 'PublishAsync', address }));
    });
    call.on('end', () => {
      release();
      if (finished) return;
      dropQueue();
      finished = true;
      handlers.onEnd();
    });
    return {
      write: (framed, onWire) => {
        if (finished) {
          onWire?.('unsent');
          return 'queued';
        }
        queue.push({ message: framed.subarray(5), onWire });
        pump();
        return onWire === undefined ? undefined : 'queued';
      },
      end: () => {
        ending = true;
        pump();
      },
      cancel: () => {
        finished = true;
        queue = [];
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
      const h2 = new Http2PublishTransport(host.options.transport, { connectTimeoutMs: host.options.callTimeoutMs });
      host.status$.subscribe({ complete: () => h2.close() });
      t = h2;
    }
    map.set(kind, t);
  }
  return t;
}
