/**
 * Which PublishAsync transport a publisher uses. Both sit behind the client's wire boundary
 * (src/transport/wire.ts), which owns their connections, settings, `stats()` and lifetime:
 *
 * - `'http2'` (default): gRPC framing over Node's own HTTP/2 client, sessions of at most
 *   `maxStreamsPerConnection` calls. Writes that pile up while the socket is busy go out
 *   together, so one call carries many messages per syscall.
 * - `'grpc-js'`: the client's grpc-js connections (a stream slot per call). grpc-js writes one
 *   message per event-loop turn on a call, which caps one call at roughly 30 000 msg/s.
 *
 * Internal (not exported from the package root).
 */
import type { PublishTransport, PublishTransportKind } from '../transport/publish-call.js';
import type { PublisherHost } from './publisher-host.js';

/** The client's transport of that kind (one each, created on first use, closed with the client). */
export function transportFor(host: PublisherHost, kind: PublishTransportKind): PublishTransport {
  return host.publishTransport(kind);
}
