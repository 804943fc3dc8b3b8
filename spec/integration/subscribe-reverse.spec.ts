/**
 * Reverse subscriptions (`subscribe({ reverse: true })`) end to end through the SDK. Only servers
 * after v1.9.0 (the `main` pin) read backwards; v1.x releases ignore `SubscribeRequest.reverse`,
 * so on them the file is skipped (CI runs the full suite on main too).
 */
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClientStatus, connect, consume, InvalidArgumentError, type LiftbridgeClient, type Message, StartAt, StopAt } from '../../src/index.js';
import { isAfterV1_9_0, liftbridgeVersion, uniqueName, useSingleNode } from '../support/broker.js';

const reverseSupported = isAfterV1_9_0();

describe.skipIf(!reverseSupported)(
  `reverse subscriptions (skipped on ${liftbridgeVersion()}: v1.x releases ignore SubscribeRequest.reverse; run with LIFTBRIDGE_PIN=main)`,
  () => {
    const broker = useSingleNode();
    let lift: LiftbridgeClient;
    beforeAll(() => {
      lift = connect({ brokers: [broker.address], retry: { maxRetries: 50, initialDelayMs: 50, maxDelayMs: 500, totalTimeoutMs: 60_000 } });
    });
    /** Clients a test opens beside `lift`: closed here too, so a failing test leaves none open. */
    const extra: LiftbridgeClient[] = [];
    afterAll(() => Promise.all([lift, ...extra].map((c) => c.destroy())));

    const text = (m: Message): string => new TextDecoder().decode(m.value);

    async function streamWith(count: number, padding = 0): Promise<string> {
      const name = uniqueName('rev');
      await firstValueFrom(lift.createStream({ name }));
      for (let i = 0; i < count; i++) await firstValueFrom(lift.publish(name, `m${i}`.padEnd(padding, '.')));
      return name;
    }

    const read = (name: string, options: Parameters<LiftbridgeClient['subscribe']>[1]): Promise<Message[]> =>
      lastValueFrom(lift.subscribe(name, options).pipe(toArray()));

    it('reads newest to oldest from the latest message, then completes', async () => {
      const name = await streamWith(5);
      const got = await read(name, { reverse: true, startAt: StartAt.latest() });
      expect(got.map((m) => m.offset)).toEqual([4n, 3n, 2n, 1n, 0n]);
      expect(got.map(text)).toEqual(['m4', 'm3', 'm2', 'm1', 'm0']);
    });

    it('reads newest to oldest from a start offset and from earliest', async () => {
      const name = await streamWith(5);
      expect((await read(name, { reverse: true, startAt: StartAt.offset(2n) })).map((m) => m.offset)).toEqual([2n, 1n, 0n]);
      expect((await read(name, { reverse: true, startAt: StartAt.earliest() })).map((m) => m.offset)).toEqual([0n]);
    });

    // main checks "stop offset >= start offset" as for a forward read, so a reverse read can only
    // stop at its own start: a stop below it fails with INVALID_ARGUMENT before any message.
    it("stop positions: a stop at the start offset delivers just it; a stop below the start ends with the server's InvalidArgumentError", async () => {
      const name = await streamWith(5);
      expect((await read(name, { reverse: true, startAt: StartAt.offset(3n), stopAt: StopAt.offset(3n) })).map((m) => m.offset)).toEqual([3n]);
      const seen: bigint[] = [];
      const error = await lastValueFrom(lift.subscribe(name, { reverse: true, startAt: StartAt.offset(3n), stopAt: StopAt.offset(1n) })).then(
        (m) => seen.push(m.offset),
        (e: unknown) => e,
      );
      expect(seen).toEqual([]);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toMatch(/Stop offset is before start offset: 1 < 3/);
    });

    it('resumes a reversed subscription after a broker restart without losing, repeating or reordering an offset', async () => {
      // 120 x 8 KiB through a 64 KiB HTTP/2 window: far more than the window and the sockets hold
      // while the handler waits, so the server is still sending (the reverse read is not over)
      // when the broker goes away. With the default 1 MiB window the whole read could already be
      // on this side, and nothing would need resuming.
      const count = 120;
      const name = await streamWith(count, 8192);
      const narrow = connect({
        brokers: [broker.address],
        flowControlWindowBytes: 65_535,
        retry: { maxRetries: 50, initialDelayMs: 50, maxDelayMs: 500, totalTimeoutMs: 60_000 },
      });
      extra.push(narrow);
      const events: ClientStatus[] = [];
      const statusSub = narrow.status$.subscribe((e) => events.push(e));
      let openGate = (): void => {};
      const gate = new Promise<void>((resolve) => {
        openGate = resolve;
      });
      let reachedGate = (): void => {};
      const atGate = new Promise<void>((resolve) => {
        reachedGate = resolve;
      });
      const all = lastValueFrom(
        narrow.subscribe(name, { reverse: true, startAt: StartAt.latest(), prefetch: 2 }).pipe(
          consume(async (m) => {
            if (m.offset === 110n) {
              reachedGate();
              await gate;
            }
          }),
          toArray(),
        ),
      );
      await atGate;
      const pidBefore = broker.pid;
      await broker.restart();
      expect(broker.pid).not.toBe(pidBefore);
      openGate();
      const got = await all;
      statusSub.unsubscribe();
      expect(got.map((m) => m.offset)).toEqual(Array.from({ length: count }, (_, i) => BigInt(count - 1 - i)));
      expect(events.some((e) => e.type === 'reconnecting' && e.rpc === 'Subscribe')).toBe(true);
    });
  },
);
