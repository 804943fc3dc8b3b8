import { firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type ClientStatus, type LiftbridgeClient, StartAt } from '../../src/index.js';
import { uniqueName, useCluster } from '../support/broker.js';

const cluster = useCluster({ size: 3 });
const clients: LiftbridgeClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
});

function client(): LiftbridgeClient {
  const c = connect({
    brokers: [...cluster.addresses],
    // FetchMetadata surveys the peers for up to 3 s while one is dead: leave room for that.
    callTimeoutMs: 10_000,
    retry: { maxRetries: 100, initialDelayMs: 100, maxDelayMs: 1_000, totalTimeoutMs: 60_000 },
  });
  clients.push(c);
  return c;
}

describe('3-node cluster: subscriptions survive the partition leader dying', () => {
  it('sees every offset exactly once, in order, with no gap, while the stream is written and its leader is killed', async () => {
    const reader = client();
    const writer = client();
    const name = uniqueName('sub-kill');
    await firstValueFrom(reader.createStream({ name, replicationFactor: 3 }));
    const events: ClientStatus[] = [];
    reader.status$.subscribe((e) => events.push(e));

    const seen: bigint[] = [];
    let failure: unknown;
    const sub = reader.subscribe(name, { startAt: StartAt.earliest() }).subscribe({ next: (m) => seen.push(m.offset), error: (e: unknown) => (failure = e) });

    // Write continuously; failures during the failover are retried (a retry may duplicate a
    // value, which is fine: this test checks offsets).
    let writing = true;
    let acked = -1n;
    const writes = (async () => {
      let i = 0;
      while (writing) {
        try {
          const ack = await firstValueFrom(writer.publish(name, `v${i}`, { ackPolicy: 'all', ackWaitMs: 3_000 }));
          if (ack.offset > acked) acked = ack.offset;
          i++;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    })();

    await expect.poll(() => seen.length, { timeout: 10_000 }).toBeGreaterThan(50);
    const meta = await firstValueFrom(reader.refreshMetadata());
    const leaderId = meta.partition(name, 0)!.leader!;
    const leaderIndex = cluster.nodes.findIndex((n) => n.id === leaderId);
    await cluster.kill(leaderIndex);

    // Keep writing until a new leader has acked a good number of messages.
    const killedAt = acked;
    await expect.poll(() => acked, { timeout: 60_000 }).toBeGreaterThan(killedAt + 50n);
    writing = false;
    await writes;
    const finalNewest = (await firstValueFrom(reader.fetchPartitionMetadata(name, 0))).newestOffset;
    expect(finalNewest).toBeGreaterThanOrEqual(acked);

    await expect.poll(() => failure ?? seen.at(-1), { timeout: 60_000 }).toBe(finalNewest);
    expect(seen).toEqual(Array.from({ length: Number(finalNewest) + 1 }, (_, i) => BigInt(i)));
    // The subscription lost its leader and was set up again on the new one.
    expect(events.some((e) => e.type === 'reconnecting' && e.rpc === 'Subscribe')).toBe(true);
    expect(events.some((e) => e.type === 'resubscribed' && e.stream === name)).toBe(true);
    sub.unsubscribe();
    await cluster.restart(leaderIndex);
  });
});
