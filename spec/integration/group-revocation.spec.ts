/**
 * Revocation of a group partition against a real broker (issue 8, items 8.5 and 8.8): intake
 * stops, the final commit is written, and only then are writes fenced; a fenced or failed write
 * is never reported as committed; a revoked partition's `messages` never subscribe again.
 */
import { type Observable, type Subscription, filter, firstValueFrom, from, lastValueFrom, mergeMap, timeout, toArray } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type AssignedPartition,
  type ClientStatus,
  commit,
  connect,
  consume,
  ConsumerGroupError,
  InvalidArgumentError,
  type LiftbridgeClient,
  publishBulk,
} from '../../src/index.js';
import { uniqueName, useSingleNode } from '../support/broker.js';

// The harness runs the broker with groups.consumer.timeout 2s.
const broker = useSingleNode();
let lift: LiftbridgeClient;
const subs: Subscription[] = [];
beforeAll(() => {
  lift = connect({ brokers: [broker.address], retry: { maxRetries: 20, initialDelayMs: 50 } });
});
afterEach(() => {
  subs.splice(0).forEach((s) => s.unsubscribe());
});
afterAll(() => lift.destroy());

async function stream(partitions: number, perPartition: number): Promise<string> {
  const name = uniqueName('revoke');
  await firstValueFrom(lift.createStream({ name, partitions }));
  for (let p = 0; p < partitions; p++) {
    for (let i = 0; i < perPartition; i += 100) {
      const n = Math.min(100, perPartition - i);
      await lastValueFrom(
        publishBulk(
          lift,
          Array.from({ length: n }, (_, j) => ({ stream: name, partition: p, value: `m${i + j}` })),
          { wait: true },
        ),
      );
    }
  }
  return name;
}

const cursor = (name: string, partition: number, groupId: string): Promise<bigint> =>
  firstValueFrom(lift.fetchCursor({ stream: name, partition, cursorId: `__group:${groupId}` }));

function firstAssignment(client: LiftbridgeClient, groupId: string, name: string): Promise<AssignedPartition> {
  return new Promise((resolve, reject) => {
    subs.push(client.group(groupId, { streams: [name] }).subscribe({ next: resolve, error: reject }));
  });
}

describe('revoking a group partition (8.5)', () => {
  it('stops intake, writes the final commit of what was processed, then fences; onCommit reports only stored positions', async () => {
    const name = await stream(2, 20);
    const groupId = uniqueName('rv1');
    const events: ClientStatus[] = [];
    subs.push(lift.status$.subscribe((e) => events.push(e)));
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const processed = new Map<number, bigint[]>();
    const reported = new Map<number, bigint[]>();
    subs.push(
      lift
        .group(groupId, { streams: [name], consumerId: 'a' })
        .pipe(
          mergeMap((p) =>
            p.messages.pipe(
              consume(async (m) => {
                if (m.offset === 19n) await gate; // the last message is still being processed at revocation
                processed.set(m.partition, [...(processed.get(m.partition) ?? []), m.offset]);
              }),
              commit(p, { count: 1_000_000, timeMs: 0, onCommit: (c) => reported.set(c.partition, [...(reported.get(c.partition) ?? []), c.offset]) }),
            ),
          ),
        )
        .subscribe(),
    );
    await expect.poll(() => [0, 1].map((p) => processed.get(p)?.length ?? 0), { timeout: 10_000 }).toEqual([19, 19]);
    // A second member joins (and reads nothing): one partition moves to it.
    const other = connect({ brokers: [broker.address] });
    try {
      // destroy() below ends this member with ClientClosedError, as documented.
      subs.push(other.group(groupId, { streams: [name], consumerId: 'b' }).subscribe({ error: () => undefined }));
      const aRebalanced = (): number[] | undefined => {
        const e = events.filter((x) => x.type === 'group' && x.consumerId === 'a' && x.event === 'rebalanced').at(-1) as
          | { assignments?: { partitions: number[] }[] }
          | undefined;
        return e?.assignments?.flatMap((a) => a.partitions);
      };
      await expect.poll(() => aRebalanced()?.length, { timeout: 15_000 }).toBe(1);
      const kept = aRebalanced()![0]!;
      const revoked = kept === 0 ? 1 : 0;
      open();
      // The revoked partition's final commit covers offset 19, which finished after revocation began.
      await expect.poll(() => cursor(name, revoked, groupId), { timeout: 10_000 }).toBe(19n);
      expect(reported.get(revoked)).toEqual([19n]);
    } finally {
      await other.destroy();
    }
  });

  it("at-most-once: messages held by commit({ emit: 'committed' }) at revocation are processed by the new owner only", async () => {
    const name = await stream(2, 20);
    const groupId = uniqueName('rv7');
    const processed = new Map<string, bigint[]>(); // "<member>/<partition>" -> offsets
    const record = (who: string, m: { partition: number; offset: bigint }): void => {
      const key = `${who}/${m.partition}`;
      processed.set(key, [...(processed.get(key) ?? []), m.offset]);
    };
    const atMostOnce = (client: LiftbridgeClient, who: string, count: number): Subscription =>
      client
        .group(groupId, { streams: [name], consumerId: who })
        .pipe(
          mergeMap((p) =>
            p.messages.pipe(
              commit(p, { emit: 'committed', count, timeMs: 0 }),
              consume((m) => record(who, m)),
            ),
          ),
        )
        // destroy() ends a member with ClientClosedError, as documented.
        .subscribe({ error: () => undefined });
    // a takes both partitions and holds their 20 messages: its window of 200 is never reached.
    const assigned = new Set<number>();
    subs.push(
      lift.status$.subscribe((e) => {
        if (e.type === 'group' && e.groupId === groupId && e.consumerId === 'a' && e.event === 'rebalanced') {
          assigned.clear();
          for (const a of (e as { assignments?: { partitions: number[] }[] }).assignments ?? []) for (const p of a.partitions) assigned.add(p);
        }
      }),
    );
    subs.push(atMostOnce(lift, 'a', 200));
    await expect.poll(() => assigned.size, { timeout: 10_000 }).toBe(2);
    await expect
      .poll(
        () =>
          lift
            .stats()
            .subscriptions.filter((s) => s.stream === name)
            .map((s) => s.delivered),
        { timeout: 10_000 },
      )
      .toEqual([20, 20]);
    const other = connect({ brokers: [broker.address] });
    try {
      subs.push(atMostOnce(other, 'b', 1));
      await expect.poll(() => assigned.size, { timeout: 15_000 }).toBe(1);
      const moved = assigned.has(0) ? 1 : 0;
      await expect.poll(() => processed.get(`b/${moved}`)?.length ?? 0, { timeout: 10_000 }).toBe(20);
      // a never let out what it held when the partition moved: no offset was processed twice.
      expect(processed.get(`a/${moved}`) ?? []).toEqual([]);
    } finally {
      await other.destroy();
    }
  });

  it('a write after the partition is fenced fails with ConsumerGroupError and is not reported as committed', async () => {
    const name = await stream(1, 3);
    const groupId = uniqueName('rv2');
    const ap = await firstAssignment(lift, groupId, name);
    subs.splice(0).forEach((s) => s.unsubscribe()); // leave: every partition is revoked
    await expect.poll(() => ap.revoked).toBe(true);
    const error = await firstValueFrom(from(ap.save(name, 0, 2n))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConsumerGroupError);
    expect(await cursor(name, 0, groupId)).toBe(-1n);
  });

  it('close() while messages stream in stores the last processed offset (the write in flight is followed by the final one)', async () => {
    const name = await stream(1, 3000);
    const groupId = uniqueName('rv3');
    const closing = connect({ brokers: [broker.address] });
    const processed: bigint[] = [];
    const reported: bigint[] = [];
    closing
      .group(groupId, { streams: [name] })
      .pipe(
        mergeMap((p) =>
          p.messages.pipe(
            consume((m) => void processed.push(m.offset)),
            commit(p, { count: 7, timeMs: 0, onCommit: (c) => reported.push(c.offset) }),
          ),
        ),
      )
      .subscribe();
    await expect.poll(() => processed.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(300);
    await closing.close();
    const last = processed.at(-1);
    expect(await cursor(name, 0, groupId)).toBe(last);
    expect(reported.at(-1)).toBe(last);
  });
});

describe('what settles a group partition (8.7)', () => {
  it('a partition whose messages are all filtered out before commit() still commits (the assignment hands commit() its ledger)', async () => {
    const name = await stream(1, 6);
    const groupId = uniqueName('rv6');
    subs.push(
      lift
        .group(groupId, { streams: [name] })
        .pipe(
          mergeMap((p) =>
            p.messages.pipe(
              filter(() => false),
              commit(p, { count: 2, timeMs: 0 }),
            ),
          ),
        )
        .subscribe(),
    );
    await expect.poll(() => cursor(name, 0, groupId), { timeout: 10_000 }).toBe(5n);
  });
});

describe("a revoked partition's leftovers (8.8)", () => {
  it("subscribing to a revoked partition's messages completes at once and opens no Subscribe call", async () => {
    const name = await stream(1, 3);
    const groupId = uniqueName('rv4');
    const ap = await firstAssignment(lift, groupId, name);
    subs.splice(0).forEach((s) => s.unsubscribe());
    await expect.poll(() => ap.revoked).toBe(true);
    let completed = false;
    const late = (ap.messages as Observable<unknown>).subscribe({ complete: () => (completed = true) });
    subs.push(late);
    expect(completed).toBe(true);
    expect(lift.stats().subscriptions.some((s) => s.stream === name)).toBe(false);
    expect(await firstValueFrom(ap.messages.pipe(toArray(), timeout(2_000)))).toEqual([]);
  });

  it('a failed position write does not count as saved (a later smaller write still goes out)', async () => {
    const name = await stream(1, 3);
    const groupId = uniqueName('rv5');
    const ap = await firstAssignment(lift, groupId, name);
    // An invalid write fails before it is sent...
    const error = await (async () => firstValueFrom(from(ap.save('', 0, 10n))))().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    // ...so it must not hide a real write of a smaller offset.
    await firstValueFrom(from(ap.save(name, 0, 1n)), { defaultValue: undefined });
    expect(await cursor(name, 0, groupId)).toBe(1n);
  });
});
