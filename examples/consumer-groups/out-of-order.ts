/**
 * Concurrent, out-of-order processing with contiguous commits: eight messages per partition
 * in flight at once, finishing in random order, while the stored position only ever covers
 * messages that are all done. A crash can re-deliver, but never skip.
 *
 *   LIFTBRIDGE_BROKERS=127.0.0.1:9292 node --import tsx examples/consumer-groups/out-of-order.ts
 */
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { commit, connect, consume, StartAt, StopAt } from '../../src/index.js';

const brokers = (process.env.LIFTBRIDGE_BROKERS ?? '127.0.0.1:9292').split(',');
const lift = connect({ brokers });
const stream = `example-jobs-${Date.now()}`;

try {
  await firstValueFrom(lift.createStream({ name: stream }));
  for (let i = 0; i < 200; i++) await firstValueFrom(lift.publish(stream, `job ${i}`));

  const done = new Set<bigint>();
  let outOfOrder = 0;
  let unsafeCommits = 0;
  await lastValueFrom(
    lift.subscribe(stream, { startAt: StartAt.cursor('workers'), stopAt: StopAt.latest() }).pipe(
      consume(
        (m) =>
          new Promise<void>((resolve) =>
            setTimeout(() => {
              if ([...done].some((o) => o > m.offset)) outOfOrder++;
              done.add(m.offset);
              resolve();
            }, Math.random() * 10),
          ),
        { concurrency: 8 },
      ),
      commit(lift, 'workers', {
        count: 10,
        onCommit: ({ offset }) => {
          for (let o = 0n; o <= offset; o++) if (!done.has(o)) unsafeCommits++;
        },
      }),
    ),
  );
  const position = await firstValueFrom(lift.fetchCursor({ stream, partition: 0, cursorId: 'workers' }));
  console.log(`OK ${done.size} jobs, ${outOfOrder} finished out of order, stored position ${position}, commits past an unfinished job: ${unsafeCommits}`);
  await firstValueFrom(lift.deleteStream(stream));
} finally {
  await lift.close();
}
