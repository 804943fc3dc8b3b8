/**
 * FetchMetadata while a peer broker is frozen, on a real 3-node cluster whose brokers keep no
 * broker cache (as after the default 2 min): the answering broker surveys its peers for the
 * brokers list until the timeout it was shown, then answers with those that replied. Servers built
 * on older gRPC-Go (v1.9.0) send that answer after the shown timeout; newer ones (the main pin)
 * reset the stream at the shown timeout instead, so a client that shows one never gets an answer.
 */
import { firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { type LiftbridgeClient, connect } from '../../src/index.js';
import { uniqueName, useCluster } from '../support/broker.js';

const cluster = useCluster({ size: 3, extraConfig: { 'metadata.cache.max.age': '1ms' } });
const clients: LiftbridgeClient[] = [];
let frozen: number | undefined;
afterEach(async () => {
  if (frozen !== undefined) cluster.nodes[frozen]!.resume();
  frozen = undefined;
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
});

describe('metadata while a peer is frozen (no broker cache)', () => {
  it('refreshMetadata() through a live broker answers, with the brokers that replied and the streams', async () => {
    const admin = connect({ brokers: [...cluster.addresses], callTimeoutMs: 2_000 });
    clients.push(admin);
    const name = uniqueName('meta-frozen');
    await firstValueFrom(admin.createStream({ name, partitions: 1, replicationFactor: 3 }));

    // The client knows only node 0, so every attempt asks a live broker.
    const lift = connect({
      brokers: [cluster.addresses[0]!],
      callTimeoutMs: 2_000,
      retry: { maxRetries: 3, initialDelayMs: 100, maxDelayMs: 500, totalTimeoutMs: 15_000 },
    });
    clients.push(lift);
    frozen = 2;
    cluster.nodes[2]!.pause();

    // Several refreshes: on the main pin an answer sometimes beat the reset of the stream.
    for (let i = 0; i < 3; i++) {
      const view = await firstValueFrom(lift.refreshMetadata());
      const addresses = view.brokers.map((b) => b.address);
      expect(addresses).toContain(cluster.addresses[0]);
      expect(addresses).toContain(cluster.addresses[1]);
      expect(view.stream(name)?.partitions).toHaveLength(1);
    }
  }, 60_000);
});
