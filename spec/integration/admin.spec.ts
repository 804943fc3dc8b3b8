import { firstValueFrom, lastValueFrom, filter, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  connect,
  InvalidArgumentError,
  type LiftbridgeClient,
  NoSuchPartitionError,
  NoSuchStreamError,
  PartitionPausedError,
  ReadonlyPartitionError,
  StartAt,
  StopAt,
  StreamExistsError,
} from '../../src/index.js';
import { uniqueName, useSingleNode } from '../support/broker.js';

const broker = useSingleNode();
const clients: LiftbridgeClient[] = [];
function client(extra: Partial<Parameters<typeof connect>[0]> = {}): LiftbridgeClient {
  const c = connect({ brokers: [broker.address], retry: { maxRetries: 3, initialDelayMs: 20 }, ...extra });
  clients.push(c);
  return c;
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
});

describe('createStream', () => {
  it('creates a stream with every option, visible in metadata with its partitions', async () => {
    const lift = client();
    const name = uniqueName('all-opts');
    await firstValueFrom(
      lift.createStream({
        name,
        subject: `${name}.subj`,
        partitions: 3,
        replicationFactor: 1,
        group: 'g1',
        retention: { maxBytes: 1_000_000n, maxMessages: 1000, maxAgeMs: 3_600_000 },
        segment: { maxBytes: 100_000, maxAgeMs: 600_000 },
        cleanerIntervalMs: 60_000,
        compaction: { enabled: true, maxGoroutines: 2 },
        autoPause: { timeMs: 0, disableIfSubscribers: true },
        minIsr: 1,
        optimisticConcurrencyControl: false,
        encryption: false,
      }),
    );
    const meta = await firstValueFrom(lift.refreshMetadata());
    const stream = meta.stream(name);
    expect(stream?.subject).toBe(`${name}.subj`);
    expect(stream?.partitions.map((p) => p.id)).toEqual([0, 1, 2]);
    expect(stream?.partitions.every((p) => p.leader === broker.id && p.isr.includes(broker.id))).toBe(true);
  });

  it('defaults the subject to the name and creates one partition', async () => {
    const lift = client();
    const name = uniqueName('defaults');
    await firstValueFrom(lift.createStream({ name }));
    const meta = await firstValueFrom(lift.refreshMetadata());
    expect(meta.stream(name)?.subject).toBe(name);
    expect(meta.stream(name)?.partitions).toHaveLength(1);
  });

  it('fails with StreamExistsError when the name is taken', async () => {
    const lift = client();
    const name = uniqueName('dup');
    await firstValueFrom(lift.createStream({ name }));
    const error = await firstValueFrom(lift.createStream({ name, subject: 'other' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamExistsError);
    expect((error as StreamExistsError).retriable).toBe(false);
  });

  it('maps the server rejecting a replication factor larger than the cluster to InvalidArgumentError', async () => {
    const lift = client();
    const error = await firstValueFrom(lift.createStream({ name: uniqueName('rf'), replicationFactor: 3 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).grpcCode).toBe('INVALID_ARGUMENT');
  });

  it.each([
    [{ name: '' }, 'name'],
    [{ name: 'has space' }, 'name'],
    [{ name: 'a/b' }, 'name'],
    [{ name: '__cursors' }, 'name'],
    [{ name: 'ok', partitions: 0 }, 'partitions'],
    [{ name: 'ok', partitions: -1 }, 'partitions'],
    [{ name: 'ok', replicationFactor: 0 }, 'replicationFactor'],
    [{ name: 'ok', replicationFactor: -2 }, 'replicationFactor'],
    [{ name: 'ok', subject: 'a..b' }, 'subject'],
    [{ name: 'ok', retention: { maxAgeMs: -5 } }, 'retention.maxAgeMs'],
    [{ name: 'ok', partitionz: 2 }, 'partitionz'],
  ])('rejects %j before any I/O, naming %s', async (options, field) => {
    const lift = client();
    const thrown = await firstValueFrom(lift.createStream(options as never)).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(InvalidArgumentError);
    expect((thrown as InvalidArgumentError).field).toBe(field);
    expect(lift.stats().connections).toEqual([]);
  });
});

describe('deleteStream', () => {
  it('deletes a stream: metadata no longer lists it and reading it fails', async () => {
    const lift = client();
    const name = uniqueName('del');
    await firstValueFrom(lift.createStream({ name }));
    await firstValueFrom(lift.deleteStream(name));
    const meta = await firstValueFrom(lift.refreshMetadata());
    expect(meta.stream(name)).toBeUndefined();
    await expect(firstValueFrom(lift.fetchPartitionMetadata(name, 0))).rejects.toBeInstanceOf(NoSuchStreamError);
  });

  it('fails with NoSuchStreamError for an unknown stream', async () => {
    const lift = client();
    await expect(firstValueFrom(lift.deleteStream(uniqueName('nope')))).rejects.toBeInstanceOf(NoSuchStreamError);
  });
});

describe('pauseStream', () => {
  it('pauses some partitions; a publish resumes the partition it targets', async () => {
    const lift = client();
    const name = uniqueName('pause');
    await firstValueFrom(lift.createStream({ name, partitions: 2 }));
    await firstValueFrom(lift.pauseStream(name, { partitions: [0] }));
    const meta = await firstValueFrom(lift.refreshMetadata());
    expect(meta.partition(name, 0)?.paused).toBe(true);
    expect(meta.partition(name, 1)?.paused).toBe(false);
    await expect(firstValueFrom(lift.fetchPartitionMetadata(name, 0))).rejects.toBeInstanceOf(PartitionPausedError);
    const ack = await firstValueFrom(lift.publish(name, 'wake up', { partition: 0 }));
    expect(ack.offset).toBe(0n);
    // Resumed: its leader answers again. (v1.9.0's FetchMetadata keeps reporting paused=true.)
    const p0 = await firstValueFrom(lift.fetchPartitionMetadata(name, 0));
    expect(p0.newestOffset).toBe(0n);
  });

  it('pauses all partitions with resumeAll: one publish resumes every partition', async () => {
    const lift = client();
    const name = uniqueName('pause-all');
    await firstValueFrom(lift.createStream({ name, partitions: 3 }));
    await firstValueFrom(lift.pauseStream(name, { resumeAll: true }));
    const paused = await firstValueFrom(lift.refreshMetadata());
    expect(paused.stream(name)?.partitions.every((p) => p.paused)).toBe(true);
    await firstValueFrom(lift.publish(name, 'x', { partition: 2 }));
    // Every partition is served again (the others resume asynchronously after the publish).
    for (const id of [0, 1, 2]) {
      await expect
        .poll(
          () =>
            firstValueFrom(lift.fetchPartitionMetadata(name, id)).then(
              (p) => p.id,
              (e: Error) => e.name,
            ),
          { timeout: 10_000 },
        )
        .toBe(id);
    }
  });

  it('subscribing to a paused partition fails with PartitionPausedError unless resume is set', async () => {
    const lift = client();
    const name = uniqueName('pause-sub');
    await firstValueFrom(lift.createStream({ name }));
    await firstValueFrom(lift.publish(name, 'one'));
    await firstValueFrom(lift.pauseStream(name));
    await expect(firstValueFrom(lift.subscribe(name, { startAt: StartAt.earliest() }))).rejects.toBeInstanceOf(PartitionPausedError);
    const m = await firstValueFrom(lift.subscribe(name, { startAt: StartAt.earliest(), resume: true }));
    expect(m.offset).toBe(0n);
  });

  it('fails with NoSuchStreamError / NoSuchPartitionError', async () => {
    const lift = client();
    const name = uniqueName('pause-err');
    await firstValueFrom(lift.createStream({ name }));
    await expect(firstValueFrom(lift.pauseStream(uniqueName('nope')))).rejects.toBeInstanceOf(NoSuchStreamError);
    await expect(firstValueFrom(lift.pauseStream(name, { partitions: [7] }))).rejects.toBeInstanceOf(NoSuchPartitionError);
  });
});

describe('setStreamReadonly', () => {
  it('rejects publishes while readonly, lets readers finish, and reverts', async () => {
    const lift = client();
    const name = uniqueName('ro');
    await firstValueFrom(lift.createStream({ name }));
    await firstValueFrom(lift.publish(name, 'before'));
    await firstValueFrom(lift.setStreamReadonly(name));
    expect((await firstValueFrom(lift.refreshMetadata())).partition(name, 0)?.readonly).toBe(true);
    await expect(firstValueFrom(lift.publish(name, 'during'))).rejects.toBeInstanceOf(ReadonlyPartitionError);
    // A reader of a readonly partition reads to its end and completes.
    const read = await lastValueFrom(lift.subscribe(name, { startAt: StartAt.earliest() }).pipe(toArray()));
    expect(read.map((m) => m.offset)).toEqual([0n]);
    await firstValueFrom(lift.setStreamReadonly(name, { readonly: false }));
    const ack = await firstValueFrom(lift.publish(name, 'after'));
    expect(ack.offset).toBe(1n);
  });

  it('fails with NoSuchStreamError / NoSuchPartitionError', async () => {
    const lift = client();
    const name = uniqueName('ro-err');
    await firstValueFrom(lift.createStream({ name }));
    await expect(firstValueFrom(lift.setStreamReadonly(uniqueName('nope')))).rejects.toBeInstanceOf(NoSuchStreamError);
    await expect(firstValueFrom(lift.setStreamReadonly(name, { partitions: [3] }))).rejects.toBeInstanceOf(NoSuchPartitionError);
  });
});

describe('fetchPartitionMetadata', () => {
  it('reads exact offsets from the leader', async () => {
    const lift = client();
    const name = uniqueName('fpm');
    await firstValueFrom(lift.createStream({ name, partitions: 2 }));
    const empty = await firstValueFrom(lift.fetchPartitionMetadata(name, 1));
    expect(empty).toMatchObject({ stream: name, id: 1, highWatermark: -1n, newestOffset: -1n, leader: broker.id });
    for (let i = 0; i < 3; i++) await firstValueFrom(lift.publish(name, `m${i}`, { partition: 1 }));
    const p = await firstValueFrom(lift.fetchPartitionMetadata(name, 1));
    expect(p.newestOffset).toBe(2n);
    expect(p.highWatermark).toBe(2n);
    expect(p.messagesReceived.latestNs).toBeGreaterThan(0n);
  });

  it('fails with NoSuchPartitionError and NoSuchStreamError', async () => {
    const lift = client();
    const name = uniqueName('fpm-err');
    await firstValueFrom(lift.createStream({ name }));
    await expect(firstValueFrom(lift.fetchPartitionMetadata(name, 5))).rejects.toBeInstanceOf(NoSuchPartitionError);
    await expect(firstValueFrom(lift.fetchPartitionMetadata(uniqueName('nope'), 0))).rejects.toBeInstanceOf(NoSuchStreamError);
    await expect(firstValueFrom(lift.fetchPartitionMetadata(name, -1))).rejects.toThrow(InvalidArgumentError);
  });
});

describe('metadata$ and status$', () => {
  it('replays the latest view to late subscribers and shows new streams after a refresh', async () => {
    const lift = client();
    const first = await firstValueFrom(lift.metadata$);
    expect(first.brokers.map((b) => b.address)).toEqual([broker.address]);
    const name = uniqueName('meta');
    await firstValueFrom(lift.createStream({ name, partitions: 2 }));
    const next = await firstValueFrom(
      lift.metadata$
        .pipe(
          filter((m) => m.stream(name) !== undefined),
          take(1),
        )
        .pipe((s) => {
          void firstValueFrom(lift.refreshMetadata());
          return s;
        }),
    );
    expect(next.stream(name)?.partitions).toHaveLength(2);
    expect(next.leaderAddress(name, 1)).toBe(broker.address);
  });

  it('reports connecting then connected for the broker, then closed', async () => {
    const lift = client();
    const events: string[] = [];
    lift.status$.subscribe((s) => events.push(s.type === 'connected' || s.type === 'connecting' ? `${s.type}:${s.address}` : s.type));
    expect(events).toEqual(['idle']);
    await firstValueFrom(lift.metadata$);
    expect(events).toContain(`connected:${broker.address}`);
    await lift.close();
    expect(events.at(-1)).toBe('closed');
  });
});

describe('streams per connection', () => {
  it('opens another connection to the same broker past maxStreamsPerConnection, and frees slots on unsubscribe', async () => {
    const lift = client({ maxStreamsPerConnection: 2 });
    const name = uniqueName('cap');
    await firstValueFrom(lift.createStream({ name }));
    const subs = [0, 1, 2].map(() => lift.subscribe(name).subscribe({ error: () => undefined }));
    try {
      await firstValueFrom(lift.metadata$); // routing has happened for all three
      // Subscribe calls travel on the SDK's HTTP/2 connections (unary calls on grpc-js's, not counted here).
      const conns = () => (lift.stats().connections.find((c) => c.address === broker.address)?.connections ?? []).filter((c) => c.kind === 'http2');
      await expect.poll(() => conns().reduce((n, c) => n + c.streams, 0)).toBe(3);
      expect(conns()).toHaveLength(2);
      expect(
        conns()
          .map((c) => c.streams)
          .sort(),
      ).toEqual([1, 2]);
      subs.forEach((s) => s.unsubscribe());
      await expect.poll(() => conns().reduce((n, c) => n + c.streams, 0)).toBe(0);
    } finally {
      subs.forEach((s) => s.unsubscribe());
    }
  });
});

describe('publish and subscribe (basic)', () => {
  it('reads back what was published, with key, value, headers and exact offsets', async () => {
    const lift = client();
    const name = uniqueName('rw');
    await firstValueFrom(lift.createStream({ name }));
    const acks = [];
    for (let i = 0; i < 5; i++) acks.push(await firstValueFrom(lift.publish(name, `v${i}`, { key: `k${i}`, headers: { n: String(i) } })));
    expect(acks.map((a) => a.offset)).toEqual([0n, 1n, 2n, 3n, 4n]);
    const msgs = await lastValueFrom(lift.subscribe(name, { startAt: StartAt.earliest(), stopAt: StopAt.latest() }).pipe(toArray()));
    const dec = new TextDecoder();
    expect(msgs.map((m) => [m.offset, dec.decode(m.key), dec.decode(m.value), dec.decode(m.headers.n)])).toEqual(
      acks.map((a, i) => [a.offset, `k${i}`, `v${i}`, String(i)]),
    );
    expect(msgs.every((m) => m.timestampNs > 0n && m.timestamp.getTime() > 0)).toBe(true);
  });
});
