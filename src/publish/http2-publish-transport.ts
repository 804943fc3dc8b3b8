/**
 * PublishAsync over Node's HTTP/2 client with gRPC framing: the publishing hot path.
 *
 * Why not grpc-js here: its call objects hand one message at a time to HTTP/2 and wait for the
 * write to complete, i.e. one message per event-loop turn (~30 000 msg/s on one call, whatever
 * the window). A Node HTTP/2 stream buffers writes made while one is in progress and flushes them
 * together, so a pipelined publisher sends many messages per syscall.
 *
 * One session per broker address, opened on first use with the client's TLS settings, pinged
 * every `keepAlive.timeMs` while it carries calls, closed when the client closes or when it has
 * carried no call for a while. Sessions are unref'd: they never keep a process alive by
 * themselves (pending publishes do, through their ack timer).
 *
 * @internal
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { ConnectionError, type LiftbridgeError } from '../errors/errors.js';
import { mapError } from '../errors/map-error.js';
import type { TransportSettings } from '../transport/connection-pool.js';
import type { CallHandlers, PublishCall, PublishTransport } from './publish-transport.js';

const PATH = '/proto.API/PublishAsync';
/** gRPC status codes used here. */
const UNKNOWN = 2;
const INTERNAL = 13;
const UNAVAILABLE = 14;
const RESOURCE_EXHAUSTED = 8;
/** Writes are batched up to this many bytes (the largest HTTP/2 DATA frame by default). */
const MAX_BATCH_BYTES = 16 * 1024;

/** A gRPC status as an Error that the error mapper understands (`code` + `details`). */
export class GrpcStatusError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`${code} ${details}`);
    this.name = 'GrpcStatusError';
  }
}

interface SessionEntry {
  readonly session: ClientHttp2Session;
  /** The connection was established (before that, nothing written can have left the client). */
  connected: boolean;
  calls: number;
  idleTimer: NodeJS.Timeout | undefined;
  pingTimer: NodeJS.Timeout | undefined;
}

export class Http2PublishTransport implements PublishTransport {
  private readonly sessions = new Map<string, SessionEntry>();
  private closed = false;

  constructor(
    private readonly settings: TransportSettings,
    /** How long a session without calls stays open, in ms. */
    private readonly idleMs = 30_000,
  ) {}

  /** Open sessions (diagnostics). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  open(address: string, handlers: CallHandlers): PublishCall {
    if (this.closed) throw new ConnectionError(`PublishAsync broker=${address}: the client is closed`, { rpc: 'PublishAsync', address });
    const entry = this.session(address);
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
      this.drop(address, entry);
      throw mapError(error, { rpc: 'PublishAsync', address });
    }
    entry.calls++;
    if (entry.idleTimer !== undefined) {
      clearTimeout(entry.idleTimer);
      entry.idleTimer = undefined;
    }
    this.startPings(address, entry);

    const max = this.settings.maxReceiveMessageBytes;
    let finished = false;
    let cancelled = false;
    let status: { code: number; details: string } | undefined;
    let pending: Buffer | undefined;

    const finish = (error: LiftbridgeError | undefined): void => {
      if (finished) return;
      finished = true;
      if (cancelled) return;
      if (error === undefined) handlers.onEnd();
      else handlers.onError(error);
    };
    const fail = (code: number, details: string): void => {
      finish(mapError(new GrpcStatusError(code, details), { rpc: 'PublishAsync', address }));
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
    };

    stream.on('response', (headers) => {
      const httpStatus = Number(headers[':status']);
      if (headers['grpc-status'] !== undefined) {
        // Trailers-only response: the call ended at once.
        status = statusOf(headers);
      } else if (httpStatus !== 200) {
        fail(httpStatus === 503 || httpStatus === 502 || httpStatus === 504 ? UNAVAILABLE : UNKNOWN, `HTTP status ${httpStatus}`);
      }
    });
    stream.on('trailers', (trailers) => {
      status = statusOf(trailers);
    });
    stream.on('data', (chunk: Buffer) => {
      if (finished) return;
      const buf = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
      pending = undefined;
      let p = 0;
      while (buf.length - p >= 5) {
        if (buf[p] !== 0) {
          fail(INTERNAL, 'compressed PublishAsync responses are not supported');
          return;
        }
        const length = buf.readUInt32BE(p + 1);
        if (length > max) {
          fail(RESOURCE_EXHAUSTED, `response of ${length} bytes is larger than maxReceiveMessageBytes (${max})`);
          return;
        }
        if (buf.length - p - 5 < length) break;
        const start = p + 5;
        p = start + length;
        handlers.onMessage(buf, start, p);
        if (finished) return;
      }
      if (p < buf.length) pending = buf.subarray(p);
    });
    stream.on('error', () => {
      // 'close' follows and reports it.
    });
    stream.on('close', () => {
      entry.calls--;
      if (entry.calls === 0) this.idle(address, entry);
      if (status !== undefined) {
        if (status.code === 0) finish(undefined);
        else finish(mapError(new GrpcStatusError(status.code, status.details), { rpc: 'PublishAsync', address }));
        return;
      }
      if (!entry.connected) {
        // The mapper marks this text as "never sent": nothing written can have reached the broker.
        finish(mapError(new GrpcStatusError(UNAVAILABLE, `No connection established to ${address}`), { rpc: 'PublishAsync', address }));
        return;
      }
      const why = stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR ? ` (HTTP/2 error ${stream.rstCode})` : '';
      finish(mapError(new GrpcStatusError(UNAVAILABLE, `the stream closed without a status${why}`), { rpc: 'PublishAsync', address }));
    });

    // Messages written in one event-loop turn (e.g. the refills after all the acks read in it) go
    // out as one write: one DATA frame for several messages instead of one each.
    let batch: Buffer[] = [];
    let batchBytes = 0;
    let callbacks: (() => void)[] = [];
    let scheduled = false;
    const flush = (): void => {
      scheduled = false;
      if (batch.length === 0) return;
      const chunks = batch;
      const bytes = batchBytes;
      const done = callbacks;
      batch = [];
      batchBytes = 0;
      callbacks = [];
      if (finished || stream.destroyed) return;
      const data = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, bytes);
      if (done.length === 0) stream.write(data);
      else
        stream.write(data, () => {
          for (const cb of done) cb();
        });
    };

    return {
      write: (framed, cb) => {
        if (finished || stream.destroyed) return;
        batch.push(framed);
        batchBytes += framed.length;
        if (cb !== undefined) callbacks.push(cb);
        if (batchBytes >= MAX_BATCH_BYTES) flush();
        else if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      },
      end: () => {
        flush();
        if (!finished && !stream.destroyed) stream.end();
      },
      cancel: () => {
        cancelled = true;
        finished = true;
        if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
      },
    };
  }

  /** Closes every session (when the client closes). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [address, entry] of this.sessions) this.drop(address, entry);
  }

  private session(address: string): SessionEntry {
    const existing = this.sessions.get(address);
    if (existing !== undefined && !existing.session.closed && !existing.session.destroyed) return existing;
    const tls = this.settings.tls;
    const session =
      tls === undefined
        ? http2.connect(`http://${address}`)
        : http2.connect(`https://${address}`, {
            ca: tls.ca,
            cert: tls.cert,
            key: tls.key,
            ...(tls.serverName !== undefined ? { servername: tls.serverName } : {}),
          });

    const entry: SessionEntry = { session, connected: false, calls: 0, idleTimer: undefined, pingTimer: undefined };
    session.once('connect', () => {
      entry.connected = true;
    });
    this.sessions.set(address, entry);
    session.unref();
    // Failures reach the calls through their 'close'; a session error alone only ends the session.
    session.on('error', () => this.drop(address, entry));
    session.on('goaway', () => this.forget(address, entry));
    session.on('close', () => this.drop(address, entry));
    return entry;
  }

  private startPings(address: string, entry: SessionEntry): void {
    if (entry.pingTimer !== undefined) return;
    const every = this.settings.keepAliveMs;
    const timeoutMs = this.settings.keepAliveTimeoutMs;
    entry.pingTimer = setInterval(() => {
      if (entry.calls === 0) return;
      const timer = setTimeout(() => entry.session.destroy(new Error('keepalive ping timed out')), timeoutMs);
      timer.unref();
      try {
        entry.session.ping((error) => {
          clearTimeout(timer);
          if (error !== null) this.drop(address, entry);
        });
      } catch {
        clearTimeout(timer);
      }
    }, every);
    entry.pingTimer.unref();
  }

  private idle(address: string, entry: SessionEntry): void {
    if (entry.idleTimer !== undefined) return;
    entry.idleTimer = setTimeout(() => {
      entry.idleTimer = undefined;
      if (entry.calls === 0) this.drop(address, entry);
    }, this.idleMs);
    entry.idleTimer.unref();
  }

  /** Stops handing out a session (GOAWAY): calls on it finish, new calls get a new session. */
  private forget(address: string, entry: SessionEntry): void {
    if (this.sessions.get(address) === entry) this.sessions.delete(address);
  }

  private drop(address: string, entry: SessionEntry): void {
    this.forget(address, entry);
    if (entry.idleTimer !== undefined) clearTimeout(entry.idleTimer);
    if (entry.pingTimer !== undefined) clearInterval(entry.pingTimer);
    entry.idleTimer = entry.pingTimer = undefined;
    if (!entry.session.destroyed) entry.session.destroy();
  }
}

function statusOf(headers: http2.IncomingHttpHeaders): { code: number; details: string } {
  const code = Number(headers['grpc-status']);
  const raw = headers['grpc-message'];
  let details = typeof raw === 'string' ? raw : '';
  try {
    details = decodeURIComponent(details);
  } catch {
    // keep it as sent
  }
  return { code: Number.isInteger(code) ? code : UNKNOWN, details };
}
