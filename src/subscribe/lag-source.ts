/**
 * What `lag$` reads of a live partition subscription: its ledger (processed and committed
 * positions) and, for a group member, the group. Kept beside the stats object, not on it, so
 * `stats()` copies stay plain data.
 *
 * Internal (not exported from the package root).
 */
import type { OffsetLedger } from './offset-ledger.js';
import type { PartitionSubscriptionStats } from './subscription-stats.js';

export interface LagSource {
  readonly ledger: OffsetLedger;
  readonly groupId: string | undefined;
}

const sources = new WeakMap<PartitionSubscriptionStats, LagSource>();

/** Called once by a forward partition subscription. */
export function bindLagSource(stats: PartitionSubscriptionStats, ledger: OffsetLedger, groupId: string | undefined): void {
  sources.set(stats, { ledger, groupId });
}

/** The lag source of a live subscription (undefined for reverse reads). */
export function lagSourceOf(stats: PartitionSubscriptionStats): LagSource | undefined {
  return sources.get(stats);
}
