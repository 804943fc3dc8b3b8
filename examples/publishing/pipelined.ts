/**
 * Pipelined publishing: an async generator (pulled on demand, at most `maxInFlight` unacknowledged)
 * through publishTo, acks in input order; then a pipeline that reports failures per message.
 *
 *   node --import tsx examples/publishing/pipelined.ts
 */
import { firstValueFrom, lastValueFrom, count, range, map, tap, toArray } from 'rxjs';
import { connect } from '../../src/index.js';
import { publishTo } from '../../src/publish/index.js';
import { exampleBroker } from './local-broker.js';

const broker = await exampleBroker();
const lift = connect({ brokers: broker.brokers });
try {
  const stream = `events-${Date.now()}`;
  await firstValueFrom(lift.createStream({ name: stream, partitions: 3 }));

  // 1. A producer that is only asked for the next event while fewer than 256 are in flight.
  async function* events(): AsyncGenerator<{ key: string; value: string; headers: Record<string, string> }> {
    for (let i = 0; i < 10_000; i++) yield { key: `device-${i % 50}`, value: JSON.stringify({ i, t: Date.now() }), headers: { type: 'reading' } };
  }
  const started = Date.now();
  const stored = await lastValueFrom(publishTo(lift, stream, { maxInFlight: 256, partitioner: 'key' })(events()).pipe(count()));
  console.log(`${stored} events acknowledged in ${Date.now() - started} ms`);

  // 2. In an RxJS pipe, reporting each outcome instead of stopping at the first failure.
  await firstValueFrom(lift.setStreamReadonly(stream, { partitions: [2] }));
  const results = await lastValueFrom(
    range(0, 9).pipe(
      map((i) => ({ value: `job ${i}`, partition: i % 3 })),
      publishTo(lift, stream, { failFast: false, retry: false }),
      tap((r) => console.log(r.ok ? `ok   ${r.input.value} -> ${r.ack.partition}@${r.ack.offset}` : `fail ${r.input.value}: ${r.error.code}`)),
      toArray(),
    ),
  );
  console.log(`${results.filter((r) => r.ok).length} stored, ${results.filter((r) => !r.ok).length} refused`);
} finally {
  await lift.close();
  await broker.stop();
}
