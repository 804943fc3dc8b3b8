/**
 * A consumer group as the cluster's metadata shows it, for cluster specs (the SDK has no public
 * call for it: members learn it themselves).
 */
import { firstValueFrom } from 'rxjs';
import { coreOf } from '../../src/core/internal-access.js';
import type { LiftbridgeClient } from '../../src/index.js';

/**
 * The group's coordinator and epoch, or undefined when the answering broker knows no such group.
 * Like the SDK's own FetchMetadata calls it shows the server no deadline: while a broker is dead
 * or frozen, one that surveys its peers answers after 3 s, and with a deadline it would answer too
 * late (v1.9.0) or not at all (main); see docs/testing.md.
 */
export async function groupMetadata(client: LiftbridgeClient, groupId: string): Promise<{ readonly coordinator: string; readonly epoch: bigint } | undefined> {
  const core = coreOf(client);
  const res = await firstValueFrom(
    core.run({
      rpc: 'FetchMetadata',
      route: () => [core.routing.anyBroker()],
      call: (c, opts) => c.unary('fetchMetadata', { streams: [], groups: [groupId] }, opts),
      retryable: () => true,
      serverDeadline: false,
    }),
  );
  const g = res.groupMetadata.find((x) => x.groupId === groupId);
  return g === undefined || g.error !== 0 ? undefined : { coordinator: g.coordinator, epoch: g.epoch };
}
