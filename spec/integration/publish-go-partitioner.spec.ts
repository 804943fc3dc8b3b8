/**
 * The key partitioner routes every key to the partition the official Go client picks. The Go side
 * is go-liftbridge v2.4.0 itself (tools/go-compare, built from the Go module proxy): it applies
 * `lift.PartitionByKey()` with the partition count from its own FetchMetadata against the same
 * broker. Nothing of ours runs on the Go side.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type LiftbridgeClient, StartAt, StopAt } from '../../src/index.js';
import { partitionForKey } from '../../src/publish/partitioner.js';
import { publishTo } from '../../src/publish/publish-to.js';
import { uniqueName, useSingleNode } from '../support/broker.js';
import { goTool } from '../support/go-tools.js';

const broker = useSingleNode();
let tool = '';
beforeAll(() => {
  tool = goTool('go-compare');
}, 300_000);

let client: LiftbridgeClient;
beforeAll(() => {
  client = connect({ brokers: [broker.address] });
});
afterAll(async () => {
  await client.close();
});

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function keys(): Uint8Array[] {
  const out: Uint8Array[] = [new Uint8Array(0), enc('a'), enc('abc'), enc('customer-7'), enc(' '), enc('\n')];
  for (const s of ['ключ', '鍵', 'κλειδί', '🔑🚀', 'é', 'e\u0301', '\u0000', 'x'.repeat(10_000)]) out.push(enc(s));
  for (let i = 0; i < 600; i++) out.push(enc(`order-${i}`));
  // binary keys, including every single byte value and invalid UTF-8
  for (let b = 0; b < 256; b++) out.push(Uint8Array.of(b));
  for (let i = 0; i < 600; i++) out.push(randomBytes(1 + (i % 64)));
  return out;
}

function goPartitions(stream: string, ks: readonly Uint8Array[]): number[] {
  const input = `${ks.map((k) => Buffer.from(k).toString('hex')).join('\n')}\n`;
  const out = execFileSync(tool, ['partition', '-brokers', broker.address, '-stream', stream], { input, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  return out.trim().split('\n').map(Number);
}

describe('key partitioner = go-liftbridge key partitioner', () => {
  it('picks the same partition as go-liftbridge for ~1 500 keys (empty, unicode, binary) and several partition counts', async () => {
    const ks = keys();
    for (const partitions of [1, 2, 3, 7, 16, 100]) {
      const stream = uniqueName(`gokeys${partitions}`);
      await firstValueFrom(client.createStream({ name: stream, partitions }));
      const go = goPartitions(stream, ks);
      expect(go).toHaveLength(ks.length);
      const ours = ks.map((k) => partitionForKey(k, partitions));
      const mismatches = ours.flatMap((p, i) => (p === go[i] ? [] : [`${Buffer.from(ks[i]!).toString('hex').slice(0, 40)}: ours ${p}, go ${go[i]}`]));
      expect(mismatches).toEqual([]);
      if (partitions > 1) expect(new Set(go).size).toBeGreaterThan(1);
    }
  });

  it('publishTo with partitioner "key" lands each message on the Go client\'s partition', async () => {
    const stream = uniqueName('gokeys-pub');
    await firstValueFrom(client.createStream({ name: stream, partitions: 5 }));
    const ks = keys().slice(0, 300);
    const go = goPartitions(stream, ks);
    const acks = await lastValueFrom(publishTo(client, stream, { partitioner: 'key' })(ks.map((key) => ({ key, value: 'v' }))).pipe(toArray()));
    expect(acks.map((a) => a.partition)).toEqual(go);
  });

  it('without a partitioner option, publishTo and publish() put keyed messages where go-liftbridge PartitionByKey does', async () => {
    const stream = uniqueName('gokeys-default');
    await firstValueFrom(client.createStream({ name: stream, partitions: 4 }));
    const ks = keys().slice(0, 300);
    const go = goPartitions(stream, ks);
    expect(new Set(go).size).toBe(4);
    const acks = await lastValueFrom(publishTo(client, stream)(ks.map((key) => ({ key, value: 'v' }))).pipe(toArray()));
    expect(acks.map((a) => a.partition)).toEqual(go);
    const single = [];
    for (const key of ks.slice(1, 20)) single.push(await firstValueFrom(client.publish(stream, 'one', { key })));
    expect(single.map((a) => a.partition)).toEqual(go.slice(1, 20));
    // and the broker stored each key in that partition, in publish order
    const hex = (k: Uint8Array): string => Buffer.from(k).toString('hex');
    const published = [...ks, ...ks.slice(1, 20)];
    const goOf = [...go, ...go.slice(1, 20)];
    for (let partition = 0; partition < 4; partition++) {
      const stored = await lastValueFrom(client.subscribe(stream, { partition, startAt: StartAt.earliest(), stopAt: StopAt.latest() }).pipe(toArray()));
      expect(stored.map((m) => hex(m.key))).toEqual(published.filter((_, i) => goOf[i] === partition).map(hex));
    }
  });
});
