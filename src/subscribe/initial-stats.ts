/**
 * The counters of a partition subscription that has not read anything yet (kept out of
 * subscription-stats.ts, whose type is public).
 *
 * Internal (not exported from the package root).
 */
import type { PartitionSubscriptionStats } from './subscription-stats.js';

export function initialStats(stream: string, partition: number, prefetch: number): PartitionSubscriptionStats {
  return { stream, partition, prefetch, unsettled: 0, maxUnsettled: 0, delivered: 0, paused: false, callOpen: false, resubscribes: 0, lastOffset: undefined };
}
