import { firstValueFrom, type Subscription } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type ClientStatus, type LiftbridgeClient, type Message, StartAt } from '../../src/index.js';
import { uniqueName, useSingleNode } from '../support/broker.js';

// Own file: it restarts its broker.
const broker = useSingleNode();
let lift: LiftbridgeClient;
beforeAll(() => {
  lift = connect({ brokers: [broker.address], retry: { maxRetries: 50, initialDelayMs: 50, maxDelayMs: 500, totalTimeoutMs: 60_000 } });
});
afterAll(() => lift.destroy());

describe('resume without loss', () => {
  it('resubscribes after a broker restart (how grpc-js reports a server going away) and sees every offset once, in order', async () => {
    const name = uniqueName('restart');
    await firstValueFrom(lift.createStream({ name }));
    const events: ClientStatus[] = [];
    const statusSub = lift.status$.subscribe((e) => events.push(e));
    const seen: bigint[] = [];
    const sub: Subscription = lift
      .subscribe(name, { startAt: StartAt.earliest() })
      .subscribe({ next: (m: Message) => seen.push(m.offset), error: () => undefined });
    for (let i = 0; i < 5; i++) await firstValueFrom(lift.publish(name, `before-${i}`));
    await expect.poll(() => seen.length).toBe(5);

    await broker.restart();

    for (let i = 0; i < 5; i++) await firstValueFrom(lift.publish(name, `after-${i}`, { ackWaitMs: 10_000 }));
    await expect.poll(() => seen.length, { timeout: 30_000 }).toBe(10);
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i)));
    expect(events.some((e) => e.type === 'reconnecting' && e.rpc === 'Subscribe')).toBe(true);
    expect(events.some((e) => e.type === 'resubscribed' && e.stream === name && e.fromOffset === 5n)).toBe(true);
    sub.unsubscribe();
    statusSub.unsubscribe();
  });

  it('resumes a subscription that had delivered nothing from its original start', async () => {
    const name = uniqueName('restart-empty');
    await firstValueFrom(lift.createStream({ name }));
    await firstValueFrom(lift.publish(name, 'zero'));
    const seen: bigint[] = [];
    // new-only: nothing delivered before the restart.
    const sub = lift.subscribe(name).subscribe({ next: (m) => seen.push(m.offset), error: () => undefined });
    await expect.poll(() => lift.stats().subscriptions.some((s) => s.stream === name && s.callOpen)).toBe(true);
    await broker.restart();
    await expect.poll(() => lift.stats().subscriptions.find((s) => s.stream === name)?.callOpen, { timeout: 30_000 }).toBe(true);
    await new Promise((r) => setTimeout(r, 100)); // handshake of the new call
    await firstValueFrom(lift.publish(name, 'one', { ackWaitMs: 10_000 }));
    await expect.poll(() => seen, { timeout: 10_000 }).toEqual([1n]);
    sub.unsubscribe();
  });
});
