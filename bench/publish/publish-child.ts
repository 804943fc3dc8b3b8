/**
 * One measured rx-liftbridge publish run, in its own process (pinned by the caller):
 *
 *   node --import tsx bench/publish/publish-child.ts <broker> <stream> <window> <count> <size> [transport]
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

const [address, stream, windowArg, countArg, sizeArg, transportArg] = process.argv.slice(2);
const window = Number(windowArg);
const count = Number(countArg);
const size = Number(sizeArg);
const transport = (transportArg ?? 'http2') as 'http2' | 'grpc-js';

async function main(): Promise<void> {
  const lift = connect({ brokers: [address!] });
  const value = new Uint8Array(size);
  for (let i = 0; i < size; i++) value[i] = 97 + (i % 26);
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  let errors = 0;

  // JIT warm-up (V8 compiles the hot path while it runs; Go's tool needs none).
  const warmup = window <= 1 ? Math.min(count, 3000) : Math.min(count, 20_000);
  if (window <= 1) for (let i = 0; i < warmup; i++) await firstValueFrom(publish(lift, stream!, value, { transport }));
  else await lastValueFrom(publishTo(lift, stream!, { maxInFlight: window, transport })(Array.from({ length: warmup }, () => value)));

  // Checks as cheap as the Go tool's (which keeps min/max offsets): one partition, so the acks of
  // a correct run carry the offsets warmup, warmup+1, ... in order; anything else is a problem.
  let acks = 0;
  let expected = BigInt(warmup);
  let outOfOrder = 0;
  const check = (offset: bigint): void => {
    acks++;
    if (offset !== expected) outOfOrder++;
    expected = offset + 1n;
  };

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  if (window <= 1) {
    for (let i = 0; i < count; i++) {
      const start = performance.now();
      try {
        const ack = await firstValueFrom(publish(lift, stream!, value, { transport }));
        histogram.recordValue((performance.now() - start) * 1000);
        check(ack.offset);
      } catch {
        errors++;
      }
    }
  } else {
    const starts = new Float64Array(count);
    let emitted = 0;
    const source = function* (): Generator<Uint8Array> {
      for (let i = 0; i < count; i++) {
        starts[i] = performance.now();
        yield value;
      }
    };
    await new Promise<void>((resolve) => {
      publishTo(lift, stream!, { maxInFlight: window, transport })(source()).subscribe({
        next: (ack) => {
          histogram.recordValue((performance.now() - starts[emitted++]!) * 1000);
          check(ack.offset);
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
      messages: count,
      seconds,
      msgPerSec: count / seconds,
      p50Us: histogram.getValueAtPercentile(50),
      p99Us: histogram.getValueAtPercentile(99),
      cpuUsPerMsg: (cpu.user + cpu.system) / count,
      userUsPerMsg: cpu.user / count,
      systemUsPerMsg: cpu.system / count,
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
