/**
 * Settlement and commit() against a real broker: operators that drop messages, the at-most-once
 * defaults, and stored starts that find nothing stored (issue 8, items 8.6-8.8).
 */
import { EMPTY, Observable, filter, firstValueFrom, lastValueFrom, of, timeout, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commit, connect, consume, InvalidArgumentError, type LiftbridgeClient, type PositionStore, publishBulk, StartAt, StopAt } from '../../src/index.js';
import { uniqueName, useSingleNode } from '../support/broker.js';

const broker = useSingleNode();
let lift: LiftbridgeClient;
beforeAll(() => {
  lift = connect({ brokers: [broker.address] });
});
afterAll(() => lift.destroy());

/** Positions in memory; every confirmed save is recorded. */
class MemoryStore implements PositionStore {
  readonly description = 'memory';
  readonly positions = new Map<string, bigint>();
  readonly saves: bigint[] = [];
  load(stream: string, partition: number): Observable<bigint | undefined> {
    return of(this.positions.get(`${stream}/${partition}`));
  }
  save(stream: string, partition: number, offset: bigint): Observable<void> {
    return new Observable<void>((sub) => {
      this.positions.set(`${stream}/${partition}`, offset);
      this.saves.push(offset);
      sub.complete();
    });
  }
}

async function stream(count: number): Promise<string> {
  const name = uniqueName('settle');
  await firstValueFrom(lift.createStream({ name }));
  for (let i = 0; i < count; i += 50) {
    await lastValueFrom(
      publishBulk(
        lift,
        Array.from({ length: Math.min(50, count - i) }, (_, j) => ({ stream: name, partition: 0, value: `m${i + j}` })),
        { wait: true },
      ),
    );
  }
  return name;
}

const offsets = (ms: { offset: bigint }[]): bigint[] => ms.map((m) => m.offset);
const range = (from: number, to: number): bigint[] => Array.from({ length: to - from }, (_, i) => BigInt(from + i));

describe('operators that drop messages between subscribe() and commit() (8.7)', () => {
  it('a filter after consume() neither stalls the partition nor blocks the commit', async () => {
    const name = await stream(10);
    const store = new MemoryStore();
    const out = await lastValueFrom(
      lift.subscribe(name, { startAt: StartAt.earliest(), stopAt: StopAt.latest(), prefetch: 4 }).pipe(
        consume(() => undefined),
        filter((m) => m.offset !== 1n),
        commit(store, { count: 1, timeMs: 0 }),
        toArray(),
        timeout(10_000),
      ),
    );
    expect(offsets(out)).toEqual(range(0, 10).filter((o) => o !== 1n));
    expect(store.positions.get(`${name}/0`)).toBe(9n);
  });

  it('a filter before consume() settles what it drops', async () => {
    const name = await stream(40);
    const store = new MemoryStore();
    const out = await lastValueFrom(
      lift.subscribe(name, { startAt: StartAt.earliest(), stopAt: StopAt.latest(), prefetch: 4 }).pipe(
        filter((m) => m.offset % 3n !== 0n),
        consume(() => new Promise<void>((r) => setImmediate(r)), { concurrency: 2 }),
        commit(store, { count: 5, timeMs: 0 }),
        toArray(),
        timeout(10_000),
      ),
    );
    expect(offsets(out).sort((a, b) => (a < b ? -1 : 1))).toEqual(range(0, 40).filter((o) => o % 3n !== 0n));
    expect(store.positions.get(`${name}/0`)).toBe(39n);
  });
});

describe("commit({ emit: 'committed' }) with the defaults (8.6)", () => {
  it('does not deadlock with the default count and prefetch, even without a timer', async () => {
    const name = await stream(600);
    const store = new MemoryStore();
    const processed: bigint[] = [];
    await lastValueFrom(
      lift.subscribe(name, { startAt: StartAt.earliest(), stopAt: StopAt.latest() }).pipe(
        commit(store, { emit: 'committed', timeMs: 0 }),
        consume((m) => void processed.push(m.offset)),
        timeout(10_000),
      ),
    );
    expect(processed).toEqual(range(0, 600));
    expect(store.positions.get(`${name}/0`)).toBe(599n);
  });

  it('keeps messages moving with every option at its default (no 5 s stall per window)', async () => {
    const name = await stream(600);
    const store = new MemoryStore();
    const processed: bigint[] = [];
    await lastValueFrom(
      lift.subscribe(name, { startAt: StartAt.earliest(), stopAt: StopAt.latest() }).pipe(
        commit(store, { emit: 'committed' }),
        consume((m) => void processed.push(m.offset)),
        timeout(4_000),
      ),
    );
    expect(processed).toEqual(range(0, 600));
  });

  it('rejects a count that can never be reached within prefetch, naming the fields, before any write', async () => {
    const name = await stream(20);
    const store = new MemoryStore();
    const error = await lastValueFrom(
      lift.subscribe(name, { startAt: StartAt.earliest(), prefetch: 8 }).pipe(
        commit(store, { emit: 'committed', count: 9, timeMs: 0 }),
        consume(() => undefined),
        timeout(10_000),
      ),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).message).toMatch(/options\.count/);
    expect((error as InvalidArgumentError).message).toMatch(/prefetch/);
    expect(store.saves).toEqual([]);
  });
});

describe('stored starts (8.8)', () => {
  it('a PositionStore whose load completes empty means "nothing stored": start per the fallback', async () => {
    const name = await stream(5);
    const store: PositionStore = { load: () => EMPTY, save: () => of(undefined) };
    const out = await lastValueFrom(
      lift.subscribe(name, { startAt: StartAt.stored(store, StartAt.earliest()), stopAt: StopAt.latest() }).pipe(toArray(), timeout(10_000)),
    );
    expect(offsets(out)).toEqual(range(0, 5));
  });
});
