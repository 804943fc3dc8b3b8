/**
 * Smoke suite for the compatibility pin (`npm run test:compat`): the core paths on the
 * oldest server version we support.
 */
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type LiftbridgeClient, NoSuchStreamError, StartAt, StopAt, StreamExistsError } from '../../src/index.js';
import { liftbridgeVersion, uniqueName, useSingleNode } from '../support/broker.js';

const broker = useSingleNode();
let lift: LiftbridgeClient;
beforeAll(() => {
  lift = connect({ brokers: [broker.address] });
});
afterAll(() => lift.close());

describe(`smoke on the compatibility pin`, () => {
  it('runs the compatibility version', () => {
    expect(liftbridgeVersion('compatibility')).toMatch(/^v/);
  });

  it('creates, publishes, reads back, inspects and deletes a stream', async () => {
    const name = uniqueName('smoke');
    await firstValueFrom(lift.createStream({ name, partitions: 2 }));
    await expect(firstValueFrom(lift.createStream({ name }))).rejects.toBeInstanceOf(StreamExistsError);
    const acks = [];
    for (let i = 0; i < 3; i++) acks.push(await firstValueFrom(lift.publish(name, `m${i}`, { partition: 1, key: 'k' })));
    expect(acks.map((a) => a.offset)).toEqual([0n, 1n, 2n]);
    const read = await lastValueFrom(lift.subscribe(name, { partition: 1, startAt: StartAt.earliest(), stopAt: StopAt.latest() }).pipe(toArray()));
    expect(read.map((m) => new TextDecoder().decode(m.value))).toEqual(['m0', 'm1', 'm2']);
    expect((await firstValueFrom(lift.fetchPartitionMetadata(name, 1))).newestOffset).toBe(2n);
    await firstValueFrom(lift.deleteStream(name));
    await expect(firstValueFrom(lift.deleteStream(name))).rejects.toBeInstanceOf(NoSuchStreamError);
  });
});
