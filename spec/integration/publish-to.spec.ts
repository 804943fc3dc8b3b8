/**
 * publishTo() and publishBulk() against a real single node: pipelining, order, backpressure,
 * outcomes per input, bulk publishing.
 */
import { Subject, firstValueFrom, lastValueFrom, map, range, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BufferOverflowError,
  connect,
  type LiftbridgeClient,
  type LiftbridgeError,
  type Message,
  NoSuchStreamError,
  ReadonlyPartitionError,
  StartAt,
  StopAt,
} from '../../src/index.js';
import { partitionForKey } from '../../src/publish/partitioner.js';
import { publishBulk } from '../../src/publish/publish-bulk.js';
import { publishTo } from '../../src/publish/publish-to.js';
import type { Ack, PublishMessage, PublishResult } from '../../src/publish/types.js';
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

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);

/** Every message of each partition up to the highest acked offset, by partition and offset. */
async function readBack(lift: LiftbridgeClient, stream: string, acks: readonly Ack[]): Promise<Map<string, Message>> {
  const last = new Map<number, bigint>();
  for (const a of acks) if ((last.get(a.partition) ?? -1n) < a.offset) last.set(a.partition, a.offset);
  const out = new Map<string, Message>();
  for (const [partition, offset] of last) {
    const messages = await lastValueFrom(lift.subscribe(stream, { partition, startAt: StartAt.earliest(), stopAt: StopAt.offset(offset) }).pipe(toArray()));
    for (const m of messages) out.set(`${partition}/${m.offset}`, m);
  }
  return out;
}

describe('publishTo', () => {
  it('publishes 20 000 keyed messages over 4 partitions; acks in input order; each is stored at its acked offset', async () => {
    const lift = client();
    const name = uniqueName('pipe');
    await firstValueFrom(lift.createStream({ name, partitions: 4 }));
    const N = 20_000;
    const inputs = Array.from(
      { length: N },
      (_, i): PublishMessage => ({ key: `k${i % 97}`, value: `v${i}`, headers: { i: String(i) }, correlationId: `id-${i}` }),
    );
    const acks = await lastValueFrom(publishTo(lift, name, { maxInFlight: 256, partitioner: 'key' })(inputs).pipe(toArray()));
    expect(acks.map((a) => a.correlationId)).toEqual(inputs.map((m) => m.correlationId));
    const stored = await readBack(lift, name, acks);
    expect(stored.size).toBe(N);
    acks.forEach((ack, i) => {
      expect(ack.partition).toBe(partitionForKey(enc(`k${i % 97}`), 4));
      const m = stored.get(`${ack.partition}/${ack.offset}`);
      expect(text(m?.value)).toBe(`v${i}`);
      expect(text(m?.key)).toBe(`k${i % 97}`);
      expect(text(m?.headers.i)).toBe(String(i));
    });
  });

  it('works in a pipe over an Observable, ordered: false emits as acks arrive (each input once)', async () => {
    const lift = client();
    const name = uniqueName('unordered');
    await firstValueFrom(lift.createStream({ name, partitions: 2 }));
    const acks = await lastValueFrom(
      range(0, 3000).pipe(
        map((i) => ({ value: `u${i}`, partition: i % 2, correlationId: `u-${i}` })),
        publishTo(lift, name, { maxInFlight: 64, maxBuffered: 3000, ordered: false, partitioner: 'round-robin' }),
        toArray(),
      ),
    );
    expect(new Set(acks.map((a) => a.correlationId)).size).toBe(3000);
    expect(acks.filter((a) => a.partition === 0)).toHaveLength(1500);
  });

  it('never has more than maxInFlight unsettled: an AsyncIterable source is pulled on demand', async () => {
    const lift = client();
    const name = uniqueName('bp');
    await firstValueFrom(lift.createStream({ name }));
    let pulled = 0;
    let emitted = 0;
    let maxOutstanding = 0;
    async function* source(): AsyncGenerator<string> {
      for (let i = 0; i < 2000; i++) {
        pulled++;
        maxOutstanding = Math.max(maxOutstanding, pulled - emitted);
        yield `m${i}`;
      }
    }
    await lastValueFrom(
      publishTo(lift, name, { maxInFlight: 16 })(source()).pipe(
        map((a) => {
          emitted++;
          return a;
        }),
        toArray(),
      ),
    );
    expect(emitted).toBe(2000);
    expect(maxOutstanding).toBeLessThanOrEqual(17); // 16 in flight + the one being handed over
    expect(maxOutstanding).toBeGreaterThan(1);
  });

  it('a hot Observable that outruns the window is buffered up to maxBuffered, then fails with BufferOverflowError', async () => {
    const lift = client();
    const name = uniqueName('hot');
    await firstValueFrom(lift.createStream({ name }));
    const hot = new Subject<string>();
    const result = lastValueFrom(hot.pipe(publishTo(lift, name, { maxInFlight: 4, maxBuffered: 10 }), toArray()));
    for (let i = 0; i < 100; i++) hot.next(`h${i}`);
    await expect(result).rejects.toBeInstanceOf(BufferOverflowError);
    expect(hot.observed).toBe(false);
  });

  it('failFast: false reports each input (acks and typed errors with their input) and the rest goes on', async () => {
    const lift = client();
    const name = uniqueName('mixed');
    await firstValueFrom(lift.createStream({ name, partitions: 2 }));
    await firstValueFrom(lift.setStreamReadonly(name, { partitions: [1] }));
    const inputs = Array.from({ length: 100 }, (_, i): PublishMessage => ({ value: `x${i}`, partition: i % 2, correlationId: `m-${i}` }));
    const results = await lastValueFrom(publishTo(lift, name, { failFast: false, retry: false })(inputs).pipe(toArray()));
    expect(results).toHaveLength(100);
    results.forEach((r: PublishResult, i) => {
      expect(r.input).toBe(inputs[i]);
      if (i % 2 === 0) expect(r.ok && r.ack.offset).toBe(BigInt(i / 2));
      else {
        expect(r.ok).toBe(false);
        if (!r.ok) {
          expect(r.error).toBeInstanceOf(ReadonlyPartitionError);
          expect(r.error.correlationId).toBe(`m-${i}`);
        }
      }
    });
  });

  it('failFast (default): ends with the first failure, after the acks of the inputs before it', async () => {
    const lift = client();
    const name = uniqueName('ff');
    await firstValueFrom(lift.createStream({ name, partitions: 2 }));
    await firstValueFrom(lift.setStreamReadonly(name, { partitions: [1] }));
    const inputs = [0, 0, 0, 1, 0, 0].map((partition, i) => ({ value: `f${i}`, partition, correlationId: `f-${i}` }));
    const seen: Ack[] = [];
    const error = await new Promise<unknown>((resolve) => {
      publishTo(lift, name, { retry: false })(inputs).subscribe({ next: (a) => seen.push(a), error: resolve, complete: () => resolve(undefined) });
    });
    expect(seen.map((a) => [a.correlationId, a.offset])).toEqual([
      ['f-0', 0n],
      ['f-1', 1n],
      ['f-2', 2n],
    ]);
    expect(error).toBeInstanceOf(ReadonlyPartitionError);
    expect((error as LiftbridgeError).correlationId).toBe('f-3');
  });

  it('runs over the grpc-js transport too', async () => {
    const lift = client();
    const name = uniqueName('grpcjs');
    await firstValueFrom(lift.createStream({ name }));
    const acks = await lastValueFrom(
      publishTo(lift, name, { maxInFlight: 32, transport: 'grpc-js' })(Array.from({ length: 500 }, (_, i) => `g${i}`)).pipe(toArray()),
    );
    expect(acks.map((a) => a.offset)).toEqual(Array.from({ length: 500 }, (_, i) => BigInt(i)));
    expect(
      lift
        .stats()
        .connections.flatMap((c) => c.connections)
        .every((c) => c.streams === 0),
    ).toBe(true);
  });
});

describe('publishBulk (gufo publish_bulk)', () => {
  it('publishes a prepared bulk to several streams; wait: true yields every ack', async () => {
    const lift = client();
    const a = uniqueName('bulk-a');
    const b = uniqueName('bulk-b');
    await firstValueFrom(lift.createStream({ name: a }));
    await firstValueFrom(lift.createStream({ name: b, partitions: 2 }));
    const bulk = Array.from({ length: 10 }, (_, i): PublishMessage => ({ value: `msg${i}`, stream: i % 2 === 0 ? a : b, partition: 0 }));
    const acks = await lastValueFrom(publishBulk(lift, bulk, { wait: true }).pipe(toArray()));
    expect(acks.map((x) => x.stream)).toEqual(bulk.map((m) => m.stream));
    expect(acks.filter((x) => x.stream === a).map((x) => x.offset)).toEqual([0n, 1n, 2n, 3n, 4n]);
  });

  it('wait: false completes once the last message was sent; the messages are stored anyway', async () => {
    const lift = client();
    const name = uniqueName('nowait');
    await firstValueFrom(lift.createStream({ name }));
    const acks = await lastValueFrom(
      publishBulk(
        lift,
        Array.from({ length: 2000 }, (_, i) => `w${i}`),
        { stream: name, wait: false, maxInFlight: 2000 },
      ).pipe(toArray()),
    );
    expect(acks.length).toBeLessThan(2000);
    const messages = await lastValueFrom(lift.subscribe(name, { startAt: StartAt.earliest(), stopAt: StopAt.offset(1999n) }).pipe(toArray()));
    expect(messages.map((m) => text(m.value))).toEqual(Array.from({ length: 2000 }, (_, i) => `w${i}`));
  });

  it('an input without a stream, or for an unknown stream, fails on its own with failFast: false', async () => {
    const lift = client();
    const name = uniqueName('bulk-errs');
    await firstValueFrom(lift.createStream({ name }));
    const results = await lastValueFrom(
      publishBulk(lift, [{ value: 'ok', stream: name }, { value: 'nowhere' }, { value: 'ghost', stream: uniqueName('ghost') }], { failFast: false }).pipe(
        toArray(),
      ),
    );
    expect(results.map((r) => r.ok)).toEqual([true, false, false]);
    expect(!results[1]!.ok && results[1]!.error.code).toBe('INVALID_ARGUMENT');
    expect(!results[2]!.ok && results[2]!.error).toBeInstanceOf(NoSuchStreamError);
  });
});
