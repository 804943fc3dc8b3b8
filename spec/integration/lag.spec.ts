import { type Subscription, firstValueFrom, mergeMap } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AssignedPartition, commit, connect, consume, InvalidArgumentError, type LiftbridgeClient, type PartitionLag, StartAt } from '../../src/index.js';
import { uniqueName, useSingleNode } from '../support/broker.js';

const broker = useSingleNode();
let lift: LiftbridgeClient;
const subs: Subscription[] = [];
beforeAll(() => {
  lift = connect({ brokers: [broker.address], retry: { maxRetries: 20, initialDelayMs: 50 } });
});
afterEach(() => {
  subs.splice(0).forEach((s) => s.unsubscribe());
});
afterAll(() => lift.destroy());

async function stream(partitions: number, perPartition: number): Promise<string> {
  const name = uniqueName('lag');
  await firstValueFrom(lift.createStream({ name, partitions }));
  for (let i = 0; i < perPartition; i++) for (let p = 0; p < partitions; p++) await firstValueFrom(lift.publish(name, `m${i}`, { partition: p }));
  return name;
}

/** Follows lag$ and keeps the latest rows and every emission. */
function follow(options: Parameters<LiftbridgeClient['lag$']>[0]): { latest: () => readonly PartitionLag[]; emissions: (readonly PartitionLag[])[] } {
  const emissions: (readonly PartitionLag[])[] = [];
  subs.push(lift.lag$(options).subscribe((rows) => emissions.push(rows)));
  return { latest: () => emissions.at(-1) ?? [], emissions };
}

describe('lag$()', () => {
  it('grows while the consumer is held back, shrinks to 0 when it catches up, and reports the committed position', async () => {
    const name = await stream(1, 5);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    subs.push(
      lift
        .subscribe(name, { startAt: StartAt.earliest() })
        .pipe(
          consume(() => gate),
          commit(lift, 'lag-cursor', { count: 1, timeMs: 100 }),
        )
        .subscribe(),
    );
    const lag = follow({ stream: name, intervalMs: 100 });
    // Held at offset 0: nothing processed, five stored.
    await expect
      .poll(() => lag.latest()[0], { timeout: 20_000 })
      .toMatchObject({ stream: name, partition: 0, newestOffset: 4n, processedOffset: -1n, lag: 5n, committedOffset: undefined });
    for (let i = 5; i < 8; i++) await firstValueFrom(lift.publish(name, `m${i}`));
    await expect.poll(() => lag.latest()[0]?.lag, { timeout: 20_000 }).toBe(8n);
    expect(lag.latest()[0]?.highWatermark).toBe(7n);

    release();
    await expect.poll(() => lag.latest()[0], { timeout: 20_000 }).toMatchObject({ processedOffset: 7n, lag: 0n, committedOffset: 7n, committedLag: 0n });
    expect(await firstValueFrom(lift.fetchCursor({ stream: name, partition: 0, cursorId: 'lag-cursor' }))).toBe(7n);
    // Emitted on change only: never twice the same rows in a row.
    for (let i = 1; i < lag.emissions.length; i++) expect(lag.emissions[i]).not.toEqual(lag.emissions[i - 1]);
    // The lag went up while held back and is 0 at the end: it never went below 0.
    const lags = lag.emissions.map((rows) => rows[0]?.lag).filter((l) => l !== undefined);
    expect(lags).toContain(5n);
    expect(lags).toContain(8n);
    expect(lags.at(-1)).toBe(0n);
  });

  it('reports a consumer group per partition, matching the cursors the group committed', async () => {
    const name = await stream(2, 3);
    const groupId = uniqueName('lag-group');
    subs.push(
      lift
        .group(groupId, { streams: [name], consumerId: 'm1' })
        .pipe(
          mergeMap((p: AssignedPartition) =>
            p.messages.pipe(
              consume(() => undefined),
              commit(p, { count: 1, timeMs: 100 }),
            ),
          ),
        )
        .subscribe(),
    );
    const lag = follow({ groupId, intervalMs: 100 });
    await expect
      .poll(() => lag.latest().map((r) => [r.partition, r.groupId, r.lag, r.committedOffset]), { timeout: 30_000 })
      .toEqual([
        [0, groupId, 0n, 2n],
        [1, groupId, 0n, 2n],
      ]);
    for (const p of [0, 1]) {
      const stored = await firstValueFrom(lift.fetchCursor({ stream: name, partition: p, cursorId: `__group:${groupId}` }));
      expect(lag.latest()[p]?.committedOffset).toBe(stored);
    }
    // Another filter sees none of them.
    expect(await firstValueFrom(lift.lag$({ groupId: 'someone-else', intervalMs: 100 }))).toEqual([]);
  });

  it('rejects invalid options with InvalidArgumentError naming the field, before any call', async () => {
    const fresh = connect({ brokers: [broker.address] });
    try {
      await expect(firstValueFrom(fresh.lag$({ intervalMs: -1 }))).rejects.toMatchObject({ name: InvalidArgumentError.name, field: 'options.intervalMs' });
      await expect(firstValueFrom(fresh.lag$({ partition: 1.5 }))).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(firstValueFrom(fresh.lag$({ bogus: 1 } as never))).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(fresh.stats().connections).toEqual([]);
    } finally {
      await fresh.close();
    }
  });
});
