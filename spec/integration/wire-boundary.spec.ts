/**
 * The wire boundary on a real broker: both connection kinds (grpc-js channels and the HTTP/2
 * PublishAsync and Subscribe sessions) show in `client.stats()` and obey `maxStreamsPerConnection`, and
 * `close()` leaves none of either.
 */
import { Subject, firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { StartAt, connect, type LiftbridgeClient } from '../../src/index.js';
import { publishTo } from '../../src/publish/publish-to.js';
import type { PublishInput } from '../../src/publish/types.js';
import { uniqueName, useSingleNode } from '../support/broker.js';

const clients: LiftbridgeClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

describe('wire boundary: stats() and maxStreamsPerConnection for every connection kind', () => {
  const broker = useSingleNode();

  for (const transport of ['http2', 'grpc-js'] as const) {
    it(`${transport}: 5 PublishAsync calls with maxStreamsPerConnection 2 take 3 connections of that kind, freed when they end`, async () => {
      const lift = connect({ brokers: [broker.address], maxStreamsPerConnection: 2 });
      clients.push(lift);
      const name = uniqueName(`wire-${transport}`);
      await firstValueFrom(lift.createStream({ name, partitions: 5 }));
      // Five publishers (one PublishAsync call each), one per partition, each kept open by its source.
      const sources = [0, 1, 2, 3, 4].map(() => new Subject<PublishInput>());
      const done = sources.map((source, partition) => {
        const all = lastValueFrom(publishTo(lift, name, { transport })(source).pipe(toArray()));
        source.next({ value: `p${partition}-0`, partition });
        return all;
      });
      // If an assertion below fails, close() ends these: not an unhandled rejection.
      for (const d of done) d.catch(() => undefined);
      // Each publisher's call holds a stream slot while its source is open.
      const conns = () => (lift.stats().connections.find((c) => c.address === broker.address)?.connections ?? []).filter((c) => c.kind === transport);
      await expect.poll(() => conns().reduce((n, c) => n + c.streams, 0), { timeout: 10_000 }).toBe(5);
      expect(conns()).toHaveLength(3);
      expect(
        conns()
          .map((c) => c.streams)
          .sort(),
      ).toEqual([1, 2, 2]);
      // Unary calls (createStream, metadata) ran on a grpc-js channel: both kinds are listed.
      const kinds = new Set(lift.stats().connections.flatMap((c) => c.connections.map((x) => x.kind)));
      expect(kinds.has('grpc-js')).toBe(true);
      expect(kinds.has(transport)).toBe(true);
      for (const [partition, source] of sources.entries()) {
        source.next({ value: `p${partition}-1`, partition });
        source.complete();
      }
      const results = await Promise.all(done);
      expect(results.map((acks) => acks.map((a) => (a as { partition: number; offset: bigint }).offset))).toEqual(sources.map(() => [0n, 1n]));
      expect(results.map((acks) => (acks[0] as { partition: number }).partition)).toEqual([0, 1, 2, 3, 4]);
      await expect.poll(() => conns().reduce((n, c) => n + c.streams, 0), { timeout: 10_000 }).toBe(0);
      await lift.close();
      expect(lift.stats().connections).toEqual([]);
    });
  }

  it('http2 Subscribe: 5 partition streams with maxStreamsPerConnection 2 take 3 HTTP/2 connections, freed on unsubscribe', async () => {
    const lift = connect({ brokers: [broker.address], maxStreamsPerConnection: 2 });
    clients.push(lift);
    const name = uniqueName('wire-sub');
    await firstValueFrom(lift.createStream({ name, partitions: 5 }));
    const seen = new Set<number>();
    const sub = lift.subscribe(name, { partitions: 'all', startAt: StartAt.earliest() }).subscribe((m) => seen.add(m.partition));
    await lastValueFrom(publishTo(lift, name)([0, 1, 2, 3, 4].map((partition) => ({ value: `p${partition}`, partition }))).pipe(toArray()));
    await expect.poll(() => seen.size, { timeout: 10_000 }).toBe(5);
    // The publisher's session is gone from the count once its call ended: only Subscribe streams remain.
    const subscribeConns = () =>
      (lift.stats().connections.find((c) => c.address === broker.address)?.connections ?? []).filter((c) => c.kind === 'http2' && c.streams > 0);
    await expect
      .poll(
        () =>
          subscribeConns()
            .map((c) => c.streams)
            .sort(),
        { timeout: 10_000 },
      )
      .toEqual([1, 2, 2]);
    expect(lift.stats().openSubscribeCalls).toBe(5);
    sub.unsubscribe();
    await expect.poll(() => lift.stats().openSubscribeCalls, { timeout: 10_000 }).toBe(0);
    expect(subscribeConns()).toEqual([]);
    await lift.close();
    expect(lift.stats().connections).toEqual([]);
  });
});
