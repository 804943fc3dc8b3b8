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
 * carried no call for a while. Sessions are unref'd while nothing waits to be written: they never
 * keep a process alive by themselves (a message not yet on the socket does, through its session;
 * one on the socket does through its ack timer).
 *
 * A session counts as connected once the broker's HTTP/2 SETTINGS arrived; until then nothing is
 * written, so a session that fails to connect (refused, TLS, no HTTP/2 peer within
 * `connectTimeoutMs`) provably sent nothing, and the error says why. Each call keeps its messages
 * in its own queue and hands them to the stream only while the stream accepts more (`write()`
 * returns true, else until 'drain'): each message's `onWire` reports when its bytes reached the
 * socket, which is when its ack deadline starts.
 *
 * @internal
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { ConnectionError, type LiftbridgeError } from '../errors/errors.js';
import { mapError } from '../errors/map-error.js';
import type { TransportSettings } from '../transport/connection-pool.js';
import type { CallHandlers, PublishCall, PublishTransport, WireResult } from './publish-transport.js';

const PATH = '/proto.API/PublishAsync';
/** gRPC status codes used here. */
const UNKNOWN = 2;
const INTERNAL = 13;
const UNAVAILABLE = 14;
const RESOURCE_EXHAUSTED = 8;
/** Writes are batched up to this many bytes (the largest HTTP/2 DATA frame by default). */
const MAX_BATCH_BYTES = 16 * 1024;

/**
 * gRPC's HTTP-to-status table (grpc/doc/http-grpc-status-mapping.md): the status of a response
 * whose HTTP status is not 200 and that carries no grpc-status.
 */
export function grpcCodeOfHttpStatus(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return INTERNAL;
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return UNAVAILABLE;
    default:
      return UNKNOWN;
  }
}

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

/** Options of {@link Http2PublishTransport}. */
export interface Http2PublishTransportOptions {
  /** How long a new session may take to connect (TCP, TLS and the broker's HTTP/2 SETTINGS), in ms. @defaultValue 10 000 */
  readonly connectTimeoutMs?: number;
  /** How long a session without calls stays open, in ms. @defaultValue 30 000 */
  readonly idleMs?: number;
}

interface SessionEntry {
  readonly session: ClientHttp2Session;
  readonly tls: boolean;
  /** The broker's SETTINGS arrived: before that, nothing is written, so nothing can have left. */
  connected: boolean;
  /** Why the session failed (connect error, TLS error, connect timeout, unanswered ping). */
  failure: Error | undefined;
  /** Last stream id the broker processed, from its GOAWAY. */
  goawayLastStreamId: number | undefined;
  /** Calls waiting for the connection, to start writing. */
  readonly onConnected: Set<() => void>;
  calls: number;
  idleTimer: NodeJS.Timeout | undefined;
  pingTimer: NodeJS.Timeout | undefined;
  connectTimer: NodeJS.Timeout | undefined;
  probing: boolean;
  /** Calls with messages not yet on the socket: while any, the session keeps the process alive. */
  holding: number;
}

type OnWire = (result?: WireResult) => void;

/** Messages handed to the stream in one write, waiting for its callback. */
interface Batch {
  readonly callbacks: OnWire[];
  done: boolean;
}

export class Http2PublishTransport implements PublishTransport {
  private readonly sessions = new Map<string, SessionEntry>();
  private closed = false;
  private readonly connectTimeoutMs: number;
  private readonly idleMs: number;

  constructor(
    private readonly settings: TransportSettings,
    options: Http2PublishTransportOptions = {},
  ) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.idleMs = options.idleMs ?? 30_000;
  }

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

    const ctx = { rpc: 'PublishAsync', address };
    const max = this.settings.maxReceiveMessageBytes;
    let finished = false;
    let cancelled = false;
    let status: { code: number; details: string } | undefined;
    let pending: Buffer | undefined;
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
      entry.holding += now ? 1 : -1;
      if (entry.holding > 0) session.ref();
      else session.unref();
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
          if (batch.done || error !== undefined && error !== null) return;
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
    stream.on('error', (error: Error) => {
      // 'close' follows and reports it (a session's failure reaches its streams first).
      streamError ??= error;
    });
    stream.on('close', () => {
      entry.calls--;
      if (entry.calls === 0) this.idle(address, entry);
      if (status !== undefined) {
        // The broker ended the call because a message exceeded its limit: the session may carry
        // flow-control debt from the discarded bytes, so later calls get a new one.
        if (status.code === RESOURCE_EXHAUSTED) this.forget(address, entry);
        if (status.code === 0) finish(undefined);
        else finish(mapError(new GrpcStatusError(status.code, status.details), ctx));
        return;
      }
      if (!entry.connected) {
        entry.failure ??= streamError;
        finish(connectError(address, entry), true);
        return;
      }
      const refused =
        stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM ||
        (entry.goawayLastStreamId !== undefined && (stream.id === undefined || stream.id > entry.goawayLastStreamId));
      if (refused) {
        finish(new ConnectionError(`PublishAsync broker=${address}: the broker refused the call before processing it (nothing was sent)`, { ...ctx, grpcCode: 'UNAVAILABLE', neverSent: true }), true);
        return;
      }
      const failure = entry.failure ?? streamError;
      const why =
        failure !== undefined
          ? ` (${failure.message})`
          : stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR
            ? ` (HTTP/2 error ${stream.rstCode})`
            : '';
      finish(mapError(new GrpcStatusError(UNAVAILABLE, `the stream closed without a status${why}`), ctx));
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
      probe: (timeoutMs) => this.probe(address, entry, timeoutMs),
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

    const entry: SessionEntry = {
      session,
      tls: tls !== undefined,
      connected: false,
      failure: undefined,
      goawayLastStreamId: undefined,
      onConnected: new Set(),
      calls: 0,
      idleTimer: undefined,
      pingTimer: undefined,
      connectTimer: undefined,
      probing: false,
      holding: 0,
    };
    entry.connectTimer = setTimeout(() => {
      entry.connectTimer = undefined;
      if (entry.connected) return;
      entry.failure = new Error(`no HTTP/2 connection within ${this.connectTimeoutMs} ms`);
      this.drop(address, entry);
    }, this.connectTimeoutMs);
    entry.connectTimer.unref();
    session.once('remoteSettings', () => {
      entry.connected = true;
      if (entry.connectTimer !== undefined) clearTimeout(entry.connectTimer);
      entry.connectTimer = undefined;
      for (const start of [...entry.onConnected]) start();
    });
    this.sessions.set(address, entry);
    session.unref();
    // Failures reach the calls through their 'close'; the first error says why.
    session.on('error', (error: Error) => {
      entry.failure ??= error;
      this.drop(address, entry);
    });
    session.on('goaway', (_code: number, lastStreamID: number) => {
      entry.goawayLastStreamId = lastStreamID;
      this.forget(address, entry);
    });
    session.on('close', () => this.drop(address, entry));
    return entry;
  }

  /** An HTTP/2 PING now; no answer within `timeoutMs` closes the session (its calls fail). */
  private probe(address: string, entry: SessionEntry, timeoutMs: number): void {
    if (entry.probing || !entry.connected || entry.session.destroyed) return;
    entry.probing = true;
    const timer = setTimeout(() => {
      entry.probing = false;
      entry.failure ??= new Error(`no answer to an HTTP/2 ping within ${timeoutMs} ms`);
      this.drop(address, entry);
    }, timeoutMs);
    timer.unref();
    try {
      entry.session.ping((error) => {
        clearTimeout(timer);
        entry.probing = false;
        if (error !== null) {
          entry.failure ??= error;
          this.drop(address, entry);
        }
      });
    } catch {
      clearTimeout(timer);
      entry.probing = false;
    }
  }

  private startPings(address: string, entry: SessionEntry): void {
    if (entry.pingTimer !== undefined) return;
    const every = this.settings.keepAliveMs;
    const timeoutMs = this.settings.keepAliveTimeoutMs;
    entry.pingTimer = setInterval(() => {
      if (entry.calls === 0) return;
      this.probe(address, entry, timeoutMs);
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
    if (entry.connectTimer !== undefined) clearTimeout(entry.connectTimer);
    entry.idleTimer = entry.pingTimer = entry.connectTimer = undefined;
    if (!entry.session.destroyed) entry.session.destroy();
  }
}

/** Why a session never connected: the socket or TLS error, or the connect timeout. */
function connectError(address: string, entry: SessionEntry): ConnectionError {
  const cause = entry.failure;
  const code = (cause as { code?: unknown } | undefined)?.code;
  const codeText = typeof code === 'string' ? `${code}: ` : '';
  const tlsFailure = entry.tls && cause !== undefined && !(typeof code === 'string' && /^E[A-Z]+$/.test(code)) && !/no HTTP\/2 connection/.test(cause.message);
  const what = tlsFailure ? 'TLS handshake failed' : 'could not connect';
  const text = cause === undefined ? 'the connection closed before the HTTP/2 handshake' : `${codeText}${cause.message}`;
  return new ConnectionError(`PublishAsync broker=${address}: ${what}: ${text} (nothing was sent)`, {
    rpc: 'PublishAsync',
    address,
    cause,
    grpcCode: 'UNAVAILABLE',
    neverSent: true,
  });
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
