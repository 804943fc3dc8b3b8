/**
 * PublishAsync over Node's HTTP/2 client with gRPC framing: the publishing hot path. This file is
 * the call (queueing, batching, the outcome of each message's bytes and of the call); sessions are
 * in ./http2-sessions.ts, gRPC framing and statuses in ./grpc-framing.ts.
 *
 * Why not grpc-js here: its call objects hand one message at a time to HTTP/2 and wait for the
 * write to complete, i.e. one message per event-loop turn (~30 000 msg/s on one call, whatever
 * the window). A Node HTTP/2 stream buffers writes made while one is in progress and flushes them
 * together, so a pipelined publisher sends many messages per syscall.
 *
 * A session counts as connected once the broker's HTTP/2 SETTINGS arrived; until then nothing is
 * written, so a session that fails to connect (refused, TLS, no HTTP/2 peer within
 * `connectTimeoutMs`) provably sent nothing, and the error says why. Each call keeps its messages
 * in its own queue and hands them to the stream only while the stream accepts more (`write()`
 * returns true, else until 'drain'): each message's `onWire` reports when its bytes reached the
 * socket, which is when its ack deadline starts.
 *
 * Internal (not exported from the package root).
 */
import http2, { type ClientHttp2Stream } from 'node:http2';
import { ConnectionError, type LiftbridgeError } from '../errors/errors.js';
import { mapError } from '../errors/map-error.js';
import type { TransportSettings } from './connection-pool.js';
import { GRPC_RESOURCE_EXHAUSTED, GRPC_UNAVAILABLE, GrpcFrameReader, GrpcStatusError, grpcCodeOfHttpStatus, statusOf } from './grpc-framing.js';
import { type Http2SessionOptions, type Http2SessionStats, Http2Sessions, connectError } from './http2-sessions.js';
import type { CallHandlers, PublishCall, PublishTransport, WireResult } from './publish-call.js';

export { GrpcStatusError, grpcCodeOfHttpStatus };

const PATH = '/proto.API/PublishAsync';
/** Writes are batched up to this many bytes (the largest HTTP/2 DATA frame by default). */
const MAX_BATCH_BYTES = 16 * 1024;

/**
 * HTTP/2 receive window of a PublishAsync call (its acks), in bytes: 1 MiB. With HTTP/2's 64 KiB
 * the acks of a full window of in-flight messages (1024 acks of about 150 bytes each) do not fit, and
 * the broker waits for a window update before answering more; at `maxInFlight` 1024 that cost
 * about 7% of the throughput (docs/performance.md). A call reads its acks as they come (it never
 * pauses), so the window holds nothing in practice.
 */
export const PUBLISH_RESPONSE_WINDOW_BYTES = 1024 * 1024;

/** Options of {@link Http2PublishTransport}. */
export type Http2PublishTransportOptions = Http2SessionOptions;

type OnWire = (result?: WireResult) => void;

/** Messages handed to the stream in one write, waiting for its callback. */
interface Batch {
  readonly callbacks: OnWire[];
  done: boolean;
}

export class Http2PublishTransport implements PublishTransport {
  private readonly sessions: Http2Sessions;
  private closed = false;

  constructor(
    private readonly settings: TransportSettings,
    options: Http2PublishTransportOptions = {},
  ) {
    this.sessions = new Http2Sessions(settings, { windowBytes: PUBLISH_RESPONSE_WINDOW_BYTES, ...options });
  }

  /** Open sessions (diagnostics). */
  get sessionCount(): number {
    return this.sessions.count;
  }

  /** Sessions per broker address and the calls each carries (for `client.stats()`). */
  stats(): { address: string; connections: Http2SessionStats[] }[] {
    return this.sessions.stats();
  }

  open(address: string, handlers: CallHandlers): PublishCall {
    if (this.closed) throw new ConnectionError(`PublishAsync broker=${address}: the client is closed`, { rpc: 'PublishAsync', address });
    const sessions = this.sessions;
    const entry = sessions.acquire(address);
    const session = entry.session;
    let stream: ClientHttp2Stream;
    try {
      stream = session.request(
        {
          ':method': 'POST',
          ':path': PATH,
          'content-type': 'application/grpc',
          te: 'trailers',
          'user-agent': 'rx-liftbridge',
        },
        { endStream: false },
      );
    } catch (error) {
      sessions.drop(entry);
      throw mapError(error, { rpc: 'PublishAsync', address });
    }
    sessions.callStarted(entry);

    const ctx = { rpc: 'PublishAsync', address };
    let finished = false;
    let cancelled = false;
    let status: { code: number; details: string } | undefined;
    let streamError: Error | undefined;

    // Messages not yet handed to the stream (provably unsent), and writes waiting for their callback.
    let queue: { readonly framed: Buffer; readonly onWire: OnWire | undefined }[] = [];
    let queueHead = 0;
    let queuedBytes = 0;
    const writing = new Set<Batch>();
    /** The stream's buffer is full: wait for 'drain'. */
    let blocked = false;
    let ending = false;
    let ended = false;
    let scheduled = false;
    /** Whether this call has messages not yet on the socket (then its session is ref'd). */
    let holds = false;
    const hold = (): void => {
      const now = !finished && (queueHead < queue.length || writing.size > 0);
      if (now === holds) return;
      holds = now;
      sessions.hold(entry, now ? 1 : -1);
    };

    /** Reports every message still on its way, once, before the call's outcome. */
    const settleWrites = (neverSent: boolean): void => {
      const q = queue;
      const head = queueHead;
      queue = [];
      queueHead = 0;
      queuedBytes = 0;
      for (const batch of writing) {
        batch.done = true;
        for (const cb of batch.callbacks) cb(neverSent ? 'unsent' : 'unknown');
      }
      writing.clear();
      for (let i = head; i < q.length; i++) q[i]?.onWire?.('unsent');
    };

    const finish = (error: LiftbridgeError | undefined, neverSent = false): void => {
      if (finished) return;
      finished = true;
      entry.onConnected.delete(pump);
      hold();
      if (cancelled) return;
      settleWrites(neverSent);
      if (error === undefined) handlers.onEnd();
      else handlers.onError(error);
    };
    const fail = (code: number, details: string): void => {
      finish(mapError(new GrpcStatusError(code, details), ctx));
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
    };

    /** Hands queued messages to the stream while it takes them (one write per batch). */
    function pump(): void {
      scheduled = false;
      if (finished || stream.destroyed || !entry.connected) return;
      while (!blocked && queueHead < queue.length) {
        const chunks: Buffer[] = [];
        const callbacks: OnWire[] = [];
        let bytes = 0;
        while (queueHead < queue.length && (bytes === 0 || bytes + (queue[queueHead] as { framed: Buffer }).framed.length <= MAX_BATCH_BYTES)) {
          const item = queue[queueHead] as { framed: Buffer; onWire: OnWire | undefined };
          queue[queueHead++] = undefined as never;
          chunks.push(item.framed);
          bytes += item.framed.length;
          if (item.onWire !== undefined) callbacks.push(item.onWire);
        }
        queuedBytes -= bytes;
        const data = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, bytes);
        const batch: Batch = { callbacks, done: false };
        writing.add(batch);
        const more = stream.write(data, (error) => {
          // A failed write is reported with the call's outcome (on 'close'), which knows more.
          if (batch.done || (error !== undefined && error !== null)) return;
          batch.done = true;
          writing.delete(batch);
          hold();
          for (const cb of callbacks) cb('written');
        });
        if (!more) blocked = true;
      }
      hold();
      if (queueHead === queue.length) {
        queue = [];
        queueHead = 0;
        if (ending && !ended) {
          ended = true;
          stream.end();
        }
      }
    }
    entry.onConnected.add(pump);

    stream.on('drain', () => {
      blocked = false;
      pump();
    });
    stream.on('response', (headers) => {
      const httpStatus = Number(headers[':status']);
      if (headers['grpc-status'] !== undefined) {
        // Trailers-only response: the call ended at once.
        status = statusOf(headers);
      } else if (httpStatus !== 200) {
        fail(grpcCodeOfHttpStatus(httpStatus), `HTTP status ${httpStatus}`);
      }
    });
    stream.on('trailers', (trailers) => {
      status = statusOf(trailers);
    });
    // The broker's half of the call is over (its trailers, or END_STREAM without them): in gRPC the
    // call is complete, even while this side could still write. Close our half too, so 'close'
    // reports the outcome now; a server that does not reset the stream itself would otherwise leave
    // the call open with its messages waiting for answers that cannot come.
    stream.on('end', () => {
      if (!stream.closed && !stream.destroyed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
    });
    const reader = new GrpcFrameReader(this.settings.maxReceiveMessageBytes, (bytes, start, end) => {
      handlers.onMessage(bytes, start, end);
      return !finished;
    });
    stream.on('data', (chunk: Buffer) => {
      if (finished) return;
      const failure = reader.push(chunk);
      if (failure !== undefined) fail(failure.code, failure.details);
    });
    stream.on('error', (error: Error) => {
      // 'close' follows and reports it (a session's failure reaches its streams first).
      streamError ??= error;
    });
    stream.on('close', () => {
      sessions.callEnded(entry);
      if (status !== undefined) {
        // The broker ended the call because a message exceeded its limit: the session may carry
        // flow-control debt from the discarded bytes, so later calls get a new one.
        if (status.code === GRPC_RESOURCE_EXHAUSTED) sessions.forget(entry);
        if (status.code === 0) finish(undefined);
        else finish(mapError(new GrpcStatusError(status.code, status.details), ctx));
        return;
      }
      if (!entry.connected) {
        entry.failure ??= streamError;
        finish(connectError(entry), true);
        return;
      }
      const refused =
        stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM ||
        (entry.goawayLastStreamId !== undefined && (stream.id === undefined || stream.id > entry.goawayLastStreamId));
      if (refused) {
        finish(
          new ConnectionError(`PublishAsync broker=${address}: the broker refused the call before processing it (nothing was sent)`, {
            ...ctx,
            grpcCode: 'UNAVAILABLE',
            neverSent: true,
          }),
          true,
        );
        return;
      }
      const failure = entry.failure ?? streamError;
      const why =
        failure !== undefined
          ? ` (${failure.message})`
          : stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR
            ? ` (HTTP/2 error ${stream.rstCode})`
            : '';
      finish(mapError(new GrpcStatusError(GRPC_UNAVAILABLE, `the stream closed without a status${why}`), ctx));
    });

    return {
      write: (framed, onWire) => {
        if (finished || stream.destroyed || ending) {
          // Never handed to anything: the call's outcome (reported or to come) covers it.
          if (!cancelled) onWire?.('unsent');
          return 'queued';
        }
        queue.push({ framed, onWire });
        queuedBytes += framed.length;
        hold();
        if (queuedBytes >= MAX_BATCH_BYTES && !blocked) pump();
        else if (!scheduled) {
          scheduled = true;
          setImmediate(pump);
        }
        return 'queued';
      },
      end: () => {
        if (finished || stream.destroyed) return;
        ending = true;
        pump();
        if (!entry.connected && queueHead === queue.length && !ended) {
          ended = true;
          stream.end();
        }
      },
      cancel: () => {
        cancelled = true;
        finished = true;
        entry.onConnected.delete(pump);
        hold();
        if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
      },
      probe: (timeoutMs) => sessions.probe(entry, timeoutMs),
    };
  }

  /** Closes every session (when the client closes). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sessions.close();
  }
}
