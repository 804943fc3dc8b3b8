/**
 * What `LiftbridgeClient.stats()` returns.
 */
import type { PartitionSubscriptionStats } from './subscribe/subscription-stats.js';

/** One broker's connections in {@link ClientStats}. */
export interface ConnectionStats {
  /** The broker's `host:port`. */
  address: string;
  /** Its open connections, with the streams each carries. */
  connections: { id: number; streams: number; state: string }[];
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
