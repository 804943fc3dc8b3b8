/**
 * Checks of the facts sheet's [VERIFY] items against the pinned server. docs/testing.md
 * records what they found.
 */
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StartPosition } from '../../src/generated/liftbridge/api.js';
import { connect, type LiftbridgeClient, StartAt, StopAt } from '../../src/index.js';
import { ConnectionPool } from '../../src/transport/connection-pool.js';
import { resolveClientOptions } from '../../src/client-options.js';
import { isAfterV1_9_0, uniqueName, useSingleNode } from '../support/broker.js';

const broker = useSingleNode();
let lift: LiftbridgeClient;
beforeAll(() => {
  lift = connect({ brokers: [broker.address] });
});
const pools: ConnectionPool[] = [];
afterAll(async () => {
  pools.forEach((p) => p.close());
  await lift.close();
});

describe('wire facts on the pinned server', () => {
  it('serves the API under package "proto" (FetchMetadata is implemented)', async () => {
    const meta = await firstValueFrom(lift.refreshMetadata());
    expect(meta.brokers[0]?.id).toBe(broker.id);
  });

  it('stores user headers and adds "subject" and "reply" headers', async () => {
    const name = uniqueName('hdr');
    await firstValueFrom(lift.createStream({ name }));
    await firstValueFrom(lift.publish(name, 'v', { headers: { custom: 'x' } }));
    const [m] = await lastValueFrom(lift.subscribe(name, { startAt: StartAt.earliest(), stopAt: StopAt.latest() }).pipe(toArray()));
    expect(Object.keys(m?.headers ?? {}).sort()).toEqual(['custom', 'reply', 'subject']);
    expect(new TextDecoder().decode(m?.headers.subject)).toBe(name);
  });

  it('SubscribeRequest.reverse (field 12): reverse order on servers with the v2 API, ignored by v1.x', async () => {
    const name = uniqueName('rev');
    await firstValueFrom(lift.createStream({ name }));
    for (const v of ['a', 'b', 'c']) await firstValueFrom(lift.publish(name, v));
    const pool = new ConnectionPool(resolveClientOptions({ brokers: [broker.address] }).transport, { debug() {}, info() {}, warn() {}, error() {} }, () => {});
    pools.push(pool);
    const call = pool.acquireStream(broker.address).client.subscribe({
      stream: name,
      partition: 0,
      startPosition: StartPosition.LATEST,
      startOffset: 0n,
      startTimestamp: 0n,
      readISRReplica: false,
      resume: false,
      stopPosition: 0,
      stopOffset: 0n,
      stopTimestamp: 0n,
      reverse: true,
    });
    const offsets: bigint[] = [];
    const ended = new Promise<string>((resolve) => {
      call.on('data', (m: { stream: string; offset: bigint }) => {
        if (m.stream === '') return; // handshake
        offsets.push(m.offset);
        if (offsets.length === 3 || (!isAfterV1_9_0() && offsets.length === 1)) {
          call.cancel();
        }
      });
      call.on('error', (e: { details: string }) => resolve(e.details));
    });
    await ended;
    if (!isAfterV1_9_0()) {
      // v1.x releases do not know field 12: LATEST re-delivers the newest message, forwards.
      expect(offsets).toEqual([2n]);
    } else {
      expect(offsets).toEqual([2n, 1n, 0n]);
    }
  });
});
