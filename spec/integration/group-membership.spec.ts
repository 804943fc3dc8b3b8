/**
 * Group membership against a real broker: what the server records about a member, read from
 * its activity stream (the harness enables it), which lists every join and leave with whether
 * the member left or was expired for missing heartbeats.
 */
import { type Subscription, filter, firstValueFrom, map, mergeMap } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ActivityStreamEvent, ActivityStreamOp } from '../../src/generated/liftbridge/api.js';
import { CursorsDisabledError, type LiftbridgeClient, connect } from '../../src/index.js';
import { uniqueName, useSingleNode } from '../support/broker.js';

// The harness runs the broker with groups.consumer.timeout 2s.
const broker = useSingleNode();
let lift: LiftbridgeClient;
const subs: Subscription[] = [];
beforeAll(() => {
  lift = connect({ brokers: [broker.address], retry: { maxRetries: 20, initialDelayMs: 50 } });
});
afterEach(() => subs.splice(0).forEach((s) => s.unsubscribe()));
afterAll(() => lift.destroy());

/** The group's membership events from the activity stream, in order. */
function membershipEvents(groupId: string): { op: 'join' | 'leave'; consumerId: string; expired: boolean }[] {
  const events: { op: 'join' | 'leave'; consumerId: string; expired: boolean }[] = [];
  subs.push(
    lift
      .subscribe('__activity', { startAt: { type: 'earliest' } })
      .pipe(
        map((m) => ActivityStreamEvent.decode(m.value)),
        filter((e) => e.joinConsumerGroupOp?.groupId === groupId || e.leaveConsumerGroupOp?.groupId === groupId),
      )
      .subscribe((e) => {
        if (e.op === ActivityStreamOp.JOIN_CONSUMER_GROUP) events.push({ op: 'join', consumerId: e.joinConsumerGroupOp!.consumerId, expired: false });
        if (e.op === ActivityStreamOp.LEAVE_CONSUMER_GROUP) {
          events.push({ op: 'leave', consumerId: e.leaveConsumerGroupOp!.consumerId, expired: e.leaveConsumerGroupOp!.expired });
        }
      }),
  );
  return events;
}

describe('group membership on a real broker', () => {
  it('unsubscribing while the join is in flight leaves the group instead of leaving a member to expire', async () => {
    const name = uniqueName('gm');
    await firstValueFrom(lift.createStream({ name, partitions: 1 }));
    const groupId = uniqueName('ghost');
    const events = membershipEvents(groupId);
    // Unsubscribe at once: the JoinConsumerGroup request is already on its way.
    lift
      .group(groupId, { streams: [name], consumerId: 'ghost' })
      .subscribe()
      .unsubscribe();
    await expect.poll(() => events.find((e) => e.op === 'leave'), { timeout: 10_000 }).toBeDefined();
    expect(events).toEqual([
      { op: 'join', consumerId: 'ghost', expired: false },
      { op: 'leave', consumerId: 'ghost', expired: false },
    ]);
  });
});

describe('group positions on a server without a cursors stream', () => {
  const plain = useSingleNode({ cursorsPartitions: 0 });
  it('end the group with CursorsDisabledError once metadata confirms the stream is absent', async () => {
    const other = connect({ brokers: [plain.address], retry: { maxRetries: 20, initialDelayMs: 50 } });
    try {
      const name = uniqueName('gm-nocursors');
      await firstValueFrom(other.createStream({ name, partitions: 1 }));
      const started = Date.now();
      const error = await firstValueFrom(other.group(uniqueName('gnc'), { streams: [name] }).pipe(mergeMap((p) => p.messages))).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CursorsDisabledError);
      // One confirming metadata call, not the whole retry budget.
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await other.destroy();
    }
  });
});
