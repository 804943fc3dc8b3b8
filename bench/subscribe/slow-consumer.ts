/**
 * S6, slow consumer: memory stays bounded and flat when the handler is slower than the broker.
 *
 *   node --import tsx bench/subscribe/slow-consumer.ts
 *
 * Starts one single node (test harness), loads BENCH_MESSAGES (default 1,000,000) values of
 * BENCH_SIZE (256) bytes into a stream per partition count in SLOW_PARTITIONS (default "1,4")
 * with the Go loader, then for each stream runs a fresh client process (pinned to the client
 * core) that reads from the earliest offset through `consume(() => new Promise((r) =>
 * setTimeout(r, 1)), { concurrency: SLOW_CONCURRENCY (1) })` for at least SLOW_SECONDS (70) and
 * until 61 s after warm-up, sampling RSS, V8's spaces and external memory every 250 ms. Reports RSS before subscribing, the maximum,
 * the growth from before subscribing, the growth after warm-up (see `afterWarmUp`: from the end of
 * V8's first full collection, over the next 60 s) with its slope, the live heap and external memory
 * after a forced full collection at the end (the child runs with --expose-gc, which changes no GC
 * heuristic), and the subscription counters (unsettled never above prefetch, paused).
 * Goal (issue 17): growth after warm-up <= 16 MB, flat for 60 s.
 *
 * Writes one JSON line per stream to bench/results/slow-consumer-<time>.jsonl (with every
 * sample) and prints the summary. BENCH_PREFETCH sets our prefetch (default the SDK's);
 * SLOW_NODE_FLAGS passes flags to the measured node process (e.g. "--max-semi-space-size=4");
 * BENCH_PROTO_DECODER=1 swaps in the prototype decoder (prototype/fast-message-decoder.ts);
 * BENCH_FLOW_WINDOW=<bytes> sets grpc-js's HTTP/2 flow-control window; SLOW_ALLOC_PROFILE=1
 * adds bytes allocated per message by owner (sampling heap profiler; distorts RSS: diagnostics only).
 */
import { uniqueName } from '../../spec/support/broker.js';
import {
  appendJsonLine,
  buildGoTool,
  envInt,
  envInts,
  loadBacklog,
  machineNotes,
  pinning,
  prepareChild,
  resultsFile,
  runJson,
  slope,
  startPinnedBroker,
} from './common.js';
import { summarizeSlow } from './summary.js';
import { warmUpEnd } from './warm-up.js';

const MESSAGES = envInt('BENCH_MESSAGES', 1_000_000);
const SIZE = envInt('BENCH_SIZE', 256);
const PARTITIONS = envInts('SLOW_PARTITIONS', [1, 4]);
const SECONDS = envInt('SLOW_SECONDS', 70);
const CONCURRENCY = envInt('SLOW_CONCURRENCY', 1);
const PREFETCH = process.env.BENCH_PREFETCH ?? '';
/** Extra flags for the measured node process, e.g. "--max-semi-space-size=4" (experiments). */
const NODE_FLAGS = ['--expose-gc', ...(process.env.SLOW_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '' && f !== '--expose-gc')];
/** RSS that stays within this band over the last 20 s counts as flat (the older, stricter view). */
const FLAT_BAND_MB = 2;
/** How long the goal's "flat" is measured after warm-up. */
const MEASURED_SECONDS = 60;
/** Flat: the last 20 s of the measured minute peak at most this much above its first 20 s. */
const FLAT_RISE_MB = 2;

interface Sample {
  t: number;
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  newSpaceMb?: number;
  oldSpaceMb?: number;
  handled: number;
  delivered: number;
  unsettled: number;
  maxUnsettled: number;
  pausedPartitions: number;
}

interface ChildResult {
  partitions: number;
  seconds: number;
  handled: number;
  msgPerSec: number;
  before: Sample;
  samples: Sample[];
  subscriptions: { partition: number; prefetch: number; unsettled: number; maxUnsettled: number; delivered: number; paused: boolean; lastOffset?: string }[];
  allocation?: Record<string, unknown>;
  afterFullGc?: Sample;
  /** Seconds since subscribe at which V8's full collections ended. */
  majorGcs?: number[];
  ok: boolean;
  problems: string[];
}

/**
 * The goal's measure: growth after warm-up ({@link warmUpEnd}), over the next
 * {@link MEASURED_SECONDS}. The baseline is the first sample after it; the child runs until 61 s
 * after it.
 */
function afterWarmUp(s: readonly Sample[], majorGcs: readonly number[]) {
  const warmUpEndsAt = warmUpEnd(majorGcs) ?? 10;
  const baseline = s.find((x) => x.t > warmUpEndsAt) ?? s[s.length - 1]!;
  const measured = s.filter((x) => x.t >= baseline.t && x.t <= baseline.t + MEASURED_SECONDS);
  const measuredSeconds = measured[measured.length - 1]!.t - baseline.t;
  const slopeMbPerMin =
    slope(
      measured.map((x) => x.t),
      measured.map((x) => x.rssMb),
    ) * 60;
  // Flat: the highest RSS of the last 20 measured seconds is at most FLAT_RISE_MB above that of the
  // first 20 (robust to V8's sawtooth, which a slope over 60 s is not).
  const firstMax = Math.max(...measured.filter((x) => x.t <= baseline.t + 20).map((x) => x.rssMb));
  const lastMax = Math.max(...measured.filter((x) => x.t >= baseline.t + measuredSeconds - 20).map((x) => x.rssMb));
  return {
    warmUpEndsAt,
    riseAfterWarmUpMb: lastMax - firstMax,
    rssAfterWarmUpMb: baseline.rssMb,
    growthAfterWarmUpMb: Math.max(...measured.map((x) => x.rssMb)) - baseline.rssMb,
    measuredAfterWarmUpSeconds: measuredSeconds,
    slopeAfterWarmUpMbPerMin: slopeMbPerMin,
    flatAfterWarmUp: measuredSeconds >= MEASURED_SECONDS - 1 && lastMax - firstMax <= FLAT_RISE_MB,
  };
}

async function main(): Promise<void> {
  const pin = pinning();
  const file = resultsFile('slow-consumer');
  const machine = machineNotes(pin);
  console.log(
    `slow consumer: ${MESSAGES} x ${SIZE} B backlog, partitions ${PARTITIONS.join('/')}, 1 ms handler, concurrency ${CONCURRENCY}, ${SECONDS} s; results -> ${file}`,
  );
  console.log(JSON.stringify(machine));
  buildGoTool();
  // Allocation profiles need source file names in their frames: run the .ts through tsx then.
  const child = prepareChild('slow-consumer-child', process.env.SLOW_ALLOC_PROFILE === '1');
  const node = await startPinnedBroker(pin);
  let failed = false;
  try {
    for (const p of PARTITIONS) {
      const stream = uniqueName(`slow-p${p}`);
      const loaded = await loadBacklog(pin, node.address, stream, p, MESSAGES, SIZE);
      console.log(`loaded ${stream}: ${JSON.stringify(loaded)}`);
      const [cmd, args] = child(pin, [node.address, stream, String(p), String(SECONDS), String(CONCURRENCY), PREFETCH], NODE_FLAGS);
      const r = await runJson<ChildResult>(cmd, args);

      const s = r.samples;
      const rssMax = Math.max(...s.map((x) => x.rssMb));
      const at = (t: number): Sample => s.find((x) => x.t >= t) ?? s[s.length - 1]!;
      const last20 = s.filter((x) => x.t >= r.seconds - 20);
      const slopePerMin =
        slope(
          last20.map((x) => x.t),
          last20.map((x) => x.rssMb),
        ) * 60;
      const after10 = s.filter((x) => x.t >= 10);
      const warm = afterWarmUp(s, r.majorGcs ?? []);
      const line = {
        bench: 'slow-consumer',
        kind: 'slow-consumer',
        partitions: p,
        concurrency: CONCURRENCY,
        prefetch: r.subscriptions[0]?.prefetch ?? (PREFETCH === '' ? 'default' : Number(PREFETCH)),
        messages: MESSAGES,
        size: SIZE,
        pinned: pin.enabled,
        nodeFlags: NODE_FLAGS.join(' '),
        protoDecoder: process.env.BENCH_PROTO_DECODER === '1',
        allocProfile: process.env.SLOW_ALLOC_PROFILE === '1',
        flowWindow: Number(process.env.BENCH_FLOW_WINDOW ?? '') > 0 ? Number(process.env.BENCH_FLOW_WINDOW) : undefined,
        machine,
        seconds: r.seconds,
        handled: r.handled,
        msgPerSec: r.msgPerSec,
        rssStartMb: r.before.rssMb,
        rssAt1sMb: at(1).rssMb,
        rssMaxMb: rssMax,
        growthMb: rssMax - r.before.rssMb,
        growthFrom1sMb: rssMax - at(1).rssMb,
        growthAfter10sMb: Math.max(...after10.map((x) => x.rssMb)) - at(10).rssMb,
        rssLast20sMinMb: Math.min(...last20.map((x) => x.rssMb)),
        rssLast20sMaxMb: Math.max(...last20.map((x) => x.rssMb)),
        slopeLast20sMbPerMin: slopePerMin,
        flat: Math.max(...last20.map((x) => x.rssMb)) - Math.min(...last20.map((x) => x.rssMb)) <= FLAT_BAND_MB,
        heapMaxMb: Math.max(...s.map((x) => x.heapUsedMb)),
        heapTotalMaxMb: Math.max(...s.map((x) => x.heapTotalMb)),
        newSpaceMaxMb: Math.max(...s.map((x) => x.newSpaceMb ?? 0)),
        oldSpaceMaxMb: Math.max(...s.map((x) => x.oldSpaceMb ?? 0)),
        externalMaxMb: Math.max(...s.map((x) => x.externalMb)),
        unsettledSummary: `${Math.max(...s.map((x) => x.unsettled))} / ${r.subscriptions.map((x) => x.prefetch).join('+')} (max ${Math.max(...r.subscriptions.map((x) => x.maxUnsettled))})`,
        pausedSummary: `${Math.round((100 * s.filter((x) => x.pausedPartitions > 0).length) / s.length)}% of samples with a paused partition`,
        subscriptions: r.subscriptions,
        allocation: r.allocation,
        afterFullGc: r.afterFullGc,
        majorGcs: r.majorGcs,
        ...warm,
        ok: r.ok,
        problems: r.problems,
        samples: s,
      };
      appendJsonLine(file, line);
      console.log(
        `p=${p}: handled ${r.handled} (${Math.round(r.msgPerSec)} msg/s); RSS ${line.rssStartMb.toFixed(1)} MB before, max ${rssMax.toFixed(1)} MB, growth ${line.growthMb.toFixed(1)} MB, slope of last 20 s ${slopePerMin.toFixed(2)} MB/min; ${r.ok ? 'ok' : `WRONG: ${r.problems.join('; ')}`}`,
      );
      if (r.allocation !== undefined) console.log(`p=${p}: allocation (sampled, collected objects included): ${JSON.stringify(r.allocation)}`);
      if (!r.ok) failed = true;
    }
  } finally {
    await node.stop();
  }
  console.log();
  console.log(summarizeSlow(file));
  if (failed) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
