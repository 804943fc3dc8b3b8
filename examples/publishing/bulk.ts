/**
 * Bulk publishing, after gufo-liftbridge's bulk example: prepare the requests, publish them in one
 * go (sending and acknowledgement separated, so the round-trip time does not limit the rate), and
 * get the acks. `wait: false` would return after the last send without waiting for the rest.
 *
 *   node --import tsx examples/publishing/bulk.ts
 */
import { firstValueFrom, lastValueFrom, tap, toArray } from 'rxjs';
import { connect } from '../../src/index.js';
import { publishBulk, type PublishMessage } from '../../src/publish/index.js';
import { exampleBroker } from './local-broker.js';

const broker = await exampleBroker();
const lift = connect({ brokers: broker.brokers });
try {
  // The stream and partition must exist first.
  const stream = `test-${Date.now()}`;
  await firstValueFrom(lift.createStream({ name: stream }));

  // Prepare the requests: any array or (async) iterable of messages; each names its stream and partition.
  const bulk: PublishMessage[] = Array.from({ length: 10 }, (_, i) => ({ value: `msg${i}`, stream, partition: 0 }));

  // Publish them and print each ack as it comes.
  const acks = await lastValueFrom(
    publishBulk(lift, bulk, { wait: true }).pipe(
      tap((ack) => console.log(ack)),
      toArray(),
    ),
  );
  console.log(`${acks.length} acks`);
} finally {
  await lift.close();
  await broker.stop();
}
