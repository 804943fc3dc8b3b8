/**
 * The wire boundary: everything that touches the network goes through one `Wire` per client.
 *
 * - unary calls: grpc-js channels of the {@link ConnectionPool} (`unary(address)`);
 * - Subscribe server streams: {@link Wire.subscribeTransport}, the project's own HTTP/2 gRPC client
 *   (`'http2'`, the default; its own sessions) or a grpc-js stream slot (`'grpc-js'`,
 *   `acquireStream(address)`);
 * - PublishAsync bidi streams: {@link Wire.publishTransport}, backed by the project's own HTTP/2
 *   gRPC client (`'http2'`, the default) or by a grpc-js stream slot (`'grpc-js'`).
 *
 * One place for the settings both implementations obey (TLS and mTLS, keepalive, the per-connection
 * stream cap `maxStreamsPerConnection`, the connect timeout), for connection ids and `stats()` (both
 * connection kinds, by broker address), and for lifetime: `close()` closes every channel and
 * session. Errors of both are mapped by src/errors/map-error.ts.
 *
 * Internal (not exported from the package root).
 */
import type { Logger } from '../internal/logger.js';
import { type BrokerClient, type ConnectionEvent, ConnectionPool, type StreamLease, type TransportSettings } from './connection-pool.js';
import { GrpcJsPublishTransport } from './grpc-js-publish-transport.js';
import { Http2PublishTransport } from './http2-publish-transport.js';
import type { PublishTransport, PublishTransportKind } from './publish-call.js';
import { GrpcJsSubscribeTransport } from './grpc-js-subscribe-transport.js';
import { Http2SubscribeTransport } from './http2-subscribe-transport.js';
import type { SubscribeTransport, SubscribeTransportKind } from './subscribe-call.js';

/** One connection in `stats()`. */
export interface ConnectionStats {
  readonly id: number;
  /** Streams (Subscribe, PublishAsync) it carries. */
  readonly streams: number;
  readonly state: string;
  /** `'grpc-js'`: a grpc-js channel (unary calls, and streams with `transport: 'grpc-js'`); `'http2'`: an HTTP/2 session of the SDK's own client (PublishAsync or Subscribe). */
  readonly kind: PublishTransportKind;
}

/** Connections to one broker address in `stats()`. */
export interface AddressStats {
  readonly address: string;
  readonly connections: ConnectionStats[];
}

/** Options of a {@link Wire}. */
export interface WireOptions {
  /** How long a new HTTP/2 session may take to connect, in ms (the client's `callTimeoutMs`). */
  readonly connectTimeoutMs: number;
}

export class Wire {
  private readonly pool: ConnectionPool;
  private http2: Http2PublishTransport | undefined;
  private grpcJs: GrpcJsPublishTransport | undefined;
  private http2Subscribe: Http2SubscribeTransport | undefined;
  private grpcJsSubscribe: GrpcJsSubscribeTransport | undefined;
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly settings: TransportSettings,
    logger: Logger,
    onEvent: (event: ConnectionEvent) => void,
    private readonly options: WireOptions,
  ) {
    this.pool = new ConnectionPool(settings, logger, onEvent, () => this.nextId++);
  }

  /** Client for a unary call to `address` (the connection with the fewest streams). */
  unary(address: string): BrokerClient {
    return this.pool.unary(address);
  }

  /** A stream slot (Subscribe, grpc-js PublishAsync) on a grpc-js connection to `address`. */
  acquireStream(address: string): StreamLease {
    return this.pool.acquireStream(address);
  }

  /** Whether some grpc-js connection to `address` is established. */
  connected(address: string): boolean {
    return this.pool.connected(address);
  }

  /** What opens PublishAsync calls of that kind (one each, created on first use). */
  publishTransport(kind: PublishTransportKind): PublishTransport {
    if (this.closed) throw new Error('Channel has been shut down');
    if (kind === 'grpc-js') {
      this.grpcJs ??= new GrpcJsPublishTransport((address) => this.pool.acquireStream(address));
      return this.grpcJs;
    }
    this.http2 ??= new Http2PublishTransport(this.settings, { connectTimeoutMs: this.options.connectTimeoutMs, nextId: () => this.nextId++ });
    return this.http2;
  }

  /** What opens Subscribe calls of that kind (one each, created on first use). */
  subscribeTransport(kind: SubscribeTransportKind): SubscribeTransport {
    if (this.closed) throw new Error('Channel has been shut down');
    if (kind === 'grpc-js') {
      this.grpcJsSubscribe ??= new GrpcJsSubscribeTransport((address) => this.pool.acquireStream(address));
      return this.grpcJsSubscribe;
    }
    this.http2Subscribe ??= new Http2SubscribeTransport(this.settings, { connectTimeoutMs: this.options.connectTimeoutMs, nextId: () => this.nextId++ });
    return this.http2Subscribe;
  }

  /** Connections per broker address, both kinds, with the streams each carries. */
  stats(): AddressStats[] {
    const byAddress = new Map<string, ConnectionStats[]>();
    const add = (address: string, c: ConnectionStats): void => {
      const list = byAddress.get(address);
      if (list === undefined) byAddress.set(address, [c]);
      else list.push(c);
    };
    for (const a of this.pool.stats()) for (const c of a.connections) add(a.address, { ...c, kind: 'grpc-js' });
    for (const a of this.http2?.stats() ?? []) for (const c of a.connections) add(a.address, { ...c, kind: 'http2' });
    for (const a of this.http2Subscribe?.stats() ?? []) for (const c of a.connections) add(a.address, { ...c, kind: 'http2' });
    return [...byAddress.entries()].map(([address, connections]) => ({ address, connections }));
  }

  /** Closes every channel and session. In-flight calls on them fail; callers abort theirs first. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pool.close();
    this.http2?.close();
    this.http2Subscribe?.close();
  }
}
