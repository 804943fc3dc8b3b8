/**
 * One measured rx-liftbridge publish run, in its own process (pinned by the caller):
 *
 *   node --import tsx bench/publish/publish-child.ts <broker> <stream> <window> <count> <size> [transport] [partitions]
 *
 * Window 1 = `publish()` awaited one at a time (a synchronous publisher); window > 1 =
 * `publishTo` with maxInFlight = window over an Iterable source (pulled on demand). A warm-up
 * (3000 messages for window 1, 20 000 otherwise: JIT, connection, metadata) runs first and is not
 * measured.
 * Prints one JSON line: msg/s, p50/p99 ack latency (HDR histogram, µs), client CPU µs/msg, and
 * the correctness checks (an ack for every message, offsets contiguous and in order).
 */
import * as hdr from 'hdr-histogram-js';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { connect } from '../../src/index.js';
import { publish } from '../../src/publish/publish.js';
import { publishTo } from '../../src/publish/publish-to.js';

const [address, stream, windowArg, countArg, sizeArg, transportArg, partitionsArg] = process.argv.slice(2);
const window = Number(windowArg);
const count = Number(countArg);
const size = Number(sizeArg);
const transport = (transportArg === undefined || transportArg === '' ? 'http2' : transportArg) as 'http2' | 'grpc-js';
/** Message i goes to partition i % partitions (1: every message to partition 0, given as bare bytes). */
const partitions = partitionsArg === undefined ? 1 : Number(partitionsArg);

async function main(): Promise<void> {
  const lift = connect({ brokers: [address!] });
  const value = new Uint8Array(size);
  for (let i = 0; i < size; i++) value[i] = 97 + (i % 26);
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  let errors = 0;

  const input = (i: number): Uint8Array | { value: Uint8Array; partition: number } => (partitions === 1 ? value : { value, partition: i % partitions });

  // JIT warm-up (V8 compiles the hot path while it runs; Go's tool needs none). At most 64 MiB of
  // values (large values need fewer messages to warm up).
  const warmup = window <= 1 ? Math.min(count, 3000) : Math.min(count, 20_000, Math.max(1000, Math.floor((64 * 1024 * 1024) / Math.max(1, size))));
  if (window <= 1)
    for (let i = 0; i < warmup; i++)
      await firstValueFrom(publish(lift, stream!, value, { transport, ...(partitions === 1 ? {} : { partition: i % partitions }) }));
  else await lastValueFrom(publishTo(lift, stream!, { maxInFlight: window, transport })(Array.from({ length: warmup }, (_, i) => input(i))));

  // Checks as cheap as the Go tool's (which keeps min/max offsets): the acks of each partition carry
  // the offsets after its warm-up messages, +1 each, in order; anything else is a problem.
  let acks = 0;
  const expected = Array.from({ length: partitions }, (_, p) => BigInt(Math.floor(warmup / partitions) + (p < warmup % partitions ? 1 : 0)));
  let outOfOrder = 0;
  const check = (partition: number, offset: bigint): void => {
    acks++;
    if (offset !== expected[partition]) outOfOrder++;
    expected[partition] = offset + 1n;
  };

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  if (window <= 1) {
    for (let i = 0; i < count; i++) {
      const start = performance.now();
      try {
        const ack = await firstValueFrom(publish(lift, stream!, value, { transport, ...(partitions === 1 ? {} : { partition: i % partitions }) }));
        histogram.recordValue((performance.now() - start) * 1000);
        check(ack.partition, ack.offset);
      } catch {
        errors++;
      }
    }
  } else {
    const starts = new Float64Array(count);
    let emitted = 0;
    const source = function* (): Generator<Uint8Array | { value: Uint8Array; partition: number }> {
      for (let i = 0; i < count; i++) {
        starts[i] = performance.now();
        yield input(i);
      }
    };
    await new Promise<void>((resolve) => {
      publishTo(lift, stream!, { maxInFlight: window, transport })(source()).subscribe({
        next: (ack) => {
          histogram.recordValue((performance.now() - starts[emitted++]!) * 1000);
          check(ack.partition, ack.offset);
        },
        error: () => {
          errors++;
          resolve();
        },
        complete: resolve,
      });
    });
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);

  const problems: string[] = [];
  if (errors > 0) problems.push(`${errors} errors`);
  if (acks !== count) problems.push(`${acks} acks for ${count} messages`);
  if (outOfOrder > 0) problems.push(`${outOfOrder} acks out of offset order (missing, duplicated or reordered)`);
  console.log(
    JSON.stringify({
      client: 'rx-liftbridge',
      transport,
      window,
      partitions,
      size,
      messages: count,
      warmup,
      seconds,
      msgPerSec: count / seconds,
      p50Us: histogram.getValueAtPercentile(50),
      p99Us: histogram.getValueAtPercentile(99),
      cpuUsPerMsg: (cpu.user + cpu.system) / count,
      userUsPerMsg: cpu.user / count,
      systemUsPerMsg: cpu.system / count,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
      errors,
      ok: problems.length === 0,
      problems,
    }),
  );
  await lift.close();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
