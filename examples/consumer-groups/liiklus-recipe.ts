/**
 * The Liiklus recipe with rx-liftbridge: subscribe to a group, receive each assigned partition
 * with backpressure, process every record, and store the group's position every 1000 records
 * or every 5 seconds — at-least-once (positions are stored after processing).
 *
 *   LIFTBRIDGE_BROKERS=127.0.0.1:9292 node --import tsx examples/consumer-groups/liiklus-recipe.ts
 */
import { firstValueFrom, mergeMap } from 'rxjs';
import { commit, connect, consume } from '../../src/index.js';

const brokers = (process.env.LIFTBRIDGE_BROKERS ?? '127.0.0.1:9292').split(',');
const lift = connect({ brokers });
const stream = `example-events-${Date.now()}`;
const groupId = 'analytics';

try {
  await firstValueFrom(lift.createStream({ name: stream, partitions: 2 }));
  for (let i = 0; i < 2_500; i++) await firstValueFrom(lift.publish(stream, JSON.stringify({ user: i % 7, action: 'click' }), { partition: i % 2 }));

  let processed = 0;
  const index = async (record: Uint8Array): Promise<void> => {
    JSON.parse(new TextDecoder().decode(record)); // stand-in for indexing into a search engine
    processed++;
  };

  const run = lift
    .group(groupId, { streams: [stream] })
    .pipe(
      mergeMap((assignment) =>
        assignment.messages.pipe(
          consume((m) => index(m.value)), // settles each message when processed: backpressure per partition
          commit(assignment, { count: 1_000, timeMs: 5_000 }), // ack every 1000 records or every 5 s
        ),
      ),
    )
    .subscribe();

  // Wait until everything is processed, then leave the group (this flushes the last positions).
  while (processed < 2_500) await new Promise((r) => setTimeout(r, 20));
  run.unsubscribe();
  // Leaving flushes the last positions in the background; close() waits for them.
  await lift.close();
  const check = connect({ brokers });
  const positions = await Promise.all([0, 1].map((partition) => firstValueFrom(check.fetchCursor({ stream, partition, cursorId: `__group:${groupId}` }))));
  console.log(`OK processed ${processed} records; group position per partition: ${positions.join(', ')}`);
  await firstValueFrom(check.deleteStream(stream));
  await check.close();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
  await lift.destroy();
}
