import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { type Subscription, finalize, firstValueFrom, mergeMap } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AssignedPartition, type ClientStatus, commit, connect, consume, type LiftbridgeClient, NoSuchStreamError } from '../../src/index.js';
import { uniqueName, useSingleNode } from '../support/broker.js';
import { coreOf } from '../../src/core/internal-access.js';

// The harness runs the broker with groups.consumer.timeout 2s.
const broker = useSingleNode();
let lift: LiftbridgeClient;
const subs: Subscription[] = [];
const children: ChildProcess[] = [];
beforeAll(() => {
  lift = connect({ brokers: [broker.address], retry: { maxRetries: 20, initialDelayMs: 50 } });
});
afterEach(() => {
  subs.splice(0).forEach((s) => s.unsubscribe());
  children.splice(0).forEach((c) => c.kill('SIGKILL'));
});
afterAll(() => lift.destroy());

async function stream(partitions: number, perPartition: number): Promise<string> {
  const name = uniqueName('grp');
  await firstValueFrom(lift.createStream({ name, partitions }));
  for (let i = 0; i < perPartition; i++) for (let p = 0; p < partitions; p++) await firstValueFrom(lift.publish(name, `m${i}`, { partition: p }));
  return name;
}

/** A member in this process: records processed offsets per partition and its assignment. */
function member(client: LiftbridgeClient, groupId: string, name: string, consumerId: string, count = 5) {
  const processed = new Map<number, bigint[]>();
  const assigned = new Set<number>();
  const sub = client
    .group(groupId, { streams: [name], consumerId })
    .pipe(
      mergeMap((p: AssignedPartition) => {
        assigned.add(p.partition);
        return p.messages.pipe(
          consume((m) => {
            processed.set(m.partition, [...(processed.get(m.partition) ?? []), m.offset]);
          }),
          commit(p, { count, timeMs: 200 }),
          finalize(() => assigned.delete(p.partition)),
        );
      }),
    )
    .subscribe();
  subs.push(sub);
  return { processed, assigned, sub };
}

describe('consumer groups', () => {
  it('a single member gets every partition, reads from the start and commits the group position', async () => {
    const name = await stream(4, 5);
    const groupId = uniqueName('g1');
    const events: ClientStatus[] = [];
    subs.push(lift.status$.subscribe((e) => events.push(e)));
    const m = member(lift, groupId, name, 'solo');
    await expect.poll(() => [...m.assigned].sort(), { timeout: 10_000 }).toEqual([0, 1, 2, 3]);
    await expect.poll(() => [0, 1, 2, 3].map((p) => m.processed.get(p)?.length ?? 0), { timeout: 10_000 }).toEqual([5, 5, 5, 5]);
    for (const p of [0, 1, 2, 3]) expect(m.processed.get(p)).toEqual([0n, 1n, 2n, 3n, 4n]);
    // The group's position lives in the cursor `__group:<groupId>` (the Go client's convention).
    for (const p of [0, 1, 2, 3]) {
      await expect.poll(() => firstValueFrom(lift.fetchCursor({ stream: name, partition: p, cursorId: `__group:${groupId}` }))).toBe(4n);
    }
    expect(events.some((e) => e.type === 'group' && e.event === 'joined')).toBe(true);
    expect(events.some((e) => e.type === 'group' && e.event === 'rebalanced')).toBe(true);
  });

  it('two members split the partitions; when one leaves, the other takes over from the committed position', async () => {
    const name = await stream(4, 3);
    const groupId = uniqueName('g2');
    const other = connect({ brokers: [broker.address] });
    try {
      const a = member(lift, groupId, name, 'a', 1);
      await expect.poll(() => a.assigned.size, { timeout: 10_000 }).toBe(4);
      const b = member(other, groupId, name, 'b', 1);
      await expect.poll(() => [a.assigned.size, b.assigned.size], { timeout: 15_000 }).toEqual([2, 2]);
      expect([...a.assigned, ...b.assigned].sort()).toEqual([0, 1, 2, 3]);
      // Everything published so far was processed once by someone.
      await expect
        .poll(() => [0, 1, 2, 3].map((p) => [...(a.processed.get(p) ?? []), ...(b.processed.get(p) ?? [])].length >= 3))
        .toEqual([true, true, true, true]);
      const bParts = [...b.assigned];
      b.sub.unsubscribe(); // leaves the group
      await expect.poll(() => a.assigned.size, { timeout: 15_000 }).toBe(4);
      for (const p of bParts) await firstValueFrom(lift.publish(name, 'after', { partition: p }));
      for (const p of bParts) {
        await expect.poll(() => a.processed.get(p)?.at(-1), { timeout: 10_000 }).toBe(3n);
        // a resumed after b's committed offset 2: nothing skipped, nothing repeated (commit count 1).
        const all = [...(a.processed.get(p) ?? []), ...(b.processed.get(p) ?? [])].sort((x, y) => (x < y ? -1 : 1));
        expect(all).toEqual([0n, 1n, 2n, 3n]);
      }
    } finally {
      await other.destroy();
    }
  });

  it("when a member's process is killed, the other takes over its partitions from the committed cursor: nothing skipped, at most the uncommitted window again", async () => {
    const name = await stream(2, 0);
    const groupId = uniqueName('g3');
    const child = spawn(process.execPath, ['--import', 'tsx', 'spec/support/fixtures/group-member.ts', broker.address, groupId, name, '4'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const childProcessed = new Map<number, bigint[]>();
    const childAssigned = new Set<number>();
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const o = JSON.parse(line) as { assigned?: number; processed?: [number, string] };
      if (o.assigned !== undefined) childAssigned.add(o.assigned);
      if (o.processed !== undefined) childProcessed.set(o.processed[0], [...(childProcessed.get(o.processed[0]) ?? []), BigInt(o.processed[1])]);
    });
    await expect.poll(() => childAssigned.size, { timeout: 20_000 }).toBe(2);
    // 10 messages per partition: the child commits every 4, so offsets 8 and 9 stay uncommitted.
    for (let i = 0; i < 10; i++) for (const p of [0, 1]) await firstValueFrom(lift.publish(name, `m${i}`, { partition: p }));
    await expect.poll(() => [0, 1].map((p) => childProcessed.get(p)?.length ?? 0), { timeout: 10_000 }).toEqual([10, 10]);
    // Count commits put the cursor at 7; under load the child may also have been rebalanced (its
    // poll late) and flushed everything, so take the stored cursor as it is at the kill.
    const cursorOf = (p: number): Promise<bigint> => firstValueFrom(lift.fetchCursor({ stream: name, partition: p, cursorId: `__group:${groupId}` }));
    await expect.poll(() => Promise.all([0, 1].map(cursorOf)), { timeout: 10_000 }).toSatisfy((c: bigint[]) => c.every((x) => x >= 7n));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const atKill = await Promise.all([0, 1].map(cursorOf));

    const survivor = member(lift, groupId, name, 'survivor', 1);
    // The dead member expires after the consumer timeout; then the survivor gets both partitions.
    await expect.poll(() => survivor.assigned.size, { timeout: 20_000 }).toBe(2);
    for (const p of [0, 1]) await firstValueFrom(lift.publish(name, 'after', { partition: p }));
    await expect.poll(() => [0, 1].map((p) => survivor.processed.get(p)?.at(-1)), { timeout: 10_000 }).toEqual([10n, 10n]);
    for (const p of [0, 1]) {
      const again = survivor.processed.get(p) ?? [];
      // Exactly the window that was uncommitted at the kill (then the new message), nothing before it.
      const from = atKill[p]! + 1n;
      expect(again).toEqual(Array.from({ length: Number(11n - from) }, (_, i) => from + BigInt(i)));
      const union = new Set([...(childProcessed.get(p) ?? []), ...again]);
      expect([...union].sort((x, y) => (x < y ? -1 : 1))).toEqual(Array.from({ length: 11 }, (_, i) => BigInt(i)));
    }
  });

  it('an expired member notices (not a member any more) and joins again', async () => {
    const name = await stream(1, 1);
    const groupId = uniqueName('g4');
    const events: ClientStatus[] = [];
    subs.push(lift.status$.subscribe((e) => events.push(e)));
    // Polling slower than the 2 s consumer timeout: the server expires the member between polls.
    const sub = lift.group(groupId, { streams: [name], consumerId: 'sleepy', pollIntervalMs: 3_500 }).subscribe();
    subs.push(sub);
    await expect.poll(() => events.some((e) => e.type === 'group' && e.groupId === groupId && e.event === 'rejoining'), { timeout: 20_000 }).toBe(true);
    await expect
      .poll(() => events.filter((e) => e.type === 'group' && e.groupId === groupId && e.event === 'joined').length, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(2);
  });

  it('close() flushes the commits of every assigned partition and leaves the group', async () => {
    const name = await stream(2, 7);
    const groupId = uniqueName('g6');
    const closing = connect({ brokers: [broker.address] });
    let processed = 0;
    closing
      .group(groupId, { streams: [name] })
      .pipe(
        mergeMap((p) =>
          p.messages.pipe(
            consume(() => void processed++),
            commit(p, { count: 1_000_000, timeMs: 0 }),
          ),
        ),
      )
      .subscribe();
    await expect.poll(() => processed, { timeout: 10_000 }).toBe(14);
    // Nothing written yet (huge window, no timer): close() must flush it.
    expect(await firstValueFrom(lift.fetchCursor({ stream: name, partition: 0, cursorId: `__group:${groupId}` }))).toBe(-1n);
    await closing.close();
    for (const p of [0, 1]) expect(await firstValueFrom(lift.fetchCursor({ stream: name, partition: p, cursorId: `__group:${groupId}` }))).toBe(6n);
    // The only member left, so the group is gone.
    const meta = await firstValueFrom(
      coreOf(lift).run({
        rpc: 'FetchMetadata',
        route: () => [broker.address],
        call: (c, opts) => c.unary('fetchMetadata', { streams: [], groups: [groupId] }, opts),
        retryable: () => false,
      }),
    );
    expect(meta.groupMetadata[0]?.error).toBe(1); // UNKNOWN_GROUP
  });

  it('fails with NoSuchStreamError for an unknown stream', async () => {
    await expect(firstValueFrom(lift.group(uniqueName('g5'), { streams: [uniqueName('nope')] }))).rejects.toBeInstanceOf(NoSuchStreamError);
  });
});
