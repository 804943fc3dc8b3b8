/**
 * S3, catch-up read: rx-liftbridge against go-liftbridge v2.4.0 on the same broker, same run.
 *
 *   node --import tsx bench/subscribe/catch-up.ts
 *
 * Starts one single node (test harness), loads a backlog of BENCH_MESSAGES (default 1,000,000)
 * values of BENCH_SIZE (256) bytes into a stream per partition count in BENCH_PARTITIONS
 * (default "1,4"; the messages are spread round-robin) with the Go loader, then runs one
 * warm-up round (discarded) and BENCH_ROUNDS (default 5) measured rounds. Each round reads
 * every stream once with each client, each in a fresh process pinned to the client core
 * (the broker is pinned to another), alternating which client goes first. Every run checks
 * that each partition delivered offsets 0..n-1 exactly once; a wrong run fails the benchmark.
 *
 * BENCH_CLUSTER=1 reads from a 3-node cluster (all nodes pinned to the broker core, partitions
 * spread over them) instead of one node; the broker CPU columns are then the first node's only.
 *
 * Writes one JSON line per run to bench/results/catch-up-<time>.jsonl and prints the summary
 * (summary.ts). Other knobs: BENCH_PREFETCH (our prefetch; default the SDK's), BENCH_PIN=0
 * (no taskset), BENCH_BROKER_CPU / BENCH_CLIENT_CPU, BENCH_LOAD_WINDOW, BENCH_CHILD=tsx.
 *
 * BENCH_VARIANTS runs several configurations of our client in the same rounds, e.g.
 * `default;window=1048576;decoder=fast;window=1048576+decoder=fast`: `window=<bytes>` sets the
 * HTTP/2 flow-control window (the client's `flowControlWindowBytes`), `decoder=fast` swaps in
 * the prototype Message decoder (prototype/fast-message-decoder.ts), `transport=grpc-js` reads
 * through grpc-js (the SDK's `transport: 'grpc-js'`, the path before the SDK's HTTP/2 client), and
 * `transport=prototype` through the raw-HTTP/2 prototype (prototype/raw-http2-subscribe.ts).
 * Default: `default` only.
 */
import { uniqueName } from '../../spec/support/broker.js';
import {
  appendJsonLine,
  buildGoTool,
  envInt,
  envInts,
  loadBacklog,
  machineNotes,
  perPartition,
  pinned,
  pinning,
  prepareChild,
  resultsFile,
  runJson,
  startPinnedBroker,
  startPinnedCluster,
  withMachineLoad,
  type Pinning,
} from './common.js';
import { summarizeCatchUp } from './summary.js';

const MESSAGES = envInt('BENCH_MESSAGES', 1_000_000);
const SIZE = envInt('BENCH_SIZE', 256);
const ROUNDS = envInt('BENCH_ROUNDS', 5);
const PARTITIONS = envInts('BENCH_PARTITIONS', [1, 4]);
const PREFETCH = process.env.BENCH_PREFETCH ?? '';

const GO = 'go-liftbridge';

/** One configuration of our client: its label and the child's environment. */
interface Variant {
  readonly label: string;
  readonly env: Record<string, string>;
}

function variants(): Variant[] {
  const spec = process.env.BENCH_VARIANTS ?? 'default';
  return spec.split(';').map((v) => {
    const name = v.trim();
    if (name === 'default' || name === '') return { label: 'rx-liftbridge', env: {} };
    const env: Record<string, string> = {};
    for (const part of name.split('+')) {
      const [k, val] = part.split('=');
      if (k === 'window' && Number(val) > 0) env.BENCH_FLOW_WINDOW = String(Number(val));
      else if (k === 'decoder' && val === 'fast') env.BENCH_PROTO_DECODER = '1';
      else if (k === 'transport' && val === 'prototype') env.BENCH_TRANSPORT = 'http2';
      else if (k === 'transport' && val === 'grpc-js') env.BENCH_SDK_TRANSPORT = 'grpc-js';
      else throw new Error(`BENCH_VARIANTS: unknown setting ${JSON.stringify(part)} (window=<bytes>, decoder=fast, transport=grpc-js|prototype)`);
    }
    return { label: `rx-liftbridge[${name}]`, env };
  });
}

interface Run {
  msgs: number;
  seconds: number;
  msgPerSec: number;
  cpuUsPerMsg: number;
  cpuUserMs: number;
  cpuSysMs: number;
  peakRssMb: number;
  ok: boolean;
  problems: string[];
  [key: string]: unknown;
}

type ChildCommand = ReturnType<typeof prepareChild>;

async function runOurs(child: ChildCommand, variant: Variant, pin: Pinning, address: string, stream: string, partitions: number): Promise<Run> {
  const [cmd, args] = child(pin, [address, stream, String(partitions), String(MESSAGES), PREFETCH]);
  return runJson<Run>(cmd, args, variant.env);
}

async function runGo(pin: Pinning, goTool: string, address: string, stream: string, partitions: number): Promise<Run> {
  // Round-robin loading gives every partition the same count when MESSAGES % partitions == 0.
  const [cmd, args] = pinned(pin, goTool, [
    'consume',
    '-brokers',
    address,
    '-stream',
    stream,
    '-partitions',
    String(partitions),
    '-count',
    String(perPartition(MESSAGES, partitions, 0)),
  ]);
  const r = await runJson<Run & { maxRssKb: number }>(cmd, args);
  return { ...r, peakRssMb: r.maxRssKb / 1024, problems: r.problems ?? [] };
}

async function main(): Promise<void> {
  for (const p of PARTITIONS) {
    if (MESSAGES % p !== 0) throw new Error(`BENCH_MESSAGES (${MESSAGES}) must be a multiple of every partition count (${p})`);
  }
  const pin = pinning();
  const ours = variants();
  const clients = [...ours.map((v) => v.label), GO];
  const file = resultsFile('catch-up');
  const machine = machineNotes(pin);
  console.log(`catch-up: ${MESSAGES} x ${SIZE} B per stream, partitions ${PARTITIONS.join('/')}, ${ROUNDS} rounds + 1 warm-up; results -> ${file}`);
  console.log(JSON.stringify(machine));
  const goTool = buildGoTool();
  const child = prepareChild('catch-up-child');
  // BENCH_CLUSTER=1: a 3-node cluster (every node pinned to the broker core) instead of one node;
  // the streams' partitions are spread over its nodes (replication factor 1).
  const node = process.env.BENCH_CLUSTER === '1' ? await startPinnedCluster(pin) : await startPinnedBroker(pin);
  try {
    const streams = new Map<number, string>();
    for (const p of PARTITIONS) {
      const stream = uniqueName(`catchup-p${p}`);
      const t0 = Date.now();
      const loaded = await loadBacklog(pin, node.address, stream, p, MESSAGES, SIZE);
      console.log(`loaded ${stream}: ${JSON.stringify(loaded)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      appendJsonLine(file, { bench: 'catch-up', kind: 'load', ...loaded, machine, messages: MESSAGES, size: SIZE });
      streams.set(p, stream);
    }
    for (let round = 0; round <= ROUNDS; round++) {
      const warmup = round === 0;
      for (const p of PARTITIONS) {
        const stream = streams.get(p)!;
        // The order rotates every round (A B, B A for two clients): no client always goes first.
        const order = clients.map((_, i) => clients[(i + round) % clients.length]!);
        for (const client of order) {
          const variant = ours.find((v) => v.label === client);
          const r = await withMachineLoad(node.pid, () =>
            variant !== undefined ? runOurs(child, variant, pin, node.address, stream, p) : runGo(pin, goTool, node.address, stream, p),
          );
          const line = {
            bench: 'catch-up',
            kind: 'run',
            round,
            warmup,
            client,
            variantEnv: variant?.env,
            partitions: p,
            messages: MESSAGES,
            size: SIZE,
            prefetch: PREFETCH === '' ? 'default' : Number(PREFETCH),
            pinned: pin.enabled,
            ...r,
          };
          appendJsonLine(file, line);
          console.log(
            `round ${round}${warmup ? ' (warm-up)' : ''} p=${p} ${client.padEnd(Math.max(...clients.map((c) => c.length)))} ${Math.round(r.msgPerSec).toString().padStart(7)} msg/s  ${r.cpuUsPerMsg.toFixed(2)} µs/msg  peak RSS ${r.peakRssMb.toFixed(1)} MB  broker ${r.brokerCpuPct?.toFixed(0) ?? '?'}% cores ${r.coreBusyPct?.join('/') ?? '?'}%  ${r.ok ? 'ok' : `WRONG: ${r.problems.join('; ')}`}`,
          );
          if (!r.ok || r.msgs !== MESSAGES) throw new Error(`round ${round}: ${client} read wrongly: ${r.problems.join('; ')}`);
        }
      }
    }
  } finally {
    await node.stop();
  }
  console.log();
  console.log(summarizeCatchUp(file));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
