/**
 * A slow handler with bounded memory: each partition reads from the broker only while it
 * has fewer than `prefetch` messages in flight in `consume()`.
 *
 *   LIFTBRIDGE_BROKERS=127.0.0.1:9292 node --import tsx examples/subscribing/slow-consumer.ts
 */
import { firstValueFrom, lastValueFrom, count } from 'rxjs';
import { connect, consume, StartAt, StopAt } from '../../src/index.js';

const brokers = (process.env.LIFTBRIDGE_BROKERS ?? '127.0.0.1:9292').split(',');
const lift = connect({ brokers });
const stream = `example-slow-${Date.now()}`;

try {
  await firstValueFrom(lift.createStream({ name: stream, partitions: 2 }));
  for (let i = 0; i < 200; i++) await firstValueFrom(lift.publish(stream, `job ${i}`, { partition: i % 2 }));

  let peakUnsettled = 0;
  const sampler = setInterval(() => {
    for (const s of lift.stats().subscriptions) peakUnsettled = Math.max(peakUnsettled, s.unsettled);
  }, 5);

  const processed = await lastValueFrom(
    lift.subscribe(stream, { partitions: 'all', startAt: StartAt.earliest(), stopAt: StopAt.latest(), prefetch: 8 }).pipe(
      // A 2 ms "job" per message, two at a time per partition.
      consume(() => new Promise((resolve) => setTimeout(resolve, 2)), { concurrency: 2 }),
      count(),
    ),
  );
  clearInterval(sampler);
  console.log(`OK processed ${processed} messages; never more than ${peakUnsettled} unsettled per partition (prefetch 8)`);
  await firstValueFrom(lift.deleteStream(stream));
} finally {
  await lift.close();
}
