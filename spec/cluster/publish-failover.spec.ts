/**
 * Producer failover on a real 3-node cluster: the partition leader is killed while publishTo
 * streams 50 000 messages with ack policy all into a stream replicated on all three nodes.
 * Afterwards every input had exactly one outcome, and every acked message is read back at its
 * acked offset with the same key, value and headers.
 */
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { type ClientStatus, connect, type LiftbridgeClient, type Message, StartAt, StopAt } from '../../src/index.js';
import { publishTo } from '../../src/publish/publish-to.js';
import type { PublishMessage, PublishResult } from '../../src/publish/types.js';
import { uniqueName, useCluster } from '../support/broker.js';

const cluster = useCluster({ size: 3 });
const clients: LiftbridgeClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
});

const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);

describe('3-node cluster: producer failover', () => {
  it('50 000 messages, ack policy all, RF 3, partition leader killed mid-stream: one outcome each, every ack stored where it says', async () => {
    const statuses: ClientStatus[] = [];
    const lift = connect({
      brokers: [...cluster.addresses],
      // FetchMetadata surveys the peers for up to 3 s while one is dead: leave room for that.
      callTimeoutMs: 10_000,
      retry: { maxRetries: 30, initialDelayMs: 100, maxDelayMs: 1_000, totalTimeoutMs: 90_000 },
    });
    clients.push(lift);
    lift.status$.subscribe((s) => statuses.push(s));

    const name = uniqueName('failover');
    await firstValueFrom(lift.createStream({ name, replicationFactor: 3 }));
    const before = await firstValueFrom(lift.refreshMetadata());
    const leaderId = before.partition(name, 0)?.leader;
    const leaderIndex = cluster.nodes.findIndex((n) => n.id === leaderId);
    expect(leaderIndex).toBeGreaterThanOrEqual(0);
    expect(before.partition(name, 0)?.isr).toHaveLength(3);

    const N = 50_000;
    const KILL_AT = 15_000;
    let killed: Promise<void> | undefined;
    const inputs = function* (): Generator<PublishMessage> {
      for (let i = 0; i < N; i++) {
        if (i === KILL_AT) killed = cluster.kill(leaderIndex);
        yield { key: `key-${i % 101}`, value: `value-${i}`, headers: { seq: String(i) }, correlationId: `in-${i}` };
      }
    };

    const started = Date.now();
    const results = await lastValueFrom(
      publishTo(lift, name, { ackPolicy: 'all', maxInFlight: 512, ackWaitMs: 3_000, failFast: false })(inputs()).pipe(toArray()),
    );
    await killed;
    const elapsedMs = Date.now() - started;

    // Exactly one outcome per input, in input order.
    expect(results).toHaveLength(N);
    results.forEach((r: PublishResult, i) => {
      const id = r.ok ? r.ack.correlationId : r.error.correlationId;
      expect(id).toBe(`in-${i}`);
    });
    const failed = results.filter((r) => !r.ok);
    // Within a 90 s policy the failover completes: nothing should have failed for good.
    expect(failed.map((r) => !r.ok && `${r.error.code}: ${r.error.message}`).slice(0, 3)).toEqual([]);

    // The publisher saw the broken stream and reconnected.
    expect(statuses.some((s) => s.type === 'reconnecting' && s.rpc === 'PublishAsync')).toBe(true);

    // Bring the killed node back (while a peer is dead every FetchMetadata waits for its survey of
    // the peers), then read every acked message back from the new leader.
    const phase = Date.now();
    await cluster.restart(leaderIndex);
    const after = await firstValueFrom(lift.refreshMetadata());
    expect(after.partition(name, 0)?.leader).not.toBe(leaderId);
    const acked = results.flatMap((r, i) => (r.ok ? [{ i, ack: r.ack }] : []));
    const lastOffset = acked.reduce((m, a) => (a.ack.offset > m ? a.ack.offset : m), -1n);
    const stored: Message[] = await lastValueFrom(lift.subscribe(name, { startAt: StartAt.earliest(), stopAt: StopAt.offset(lastOffset) }).pipe(toArray()));
    const byOffset = new Map(stored.map((m) => [m.offset, m]));
    for (const { i, ack } of acked) {
      const m = byOffset.get(ack.offset);
      expect(m, `offset ${ack.offset} of input ${i}`).toBeDefined();
      expect(text(m?.value)).toBe(`value-${i}`);
      expect(text(m?.key)).toBe(`key-${i % 101}`);
      expect(text(m?.headers.seq)).toBe(String(i));
    }
    // Resends may have stored some messages twice (at-least-once), never lost an acked one.
    const duplicates = stored.length - new Set(stored.map((m) => text(m.value))).size;
    console.info(
      `[publish-failover] ${N} inputs in ${elapsedMs} ms; ${acked.length} acked, ${failed.length} failed; ${stored.length} stored (${duplicates} duplicates); restart + read-back ${Date.now() - phase} ms`,
    );
  });
});
