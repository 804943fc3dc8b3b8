/**
 * S6, slow consumer: memory stays bounded and flat when the handler is slower than the broker.
 *
 *   node --import tsx bench/subscribe/slow-consumer.ts
 *
 * Starts one single node (test harness), loads BENCH_MESSAGES (default 1,000,000) values of
 * BENCH_SIZE (256) bytes into a stream per partition count in SLOW_PARTITIONS (default "1,4")
 * with the Go loader, then for each stream runs a fresh client process (pinned to the client
 * core) that reads from the earliest offset through `consume(() => new Promise((r) =>
 * setTimeout(r, 1)), { concurrency: SLOW_CONCURRENCY (1) })` for SLOW_SECONDS (30), sampling
 * RSS every 250 ms. Reports RSS before subscribing, at 1 s, the maximum, the growth, the slope
 * of the last 20 s, and the subscription counters (unsettled never above prefetch, paused).
 * Goal: growth <= 16 MB and flat (here: RSS stays within a 2 MB band over the last 20 s).
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

const MESSAGES = envInt('BENCH_MESSAGES', 1_000_000);
const SIZE = envInt('BENCH_SIZE', 256);
const PARTITIONS = envInts('SLOW_PARTITIONS', [1, 4]);
const SECONDS = envInt('SLOW_SECONDS', 30);
const CONCURRENCY = envInt('SLOW_CONCURRENCY', 1);
const PREFETCH = process.env.BENCH_PREFETCH ?? '';
/** Extra flags for the measured node process, e.g. "--max-semi-space-size=4" (experiments). */
const NODE_FLAGS = (process.env.SLOW_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');
/** RSS that stays within this band over the last 20 s counts as flat. */
const FLAT_BAND_MB = 2;

interface Sample {
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

interface ChildResult {
  partitions: number;
  seconds: number;
  handled: number;
  msgPerSec: number;
  before: Sample;
  samples: Sample[];
  subscriptions: { partition: number; prefetch: number; unsettled: number; maxUnsettled: number; delivered: number; paused: boolean; lastOffset?: string }[];
  allocation?: Record<string, unknown>;
  ok: boolean;
  problems: string[];
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
        unsettledSummary: `${Math.max(...s.map((x) => x.unsettled))} / ${r.subscriptions.map((x) => x.prefetch).join('+')} (max ${Math.max(...r.subscriptions.map((x) => x.maxUnsettled))})`,
        pausedSummary: `${Math.round((100 * s.filter((x) => x.pausedPartitions > 0).length) / s.length)}% of samples with a paused partition`,
        subscriptions: r.subscriptions,
        allocation: r.allocation,
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
