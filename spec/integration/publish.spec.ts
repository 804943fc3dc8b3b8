/**
 * publish() (one message, one outcome) against a real single node: every option, every error,
 * on both transports.
 */
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AckTimeoutError,
  connect,
  IncorrectOffsetError,
  InvalidArgumentError,
  type LiftbridgeClient,
  LiftbridgeError,
  MessageTooLargeError,
  NoSuchPartitionError,
  NoSuchStreamError,
  ReadonlyPartitionError,
  StartAt,
  StopAt,
  type Message,
} from '../../src/index.js';
import { publish } from '../../src/publish/publish.js';
import { partitionForKey } from '../../src/publish/partitioner.js';
import type { Ack, Sent } from '../../src/publish/types.js';
import { uniqueName, useSingleNode } from '../support/broker.js';

const broker = useSingleNode();
const clients: LiftbridgeClient[] = [];
function client(): LiftbridgeClient {
  const c = connect({ brokers: [broker.address], retry: { maxRetries: 3, initialDelayMs: 20, totalTimeoutMs: 15_000 } });
  clients.push(c);
  return c;
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);

async function readAll(lift: LiftbridgeClient, stream: string, partition: number, last: bigint): Promise<Message[]> {
  return lastValueFrom(lift.subscribe(stream, { partition, startAt: StartAt.earliest(), stopAt: StopAt.offset(last) }).pipe(toArray()));
}

async function failure(o: Promise<unknown>): Promise<LiftbridgeError> {
  const e = await o.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(LiftbridgeError);
  return e as LiftbridgeError;
}

for (const transport of ['http2', 'grpc-js'] as const) {
  describe(`publish() over ${transport}`, () => {
    it('stores value, key and headers at the acked offset and echoes the correlation id', async () => {
      const lift = client();
      const name = uniqueName('pub');
      await firstValueFrom(lift.createStream({ name, partitions: 3 }));
      const ack = await firstValueFrom(
        publish(lift, name, 'hello', {
          key: 'k1',
          headers: { 'x-trace': 'abc', bin: new Uint8Array([0, 1, 255]) },
          partition: 2,
          correlationId: 'corr-1',
          transport,
        }),
      );
      expect(ack).toMatchObject({
        stream: name,
        partition: 2,
        offset: 0n,
        correlationId: 'corr-1',
        ackPolicy: 'leader',
        msgSubject: `${name}.2`,
        partitionSubject: name,
      });
      expect(ack.receptionTimestampNs).toBeGreaterThan(0n);
      const [m] = await readAll(lift, name, 2, ack.offset);
      expect(m?.offset).toBe(ack.offset);
      expect(text(m?.value)).toBe('hello');
      expect(text(m?.key)).toBe('k1');
      expect(text(m?.headers['x-trace'])).toBe('abc');
      expect([...(m?.headers.bin ?? [])]).toEqual([0, 1, 255]);
    });

    it("ackPolicy 'all' acks committed messages; 'none' emits a Sent receipt and the message is stored", async () => {
      const lift = client();
      const name = uniqueName('policy');
      await firstValueFrom(lift.createStream({ name }));
      const all = await firstValueFrom(publish(lift, name, 'a', { ackPolicy: 'all', transport }));
      expect(all.ackPolicy).toBe('all');
      expect(all.commitTimestampNs).toBeGreaterThan(0n);
      const sent: Sent = await firstValueFrom(publish(lift, name, 'n', { ackPolicy: 'none', correlationId: 'fire', transport }));
      expect(sent).toEqual({ type: 'sent', stream: name, partition: 0, correlationId: 'fire' });
      // It was stored after the first one: publish a third with an ack and read the three back.
      const third = await firstValueFrom(publish(lift, name, 'c', { transport }));
      expect(third.offset).toBe(2n);
      expect((await readAll(lift, name, 0, 2n)).map((m) => text(m.value))).toEqual(['a', 'n', 'c']);
    });

    it('partitioners: by key (like go-liftbridge), round-robin, custom; partition count from metadata', async () => {
      const lift = client();
      const name = uniqueName('parts');
      await firstValueFrom(lift.createStream({ name, partitions: 4 }));
      const keys = ['alpha', 'beta', 'gamma', '', 'δ'];
      for (const key of keys) {
        const ack = await firstValueFrom(publish(lift, name, 'v', { key, partitioner: 'key', transport }));
        expect(ack.partition).toBe(partitionForKey(new TextEncoder().encode(key), 4));
      }
      const rr: number[] = [];
      for (let i = 0; i < 8; i++) rr.push((await firstValueFrom(publish(lift, name, 'v', { partitioner: 'round-robin', transport }))).partition);
      expect(new Set(rr)).toEqual(new Set([0, 1, 2, 3]));
      for (let i = 1; i < rr.length; i++) expect(rr[i]).toBe((rr[i - 1]! + 1) % 4);
      const seen: number[] = [];
      const custom = await firstValueFrom(
        publish(lift, name, 'v', {
          partitioner: (m) => {
            seen.push(m.partitions);
            return m.partitions - 1;
          },
          transport,
        }),
      );
      expect(custom.partition).toBe(3);
      expect(seen).toEqual([4]);
      // An explicit partition wins over the partitioner.
      expect((await firstValueFrom(publish(lift, name, 'v', { partition: 1, partitioner: 'key', key: 'alpha', transport }))).partition).toBe(1);
    });

    it('optimistic concurrency: the expected offset is checked; -1 (unset) is not', async () => {
      const lift = client();
      const name = uniqueName('occ');
      await firstValueFrom(lift.createStream({ name, optimisticConcurrencyControl: true }));
      expect((await firstValueFrom(publish(lift, name, 'first', { expectedOffset: 0n, transport }))).offset).toBe(0n);
      expect((await firstValueFrom(publish(lift, name, 'second', { expectedOffset: 1n, transport }))).offset).toBe(1n);
      const e = await failure(firstValueFrom(publish(lift, name, 'stale', { expectedOffset: 1n, correlationId: 'occ-stale', transport })));
      expect(e).toBeInstanceOf(IncorrectOffsetError);
      expect(e.correlationId).toBe('occ-stale');
      expect((await firstValueFrom(publish(lift, name, 'any', { transport }))).offset).toBe(2n);
    });

    it('fails with typed errors carrying the correlation id: no stream, no partition, readonly', async () => {
      const lift = client();
      const name = uniqueName('errs');
      await firstValueFrom(lift.createStream({ name, partitions: 2 }));
      const noStream = await failure(firstValueFrom(publish(lift, uniqueName('missing'), 'v', { correlationId: 'c-ns', transport })));
      expect(noStream).toBeInstanceOf(NoSuchStreamError);
      expect(noStream.correlationId).toBe('c-ns');
      const noPartition = await failure(firstValueFrom(publish(lift, name, 'v', { partition: 7, correlationId: 'c-np', transport })));
      expect(noPartition).toBeInstanceOf(NoSuchPartitionError);
      expect(noPartition.correlationId).toBe('c-np');
      await firstValueFrom(lift.setStreamReadonly(name, { partitions: [1] }));
      const readonly = await failure(firstValueFrom(publish(lift, name, 'v', { partition: 1, correlationId: 'c-ro', retry: false, transport })));
      expect(readonly).toBeInstanceOf(ReadonlyPartitionError);
      expect(readonly.correlationId).toBe('c-ro');
      // partition 0 still takes messages
      expect((await firstValueFrom(publish(lift, name, 'v', { partition: 0, transport }))).offset).toBe(0n);
    });

    it('message too large: refused before sending above maxMessageBytes, and by the server above its limit', async () => {
      const lift = client();
      const name = uniqueName('big');
      await firstValueFrom(lift.createStream({ name }));
      const local = await failure(firstValueFrom(publish(lift, name, new Uint8Array(2 * 1024 * 1024), { transport })));
      expect(local).toBeInstanceOf(MessageTooLargeError);
      expect(
        lift
          .stats()
          .connections.flatMap((c) => c.connections)
          .every((c) => c.streams === 0),
      ).toBe(true);
      // Let it through the client: the broker (1 MiB max replication bytes / NATS max payload) refuses it.
      const server = await failure(
        firstValueFrom(
          publish(lift, name, new Uint8Array(1024 * 1024 + 100), {
            maxMessageBytes: 3 * 1024 * 1024,
            correlationId: 'c-big',
            retry: false,
            ackWaitMs: 3_000,
            transport,
          }),
        ),
      );
      expect(server).toBeInstanceOf(MessageTooLargeError);
      expect(server.correlationId).toBe('c-big');
      // The publisher is still healthy afterwards.
      expect((await firstValueFrom(publish(lift, name, 'small', { transport }))).offset).toBe(0n);
    });

    it('ack timeout: ackPolicy all on a partition that cannot commit (ISR below minIsr) ends with AckTimeoutError', async () => {
      const lift = client();
      const name = uniqueName('noisr');
      await firstValueFrom(lift.createStream({ name, minIsr: 2 }));
      const started = Date.now();
      const e = await failure(
        firstValueFrom(publish(lift, name, 'never committed', { ackPolicy: 'all', ackWaitMs: 300, retry: false, correlationId: 'c-to', transport })),
      );
      expect(e).toBeInstanceOf(AckTimeoutError);
      expect(e.correlationId).toBe('c-to');
      expect(Date.now() - started).toBeLessThan(3_000);
      // With resends (at-least-once), the same outcome after the policy's resends.
      const resent = await failure(
        firstValueFrom(publish(lift, name, 'x', { ackPolicy: 'all', ackWaitMs: 200, retry: { maxRetries: 2, initialDelayMs: 10 }, transport })),
      );
      expect(resent).toBeInstanceOf(AckTimeoutError);
      expect(resent.message).toMatch(/after 2 resends/);
    });
  });
}

describe('publish(): input checks and lifetime', () => {
  it('errors with InvalidArgumentError on subscribe, before any connection exists', async () => {
    const lift = client();
    await expect(firstValueFrom(publish(lift, 'x', 'v', { ackWaitMs: -1 }))).rejects.toThrow(InvalidArgumentError);
    await expect(firstValueFrom(publish(lift, 'x', 'v', { headers: 'h' as never }))).rejects.toThrow(/options\.headers/);
    expect(lift.stats().connections).toEqual([]);
  });

  it('is cold, and close() waits for a publish in flight', async () => {
    const lift = client();
    const name = uniqueName('cold');
    await firstValueFrom(lift.createStream({ name }));
    await firstValueFrom(lift.refreshMetadata());
    const cold = publish(lift, name, 'never sent');
    const pending = firstValueFrom(publish(lift, name, 'in flight'));
    await lift.close();
    const ack: Ack = await pending;
    expect(ack.offset).toBe(0n);
    void cold;
  });
});
