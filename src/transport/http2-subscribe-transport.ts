/**
 * Subscribe over Node's HTTP/2 client with gRPC framing: the reading hot path (the default
 * transport of subscriptions; grpc-js stays available as `transport: 'grpc-js'`).
 *
 * Why not grpc-js here: per message it copies the frame (StreamDecoder's Buffer.concat), runs an
 * async decompression filter (a Promise and a microtask), a process.nextTick, a Readable push/read
 * and an HTTP/2 pause()+resume() pair; this client decodes messages in place out of each DATA
 * chunk (bench/subscribe/RESULTS.md has the profile).
 *
 * Backpressure is HTTP/2 flow control per stream, as with grpc-js: a paused call stops reading its
 * stream, Node stops returning the stream's window to the broker, and once the broker has sent one
 * window (`flowControlWindowBytes`, default {@link DEFAULT_SUBSCRIBE_WINDOW_BYTES}) it stops sending
 * this partition, and only this one (Node returns the connection's window at once). A DATA chunk
 * read when the call was paused is kept whole until `resume()` delivers its messages.
 *
 * Sessions (TLS, connect timeout, keepalive, GOAWAY, `maxStreamsPerConnection`) are
 * ./http2-sessions.ts, separate from the PublishAsync sessions so that a catch-up read never
 * delays publish acks on the same TCP connection. An open call refs its session: a subscription
 * keeps the process alive, as with grpc-js.
 *
 * Internal (not exported from the package root).
 */
import http2, { type ClientHttp2Stream } from 'node:http2';
import { ConnectionError } from '../errors/errors.js';
import { mapError } from '../errors/map-error.js';
import { SubscribeRequest } from '../generated/liftbridge/api.js';
import { decodeMessage } from './message-decoder.js';
import type { TransportSettings } from './connection-pool.js';
import { GRPC_INTERNAL, GRPC_RESOURCE_EXHAUSTED, GRPC_UNAVAILABLE, GrpcStatusError, grpcCodeOfHttpStatus, statusOf } from './grpc-framing.js';
import { type Http2SessionOptions, type Http2SessionStats, Http2Sessions, connectError } from './http2-sessions.js';
import type { SubscribeCall, SubscribeHandlers, SubscribeTransport } from './subscribe-call.js';

const PATH = '/proto.API/Subscribe';

/**
 * Default HTTP/2 receive window of one Subscribe stream: 1 MiB, Kafka's default
 * `max.partition.fetch.bytes` (what one partition may return per fetch). With HTTP/2's 64 KiB the
 * broker waits for window updates every 64 KiB and a catch-up read ran at 0.68x the Go client's
 * speed; 1 MiB reached it (docs/performance.md). It is also what a paused partition may hold
 * unread (docs/subscribing.md).
 */
export const DEFAULT_SUBSCRIBE_WINDOW_BYTES = 1024 * 1024;

/** Options of {@link Http2SubscribeTransport}. */
export type Http2SubscribeTransportOptions = Omit<Http2SessionOptions, 'windowBytes'>;

export class Http2SubscribeTransport implements SubscribeTransport {
  private readonly sessions: Http2Sessions;
  private closed = false;

  constructor(
    private readonly settings: TransportSettings,
    options: Http2SubscribeTransportOptions = {},
  ) {
    this.sessions = new Http2Sessions(settings, { ...options, windowBytes: settings.flowControlWindowBytes ?? DEFAULT_SUBSCRIBE_WINDOW_BYTES });
  }

  /** Sessions per broker address and the calls each carries (for `client.stats()`). */
  stats(): { address: string; connections: Http2SessionStats[] }[] {
    return this.sessions.stats();
  }

  open(address: string, request: SubscribeRequest, handlers: SubscribeHandlers): SubscribeCall {
    if (this.closed) throw new Error('Channel has been shut down');
    const sessions = this.sessions;
    const entry = sessions.acquire(address);
    const ctx = { rpc: 'Subscribe', address, stream: request.stream, partition: request.partition };
    const body = SubscribeRequest.encode(request).finish();
    const framed = Buffer.allocUnsafe(5 + body.length);
    framed[0] = 0;
    framed.writeUInt32BE(body.length, 1);
    framed.set(body, 5);
    let stream: ClientHttp2Stream;
    try {
      stream = entry.session.request(
        { ':method': 'POST', ':path': PATH, 'content-type': 'application/grpc', te: 'trailers', 'user-agent': 'rx-liftbridge' },
        { endStream: false },
      );
      stream.end(framed);
    } catch (error) {
      sessions.drop(entry);
      throw mapError(error, ctx);
    }
    sessions.callStarted(entry);
    sessions.hold(entry, 1);
    const maxMessageBytes = this.settings.maxReceiveMessageBytes;

    let paused = false;
    let cancelled = false;
    /** The outcome was reported (or the call cancelled): nothing more is delivered. */
    let done = false;
    let closed = false;
    /** The outcome, once the stream closed, waiting for paused messages to be delivered. */
    let outcome: { error: unknown } | undefined;
    let status: { code: number; details: string } | undefined;
    let streamError: Error | undefined;
    /** Bytes read and not yet delivered: part of a message, or messages left while paused. */
    let pending: Buffer | undefined;

    const closeSlot = (): void => {
      if (closed) return;
      closed = true;
      sessions.callEnded(entry);
      sessions.hold(entry, -1);
    };
    const report = (error: unknown): void => {
      if (done) return;
      done = true;
      pending = undefined;
      handlers.onEnd(error);
    };
    /** A protocol failure of this client's side: the call ends with it at once. */
    const failWith = (code: number, details: string): void => {
      outcome = { error: new GrpcStatusError(code, details) };
      report(outcome.error);
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
    };

    /** Set while `deliver` runs: a resume() from inside onMessage lets that loop go on instead of starting another. */
    let delivering = false;
    /** Delivers the whole messages in `pending` while not paused. */
    const deliver = (): void => {
      if (delivering) return;
      delivering = true;
      try {
        deliverPending();
      } finally {
        delivering = false;
      }
      // A resume() from inside onMessage may have found the stream closed: report the outcome now.
      settle();
    };
    const deliverPending = (): void => {
      const buf = pending;
      if (buf === undefined) return;
      let p = 0;
      while (!paused && !done && buf.length - p >= 5) {
        if (buf[p] !== 0) {
          failWith(GRPC_INTERNAL, 'compressed Subscribe messages are not supported');
          return;
        }
        const length = buf.readUInt32BE(p + 1);
        if (length > maxMessageBytes) {
          failWith(GRPC_RESOURCE_EXHAUSTED, `message of ${length} bytes is larger than maxReceiveMessageBytes (${maxMessageBytes})`);
          return;
        }
        if (buf.length - p - 5 < length) break;
        const start = p + 5;
        p = start + length;
        let message: ReturnType<typeof decodeMessage>;
        try {
          message = decodeMessage(buf.subarray(start, p));
        } catch (error) {
          failWith(GRPC_INTERNAL, `could not decode a Subscribe message: ${(error as Error).message}`);
          return;
        }
        handlers.onMessage(message);
      }
      if (done) return;
      pending = p >= buf.length ? undefined : p === 0 ? buf : buf.subarray(p);
    };
    /** Reports the outcome once the stream closed and nothing whole is left to deliver. */
    const settle = (): void => {
      if (outcome === undefined || done || paused || delivering) return;
      const rest = pending;
      if (rest !== undefined && rest.length >= 5 && rest.length - 5 >= rest.readUInt32BE(1)) return;
      if (rest !== undefined && outcome.error === undefined) {
        // The broker ended the call OK in the middle of a message.
        report(new GrpcStatusError(GRPC_INTERNAL, `the stream ended inside a message (${rest.length} bytes left)`));
        return;
      }
      report(outcome.error);
    };

    stream.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) {
        // Trailers-only response: the call ended at once.
        status = statusOf(headers);
        return;
      }
      const httpStatus = Number(headers[':status']);
      if (httpStatus !== 200) status = { code: grpcCodeOfHttpStatus(httpStatus), details: `HTTP status ${httpStatus}` };
    });
    stream.on('trailers', (trailers) => {
      status = statusOf(trailers);
    });
    stream.on('data', (chunk: Buffer) => {
      if (done) return;
      pending = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
      deliver();
    });
    stream.on('error', (error: Error) => {
      // 'close' follows and reports it (a session's failure reaches its streams first).
      streamError ??= error;
    });
    stream.on('close', () => {
      closeSlot();
      if (!cancelled && !done) {
        outcome = { error: this.outcomeOf(stream, entry, status, streamError, ctx) };
        settle();
      }
      handlers.onClosed();
    });

    return {
      pause: () => {
        if (paused) return;
        paused = true;
        if (!stream.destroyed) stream.pause();
      },
      resume: () => {
        if (!paused) return;
        paused = false;
        deliver();
        if (paused) return;
        settle();
        if (!done && !stream.destroyed) stream.resume();
      },
      cancel: () => {
        if (cancelled) return;
        cancelled = true;
        done = true;
        pending = undefined;
        if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
      },
    };
  }

  /** The error a closed stream reports (undefined: status OK). */
  private outcomeOf(
    stream: ClientHttp2Stream,
    entry: ReturnType<Http2Sessions['acquire']>,
    status: { code: number; details: string } | undefined,
    streamError: Error | undefined,
    ctx: { rpc: string; address: string },
  ): unknown {
    if (status !== undefined) return status.code === 0 ? undefined : new GrpcStatusError(status.code, status.details);
    if (!entry.connected) {
      entry.failure ??= streamError;
      return connectError(entry, 'Subscribe');
    }
    const refused =
      stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM ||
      (entry.goawayLastStreamId !== undefined && (stream.id === undefined || stream.id > entry.goawayLastStreamId));
    if (refused)
      return new ConnectionError(`Subscribe broker=${ctx.address}: the broker refused the call before processing it`, { ...ctx, grpcCode: 'UNAVAILABLE' });
    const failure = entry.failure ?? streamError;
    const why =
      failure !== undefined
        ? ` (${failure.message})`
        : stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR
          ? ` (HTTP/2 error ${stream.rstCode})`
          : '';
    return new GrpcStatusError(GRPC_UNAVAILABLE, `the stream closed without a status${why}`);
  }

  /** Closes every session (when the client closes). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sessions.close();
  }
}
