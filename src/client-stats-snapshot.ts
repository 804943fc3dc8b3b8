/** How `LiftbridgeClient.stats()` is read off the core (internal: kept out of the public declarations). */
import type { ClientStats } from './client-stats.js';
import type { ClientCore } from './core/client-core.js';
import type { PartitionSubscriptionStats } from './subscribe/subscription-stats.js';

/** A snapshot of `core`'s connections and live subscriptions (copies: later changes don't show). */
export function clientStats(core: ClientCore): ClientStats {
  return {
    openSubscribeCalls: core.openSubscribeCalls(),
    closed: core.lifetime.state !== 'open',
    connections: core.connectionStats(),
    subscriptions: [...core.partitionStats].map((s) => ({ ...(s as PartitionSubscriptionStats) })),
  };
}
