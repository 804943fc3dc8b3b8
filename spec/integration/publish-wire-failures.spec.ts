/**
 * The PublishAsync wire path against real brokers when things go wrong: oversized messages on a
 * shared call (issues 8.4, 18.3) and fire-and-forget publishing to a killed broker (issue 18.4).
 */
import { firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionError, connect, type LiftbridgeClient, LiftbridgeError, MessageTooLargeError } from '../../src/index.js';
import { publish } from '../../src/publish/publish.js';
import { startSingleNode, uniqueName, useSingleNode } from '../support/broker.js';

const clients: LiftbridgeClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
});

async function failure(p: Promise<unknown>): Promise<LiftbridgeError> {
  try {
    await p;
  } catch (error) {
    expect(error).toBeInstanceOf(LiftbridgeError);
    return error as LiftbridgeError;
  }
  throw new Error('expected a failure');
}

const MiB = 1024 * 1024;

describe('oversized messages on the default (http2) transport', () => {
  const broker = useSingleNode();

  it('only the oversized publish fails; the publishes sharing its call succeed', async () => {
    const lift = connect({ brokers: [broker.address] });
    clients.push(lift);
    const name = uniqueName('big-shared');
    await firstValueFrom(lift.createStream({ name }));
    const big = firstValueFrom(publish(lift, name, new Uint8Array(5 * MiB), { maxMessageBytes: 8 * MiB, correlationId: 'big', ackWaitMs: 5_000 }));
    const small = Array.from({ length: 5 }, (_, i) => firstValueFrom(publish(lift, name, `small-${i}`, { correlationId: `small-${i}`, ackWaitMs: 5_000 })));
    const [bigOutcome, ...smallOutcomes] = await Promise.allSettled([big, ...small]);
    expect(bigOutcome?.status).toBe('rejected');
    expect((bigOutcome as PromiseRejectedResult).reason).toBeInstanceOf(MessageTooLargeError);
    expect(smallOutcomes.map((o) => (o.status === 'fulfilled' ? o.value.correlationId : String((o as PromiseRejectedResult).reason)))).toEqual(
      small.map((_, i) => `small-${i}`),
    );
  });

  it('a 12 MiB publish does not wedge the client: later publishes succeed', async () => {
    const lift = connect({ brokers: [broker.address] });
    clients.push(lift);
    const name = uniqueName('big-12');
    await firstValueFrom(lift.createStream({ name }));
    const e = await failure(firstValueFrom(publish(lift, name, new Uint8Array(12 * MiB), { maxMessageBytes: 16 * MiB, ackWaitMs: 5_000 })));
    expect(e).toBeInstanceOf(MessageTooLargeError);
    for (let i = 0; i < 3; i++) {
      const ack = await firstValueFrom(publish(lift, name, `after-${i}`, { ackWaitMs: 3_000 }));
      expect(ack.offset).toBe(BigInt(i));
    }
  });
});

describe("ackPolicy 'none' when the broker is gone", () => {
  it('a killed broker gives a typed error (never sent), not a Sent receipt', async () => {
    const node = await startSingleNode();
    try {
      const lift = connect({ brokers: [node.address], retry: { maxRetries: 2, initialDelayMs: 20, totalTimeoutMs: 2_000 } });
      clients.push(lift);
      const name = uniqueName('none-killed');
      await firstValueFrom(lift.createStream({ name }));
      const sent = await firstValueFrom(publish(lift, name, 'before', { ackPolicy: 'none' }));
      expect(sent.type).toBe('sent');
      await node.kill('SIGKILL');
      // Once the client has seen the connection close. (In the moment before, the kernel still takes
      // bytes for a socket whose peer just died: a Sent receipt then is what "handed to an open
      // socket" means, and no client can tell; see docs/publishing.md, ackPolicy 'none'.)
      await expect
        .poll(
          () =>
            lift
              .stats()
              .connections.flatMap((a) => a.connections)
              .filter((c) => c.kind === 'http2' && c.state === 'READY').length,
        )
        .toBe(0);
      const e = await failure(firstValueFrom(publish(lift, name, 'after', { ackPolicy: 'none', correlationId: 'after-kill' })));
      expect(e).toBeInstanceOf(ConnectionError);
      expect((e as ConnectionError).neverSent, e.message).toBe(true);
      expect(e.correlationId).toBe('after-kill');
      expect(e.message).not.toMatch(/may or may not/);
    } finally {
      await node.stop();
    }
  });
});
