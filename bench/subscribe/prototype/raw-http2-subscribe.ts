/**
 * PROTOTYPE (benchmark only, not used by the SDK): Subscribe over Node's HTTP/2 client with
 * gRPC framing, without grpc-js, to measure the transport floor of a catch-up read. It does
 * what the SDK's partition bridge would need from a transport (open, a message callback,
 * pause/resume, end) and nothing else: no retries, no metadata routing, no Rx.
 *
 * Against grpc-js it saves, per message: StreamDecoder's Buffer.concat copy, the async
 * compression filter (a Promise + microtask), one process.nextTick, a Readable push/read and
 * an http2 stream pause()+resume() pair. Frames that lie whole inside one DATA chunk are
 * decoded in place (a view, no copy).
 */
import http2 from 'node:http2';
import { SubscribeRequest, type Message as WireMessage } from '../../../src/generated/liftbridge/api.js';

export interface RawSubscribeOptions {
  /** HTTP/2 window (stream and connection), bytes. */
  readonly window: number;
}

export interface RawSubscription {
  pause(): void;
  resume(): void;
  cancel(): void;
}

/** One HTTP/2 session per address and options, as a client's connection pool would keep it. */
export function openSession(address: string, options: RawSubscribeOptions): http2.ClientHttp2Session {
  const session = http2.connect(`http://${address}`, { settings: { initialWindowSize: options.window } });
  session.on('connect', () => session.setLocalWindowSize(options.window));
  session.on('error', () => undefined);
  return session;
}

/**
 * Subscribes; `onMessage` gets every decoded message (the empty handshake included, as with
 * grpc-js), `onEnd` the gRPC status (0 = OK) and details.
 */
export function rawSubscribe(
  session: http2.ClientHttp2Session,
  request: SubscribeRequest,
  decode: (bytes: Uint8Array) => WireMessage,
  onMessage: (m: WireMessage) => void,
  onEnd: (code: number, details: string) => void,
): RawSubscription {
  const body = SubscribeRequest.encode(request).finish();
  const framed = Buffer.allocUnsafe(5 + body.length);
  framed[0] = 0;
  framed.writeUInt32BE(body.length, 1);
  framed.set(body, 5);
  const stream = session.request({
    ':method': 'POST',
    ':path': '/proto.API/Subscribe',
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  stream.end(framed);

  let status: { code: number; details: string } | undefined;
  const readStatus = (headers: http2.IncomingHttpHeaders): void => {
    if (headers['grpc-status'] !== undefined) {
      status = { code: Number(headers['grpc-status']), details: decodeURIComponent(String(headers['grpc-message'] ?? '')) };
    }
  };
  stream.on('response', readStatus); // trailers-only responses
  stream.on('trailers', readStatus);

  // Frame assembly: a header (1 flag byte + 4 length bytes) and a body that may span chunks.
  let pending: Buffer | undefined; // bytes of an incomplete frame
  stream.on('data', (chunk: Buffer) => {
    let buf = chunk;
    if (pending !== undefined) {
      buf = Buffer.concat([pending, chunk]);
      pending = undefined;
    }
    let off = 0;
    while (buf.length - off >= 5) {
      const len = buf.readUInt32BE(off + 1);
      if (buf.length - off - 5 < len) break;
      onMessage(decode(buf.subarray(off + 5, off + 5 + len)));
      off += 5 + len;
    }
    if (off < buf.length) pending = buf.subarray(off);
  });
  stream.on('close', () => {
    onEnd(status?.code ?? 14, status?.details ?? 'stream closed without status');
  });
  stream.on('error', () => undefined);
  return {
    pause: () => stream.pause(),
    resume: () => stream.resume(),
    cancel: () => stream.close(http2.constants.NGHTTP2_CANCEL),
  };
}
