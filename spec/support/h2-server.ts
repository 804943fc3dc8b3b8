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
import { PublishRequest, PublishResponse } from '../../src/generated/liftbridge/api.js';

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
    stream.on('error', () => undefined);
    switch (mode.type) {
      case 'http-status':
        stream.respond({ ':status': mode.status }, { endStream: true });
        return;
      case 'trailers-only':
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(mode.code), 'grpc-message': encodeURIComponent(mode.message) }, { endStream: true });
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
      const t = setTimeout(() => {
        timers.delete(t);
        if (!client.destroyed) client.resume();
      }, (d.length / state.rate) * 1000);
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
