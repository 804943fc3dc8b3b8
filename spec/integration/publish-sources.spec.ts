/**
 * Source shapes of publishTo() against a real single node: the common RxJS shape (a synchronous
 * Observable), the same burst pulled from an iterable, and a source that fails while inputs wait.
 */
import { Subject, firstValueFrom, lastValueFrom, map, range, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { BufferOverflowError, connect, type LiftbridgeClient, StartAt, StopAt } from '../../src/index.js';
import { publishTo } from '../../src/publish/publish-to.js';
import type { Ack, PublishMessage } from '../../src/publish/types.js';
import { uniqueName, useSingleNode } from '../support/broker.js';

const broker = useSingleNode();
const clients: LiftbridgeClient[] = [];
function client(): LiftbridgeClient {
  const c = connect({ brokers: [broker.address], retry: { maxRetries: 3, initialDelayMs: 20, totalTimeoutMs: 20_000 } });
  clients.push(c);
  return c;
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

const N = 100_000;
const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);
const toMessage = (i: number): PublishMessage => ({ value: `order-${i}`, correlationId: `o-${i}` });

/** Acks for inputs 0..n-1 of a fresh single-partition stream: one each, in order, at offsets 0..n-1. */
function expectContiguous(acks: readonly Ack[], n: number): void {
  expect(acks).toHaveLength(n);
  for (let i = 0; i < n; i++) {
    if (acks[i]!.correlationId !== `o-${i}` || acks[i]!.offset !== BigInt(i)) {
      expect({ i, id: acks[i]!.correlationId, offset: acks[i]!.offset }).toEqual({ i, id: `o-${i}`, offset: BigInt(i) });
    }
  }
}

describe('publishTo: source shapes', () => {
  it('range(0, 100 000).pipe(map, publishTo) with the defaults fails at once with a BufferOverflowError naming the fixes', async () => {
    const lift = client();
    const name = uniqueName('syncburst');
    await firstValueFrom(lift.createStream({ name }));
    const error = await lastValueFrom(range(0, N).pipe(map(toMessage), publishTo(lift, name), toArray())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BufferOverflowError);
    expect((error as Error).message).toMatch(/synchronously.*publishTo\(client, stream\)\(iterable\).*maxBuffered/s);
  });

  it('the same 100 000 messages pulled from an iterable: every one acked in order and stored', async () => {
    const lift = client();
    const name = uniqueName('pulled');
    await firstValueFrom(lift.createStream({ name }));
    function* orders(): Generator<PublishMessage> {
      for (let i = 0; i < N; i++) yield toMessage(i);
    }
    const acks = await lastValueFrom(publishTo(lift, name)(orders()).pipe(toArray()));
    expectContiguous(acks, N);
    const stored = await lastValueFrom(lift.subscribe(name, { startAt: StartAt.earliest(), stopAt: StopAt.latest() }).pipe(toArray()));
    expect(stored).toHaveLength(N);
    stored.forEach((m, i) => {
      if (m.offset !== BigInt(i) || text(m.value) !== `order-${i}`)
        expect({ offset: m.offset, value: text(m.value) }).toEqual({ offset: BigInt(i), value: `order-${i}` });
    });
  });

  it('the RxJS shape with maxBuffered at least the burst: 100 000 messages acked in order', async () => {
    const lift = client();
    const name = uniqueName('buffered');
    await firstValueFrom(lift.createStream({ name }));
    const acks = await lastValueFrom(range(0, N).pipe(map(toMessage), publishTo(lift, name, { maxBuffered: N }), toArray()));
    expectContiguous(acks, N);
    const last = await lastValueFrom(lift.subscribe(name, { startAt: StartAt.offset(BigInt(N - 1)), stopAt: StopAt.latest() }).pipe(toArray()));
    expect(last.map((m) => text(m.value))).toEqual([`order-${N - 1}`]);
  });

  it('a source that fails while inputs are queued: every queued input is stored and acked, then the error', async () => {
    const lift = client();
    const name = uniqueName('srcfail');
    await firstValueFrom(lift.createStream({ name }));
    const source = new Subject<PublishMessage>();
    const acks: Ack[] = [];
    const done = new Promise<unknown>((resolve) => {
      source.pipe(publishTo(lift, name, { maxInFlight: 2 })).subscribe({ next: (a) => acks.push(a), error: resolve, complete: () => resolve('completed') });
    });
    for (let i = 0; i < 5; i++) source.next(toMessage(i));
    const boom = new Error('upstream failed');
    source.error(boom);
    expect(await done).toBe(boom);
    expectContiguous(acks, 5);
    const stored = await lastValueFrom(lift.subscribe(name, { startAt: StartAt.earliest(), stopAt: StopAt.latest() }).pipe(toArray()));
    expect(stored.map((m) => text(m.value))).toEqual([0, 1, 2, 3, 4].map((i) => `order-${i}`));
  });

  it('acks from the broker serialise with JSON.stringify (offsets and timestamps as strings)', async () => {
    const lift = client();
    const name = uniqueName('json');
    await firstValueFrom(lift.createStream({ name }));
    const acks = await lastValueFrom(publishTo(lift, name)([toMessage(0), toMessage(1)]).pipe(toArray()));
    const single = await firstValueFrom(lift.publish(name, 'x', { correlationId: 'single' }));
    const json = JSON.parse(JSON.stringify([...acks, single])) as Record<string, unknown>[];
    expect(json.map((a) => [a.offset, a.correlationId, a.stream])).toEqual([
      ['0', 'o-0', name],
      ['1', 'o-1', name],
      ['2', 'single', name],
    ]);
    for (const a of json) expect(BigInt(a.receptionTimestampNs as string)).toBeGreaterThan(0n);
  });
});
