/**
 * What `LiftbridgeClient.stats()` returns.
 */
import type { PartitionSubscriptionStats } from './subscribe/subscription-stats.js';

/** One broker's connections in {@link ClientStats}. */
export interface ConnectionStats {
  /** The broker's `host:port`. */
  address: string;
  /**
   * Its open connections, with the streams each carries: `kind` `'grpc-js'` is a grpc-js channel
   * (unary calls, Subscribe, PublishAsync with `transport: 'grpc-js'`), `'http2'` a PublishAsync
   * session of the project's HTTP/2 client. Both obey `maxStreamsPerConnection`.
   */
  connections: { id: number; streams: number; state: string; kind: 'grpc-js' | 'http2' }[];
}

/** What {@link LiftbridgeClient.stats} returns. */
export interface ClientStats {
  /** Whether `close()` or `destroy()` was called. */
  closed: boolean;
  /** Open connections per broker and the streams each carries. */
  connections: ConnectionStats[];
  /** Live partition subscriptions with their backpressure counters. */
  subscriptions: PartitionSubscriptionStats[];
  /** Subscribe calls grpc-js has not reported closed yet (a cancelled call counts until it really ended). */
  openSubscribeCalls: number;
}
