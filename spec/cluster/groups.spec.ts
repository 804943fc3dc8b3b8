import { type Subscription, finalize, firstValueFrom, mergeMap } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { type ClientStatus, commit, connect, consume, type LiftbridgeClient } from '../../src/index.js';
import { uniqueName, useCluster } from '../support/broker.js';
import { groupMetadata } from '../support/group-metadata.js';

const cluster = useCluster({ size: 3 });
const clients: LiftbridgeClient[] = [];
const subs: Subscription[] = [];
afterEach(async () => {
  subs.splice(0).forEach((s) => s.unsubscribe());
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
});

function client(): LiftbridgeClient {
  const c = connect({
    brokers: [...cluster.addresses],
    callTimeoutMs: 2_000,
    retry: { maxRetries: 100, initialDelayMs: 100, maxDelayMs: 1_000, totalTimeoutMs: 60_000 },
  });
  clients.push(c);
  return c;
}

describe('3-node cluster: consumer group coordinator failure', () => {
  it('members report the dead coordinator, the group fails over, and consumption goes on with no offset skipped', async () => {
    const admin = client();
    const name = uniqueName('grp-coord');
    await firstValueFrom(admin.createStream({ name, partitions: 2, replicationFactor: 3 }));
    const groupId = uniqueName('gc');
    const processed = new Map<number, bigint[]>();
    const events: ClientStatus[] = [];
    const members = ['m1', 'm2'].map((id) => {
      const c = client();
      subs.push(c.status$.subscribe((e) => events.push(e)));
      const assigned = new Set<number>();
      subs.push(
        c
          .group(groupId, { streams: [name], consumerId: id })
          .pipe(
            mergeMap((p) => {
              assigned.add(p.partition);
              return p.messages.pipe(
                consume((m) => void processed.set(m.partition, [...(processed.get(m.partition) ?? []), m.offset])),
                commit(p, { count: 1, timeMs: 0 }),
                finalize(() => assigned.delete(p.partition)),
              );
            }),
          )
          .subscribe({ error: (e: unknown) => events.push({ type: 'group', groupId, consumerId: id, event: `error: ${String(e)}`, epoch: undefined }) }),
      );
      return assigned;
    });
    await expect.poll(() => members.map((m) => m.size), { timeout: 20_000 }).toEqual([1, 1]);
    for (let i = 0; i < 5; i++) for (const p of [0, 1]) await firstValueFrom(admin.publish(name, `a${i}`, { partition: p, ackPolicy: 'all' }));
    await expect.poll(() => [0, 1].map((p) => processed.get(p)?.length ?? 0), { timeout: 10_000 }).toEqual([5, 5]);

    // Kill the group's coordinator broker.
    const coordinator = (await groupMetadata(admin, groupId))!.coordinator;
    const index = cluster.nodes.findIndex((n) => n.id === coordinator);
    await cluster.kill(index);

    // Members notice, report it, and follow the new coordinator.
    // (Polled as the list of group events, so that a failure shows what the members went through.)
    await expect
      .poll(() => events.flatMap((e) => (e.type === 'group' && e.groupId === groupId ? [`${e.consumerId}: ${e.event}`] : [])), { timeout: 60_000 })
      .toEqual(expect.arrayContaining([expect.stringMatching(/: coordinator-changed$/)]));
    for (let i = 5; i < 10; i++)
      for (const p of [0, 1]) await firstValueFrom(admin.publish(name, `b${i}`, { partition: p, ackPolicy: 'all', ackWaitMs: 10_000 }));
    await expect.poll(() => [0, 1].map((p) => processed.get(p)?.at(-1)), { timeout: 60_000 }).toEqual([9n, 9n]);
    for (const p of [0, 1]) {
      // Every offset processed, none skipped (a rebalance may repeat an uncommitted one).
      expect([...new Set(processed.get(p))].sort((x, y) => (x < y ? -1 : 1))).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i)));
    }
    expect(events.some((e) => e.type === 'group' && e.event === 'coordinator-reported')).toBe(true);
    await cluster.restart(index);
  });
});
