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
import { Session } from 'node:inspector/promises';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { firstValueFrom } from 'rxjs';
import { StartAt, connect, consume } from '../../src/index.js';
import { installFastMessageDecoder } from './prototype/fast-message-decoder.js';
import { warmUpEnd } from './warm-up.js';

const [address, stream, partitionsArg, secondsArg, concurrencyArg, prefetchArg] = process.argv.slice(2);
if (address === undefined || stream === undefined || partitionsArg === undefined || secondsArg === undefined || concurrencyArg === undefined) {
  console.error('usage: slow-consumer-child.ts <broker> <stream> <partitions> <seconds> <concurrency> [prefetch]');
  process.exit(2);
}
const partitions = Number(partitionsArg);
const seconds = Number(secondsArg);
const concurrency = Number(concurrencyArg);
const prefetch = prefetchArg === undefined || prefetchArg === '' ? undefined : Number(prefetchArg);

/** The run goes on until this long after warm-up (and `seconds`), at most MAX_SECONDS. */
const MEASURED_AFTER_WARM_UP = 61;
const MAX_SECONDS = 240;

interface Sample {
  /** Seconds since subscribe. */
  t: number;
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  /** V8's young generation (committed), and its old space: where the heap's growth sits. */
  newSpaceMb: number;
  oldSpaceMb: number;
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
  const lift = connect({ brokers: [address!], ...(window > 0 ? { flowControlWindowBytes: window } : {}) });
  await firstValueFrom(lift.refreshMetadata());

  const next = new Array<number>(partitions).fill(0);
  const problems: string[] = [];
  let handled = 0;
  let failure: unknown;

  const mb = (bytes: number): number => bytes / 2 ** 20;
  const sample = (t: number): Sample => {
    const m = process.memoryUsage();
    const spaces = new Map(getHeapSpaceStatistics().map((x) => [x.space_name, x.space_size]));
    const subs = lift.stats().subscriptions;
    return {
      t,
      rssMb: mb(m.rss),
      heapUsedMb: mb(m.heapUsed),
      heapTotalMb: mb(m.heapTotal),
      // `external` already includes `arrayBuffers` (Node's docs).
      externalMb: mb(m.external),
      newSpaceMb: mb(spaces.get('new_space') ?? 0),
      oldSpaceMb: mb(spaces.get('old_space') ?? 0),
      handled,
      delivered: subs.reduce((a, s) => a + s.delivered, 0),
      unsettled: subs.reduce((a, s) => a + s.unsettled, 0),
      maxUnsettled: Math.max(0, ...subs.map((s) => s.maxUnsettled)),
      pausedPartitions: subs.filter((s) => s.paused).length,
    };
  };

  const before = sample(0);
  // When V8 runs its full (mark-compact) collections: the first one after the read starts is where
  // the heap has been sized to the load, the end of the warm-up (slow-consumer.ts).
  const majorGcs: number[] = [];
  const p0 = performance.now();
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as { detail?: { kind?: number } }).detail?.kind;
      if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) majorGcs.push((e.startTime + e.duration - p0) / 1000);
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
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

  // Diagnostics: SLOW_ALLOC_PROFILE=1 samples every allocation (collected objects included) from
  // 3 s on, and reports bytes allocated per handled message by owner. Slows the process down.
  const alloc = process.env.SLOW_ALLOC_PROFILE === '1' ? await startAllocationProfile(() => handled) : undefined;

  const samples: Sample[] = [];
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const t = elapsed();
      samples.push(sample(t));
      const warm = warmUpEnd(majorGcs, t) ?? Number.POSITIVE_INFINITY;
      if ((t >= seconds && t >= warm + MEASURED_AFTER_WARM_UP) || t >= MAX_SECONDS || failure !== undefined) {
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
  const allocation = await alloc?.();
  // slow-consumer.ts runs this child with --expose-gc: the live set, after a full collection, while
  // the subscription still holds everything it holds (what is garbage waiting for V8 and what is not).
  const collect = (globalThis as { gc?: () => void }).gc;
  let afterFullGc: Sample | undefined;
  if (collect !== undefined) {
    collect();
    afterFullGc = sample(elapsed());
  }
  gcObserver.disconnect();
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
      ...(allocation === undefined ? {} : { allocation }),
      ...(afterFullGc === undefined ? {} : { afterFullGc }),
      majorGcs,
      ok: problems.length === 0,
      problems,
    }),
  );
}

interface HeapNode {
  callFrame: { functionName: string; url: string };
  selfSize: number;
  children: HeapNode[];
}

function allocationOwner(url: string): string | undefined {
  if (url.includes('@grpc/grpc-js')) return 'grpc-js';
  if (url.includes('@bufbuild/protobuf') || url.includes('generated/')) return 'ts-proto decode';
  if (url.includes('fast-message-decoder')) return 'prototype decoder';
  if (url.includes('/rxjs/')) return 'rxjs';
  if (url.includes('/src/subscribe/consume')) return 'SDK consume()';
  if (url.includes('/src/')) return 'SDK (other)';
  if (url.includes('/bench/')) return 'benchmark handler';
  return undefined;
}

/** Starts the sampling heap profiler after 3 s; the returned function stops it and summarises. */
async function startAllocationProfile(handledSoFar: () => number): Promise<() => Promise<Record<string, unknown>>> {
  const session = new Session();
  session.connect();
  await new Promise((r) => setTimeout(r, 3000));
  const from = handledSoFar();
  await session.post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  return async () => {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    session.disconnect();
    const n = Math.max(1, handledSoFar() - from);
    const owners = new Map<string, number>();
    const fns = new Map<string, number>();
    let total = 0;
    const walk = (node: HeapNode, owner: string | undefined): void => {
      const own = allocationOwner(node.callFrame.url) ?? owner;
      if (node.selfSize > 0) {
        total += node.selfSize;
        const o = own ?? 'node runtime';
        owners.set(o, (owners.get(o) ?? 0) + node.selfSize);
        const k = `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.replace(/.*node_modules\//, '').replace(/.*\/work\/main\//, '')}`;
        fns.set(k, (fns.get(k) ?? 0) + node.selfSize);
      }
      for (const c of node.children) walk(c, own);
    };
    walk(profile.head as unknown as HeapNode, undefined);
    const perMsg = (m: Map<string, number>, top: number): Record<string, number> =>
      Object.fromEntries(
        [...m]
          .sort((a, b) => b[1] - a[1])
          .slice(0, top)
          .map(([k, v]) => [k, Math.round(v / n)]),
      );
    return { messages: n, bytesPerMsg: Math.round(total / n), byOwner: perMsg(owners, 20), topFunctions: perMsg(fns, 15) };
  };
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
