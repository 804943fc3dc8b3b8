/**
 * Publishing many messages from RxJS (docs/getting-started.md, "Publish many"): a pulled generator,
 * the synchronous-Observable shape and its two fixes, where keyed messages go by default, and acks
 * as JSON.
 *
 *   node --import tsx examples/publishing/many.ts
 */
import { firstValueFrom, lastValueFrom, map, range, toArray } from 'rxjs';
import { BufferOverflowError, connect } from '../../src/index.js';
import { partitionForKey, publishTo, type PublishMessage } from '../../src/publish/index.js';
import { exampleBroker } from './local-broker.js';

const broker = await exampleBroker();
const lift = connect({ brokers: broker.brokers });
try {
  const stream = `orders-${Date.now()}`;
  await firstValueFrom(lift.createStream({ name: stream, partitions: 4 }));
  const toMessage = (i: number): PublishMessage => ({ value: JSON.stringify({ id: i }), key: `customer-${i % 50}` });

  // 1. Pulled: the generator is asked for the next order only while fewer than maxInFlight are unacknowledged.
  function* orders(): Generator<PublishMessage> {
    for (let i = 0; i < 100_000; i++) yield toMessage(i);
  }
  const acks = await lastValueFrom(publishTo(lift, stream)(orders()).pipe(toArray()));
  console.log(`pulled: ${acks.length} acks`);

  // 2. A synchronous Observable pushes everything at once: the bounded queue refuses it, and says why.
  const refused = await lastValueFrom(range(0, 100_000).pipe(map(toMessage), publishTo(lift, stream), toArray())).catch((e: unknown) => e);
  if (refused instanceof BufferOverflowError) console.log(`pushed: ${refused.code} (${refused.message.slice(0, 90)}...)`);

  // 3. ...unless the queue is sized for the burst (which then sits in memory).
  const sized = await lastValueFrom(range(0, 100_000).pipe(map(toMessage), publishTo(lift, stream, { maxBuffered: 100_000 }), toArray()));
  console.log(`pushed with maxBuffered 100000: ${sized.length} acks`);

  // 4. A key picks the partition by default, where go-liftbridge's PartitionByKey puts it.
  const keyed = await firstValueFrom(lift.publish(stream, 'hello', { key: 'customer-7' }));
  const expected = partitionForKey(new TextEncoder().encode('customer-7'), 4);
  console.log(`customer-7 went to partition ${keyed.partition} (go-liftbridge: ${expected})`);

  // 5. Acks serialise to JSON (bigint offsets as strings).
  console.log(`as JSON: ${JSON.stringify(keyed)}`);
} finally {
  await lift.close();
  await broker.stop();
}
