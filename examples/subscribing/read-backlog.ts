/**
 * Reads a whole stream (every partition, merged) from the oldest message to the newest one
 * present when the read starts, then completes.
 *
 *   LIFTBRIDGE_BROKERS=127.0.0.1:9292 node --import tsx examples/subscribing/read-backlog.ts
 */
import { firstValueFrom, lastValueFrom, reduce } from 'rxjs';
import { connect, StartAt, StopAt } from '../../src/index.js';

const brokers = (process.env.LIFTBRIDGE_BROKERS ?? '127.0.0.1:9292').split(',');
const lift = connect({ brokers });
const stream = `example-backlog-${Date.now()}`;

try {
  await firstValueFrom(lift.createStream({ name: stream, partitions: 3 }));
  for (let i = 0; i < 30; i++) await firstValueFrom(lift.publish(stream, `event ${i}`, { partition: i % 3 }));

  const perPartition = await lastValueFrom(
    lift
      .subscribe(stream, { partitions: 'all', startAt: StartAt.earliest(), stopAt: StopAt.latest() })
      .pipe(reduce((counts, m) => counts.set(m.partition, (counts.get(m.partition) ?? 0) + 1), new Map<number, number>())),
  );
  console.log(`OK read ${[...perPartition.values()].reduce((a, b) => a + b, 0)} messages:`, Object.fromEntries(perPartition));
  await firstValueFrom(lift.deleteStream(stream));
} finally {
  await lift.close();
}
