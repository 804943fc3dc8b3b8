/**
 * One message, one outcome: key, headers, partitioners, ack policies and optimistic concurrency.
 *
 *   node --import tsx examples/publishing/publish-one.ts
 */
import { firstValueFrom } from 'rxjs';
import { connect, IncorrectOffsetError } from '../../src/index.js';
import { publish } from '../../src/publish/index.js';
import { exampleBroker } from './local-broker.js';

const broker = await exampleBroker();
const lift = connect({ brokers: broker.brokers });
try {
  const stream = `orders-${Date.now()}`;
  await firstValueFrom(lift.createStream({ name: stream, partitions: 4 }));

  // Leader ack (the default): stored by the partition leader.
  const ack = await firstValueFrom(
    publish(lift, stream, JSON.stringify({ id: 1, total: 42 }), { key: 'customer-7', partitioner: 'key', headers: { source: 'example' } }),
  );
  console.log(`stored on partition ${ack.partition} at offset ${ack.offset} (correlation id ${ack.correlationId})`);

  // Ack policy 'all': committed by every in-sync replica.
  const committed = await firstValueFrom(publish(lift, stream, 'important', { partition: 0, ackPolicy: 'all', ackWaitMs: 10_000 }));
  console.log(`committed at ${committed.offset}, commit time ${committed.commitTimestampNs} ns`);

  // Ack policy 'none': a Sent receipt once the message left the client; the broker confirms nothing.
  const sent = await firstValueFrom(publish(lift, stream, 'fire and forget', { partition: 0, ackPolicy: 'none' }));
  console.log(`sent ${sent.correlationId} (no ack requested)`);

  // Optimistic concurrency: a stream created with it checks expectedOffset.
  const ledger = `ledger-${Date.now()}`;
  await firstValueFrom(lift.createStream({ name: ledger, optimisticConcurrencyControl: true }));
  await firstValueFrom(publish(lift, ledger, 'entry 0', { expectedOffset: 0n }));
  try {
    await firstValueFrom(publish(lift, ledger, 'stale writer', { expectedOffset: 0n }));
  } catch (error) {
    if (!(error instanceof IncorrectOffsetError)) throw error;
    console.log(`refused a stale write: ${error.code} (correlation id ${error.correlationId})`);
  }
} finally {
  await lift.close();
  await broker.stop();
}
