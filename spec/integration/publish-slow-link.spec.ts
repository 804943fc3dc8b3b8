/**
 * PublishAsync over a slow link (issue 8.1): a real single node that advertises a throttling TCP
 * proxy as its address, so every PublishAsync byte crosses a link of ~1.6 MB/s. The ack deadline
 * must start when a message's bytes are handed to the socket, not when it is queued: nothing may
 * time out (or be resent, i.e. stored twice) while it is still waiting in the client's own buffer.
 * The 6.4 MB take ~4 s to cross the link, so the last messages wait far longer than the 2 s ack
 * deadline in the client's queue; 2 s (not 1 s) leaves room for what the kernel's socket buffers
 * hold once a message was handed over (seen: a rare ack timeout on a loaded machine at 1 s).
 */
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type LiftbridgeClient, type Message, StartAt, StopAt } from '../../src/index.js';
import { publishTo } from '../../src/publish/publish-to.js';
import type { PublishMessage, PublishResult } from '../../src/publish/types.js';
import { freePorts, type SingleNode, startSingleNode, uniqueName } from '../support/broker.js';
import { type ThrottledProxy, startThrottledProxy } from '../support/h2-server.js';

let node: SingleNode | undefined;
let proxy: ThrottledProxy | undefined;
const RATE = 1.6 * 1024 * 1024;

beforeAll(async () => {
  const [realPort, proxyPort] = await freePorts(2);
  // The proxy listens on the port the broker advertises; the broker itself listens on realPort.
  proxy = await startThrottledProxy(`127.0.0.1:${realPort}`, Number.POSITIVE_INFINITY, proxyPort);
  node = await startSingleNode({ port: proxyPort, extraConfig: { listen: `127.0.0.1:${realPort}` } });
}, 90_000);
afterAll(async () => {
  await node?.stop();
  await proxy?.close();
}, 30_000);

const clients: LiftbridgeClient[] = [];
afterEach(async () => {
  if (proxy !== undefined) proxy.bytesPerSecond = Number.POSITIVE_INFINITY;
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

async function readAll(lift: LiftbridgeClient, stream: string): Promise<Message[]> {
  const meta = await firstValueFrom(lift.fetchPartitionMetadata(stream, 0));
  if (meta.newestOffset < 0n) return [];
  return lastValueFrom(lift.subscribe(stream, { partition: 0, startAt: StartAt.earliest(), stopAt: StopAt.offset(meta.newestOffset) }).pipe(toArray()));
}

const idOf = (m: Message): string => new TextDecoder().decode(m.headers.id);
const N = 200;
const SIZE = 32 * 1024;
const inputs = (): PublishMessage[] =>
  Array.from({ length: N }, (_, i) => ({ value: Buffer.alloc(SIZE, i % 251), correlationId: `slow-${i}`, headers: { id: `slow-${i}` } }));

for (const transport of ['http2', 'grpc-js'] as const) {
  describe(`PublishAsync on a slow link (1.6 MB/s, 200 x 32 KiB, ackWaitMs 2000) over ${transport}`, () => {
    it('with resends: every message is stored exactly once (nothing is resent while its first copy is still queued locally)', async () => {
      const lift = connect({ brokers: [node!.address] });
      clients.push(lift);
      const name = uniqueName('slow');
      await firstValueFrom(lift.createStream({ name }));
      proxy!.bytesPerSecond = RATE;
      const results = await lastValueFrom(
        publishTo(lift, name, { ackWaitMs: 2000, failFast: false, retry: { maxRetries: 5, initialDelayMs: 10, totalTimeoutMs: 60_000 }, transport })(
          inputs(),
        ).pipe(toArray()),
      );
      proxy!.bytesPerSecond = Number.POSITIVE_INFINITY;
      const failed = results.filter((r): r is Extract<PublishResult, { ok: false }> => !r.ok);
      expect(failed.map((r) => `${r.input.correlationId}: ${r.error.name}`)).toEqual([]);
      const stored = await readAll(lift, name);
      const ids = stored.map(idOf);
      expect(ids.length - new Set(ids).size, 'duplicates stored').toBe(0);
      expect(new Set(ids).size).toBe(N);
    });

    it('retry: false: no AckTimeoutError for a message that was stored', async () => {
      const lift = connect({ brokers: [node!.address] });
      clients.push(lift);
      const name = uniqueName('slow-once');
      await firstValueFrom(lift.createStream({ name }));
      proxy!.bytesPerSecond = RATE;
      const results = await lastValueFrom(publishTo(lift, name, { ackWaitMs: 2000, failFast: false, retry: false, transport })(inputs()).pipe(toArray()));
      proxy!.bytesPerSecond = Number.POSITIVE_INFINITY;
      // Every message reached the broker in time: none may end with an ack timeout.
      const failed = results.filter((r): r is Extract<PublishResult, { ok: false }> => !r.ok);
      expect(failed.map((r) => `${r.input.correlationId}: ${r.error.name}`)).toEqual([]);
      const ids = (await readAll(lift, name)).map(idOf);
      expect(ids).toEqual(inputs().map((m) => m.correlationId));
    });
  });
}
