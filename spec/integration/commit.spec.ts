import fc from 'fast-check';
import { NEVER, Observable, Subject, firstValueFrom, lastValueFrom, of, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commit, connect, consume, type LiftbridgeClient, type PositionStore, StartAt, StopAt } from '../../src/index.js';
import { uniqueName, useSingleNode } from '../support/broker.js';

const broker = useSingleNode();
let lift: LiftbridgeClient;
beforeAll(() => {
  lift = connect({ brokers: [broker.address] });
});
afterAll(() => lift.destroy());

/** A position store kept in memory, as an application database would: records every save. */
class MemoryStore implements PositionStore {
  readonly description = 'memory';
  readonly positions = new Map<string, bigint>();
  readonly saves: { stream: string; partition: number; offset: bigint }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** `latencyMs` undefined: saves complete synchronously. */
  constructor(private readonly latencyMs?: number) {}
  load(stream: string, partition: number): Observable<bigint | undefined> {
    return of(this.positions.get(`${stream}/${partition}`));
  }
  save(stream: string, partition: number, offset: bigint): Observable<void> {
    return new Observable<void>((sub) => {
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      const done = (): void => {
        this.inFlight--;
        this.positions.set(`${stream}/${partition}`, offset);
        this.saves.push({ stream, partition, offset });
        sub.complete();
      };
      if (this.latencyMs === undefined) {
        done();
        return undefined;
      }
      const t = setTimeout(done, this.latencyMs);
      return () => clearTimeout(t);
    });
  }
  saved(partition = 0): bigint[] {
    return this.saves.filter((s) => s.partition === partition).map((s) => s.offset);
  }
}

async function stream(count: number, partitions = 1): Promise<string> {
  const name = uniqueName('commit');
  await firstValueFrom(lift.createStream({ name, partitions }));
  for (let i = 0; i < count; i++) await firstValueFrom(lift.publish(name, `m${i}`, { partition: i % partitions }));
  return name;
}

describe('commit()', () => {
  it('writes every `count` processed messages and flushes the rest on completion', async () => {
    const name = await stream(10);
    const store = new MemoryStore();
    await lastValueFrom(
      lift.subscribe(name, { startAt: StartAt.earliest(), stopAt: StopAt.latest() }).pipe(
        consume(() => undefined),
        commit(store, { count: 3, timeMs: 0 }),
      ),
    );
    expect(store.saved()).toEqual([2n, 5n, 8n, 9n]);
  });

  it('writes on the time sample while messages trickle in, without completing', async () => {
    const name = await stream(0);
    const store = new MemoryStore();
    const sub = lift
      .subscribe(name, { startAt: StartAt.earliest() })
      .pipe(
        consume(() => undefined),
        commit(store, { count: 1_000_000, timeMs: 100 }),
      )
      .subscribe();
    await expect.poll(() => lift.stats().subscriptions.some((s) => s.stream === name && s.callOpen)).toBe(true);
    for (let i = 0; i < 4; i++) await firstValueFrom(lift.publish(name, `m${i}`));
    await expect.poll(() => store.saved().at(-1), { timeout: 5_000 }).toBe(3n);
    sub.unsubscribe();
  });

  it('commits to Liftbridge cursors by default, and StartAt.cursor resumes after them', async () => {
    const name = await stream(6);
    await lastValueFrom(
      lift.subscribe(name, { startAt: StartAt.cursor('idx'), stopAt: StopAt.offset(3n) }).pipe(
        consume(() => undefined),
        commit(lift, 'idx', { count: 2 }),
      ),
    );
    expect(await firstValueFrom(lift.fetchCursor({ stream: name, partition: 0, cursorId: 'idx' }))).toBe(3n);
    const rest = await lastValueFrom(
      lift.subscribe(name, { startAt: StartAt.cursor('idx'), stopAt: StopAt.latest() }).pipe(
        consume(() => undefined),
        commit(lift, 'idx'),
        toArray(),
      ),
    );
    expect(rest.map((m) => m.offset)).toEqual([4n, 5n]);
    expect(await firstValueFrom(lift.fetchCursor({ stream: name, partition: 0, cursorId: 'idx' }))).toBe(5n);
  });

  it('keeps one write in flight per partition, the latest value winning, never moving backwards', async () => {
    const name = await stream(200, 2);
    const store = new MemoryStore(30);
    await lastValueFrom(
      lift.subscribe(name, { partitions: 'all', startAt: StartAt.earliest(), stopAt: StopAt.latest() }).pipe(
        consume(() => undefined),
        commit(store, { count: 1 }),
      ),
    );
    expect(store.maxInFlight).toBeLessThanOrEqual(2); // one per partition
    for (const p of [0, 1]) {
      const saved = store.saved(p);
      expect(saved.length).toBeLessThan(100); // coalesced, not one write per message
      expect(saved.every((v, i) => i === 0 || v > saved[i - 1]!)).toBe(true);
      expect(saved.at(-1)).toBe(99n);
    }
  });

  it('never commits past an unprocessed message under concurrent out-of-order processing (property)', async () => {
    const name = await stream(60);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 60, maxLength: 60 }), fc.integer({ min: 1, max: 7 }), async (delays, count) => {
        const store = new MemoryStore();
        const processed = new Set<bigint>();
        const violations: string[] = [];
        const origSave = store.save.bind(store);
        store.save = (s, p, offset) => {
          for (let o = 0n; o <= offset; o++) if (!processed.has(o)) violations.push(`saved ${offset} before ${o} was processed`);
          return origSave(s, p, offset);
        };
        await lastValueFrom(
          lift.subscribe(name, { startAt: StartAt.earliest(), stopAt: StopAt.latest(), prefetch: 16 }).pipe(
            consume(
              (m) =>
                new Promise<void>((resolve) =>
                  setTimeout(() => {
                    processed.add(m.offset);
                    resolve();
                  }, delays[Number(m.offset)] ?? 0),
                ),
              { concurrency: 8 },
            ),
            commit(store, { count, timeMs: 0 }),
          ),
        );
        expect(violations).toEqual([]);
        expect(store.saved().at(-1)).toBe(59n);
        const saved = store.saved();
        expect(saved.every((v, i) => i === 0 || v > saved[i - 1]!)).toBe(true);
      }),
      { numRuns: 8 },
    );
  }, 120_000);

  it('holds messages behind a stuck one within prefetch (memory stays bounded) and commits only up to it', async () => {
    const name = await stream(100);
    const store = new MemoryStore();
    const sub = lift
      .subscribe(name, { startAt: StartAt.earliest(), prefetch: 10 })
      .pipe(
        consume((m) => (m.offset === 3n ? NEVER : undefined), { concurrency: 4 }),
        commit(store, { count: 1, timeMs: 0 }),
      )
      .subscribe();
    await expect.poll(() => lift.stats().subscriptions.find((s) => s.stream === name)?.paused).toBe(true);
    const s = lift.stats().subscriptions.find((x) => x.stream === name)!;
    // 0..2 were processed and committed during delivery; 3 is stuck; 4..12 wait behind it.
    expect(s.unsettled).toBe(10);
    expect(s.delivered).toBe(13);
    expect(store.saved().at(-1)).toBe(2n);
    sub.unsubscribe();
  });

  it('flushes the processed prefix when unsubscribed', async () => {
    const name = await stream(20);
    const store = new MemoryStore();
    const processed = new Subject<bigint>();
    let seen = 0;
    processed.subscribe(() => seen++);
    const sub = lift
      .subscribe(name, { startAt: StartAt.earliest() })
      .pipe(
        consume((m) => void processed.next(m.offset)),
        commit(store, { count: 1_000, timeMs: 0 }),
      )
      .subscribe();
    await expect.poll(() => seen).toBe(20);
    expect(store.saved()).toEqual([]);
    sub.unsubscribe();
    await expect.poll(() => store.saved()).toEqual([19n]);
  });

  it("at-most-once: with emit 'committed' before processing, a message is processed only after a stored position covers it", async () => {
    const name = await stream(25);
    const store = new MemoryStore(5);
    const problems: string[] = [];
    await lastValueFrom(
      lift.subscribe(name, { startAt: StartAt.stored(store), stopAt: StopAt.latest() }).pipe(
        commit(store, { count: 4, timeMs: 0, emit: 'committed' }),
        consume((m) => {
          const stored = store.positions.get(`${name}/0`);
          if (stored === undefined || stored < m.offset) problems.push(`processing ${m.offset} with stored ${stored}`);
        }),
      ),
    );
    expect(problems).toEqual([]);
    expect(store.positions.get(`${name}/0`)).toBe(24n);
  });

  it('a position store of the application is a real seam: StartAt.stored resumes from it', async () => {
    const name = await stream(8, 2);
    const store = new MemoryStore();
    store.positions.set(`${name}/0`, 1n); // processed up to offset 1 of partition 0
    const got = await lastValueFrom(
      lift.subscribe(name, { partitions: 'all', startAt: StartAt.stored(store), stopAt: StopAt.latest() }).pipe(
        consume(() => undefined),
        commit(store),
        toArray(),
      ),
    );
    expect(got.filter((m) => m.partition === 0).map((m) => m.offset)).toEqual([2n, 3n]);
    expect(got.filter((m) => m.partition === 1).map((m) => m.offset)).toEqual([0n, 1n, 2n, 3n]);
    expect(store.positions.get(`${name}/0`)).toBe(3n);
    expect(store.positions.get(`${name}/1`)).toBe(3n);
  });
});
