/**
 * One end-to-end latency run of rx-liftbridge, in its own process (pinned by the caller):
 *
 *   node --import tsx bench/latency/latency-child.ts <broker> <stream> <rate> <seconds> <warmup> <size>
 *
 * Subscribes to partition 0 of an empty stream from the earliest offset with `consume()`, then
 * publishes at a fixed offered rate (`publishTo`, ack policy leader; every millisecond the
 * messages due so far), each value stamped with its send time. The latency of a message is from
 * the moment its value was handed to `publishTo` to its `consume()` handler; the first `warmup`
 * seconds are not kept. Prints one JSON line: p50/p99/p99.9/max in µs and the checks (every
 * offset once, in order, all received, no failed publish). tools/go-compare `latency` is the Go side.
 */
import * as hdr from 'hdr-histogram-js';
import { Observable } from 'rxjs';
import { StartAt, connect, consume, publishTo } from '../../src/index.js';

const [address, stream, rateArg, secondsArg, warmupArg, sizeArg] = process.argv.slice(2);
const rate = Number(rateArg);
const total = Math.round(rate * (Number(warmupArg) + Number(secondsArg)));
const warm = Math.round(rate * Number(warmupArg));
const size = Math.max(8, Number(sizeArg));

async function main(): Promise<void> {
  const lift = connect({ brokers: [address!] });
  const origin = performance.now();
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  let received = 0;
  let next = 0n;
  let problems = 0;
  let failed = 0;
  const all = new Promise<void>((resolve) => {
    lift
      .subscribe(stream!, { startAt: StartAt.earliest() })
      .pipe(
        consume((m) => {
          const at = performance.now() - origin;
          const sent = new DataView(m.value.buffer, m.value.byteOffset, 8).getFloat64(0);
          if (m.offset !== next) problems++;
          next = m.offset + 1n;
          if (received >= warm) histogram.recordValue(Math.max(1, Math.round((at - sent) * 1000)));
          if (++received === total) resolve();
        }),
      )
      .subscribe({ error: () => problems++ });
  });

  const source = new Observable<Uint8Array>((subscriber) => {
    const start = performance.now();
    let sent = 0;
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
      for (; sent < due; sent++) {
        const value = new Uint8Array(size);
        new DataView(value.buffer).setFloat64(0, performance.now() - origin);
        subscriber.next(value);
      }
      if (sent < total) timer = setTimeout(tick, 1);
      else subscriber.complete();
    };
    let timer = setTimeout(tick, 1);
    return () => clearTimeout(timer);
  });
  source.pipe(publishTo(lift, stream!, { maxInFlight: 4096, failFast: false })).subscribe((r) => {
    if (!r.ok) failed++;
  });

  // Everything should have arrived shortly after the last send; give up 30 s after that.
  const giveUpMs = (Number(warmupArg) + Number(secondsArg)) * 1000 + 30_000;
  let timeout: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise<void>((resolve) => (timeout = setTimeout(resolve, giveUpMs)))]);
  clearTimeout(timeout);
  console.log(
    JSON.stringify({
      client: 'rx-liftbridge',
      rate,
      messages: histogram.totalCount,
      received,
      total,
      p50Us: histogram.getValueAtPercentile(50),
      p99Us: histogram.getValueAtPercentile(99),
      p999Us: histogram.getValueAtPercentile(99.9),
      maxUs: histogram.maxValue,
      errors: failed,
      ok: failed === 0 && problems === 0 && received === total,
    }),
  );
  await lift.close();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
