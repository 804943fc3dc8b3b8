/**
 * A broker that has just restarted answers "not found" for every stream until it has caught up
 * with the cluster's metadata (measured on v1.9.0: FetchMetadata lists 3 brokers and 0 streams,
 * FetchPartitionMetadata answers NOT_FOUND, for about 4 s after the restart). Such answers must
 * be retried like any transient failure; only what the cluster confirms missing is final.
 */
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type LiftbridgeClient, NoSuchPartitionError, NoSuchStreamError, StartAt } from '../../src/index.js';
import { publishTo } from '../../src/publish/publish-to.js';
import type { PublishMessage, PublishResult } from '../../src/publish/types.js';
import { callOptions, openApiClient, uniqueName, useCluster } from '../support/broker.js';

const cluster = useCluster({ size: 3 });
const clients: LiftbridgeClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
});

function client(brokers: readonly string[]): LiftbridgeClient {
  const c = connect({
    brokers: [...brokers],
    callTimeoutMs: 10_000,
    retry: { maxRetries: 100, initialDelayMs: 100, maxDelayMs: 1_000, totalTimeoutMs: 60_000 },
  });
  clients.push(c);
  return c;
}

const isNotFound = (e: unknown): boolean => e instanceof NoSuchStreamError || e instanceof NoSuchPartitionError;

/**
 * Kills node `index`, starts it again and resolves once it answers FetchMetadata without `stream`
 * (the window in which it has not caught up yet), with the restart still running. Resolves
 * `caught: false` if the node caught up before we could see the window.
 */
async function restartIntoLaggingWindow(index: number, stream: string): Promise<{ caught: boolean; restarted: Promise<void> }> {
  await cluster.kill(index);
  const restarted = cluster.restart(index);
  const api = openApiClient(cluster.addresses[index]!);
  try {
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      try {
        const m = await api.client.fetchMetadata({ streams: [], groups: [] }, callOptions(1_000));
        return { caught: !m.streamMetadata.some((s) => s.name === stream), restarted };
      } catch {
        await new Promise((r) => setTimeout(r, 20)); // not listening yet: nothing to await but time
      }
    }
    return { caught: false, restarted };
  } finally {
    api.close();
  }
}

describe('3-node cluster: "not found" answers of a restarting broker are not final', () => {
  it('publish, subscribe and fetchPartitionMetadata through a broker that has not caught up yet succeed', async () => {
    const admin = client(cluster.addresses);
    const name = uniqueName('lagging');
    await firstValueFrom(admin.createStream({ name, replicationFactor: 3 }));
    for (let i = 0; i < 5; i++) await firstValueFrom(admin.publish(name, `before-${i}`, { ackPolicy: 'all' }));

    const { caught, restarted } = await restartIntoLaggingWindow(2, name);
    expect(caught).toBe(true);
    // A client that only knows the restarted broker: its first cluster view comes from there.
    const lagging = client([cluster.addresses[2]!]);
    const [ack, messages, info] = await Promise.allSettled([
      firstValueFrom(lagging.publish(name, 'during', { ackPolicy: 'all' })),
      lastValueFrom(lagging.subscribe(name, { startAt: StartAt.earliest() }).pipe(take(5), toArray())),
      firstValueFrom(lagging.fetchPartitionMetadata(name, 0)),
    ]);
    await restarted;
    expect(ack.status === 'rejected' ? `${(ack.reason as Error).name}: ${(ack.reason as Error).message}` : 'ok').toBe('ok');
    expect(messages.status === 'rejected' ? `${(messages.reason as Error).name}: ${(messages.reason as Error).message}` : 'ok').toBe('ok');
    expect(info.status === 'rejected' ? `${(info.reason as Error).name}: ${(info.reason as Error).message}` : 'ok').toBe('ok');
    if (messages.status === 'fulfilled')
      expect(messages.value.map((m) => new TextDecoder().decode(m.value))).toEqual([0, 1, 2, 3, 4].map((i) => `before-${i}`));
    if (info.status === 'fulfilled') expect(info.value.newestOffset).toBeGreaterThanOrEqual(4n);
  });

  it('brokers killed and restarted one after another while publishing and subscribing: no NoSuchStream/NoSuchPartition reaches the user', async () => {
    const writer = client(cluster.addresses);
    const reader = client(cluster.addresses);
    const name = uniqueName('rolling');
    await firstValueFrom(writer.createStream({ name, replicationFactor: 3 }));

    const seen: bigint[] = [];
    let readerError: unknown;
    const sub = reader
      .subscribe(name, { startAt: StartAt.earliest() })
      .subscribe({ next: (m) => seen.push(m.offset), error: (e: unknown) => (readerError = e) });

    let writing = true;
    const inputs = async function* (): AsyncGenerator<PublishMessage> {
      for (let i = 0; writing; i++) {
        yield { value: `v${i}` };
        if (i % 100 === 99) await new Promise((r) => setTimeout(r, 10)); // pace the writer: nothing to await
      }
    };
    const outcomes: PublishResult[] = [];
    let writerError: unknown;
    let writerDone = false;
    publishTo(writer, name, { ackPolicy: 'all', maxInFlight: 64, ackWaitMs: 3_000, failFast: false })(inputs()).subscribe({
      next: (r) => outcomes.push(r),
      error: (e: unknown) => (writerError = e),
      complete: () => (writerDone = true),
    });
    const firstNotFound = (): string | undefined => {
      const bad = outcomes.find((r) => !r.ok && isNotFound(r.error));
      if (bad !== undefined && !bad.ok) return `${bad.error.name}: ${bad.error.message}`;
      if (readerError !== undefined) return `reader: ${(readerError as Error).name}: ${(readerError as Error).message}`;
      if (writerError !== undefined) return `writer: ${(writerError as Error).name}: ${(writerError as Error).message}`;
      return undefined;
    };

    for (const index of [0, 1, 2]) {
      const mark = seen.length;
      await expect.poll(() => firstNotFound() !== undefined || seen.length > mark + 100, { timeout: 30_000 }).toBe(true);
      expect(firstNotFound()).toBeUndefined();
      const { restarted } = await restartIntoLaggingWindow(index, name);
      await restarted;
    }
    const mark = seen.length;
    await expect.poll(() => firstNotFound() !== undefined || seen.length > mark + 100, { timeout: 30_000 }).toBe(true);
    writing = false;
    await expect.poll(() => writerDone || writerError !== undefined, { timeout: 30_000 }).toBe(true);
    sub.unsubscribe();

    expect(firstNotFound()).toBeUndefined();
    expect(outcomes.filter((r) => r.ok).length).toBeGreaterThan(300);
    // The reader saw a gap-free prefix.
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => BigInt(i)));
  });

  it('what really does not exist still fails promptly: publish to a never-created stream, a subscription to a deleted stream', async () => {
    const lift = client(cluster.addresses);
    const missing = uniqueName('never');
    let t = Date.now();
    await expect(firstValueFrom(lift.publish(missing, 'x'))).rejects.toBeInstanceOf(NoSuchStreamError);
    expect(Date.now() - t).toBeLessThan(3_000);
    t = Date.now();
    await expect(firstValueFrom(lift.subscribe(missing))).rejects.toBeInstanceOf(NoSuchStreamError);
    expect(Date.now() - t).toBeLessThan(3_000);
    t = Date.now();
    await expect(firstValueFrom(lift.subscribe(missing, { readIsrReplica: true }))).rejects.toBeInstanceOf(NoSuchStreamError);
    expect(Date.now() - t).toBeLessThan(3_000);
    t = Date.now();
    await expect(firstValueFrom(lift.pauseStream(missing))).rejects.toBeInstanceOf(NoSuchStreamError);
    await expect(firstValueFrom(lift.fetchPartitionMetadata(missing, 0))).rejects.toBeInstanceOf(NoSuchStreamError);
    expect(Date.now() - t).toBeLessThan(3_000);

    const name = uniqueName('deleted');
    await firstValueFrom(lift.createStream({ name, replicationFactor: 3 }));
    await firstValueFrom(lift.publish(name, 'one', { ackPolicy: 'all' }));
    const ended = new Promise<unknown>((resolve) => {
      lift.subscribe(name, { startAt: StartAt.earliest() }).subscribe({ error: resolve, complete: () => resolve('completed') });
    });
    await firstValueFrom(lift.subscribe(name, { startAt: StartAt.earliest() }).pipe(take(1)));
    t = Date.now();
    await firstValueFrom(lift.deleteStream(name));
    expect(await ended).toBeInstanceOf(NoSuchStreamError);
    expect(Date.now() - t).toBeLessThan(5_000);
  });
});
