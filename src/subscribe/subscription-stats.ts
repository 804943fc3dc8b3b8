/**
 * The counters `client.stats().subscriptions` shows per live partition subscription.
 */

/** Live counters of one partition subscription (see `client.stats().subscriptions`). */
export interface PartitionSubscriptionStats {
  readonly stream: string;
  readonly partition: number;
  readonly prefetch: number;
  /**
   * Delivered and not yet passed by the settled prefix (the ledger's window): unsettled
   * messages plus settled ones behind an unsettled one. Never above `prefetch`.
   */
  unsettled: number;
  /** Highest `unsettled` seen. */
  maxUnsettled: number;
  delivered: number;
  /** Whether the gRPC stream is paused for backpressure. */
  paused: boolean;
  /** Whether a gRPC call is open (until grpc-js reports its final status). */
  callOpen: boolean;
  /** Times the partition resubscribed after a failure. */
  resubscribes: number;
  /** Offset of the last delivered message, if any. */
  lastOffset: bigint | undefined;
}
