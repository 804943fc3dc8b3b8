/**
 * A small local PublishAsync server that misbehaves on purpose, for the HTTP/2 wire path's edge
 * cases that a real broker does not produce on demand: GOAWAY before processing, REFUSED_STREAM,
 * trailers-only answers, HTTP statuses other than 200, responses split across reads, and a TCP
 * server that accepts and never answers. Plain HTTP/2, or TLS with the given certificate.
 *
 * Well-behaved mode (`ack`) answers every PublishRequest with an Ack (offsets counted per server).
 */
import http2 from 'node:http2';
import { type Server, type Socket, createServer } from 'node:net';
import { Message, PublishRequest, PublishResponse, SubscribeRequest } from '../../src/generated/liftbridge/api.js';

export type H2Mode =
  /** Acks every request (offset = its index among all requests received). */
  | { readonly type: 'ack' }
  /** Acks, writing each response one byte per DATA frame (a frame split across reads). */
  | { readonly type: 'split' }
  /** Answers the request headers with this HTTP status and ends the stream. */
  | { readonly type: 'http-status'; readonly status: number }
  /** Answers at once with a trailers-only gRPC status. */
  | { readonly type: 'trailers-only'; readonly code: number; readonly message: string }
  /** Resets every stream with REFUSED_STREAM before reading it. */
  | { readonly type: 'refuse' }
  /** Raw HTTP/2: SETTINGS, then GOAWAY(NO_ERROR, last stream id 0) once the client speaks; the
   *  connection stays open. Nothing was processed. (Node's server cannot send last stream id 0.) */
  | { readonly type: 'goaway' }
  /** Reads requests (counts them) and never answers. */
  | { readonly type: 'mute' }
  /** Answers each request with a message whose compressed flag is set. */
  | { readonly type: 'compressed' }
  /** Acks the first `after` requests, then resets the stream with this HTTP/2 error code. */
  | { readonly type: 'reset-after'; readonly after: number; readonly code: number }
  /**
   * Acks the first `after` requests, then sends GOAWAY(NO_ERROR) naming this stream as processed
   * and ends it with grpc-status UNAVAILABLE (a broker shutting down gracefully).
   */
  | { readonly type: 'goaway-after'; readonly after: number }
  /** Never reads a stream until `resume()` is called: the flow-control windows fill up. */
  | { readonly type: 'stall' };

export interface H2TestServer {
  readonly address: string;
  /** Requests received (decoded), in arrival order. */
  readonly received: PublishRequest[];
  /** Streams opened by clients. */
  streams: number;
  /** Headers of every stream opened. */
  readonly headers: http2.IncomingHttpHeaders[];
  /** HTTP/2 connections accepted so far. */
  readonly sessions: number;
  /** The client's SETTINGS_INITIAL_WINDOW_SIZE as each stream saw it: what the server may send one stream unread. */
  readonly clientStreamWindows: number[];
  /** `stall` mode: starts reading (and acking) what the streams hold. */
  resume(): void;
  close(): Promise<void>;
}

export interface H2Tls {
  readonly key: Buffer;
  readonly cert: Buffer;
}

function frame(body: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(body.length, 1);
  out.set(body, 5);
  return out;
}

function ackFor(request: PublishRequest, offset: number): Buffer {
  return frame(
    PublishResponse.encode({
      correlationId: request.correlationId,
      ack: {
        stream: request.stream,
        partitionSubject: request.stream,
        msgSubject: request.stream,
        offset: BigInt(offset),
        ackInbox: '',
        correlationId: request.correlationId,
        ackPolicy: request.ackPolicy,
        receptionTimestamp: 1n,
        commitTimestamp: 1n,
        ackError: 0,
      },
      asyncError: undefined,
    }).finish(),
  );
}

export async function startH2Server(mode: H2Mode, tls?: H2Tls): Promise<H2TestServer> {
  if (mode.type === 'goaway') return startGoawayServer();
  const server = tls === undefined ? http2.createServer() : http2.createSecureServer({ key: tls.key, cert: tls.cert });
  const sessions = new Set<http2.ServerHttp2Session>();
  const received: PublishRequest[] = [];
  const headersSeen: http2.IncomingHttpHeaders[] = [];
  const state = { streams: 0, sessions: 0 };
  const stalled: http2.ServerHttp2Stream[] = [];
  const clientStreamWindows: number[] = [];
  let resumed = false;
  server.on('session', (s) => {
    state.sessions++;
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
    s.on('error', () => undefined);
  });
  server.on('stream', (stream, headers) => {
    state.streams++;
    headersSeen.push(headers);
    clientStreamWindows.push(stream.session?.remoteSettings.initialWindowSize ?? Number.NaN);
    stream.on('error', () => undefined);
    switch (mode.type) {
      case 'http-status':
        stream.respond({ ':status': mode.status }, { endStream: true });
        return;
      case 'trailers-only':
        stream.respond(
          { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(mode.code), 'grpc-message': encodeURIComponent(mode.message) },
          { endStream: true },
        );
        return;
      case 'refuse':
        stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        return;
      default:
        break;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    let trailers: http2.OutgoingHttpHeaders = { 'grpc-status': '0' };
    stream.on('wantTrailers', () => {
      if (!stream.closed && !stream.destroyed) stream.sendTrailers(trailers);
    });
    let pending = Buffer.alloc(0);
    /** Requests received on this stream. */
    let seen = 0;
    if (mode.type === 'stall' && !resumed) {
      stream.pause();
      stalled.push(stream);
    }
    stream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 5) {
        const length = pending.readUInt32BE(1);
        if (pending.length < 5 + length) break;
        const request = PublishRequest.decode(pending.subarray(5, 5 + length));
        pending = pending.subarray(5 + length);
        const offset = received.length;
        received.push(request);
        seen++;
        if (mode.type === 'mute') continue;
        if ((mode.type === 'reset-after' || mode.type === 'goaway-after') && seen > mode.after) {
          if (stream.closed || stream.destroyed || stream.writableEnded) continue;
          if (mode.type === 'reset-after') stream.close(mode.code);
          else {
            stream.session?.goaway(http2.constants.NGHTTP2_NO_ERROR, stream.id);
            trailers = { 'grpc-status': '14', 'grpc-message': 'server shutting down' };
            stream.end();
          }
          continue;
        }
        const out = ackFor(request, offset);
        if (mode.type === 'compressed') out[0] = 1;
        if (mode.type === 'split') for (let i = 0; i < out.length; i++) stream.write(out.subarray(i, i + 1));
        else stream.write(out);
      }
    });
    stream.on('end', () => {
      if (!stream.destroyed && !stream.closed) stream.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    address: `127.0.0.1:${port}`,
    received,
    headers: headersSeen,
    clientStreamWindows,
    get streams() {
      return state.streams;
    },
    set streams(n: number) {
      state.streams = n;
    },
    get sessions() {
      return state.sessions;
    },
    resume: () => {
      resumed = true;
      for (const s of stalled.splice(0)) s.resume();
    },
    close: async () => {
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Frame header: 24-bit length, type, flags, 31-bit stream id. */
function rawFrame(type: number, flags: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(0, 5);
  return Buffer.concat([header, payload]);
}

async function startGoawayServer(): Promise<H2TestServer> {
  const sockets = new Set<Socket>();
  const state = { streams: 0 };
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.write(rawFrame(0x4, 0, Buffer.alloc(0))); // SETTINGS
    let answered = false;
    socket.on('data', () => {
      if (answered) return;
      answered = true;
      state.streams++;
      socket.write(rawFrame(0x4, 0x1, Buffer.alloc(0))); // SETTINGS ACK
      socket.write(rawFrame(0x7, 0, Buffer.alloc(8))); // GOAWAY: last stream id 0, NO_ERROR
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    address: `127.0.0.1:${port}`,
    received: [],
    headers: [],
    clientStreamWindows: [],
    get streams() {
      return state.streams;
    },
    set streams(n: number) {
      state.streams = n;
    },
    sessions: 0,
    resume: () => undefined,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A TCP server that accepts connections and never sends a byte (a frozen or wrong peer). */
export interface SilentServer {
  readonly address: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Bytes received so far (all connections). */
  readonly bytesReceived: number;
  close(): Promise<void>;
}

export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  const state = { accepted: 0, bytes: 0 };
  const server: Server = createServer((socket) => {
    state.accepted++;
    sockets.add(socket);
    socket.on('data', (d) => {
      state.bytes += d.length;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    address: `127.0.0.1:${port}`,
    get accepted() {
      return state.accepted;
    },
    get bytesReceived() {
      return state.bytes;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A TCP proxy to `target` that forwards client-to-server bytes at about `bytesPerSecond`
 * (reads, then pauses the client socket for as long as the chunk takes at that rate): a slow link
 * or a slow broker. Server-to-client bytes pass at full speed.
 */
export interface ThrottledProxy {
  readonly address: string;
  /** Current rate limit of client-to-server bytes (Infinity: none). */
  bytesPerSecond: number;
  /** Bytes forwarded to the target so far. */
  readonly forwarded: number;
  /** A black hole from now on: connections stay open, nothing is forwarded either way. */
  freeze(): void;
  close(): Promise<void>;
}

export async function startThrottledProxy(target: string, bytesPerSecond: number, listenPort = 0): Promise<ThrottledProxy> {
  const [host, portText] = [target.slice(0, target.lastIndexOf(':')), target.slice(target.lastIndexOf(':') + 1)];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const state = { forwarded: 0, rate: bytesPerSecond, frozen: false };
  const { connect } = await import('node:net');
  const server = createServer((client) => {
    const upstream = connect(Number(portText), host);
    sockets.add(client);
    sockets.add(upstream);
    // Small kernel buffers on our side, so the throttle is felt by the sender and not absorbed here.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    upstream.on('data', (d) => {
      if (!state.frozen) client.write(d);
    });
    client.on('data', (d: Buffer) => {
      if (state.frozen) return;
      upstream.write(d);
      state.forwarded += d.length;
      if (!Number.isFinite(state.rate)) return;
      client.pause();
      const t = setTimeout(
        () => {
          timers.delete(t);
          if (!client.destroyed) client.resume();
        },
        (d.length / state.rate) * 1000,
      );
      timers.add(t);
    });
  });
  await new Promise<void>((resolve) => server.listen(listenPort, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    address: `127.0.0.1:${port}`,
    get bytesPerSecond() {
      return state.rate;
    },
    set bytesPerSecond(rate: number) {
      state.rate = rate;
    },
    get forwarded() {
      return state.forwarded;
    },
    freeze: () => {
      state.frozen = true;
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** How {@link startSubscribeServer} answers a Subscribe call. */
export type H2SubscribeMode =
  /**
   * The empty handshake message, then `count` messages (offsets from the request's start offset,
   * values of `valueBytes` bytes), then `end` as the call's status (omitted: the call stays open
   * until the client cancels it).
   */
  | { readonly type: 'serve'; readonly count: number; readonly valueBytes?: number; readonly end?: { readonly code: number; readonly message: string } }
  /** Answers at once with a trailers-only gRPC status. */
  | { readonly type: 'trailers-only'; readonly code: number; readonly message: string }
  /** The handshake and `after` messages, then RST_STREAM with this HTTP/2 error code. */
  | { readonly type: 'reset-after'; readonly after: number; readonly code: number }
  /**
   * The handshake and `after` messages, then GOAWAY(NO_ERROR) naming this stream as processed; the
   * stream ends without a status and the connection closes (a broker going away).
   */
  | { readonly type: 'goaway-after'; readonly after: number }
  /** The handshake, then one message whose compressed flag is set. */
  | { readonly type: 'compressed' };

export interface H2SubscribeServer {
  readonly address: string;
  /** Subscribe requests received (decoded), in arrival order. */
  readonly received: SubscribeRequest[];
  /** Headers of every stream opened. */
  readonly headers: http2.IncomingHttpHeaders[];
  /** Messages (the handshake excluded) whose bytes HTTP/2 has sent: bounded by the client's window. */
  readonly sent: number;
  /** RST_STREAM codes of the streams closed so far (0 for a clean close). */
  readonly closeCodes: number[];
  /** Streams open now. */
  readonly open: number;
  /** HTTP/2 connections accepted so far. */
  readonly sessions: number;
  close(): Promise<void>;
}

function wireMessage(request: SubscribeRequest, offset: bigint, valueBytes: number): Buffer {
  return frame(
    Message.encode({
      offset,
      key: new Uint8Array(),
      value: Buffer.alloc(valueBytes, Number(offset % 251n)),
      timestamp: 1n,
      stream: request.stream,
      partition: request.partition,
      subject: request.stream,
      replySubject: '',
      headers: {},
      ackInbox: '',
      correlationId: '',
      ackPolicy: 0,
    }).finish(),
  );
}

/** A local Subscribe server that misbehaves on purpose, for the HTTP/2 Subscribe client's edge cases. */
export async function startSubscribeServer(mode: H2SubscribeMode): Promise<H2SubscribeServer> {
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  const received: SubscribeRequest[] = [];
  const headersSeen: http2.IncomingHttpHeaders[] = [];
  const closeCodes: number[] = [];
  const state = { sent: 0, open: 0, sessions: 0 };
  server.on('session', (s) => {
    state.sessions++;
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
    s.on('error', () => undefined);
  });
  server.on('stream', (stream, headers) => {
    headersSeen.push(headers);
    state.open++;
    stream.on('error', () => undefined);
    stream.on('close', () => {
      state.open--;
      closeCodes.push(stream.rstCode ?? 0);
    });
    if (mode.type === 'trailers-only') {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(mode.code), 'grpc-message': encodeURIComponent(mode.message) },
        { endStream: true },
      );
      return;
    }
    let pending = Buffer.alloc(0);
    stream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (pending.length < 5 || pending.length < 5 + pending.readUInt32BE(1)) return;
      const request = SubscribeRequest.decode(pending.subarray(5, 5 + pending.readUInt32BE(1)));
      received.push(request);
      const end = mode.type === 'serve' ? mode.end : undefined;
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => {
        if (!stream.closed && !stream.destroyed)
          stream.sendTrailers(
            end === undefined ? { 'grpc-status': '0' } : { 'grpc-status': String(end.code), 'grpc-message': encodeURIComponent(end.message) },
          );
      });
      stream.write(frame(new Uint8Array())); // the handshake: an empty Message
      const count = mode.type === 'serve' ? mode.count : mode.type === 'compressed' ? 1 : mode.after;
      const valueBytes = mode.type === 'serve' ? (mode.valueBytes ?? 16) : 16;
      for (let i = 0; i < count; i++) {
        const out = wireMessage(request, request.startOffset + BigInt(i), valueBytes);
        if (mode.type === 'compressed') out[0] = 1;
        stream.write(out, (error) => {
          if (error === undefined || error === null) state.sent++;
        });
      }
      if (mode.type === 'serve') {
        if (end !== undefined) stream.end();
        return;
      }
      // Once the messages are on the wire, misbehave.
      stream.write(Buffer.alloc(0), () => {
        if (stream.destroyed) return;
        if (mode.type === 'reset-after') stream.close(mode.code);
        else if (mode.type === 'goaway-after') {
          const session = stream.session;
          session?.goaway(http2.constants.NGHTTP2_NO_ERROR, stream.id);
          stream.close(http2.constants.NGHTTP2_NO_ERROR);
          session?.close();
        }
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    address: `127.0.0.1:${port}`,
    received,
    headers: headersSeen,
    closeCodes,
    get sent() {
      return state.sent;
    },
    get open() {
      return state.open;
    },
    get sessions() {
      return state.sessions;
    },
    close: async () => {
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
