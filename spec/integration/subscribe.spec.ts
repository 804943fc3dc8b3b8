import { NEVER, Subject, firstValueFrom, lastValueFrom, take, takeUntil, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connect,
  consume,
  InvalidArgumentError,
  type LiftbridgeClient,
  type Message,
  NoSuchPartitionError,
  NoSuchStreamError,
  PartitionPausedError,
  StartAt,
  StopAt,
} from '../../src/index.js';
import { uniqueName, useSingleNode } from '../support/broker.js';

const broker = useSingleNode();
let lift: LiftbridgeClient;
beforeAll(() => {
  lift = connect({ brokers: [broker.address], retry: { maxRetries: 3, initialDelayMs: 20 } });
});
afterAll(() => lift.destroy());

const dec = new TextDecoder();
const text = (m: Message): string => dec.decode(m.value);

async function streamWith(count: number, partitions = 1, prefix = 'sub'): Promise<string> {
  const name = uniqueName(prefix);
  await firstValueFrom(lift.createStream({ name, partitions }));
  for (let p = 0; p < partitions; p++) {
    for (let i = 0; i < count; i++) await firstValueFrom(lift.publish(name, `p${p}-${i}`, { partition: p, key: `k${i}` }));
  }
  return name;
}

function readAll(name: string, options: Parameters<LiftbridgeClient['subscribe']>[1]): Promise<Message[]> {
  return lastValueFrom(lift.subscribe(name, options).pipe(toArray()));
}

describe('start and stop positions', () => {
  let name: string;
  let middleNs: bigint;
  beforeAll(async () => {
    name = await streamWith(3);
    const all = await readAll(name, { startAt: StartAt.earliest(), stopAt: StopAt.latest() });
    middleNs = all[1]!.timestampNs;
  });

  it('earliest .. latest reads everything, with exact fields', async () => {
    const all = await readAll(name, { startAt: StartAt.earliest(), stopAt: StopAt.latest() });
    expect(all.map((m) => [m.offset, text(m), dec.decode(m.key)])).toEqual([
      [0n, 'p0-0', 'k0'],
      [1n, 'p0-1', 'k1'],
      [2n, 'p0-2', 'k2'],
    ]);
    for (const m of all) {
      expect(m.stream).toBe(name);
      expect(m.partition).toBe(0);
      expect(m.subject).toBe(name);
      expect(m.timestampNs).toBeGreaterThan(1_600_000_000_000_000_000n);
      expect(m.timestamp.getTime()).toBe(Number(m.timestampNs / 1_000_000n));
    }
  });

  it('offset, latest and time starts', async () => {
    expect((await readAll(name, { startAt: StartAt.offset(1n), stopAt: StopAt.latest() })).map((m) => m.offset)).toEqual([1n, 2n]);
    expect((await readAll(name, { startAt: StartAt.latest(), stopAt: StopAt.latest() })).map((m) => m.offset)).toEqual([2n]);
    expect((await readAll(name, { startAt: StartAt.time(middleNs), stopAt: StopAt.latest() })).map((m) => m.offset)).toEqual([1n, 2n]);
    expect((await readAll(name, { startAt: StartAt.ago(60_000), stopAt: StopAt.latest() })).map((m) => m.offset)).toEqual([0n, 1n, 2n]);
  });

  it('offset and time stops', async () => {
    expect((await readAll(name, { startAt: StartAt.earliest(), stopAt: StopAt.offset(1n) })).map((m) => m.offset)).toEqual([0n, 1n]);
    expect((await readAll(name, { startAt: StartAt.earliest(), stopAt: StopAt.time(middleNs) })).map((m) => m.offset)).toEqual([0n, 1n]);
  });

  it('new-only delivers only what is published after the subscription started, never the handshake', async () => {
    const fresh = await streamWith(2, 1, 'newonly');
    const got = firstValueFrom(lift.subscribe(fresh).pipe(take(1)));
    // The subscription is set up once its call is open and the handshake arrived; publish after that.
    await expect.poll(() => lift.stats().subscriptions.some((s) => s.stream === fresh && s.callOpen)).toBe(true);
    await new Promise((r) => setTimeout(r, 50)); // let the handshake land before publishing
    await firstValueFrom(lift.publish(fresh, 'later'));
    const m = await got;
    expect(m.offset).toBe(2n);
    expect(text(m)).toBe('later');
  });

  it('an empty partition with StopAt.latest completes without messages', async () => {
    const empty = uniqueName('empty');
    await firstValueFrom(lift.createStream({ name: empty }));
    expect(await readAll(empty, { startAt: StartAt.earliest(), stopAt: StopAt.latest() })).toEqual([]);
  });

  it('StopAt.latest from an offset past the newest message completes empty (also per partition when several are read)', async () => {
    // The broker refuses a stop before the start ("Stop offset is before start offset"); the SDK
    // turned StopAt.latest into that stop itself, so the read is simply empty.
    expect(await readAll(name, { startAt: StartAt.offset(5n), stopAt: StopAt.latest() })).toEqual([]);
    const uneven = uniqueName('uneven');
    await firstValueFrom(lift.createStream({ name: uneven, partitions: 2 }));
    for (let i = 0; i < 3; i++) await firstValueFrom(lift.publish(uneven, `p0-${i}`, { partition: 0 }));
    await firstValueFrom(lift.publish(uneven, 'p1-0', { partition: 1 }));
    const got = await readAll(uneven, { partitions: 'all', startAt: StartAt.offset(2n), stopAt: StopAt.latest() });
    expect(got.map((m) => [m.partition, m.offset, text(m)])).toEqual([[0, 2n, 'p0-2']]);
  });

  it('rejects invalid options before any I/O (the Observable errors on subscribe)', async () => {
    await expect(firstValueFrom(lift.subscribe(name, { partition: -1 }))).rejects.toThrow(InvalidArgumentError);
    await expect(firstValueFrom(lift.subscribe(name, { startAt: { type: 'offset', offset: -1n } }))).rejects.toThrow(InvalidArgumentError);
    await expect(firstValueFrom(lift.subscribe(name, { prefetch: 0 }))).rejects.toThrow(InvalidArgumentError);
    await expect(firstValueFrom(lift.subscribe(name, { partitions: [] }))).rejects.toThrow(InvalidArgumentError);
    await expect(firstValueFrom(lift.subscribe(name, { partition: 1, partitions: [1] }))).rejects.toThrow(InvalidArgumentError);
    await expect(firstValueFrom(lift.subscribe('', {}))).rejects.toThrow(InvalidArgumentError);
  });
});

describe('several partitions', () => {
  it("reads a list or 'all' partitions merged, each in order", async () => {
    const name = await streamWith(20, 3, 'multi');
    for (const partitions of ['all', [0, 1, 2]] as const) {
      const all = await readAll(name, { partitions, startAt: StartAt.earliest(), stopAt: StopAt.latest() });
      expect(all).toHaveLength(60);
      for (const p of [0, 1, 2]) {
        const mine = all.filter((m) => m.partition === p);
        expect(mine.map((m) => m.offset)).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(i)));
        expect(mine.map(text)).toEqual(Array.from({ length: 20 }, (_, i) => `p${p}-${i}`));
      }
    }
  });

  it('reads from an in-sync replica', async () => {
    const name = await streamWith(3, 1, 'isr');
    const all = await readAll(name, { readIsrReplica: true, startAt: StartAt.earliest(), stopAt: StopAt.latest() });
    expect(all.map((m) => m.offset)).toEqual([0n, 1n, 2n]);
  });
});

describe('per-partition backpressure', () => {
  it('never has more than prefetch unsettled messages per partition under a slow consumer', async () => {
    const name = await streamWith(150, 1, 'bp');
    let peakInHandler = 0;
    let inHandler = 0;
    const done = await lastValueFrom(
      lift.subscribe(name, { startAt: StartAt.earliest(), stopAt: StopAt.latest(), prefetch: 10 }).pipe(
        consume(
          async () => {
            inHandler++;
            peakInHandler = Math.max(peakInHandler, inHandler);
            await new Promise((r) => setTimeout(r, 1));
            inHandler--;
          },
          { concurrency: 4 },
        ),
        toArray(),
      ),
    );
    expect(done).toHaveLength(150);
    expect(peakInHandler).toBeLessThanOrEqual(4);
    // The counters of the finished subscription are gone; check them on a live one.
    const live = lift
      .subscribe(name, { startAt: StartAt.earliest(), prefetch: 10 })
      .pipe(consume(() => NEVER))
      .subscribe();
    await expect.poll(() => lift.stats().subscriptions.find((s) => s.stream === name)?.paused).toBe(true);
    const s = lift.stats().subscriptions.find((x) => x.stream === name)!;
    expect(s.unsettled).toBe(10);
    expect(s.maxUnsettled).toBe(10);
    expect(s.delivered).toBe(10);
    live.unsubscribe();
  });

  it('delivers every message up to the stop position even when the stream was paused for backpressure', async () => {
    // grpc-js drops buffered messages when a call ends with a non-OK status, which is how
    // Liftbridge ends a stop position: the subscription must read the tail again.
    const name = await streamWith(150, 2, 'tail');
    for (const stopAt of [StopAt.latest(), StopAt.offset(149n), StopAt.time(BigInt(Date.now() + 60_000) * 1_000_000n)]) {
      const got = await lastValueFrom(
        lift.subscribe(name, { partitions: 'all', startAt: StartAt.earliest(), stopAt, prefetch: 8 }).pipe(
          // Slow enough that the stream is paused with messages unsettled when the stop arrives.
          consume(() => new Promise((r) => setTimeout(r, 2)), { concurrency: 2 }),
          toArray(),
        ),
        { defaultValue: [] },
      );
      for (const p of [0, 1]) {
        expect(
          got
            .filter((m) => m.partition === p)
            .map((m) => m.offset)
            .sort((a, b) => (a < b ? -1 : 1)),
        ).toEqual(Array.from({ length: 150 }, (_, i) => BigInt(i)));
      }
    }
  });

  it('a blocked handler on one partition does not slow the others', async () => {
    const name = await streamWith(300, 2, 'blocked');
    const release = new Subject<void>();
    const handled = [0, 0];
    const sub = lift
      .subscribe(name, { partitions: 'all', startAt: StartAt.earliest(), prefetch: 16 })
      .pipe(
        consume(
          (m) => {
            handled[m.partition]!++;
            // Partition 0 blocks until the test releases it.
            return m.partition === 0 ? release.pipe(take(1)) : undefined;
          },
          { concurrency: 2 },
        ),
      )
      .subscribe();
    await expect.poll(() => handled[1], { timeout: 20_000 }).toBe(300);
    const p0 = lift.stats().subscriptions.find((s) => s.stream === name && s.partition === 0)!;
    expect(handled[0]).toBe(2); // only its concurrency slots are in use
    expect(p0.unsettled).toBe(16);
    expect(p0.paused).toBe(true);
    // Releasing partition 0 lets it finish too.
    const releaseAll = setInterval(() => release.next(), 1);
    await expect.poll(() => handled[0], { timeout: 20_000 }).toBe(300);
    clearInterval(releaseAll);
    sub.unsubscribe();
  });
});

describe('cancellation', () => {
  it('unsubscribing ends the gRPC call at once, also on an idle partition', async () => {
    const name = uniqueName('idle');
    await firstValueFrom(lift.createStream({ name }));
    const before = lift.stats().openSubscribeCalls;
    const sub = lift.subscribe(name).subscribe();
    await expect.poll(() => lift.stats().openSubscribeCalls).toBe(before + 1);
    sub.unsubscribe();
    // grpc-js reports the call's final status only once it really ended.
    await expect.poll(() => lift.stats().openSubscribeCalls, { timeout: 2_000 }).toBe(before);
    expect(lift.stats().subscriptions.some((s) => s.stream === name)).toBe(false);
  });
});

describe('terminal conditions', () => {
  it('no such stream / partition at setup', async () => {
    await expect(firstValueFrom(lift.subscribe(uniqueName('nope')))).rejects.toBeInstanceOf(NoSuchStreamError);
    const name = await streamWith(1, 1, 'nopart');
    await expect(firstValueFrom(lift.subscribe(name, { partition: 4 }))).rejects.toBeInstanceOf(NoSuchPartitionError);
    await expect(firstValueFrom(lift.subscribe(uniqueName('nope'), { partitions: 'all' }))).rejects.toBeInstanceOf(NoSuchStreamError);
  });

  it('a stream deleted under a subscription ends it with NoSuchStreamError', async () => {
    const name = await streamWith(2, 1, 'delsub');
    const result = lastValueFrom(lift.subscribe(name, { startAt: StartAt.earliest() }).pipe(toArray())).catch((e: unknown) => e);
    await expect.poll(() => lift.stats().subscriptions.find((s) => s.stream === name)?.delivered).toBe(2);
    await firstValueFrom(lift.deleteStream(name));
    expect(await result).toBeInstanceOf(NoSuchStreamError);
  });

  it('a partition paused under a subscription ends it with PartitionPausedError', async () => {
    const name = await streamWith(2, 1, 'pausesub');
    const result = lastValueFrom(lift.subscribe(name, { startAt: StartAt.earliest() }).pipe(toArray())).catch((e: unknown) => e);
    await expect.poll(() => lift.stats().subscriptions.find((s) => s.stream === name)?.delivered).toBe(2);
    await firstValueFrom(lift.pauseStream(name));
    expect(await result).toBeInstanceOf(PartitionPausedError);
  });

  it('a partition made readonly completes its subscription after the last message', async () => {
    const name = await streamWith(2, 1, 'rosub');
    const result = lastValueFrom(lift.subscribe(name, { startAt: StartAt.earliest() }).pipe(toArray()));
    await expect.poll(() => lift.stats().subscriptions.find((s) => s.stream === name)?.delivered).toBe(2);
    await firstValueFrom(lift.setStreamReadonly(name));
    expect((await result).map((m) => m.offset)).toEqual([0n, 1n]);
  });

  it('close() completes live subscriptions', async () => {
    const other = connect({ brokers: [broker.address] });
    const name = await streamWith(1, 1, 'closesub');
    const stop = new Subject<void>();
    const result = lastValueFrom(other.subscribe(name, { startAt: StartAt.earliest() }).pipe(takeUntil(stop), toArray()));
    await expect.poll(() => other.stats().subscriptions.find((s) => s.stream === name)?.delivered).toBe(1);
    await other.close();
    expect((await result).map((m) => m.offset)).toEqual([0n]);
    await expect.poll(() => other.stats().openSubscribeCalls).toBe(0);
  });
});
