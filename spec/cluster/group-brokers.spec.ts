/**
 * Consumer-group members while brokers freeze, restart and die, on a real 3-node cluster
 * (consumer and coordinator timeouts of 2 s in the harness).
 */
import { type Subscription, finalize, firstValueFrom, mergeMap } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { cursorPartition } from '../../src/consume/cursor-routing.js';
import { type AssignedPartition, type ClientStatus, type LiftbridgeClient, commit, connect, consume } from '../../src/index.js';
import { openApiClient, uniqueName, useCluster } from '../support/broker.js';
import { coreOf } from '../../src/core/internal-access.js';
import { groupMetadata } from '../support/group-metadata.js';

type GroupStatus = Extract<ClientStatus, { type: 'group' }>;

// The server's default broker cache (2 min, not the harness's 2 s): see the first spec.
const cluster = useCluster({ size: 3, extraConfig: { 'metadata.cache.max.age': '2m' } });
const clients: LiftbridgeClient[] = [];
const subs: Subscription[] = [];
const frozen: number[] = [];
afterEach(async () => {
  writes.splice(0);
  frozen.splice(0).forEach((i) => cluster.nodes[i]!.resume());
  subs.splice(0).forEach((s) => s.unsubscribe());
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
  for (let i = 0; i < cluster.nodes.length; i++) if (!cluster.nodes[i]!.running) await cluster.restart(i);
});

function client(brokers: readonly string[] = cluster.addresses): LiftbridgeClient {
  const c = connect({
    brokers: [...brokers],
    callTimeoutMs: 2_000,
    retry: { maxRetries: 100, initialDelayMs: 100, maxDelayMs: 1_000, totalTimeoutMs: 60_000 },
  });
  clients.push(c);
  return c;
}

/** The group's coordinator id, from a broker's metadata. */
async function coordinatorOf(c: LiftbridgeClient, groupId: string): Promise<string> {
  const g = await groupMetadata(c, groupId);
  if (g === undefined) throw new Error(`no group ${groupId} in the metadata`);
  return g.coordinator;
}

interface Member {
  readonly id: string;
  readonly client: LiftbridgeClient;
  readonly assigned: Set<number>;
  readonly events: GroupStatus[];
  readonly errors: unknown[];
  /** Per partition, every processed offset in order (repeats included). */
  readonly processed: Map<number, bigint[]>;
  /** Per partition, the highest position this member's commits stored. */
  readonly committed: Map<number, bigint>;
  /**
   * Per partition, beside each processed offset: what `handover(partition)` answered when this
   * member was assigned the partition (for the group's hand-over bound).
   */
  readonly assignedWith: Map<number, unknown[]>;
  readonly sub: Subscription;
}

/** Every stored group position, in the order the writes completed (all members). */
const writes: { partition: number; offset: bigint; member: string }[] = [];

function member(
  c: LiftbridgeClient,
  groupId: string,
  stream: string,
  id: string,
  count = 1,
  handover: (partition: number) => unknown = () => undefined,
): Member {
  const m: Omit<Member, 'sub'> = {
    id,
    client: c,
    assigned: new Set(),
    events: [],
    errors: [],
    processed: new Map(),
    committed: new Map(),
    assignedWith: new Map(),
  };
  subs.push(
    c.status$.subscribe((e) => {
      if (e.type === 'group' && e.groupId === groupId) m.events.push(e);
    }),
  );
  const sub = c
    .group(groupId, { streams: [stream], consumerId: id })
    .pipe(
      mergeMap((p: AssignedPartition) => {
        m.assigned.add(p.partition);
        const atAssignment = handover(p.partition);
        return p.messages.pipe(
          consume((msg) => {
            m.processed.set(msg.partition, [...(m.processed.get(msg.partition) ?? []), msg.offset]);
            m.assignedWith.set(msg.partition, [...(m.assignedWith.get(msg.partition) ?? []), atAssignment]);
          }),
          commit(p, {
            count,
            timeMs: 0,
            onCommit: (pos) => {
              m.committed.set(pos.partition, pos.offset);
              writes.push({ partition: pos.partition, offset: pos.offset, member: id });
            },
          }),
          finalize(() => m.assigned.delete(p.partition)),
        );
      }),
    )
    .subscribe({ error: (e: unknown) => m.errors.push(e) });
  subs.push(sub);
  return { ...m, sub };
}

describe('3-node cluster: group members and broker failures', () => {
  // While c's metadata broker is frozen, b joins and the group's epoch changes: a and c must learn
  // the new epoch from group metadata within their consumer timeout (2 s). A broker whose broker
  // cache is empty or expired answers FetchMetadata only after surveying its peers for 3 s while
  // one is frozen, which no 2 s consumer timeout survives (docs/consumer-groups.md). So this file
  // runs with the server's default cache age (2 min) and fills every broker's cache first. With the
  // harness's 2 s cache this failed on the main pin, where the client also showed the server a
  // deadline that newer servers reset the call at; expired, the group was then made anew and a
  // member that had been dropped kept resending a coordinator report (both fixed).
  it("a frozen broker that is not the coordinator (but is the member's metadata broker) does not expire the member", async () => {
    const admin = client();
    const name = uniqueName('grp-freeze');
    await firstValueFrom(admin.createStream({ name, partitions: 2, replicationFactor: 3 }));
    const groupId = uniqueName('gf');
    const a = member(client(), groupId, name, 'a');
    await expect.poll(() => a.assigned.size, { timeout: 20_000 }).toBe(2);
    const coordinator = await coordinatorOf(admin, groupId);
    // Member b bootstraps from (and so asks for metadata first) a broker that is not the coordinator.
    const f = cluster.nodes.findIndex((n) => n.id !== coordinator);
    const subject = member(client([cluster.addresses[f]!, ...cluster.addresses.filter((_, i) => i !== f)]), groupId, name, 'c');
    await expect.poll(() => [a.assigned.size, subject.assigned.size], { timeout: 20_000 }).toEqual([1, 1]);
    expect(coreOf(subject.client).routing.anyBroker()).toBe(cluster.addresses[f]);

    for (const address of cluster.addresses) {
      const api = openApiClient(address);
      await api.client.fetchMetadata({ streams: [], groups: [] }).finally(() => api.close());
    }
    cluster.nodes[f]!.pause();
    frozen.push(f);
    // A member 'b' joins through a live broker and, sorting before 'c', takes c's partition:
    // c can only learn that through its heartbeats, which must keep reaching the coordinator
    // while its metadata broker is frozen (2 s consumer timeout, polls every 0.8 s).
    const b = member(client(cluster.addresses.filter((_, i) => i !== f)), groupId, name, 'b');
    await expect.poll(() => subject.events.filter((e) => e.event === 'rebalanced').length, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    await expect.poll(() => [a.assigned.size, b.assigned.size, subject.assigned.size], { timeout: 20_000 }).toEqual([1, 1, 0]);
    expect(subject.events.filter((e) => e.event === 'rejoining')).toEqual([]);
    expect(subject.errors).toEqual([]);
  });

  it('restarting the broker that leads the group cursor\'s __cursors partition does not end the group: "cursors stream does not exist" from a catching-up broker is transient', async () => {
    const admin = client();
    const name = uniqueName('grp-cursors');
    await firstValueFrom(admin.createStream({ name, partitions: 1, replicationFactor: 3 }));
    const groupId = uniqueName('gr');
    const meta = await firstValueFrom(admin.refreshMetadata());
    const cursors = meta.stream('__cursors')!;
    const target = cursorPartition(`__group:${groupId}`, name, 0, cursors.partitions.length);
    const leaderId = cursors.partitions[target]!.leader;
    const l = cluster.nodes.findIndex((n) => n.id === leaderId);
    // The member asks the restarting broker first, so it meets it while it catches up.
    const m = member(client([cluster.addresses[l]!, ...cluster.addresses.filter((_, i) => i !== l)]), groupId, name, 'm', 1);
    await expect.poll(() => m.assigned.size, { timeout: 20_000 }).toBe(1);

    let published = 0;
    const publish = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        try {
          await firstValueFrom(admin.publish(name, `v${published}`, { partition: 0, ackPolicy: 'all', ackWaitMs: 10_000 }));
        } catch {
          // While the broker restarts a publish may end "may or may not have been stored": an honest
          // outcome, not what this spec is about. The partition's newest offset is checked below.
        }
        published++;
      }
    };
    await publish(5);
    await expect.poll(() => m.committed.get(0), { timeout: 10_000 }).toBe(4n);
    // Keep the member committing (one write per message) while the cursor leader restarts.
    let stop = false;
    const publishing = (async () => {
      while (!stop) await publish(1);
    })();
    await cluster.restart(l);
    // ...and goes on consuming and committing after it is back.
    const after = published;
    const processedAtRestart = m.processed.get(0)?.at(-1) ?? -1n;
    await expect.poll(() => published >= after + 10, { timeout: 30_000 }).toBe(true);
    stop = true;
    await publishing;
    const newest = (await firstValueFrom(admin.fetchPartitionMetadata(name, 0))).newestOffset;
    expect(newest).toBeGreaterThan(processedAtRestart + 5n); // most of the 10 later publishes were stored
    await expect.poll(() => m.processed.get(0)?.at(-1), { timeout: 30_000 }).toBe(newest);
    await expect.poll(() => m.committed.get(0), { timeout: 30_000 }).toBe(newest);
    expect(m.errors.map(String)).toEqual([]);
    expect(await firstValueFrom(admin.fetchCursor({ stream: name, partition: 0, cursorId: `__group:${groupId}` }))).toBe(newest);
  });

  it('under broker and member kills, a partition changing hands re-processes at most what its previous owner had not committed', async () => {
    const admin = client();
    const name = uniqueName('grp-dup');
    await firstValueFrom(admin.createStream({ name, partitions: 2, replicationFactor: 3 }));
    const groupId = uniqueName('gd');
    const window = 10;
    /**
     * Per partition: every processing, in order, with every member's committed position (as its
     * confirmed commits reported it) when the processing member was assigned the partition.
     */
    const timeline = new Map<number, { member: string; offset: bigint; committed: Map<string, bigint> }[]>([
      [0, []],
      [1, []],
    ]);
    const members = new Map<string, Member>();
    // Liftbridge has no barrier between a revocation and the new assignment: the previous owner's
    // final commit may land after the new owner read the cursor. The bound is therefore what the
    // previous owner had not committed when the new owner was assigned the partition.
    const committedNow = (p: number): Map<string, bigint> => {
      const snapshot = new Map<string, bigint>();
      for (const [id, m] of members) {
        const c = m.committed.get(p);
        if (c !== undefined) snapshot.set(id, c);
      }
      return snapshot;
    };
    const start = (id: string): Member => {
      const c = client();
      const m = member(c, groupId, name, id, window, committedNow);
      members.set(id, m);
      return m;
    };
    // Mirror each member's processing and commits into one timeline per partition.
    const seen = new Map<string, number>();
    const sync = (): void => {
      for (const [id, m] of members) {
        for (const p of [0, 1]) {
          const key = `${id}/${p}`;
          const done = seen.get(key) ?? 0;
          const offsets = m.processed.get(p) ?? [];
          const at = m.assignedWith.get(p) ?? [];
          for (let i = done; i < offsets.length; i++) timeline.get(p)!.push({ member: id, offset: offsets[i]!, committed: at[i] as Map<string, bigint> });
          seen.set(key, offsets.length);
        }
      }
    };
    const syncTimer = setInterval(sync, 2);
    let published = 0;
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        for (const p of [0, 1]) {
          try {
            await firstValueFrom(admin.publish(name, `v${published}`, { partition: p, ackPolicy: 'all', ackWaitMs: 5_000 }));
          } catch {
            // a write during a leader change may fail; the offsets consumed are what counts
          }
        }
        published++;
      }
    })();
    const progress = async (n: number): Promise<void> => {
      const target = [0, 1].map((p) => timeline.get(p)!.length + n);
      await expect.poll(() => [0, 1].every((p) => timeline.get(p)!.length >= target[p]!), { timeout: 60_000 }).toBe(true);
    };
    try {
      const a = start('a');
      start('b');
      await expect.poll(() => [...members.values()].map((m) => m.assigned.size), { timeout: 20_000 }).toEqual([1, 1]);
      await progress(20);

      // 1. The coordinator dies.
      const coordinator = cluster.nodes.findIndex((n) => n.id === a.events.find((e) => e.event === 'joined')?.coordinator);
      await cluster.kill(coordinator);
      await progress(20);
      await cluster.restart(coordinator);
      await progress(10);

      // 2. A member dies without a word (no flush, no leave): the other takes over after expiry.
      await members.get('b')!.client.destroy();
      await progress(20);

      // 3. A new member joins: a rebalance moves a partition while both are busy.
      start('c');
      await expect.poll(() => members.get('c')!.assigned.size, { timeout: 20_000 }).toBe(1);
      await progress(20);

      // 4. A partition leader dies.
      const meta = await firstValueFrom(admin.refreshMetadata());
      const leader = cluster.nodes.findIndex((n) => n.id === meta.partition(name, 0)?.leader);
      await cluster.kill(leader);
      await progress(20);
      await cluster.restart(leader);
      await progress(10);
    } finally {
      publishing = false;
      await publisher;
    }
    await new Promise<void>((resolve) => {
      const last = [0, 1].map((p) => timeline.get(p)!.length);
      // Let the tail drain: wait until nothing new was processed for a few polls.
      const check = setInterval(() => {
        const now = [0, 1].map((p) => timeline.get(p)!.length);
        if (now.every((n, i) => n === last[i])) {
          clearInterval(check);
          resolve();
        }
        last.splice(0, 2, ...now);
      }, 1_500);
    });
    clearInterval(syncTimer);
    sync();

    const changes: { partition: number; from: string; to: string; reprocessed: number; uncommitted: number }[] = [];
    for (const p of [0, 1]) {
      const t = timeline.get(p)!;
      // Nothing skipped: every offset up to the highest processed was processed.
      const distinct = new Set(t.map((e) => e.offset));
      const max = t.reduce((x, e) => (e.offset > x ? e.offset : x), -1n);
      expect(distinct.size).toBe(Number(max) + 1);
      // Per change of hands: re-processed <= what the previous owner had processed but not committed.
      for (let i = 1; i < t.length; i++) {
        if (t[i]!.member === t[i - 1]!.member) continue;
        const from = t[i - 1]!.member;
        const before = t.slice(0, i).filter((e) => e.member === from);
        const maxFrom = before.reduce((x, e) => (e.offset > x ? e.offset : x), -1n);
        const committedFrom = t[i]!.committed.get(from) ?? -1n;
        const uncommitted = new Set(before.filter((e) => e.offset > committedFrom).map((e) => e.offset)).size;
        let j = i;
        while (j < t.length && t[j]!.member === t[i]!.member) j++;
        const reprocessed = t.slice(i, j).filter((e) => e.offset <= maxFrom).length;
        changes.push({ partition: p, from, to: t[i]!.member, reprocessed, uncommitted });
      }
    }
    // The group's position never went back: each completed write is >= the one before it.
    for (const p of [0, 1]) {
      const positions = writes.filter((w) => w.partition === p);
      for (let i = 1; i < positions.length; i++)
        expect(
          positions[i]!.offset >= positions[i - 1]!.offset,
          JSON.stringify(positions.slice(Math.max(0, i - 3), i + 1), (_, v) => (typeof v === 'bigint' ? String(v) : v)),
        ).toBe(true);
    }
    // b's death and c's arrival each moved a partition.
    expect(changes.length).toBeGreaterThanOrEqual(2);
    for (const c of changes) expect(c.reprocessed, JSON.stringify(c)).toBeLessThanOrEqual(c.uncommitted);
    console.log('changes of hands', JSON.stringify(changes));
  }, 240_000);
});
