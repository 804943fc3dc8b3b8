import { firstValueFrom, filter, take, timeout } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type ClientStatus, type LiftbridgeClient } from '../../src/index.js';
import { uniqueName, useCluster } from '../support/broker.js';

const cluster = useCluster({ size: 3 });
const clients: LiftbridgeClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
});

describe('3-node cluster: failover when a broker dies', () => {
  it('keeps operating, shows the change in metadata$ and reports it on status$', async () => {
    const events: ClientStatus[] = [];
    const lift = connect({
      brokers: [...cluster.addresses],
      callTimeoutMs: 3_000,
      metadataRefreshMs: 500,
      retry: { maxRetries: 20, initialDelayMs: 50, maxDelayMs: 500, totalTimeoutMs: 60_000 },
    });
    clients.push(lift);
    lift.status$.subscribe((s) => events.push(s));

    const name = uniqueName('rf3');
    await firstValueFrom(lift.createStream({ name, partitions: 2, replicationFactor: 3 }));
    const before = await firstValueFrom(lift.refreshMetadata());
    expect(before.brokers).toHaveLength(3);
    expect(before.stream(name)?.partitions.every((p) => p.isr.length === 3)).toBe(true);

    // Kill the broker the client talks to (round-robin starts with the first address).
    const victim = cluster.nodes[0]!;
    expect(before.source).toBe(victim.address);
    const leaderOfP0 = before.partition(name, 0)?.leader;
    await cluster.kill(0);

    // Operations keep working through another broker.
    const other = uniqueName('after-kill');
    await firstValueFrom(lift.createStream({ name: other, replicationFactor: 2 }));
    const ack = await firstValueFrom(lift.publish(name, 'still here', { partition: 1, ackWaitMs: 10_000 }));
    expect(ack.offset).toBeGreaterThanOrEqual(0n);

    // metadata$ shows the dead broker gone and no partition led by it.
    const after = await firstValueFrom(
      lift.metadata$.pipe(
        filter((m) => m.brokers.length === 2 && m.stream(name)?.partitions.every((p) => p.leader !== undefined && p.leader !== victim.id) === true),
        take(1),
        timeout(45_000),
      ),
    );
    expect(after.brokers.map((b) => b.id)).not.toContain(victim.id);
    expect(after.stream(other)).toBeDefined();
    if (leaderOfP0 === victim.id) expect(after.partition(name, 0)?.leader).not.toBe(victim.id);

    // status$ reported the lost connection and the new cluster view.
    expect(events.some((e) => e.type === 'disconnected' && e.address === victim.address)).toBe(true);
    expect(events.some((e) => e.type === 'metadata' && e.brokers.length === 2)).toBe(true);

    // The exact offsets come from the (possibly new) leader.
    const p1 = await firstValueFrom(lift.fetchPartitionMetadata(name, 1));
    expect(p1.newestOffset).toBe(ack.offset);
    await cluster.restart(0);
  });

  it('retries a call on another broker when its broker freezes mid-call', async () => {
    const retried: string[] = [];
    const lift = connect({
      brokers: [...cluster.addresses],
      callTimeoutMs: 1_000,
      retry: { maxRetries: 5, initialDelayMs: 20, onRetry: (e) => retried.push(`${e.code}@${e.address ?? '?'}`) },
    });
    clients.push(lift);
    const first = await firstValueFrom(lift.metadata$);
    const frozen = cluster.nodes.find((n) => n.address === first.source)!;
    frozen.pause();
    try {
      const name = uniqueName('frozen');
      await firstValueFrom(lift.createStream({ name }));
      const meta = await firstValueFrom(lift.refreshMetadata());
      expect(meta.source).not.toBe(frozen.address);
      expect(retried.some((r) => r.endsWith(`@${frozen.address}`))).toBe(true);
    } finally {
      frozen.resume();
    }
  });
});
