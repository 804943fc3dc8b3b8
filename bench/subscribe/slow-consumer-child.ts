/**
 * One slow-consumer measurement with rx-liftbridge, in its own process so that RSS is the
 * client's alone. Started by slow-consumer.ts:
 *
 *   node bench/subscribe/slow-consumer-child.ts <broker> <stream> <partitions> <seconds> <concurrency> [prefetch]
 *
 * Subscribes to all partitions from the earliest offset (a backlog much larger than what a
 * slow handler gets through) with `consume(() => new Promise((r) => setTimeout(r, 1)))`,
 * samples RSS, heap and the subscription counters every 250 ms for `seconds`, checks that
 * each partition's handled offsets run 0, 1, 2, ... and prints one JSON line with the samples.
 */
import { firstValueFrom } from 'rxjs';
import { StartAt, connect, consume } from '../../src/index.js';
import { installFastMessageDecoder } from './prototype/fast-message-decoder.js';

const [address, stream, partitionsArg, secondsArg, concurrencyArg, prefetchArg] = process.argv.slice(2);
if (address === undefined || stream === undefined || partitionsArg === undefined || secondsArg === undefined || concurrencyArg === undefined) {
  console.error('usage: slow-consumer-child.ts <broker> <stream> <partitions> <seconds> <concurrency> [prefetch]');
  process.exit(2);
}
const partitions = Number(partitionsArg);
const seconds = Number(secondsArg);
const concurrency = Number(concurrencyArg);
const prefetch = prefetchArg === undefined || prefetchArg === '' ? undefined : Number(prefetchArg);

interface Sample {
  /** Seconds since subscribe. */
  t: number;
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  handled: number;
  delivered: number;
  unsettled: number;
  maxUnsettled: number;
  pausedPartitions: number;
}

async function main(): Promise<void> {
  // Experiment: BENCH_PROTO_DECODER=1 swaps in the prototype decoder (fewer allocations per message).
  if (process.env.BENCH_PROTO_DECODER === '1') installFastMessageDecoder();
  // Experiment: BENCH_FLOW_WINDOW=<bytes> sets grpc-js's HTTP/2 flow-control window.
  const window = Number(process.env.BENCH_FLOW_WINDOW ?? '');
  const lift = connect({ brokers: [address!], ...(window > 0 ? { channelOptions: { 'grpc-node.flow_control_window': window } } : {}) });
  await firstValueFrom(lift.refreshMetadata());

  const next = new Array<number>(partitions).fill(0);
  const problems: string[] = [];
  let handled = 0;
  let failure: unknown;

  const mb = (bytes: number): number => bytes / 2 ** 20;
  const sample = (t: number): Sample => {
    const m = process.memoryUsage();
    const subs = lift.stats().subscriptions;
    return {
      t,
      rssMb: mb(m.rss),
      heapUsedMb: mb(m.heapUsed),
      heapTotalMb: mb(m.heapTotal),
      externalMb: mb(m.external + m.arrayBuffers),
      handled,
      delivered: subs.reduce((a, s) => a + s.delivered, 0),
      unsettled: subs.reduce((a, s) => a + s.unsettled, 0),
      maxUnsettled: Math.max(0, ...subs.map((s) => s.maxUnsettled)),
      pausedPartitions: subs.filter((s) => s.paused).length,
    };
  };

  const before = sample(0);
  const t0 = process.hrtime.bigint();
  const elapsed = (): number => Number(process.hrtime.bigint() - t0) / 1e9;
  const subscription = lift
    .subscribe(stream!, { partitions: 'all', startAt: StartAt.earliest(), ...(prefetch === undefined ? {} : { prefetch }) })
    .pipe(consume(() => new Promise<void>((r) => setTimeout(r, 1)), { concurrency }))
    .subscribe({
      next: (m) => {
        const p = m.partition;
        const offset = Number(m.offset);
        // With concurrency 1 a partition's messages finish in order.
        if (concurrency === 1 && offset !== next[p] && problems.length < 10) problems.push(`partition ${p}: expected offset ${next[p]}, got ${offset}`);
        next[p] = Math.max(next[p]!, offset + 1);
        handled++;
      },
      error: (e: unknown) => {
        failure = e;
      },
    });

  const samples: Sample[] = [];
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const t = elapsed();
      samples.push(sample(t));
      if (t >= seconds || failure !== undefined) {
        clearInterval(timer);
        resolve();
      }
    }, 250);
  });
  const subs = lift.stats().subscriptions.map((s) => ({
    partition: s.partition,
    prefetch: s.prefetch,
    unsettled: s.unsettled,
    maxUnsettled: s.maxUnsettled,
    delivered: s.delivered,
    paused: s.paused,
    lastOffset: s.lastOffset?.toString(),
  }));
  subscription.unsubscribe();
  await lift.close();
  if (failure !== undefined) problems.push(`subscription failed: ${String(failure)}`);
  for (const s of subs) if (s.maxUnsettled > s.prefetch) problems.push(`partition ${s.partition}: maxUnsettled ${s.maxUnsettled} > prefetch ${s.prefetch}`);

  console.log(
    JSON.stringify({
      partitions,
      concurrency,
      seconds: elapsed(),
      handled,
      msgPerSec: handled / elapsed(),
      before,
      samples,
      subscriptions: subs,
      ok: problems.length === 0,
      problems,
    }),
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
