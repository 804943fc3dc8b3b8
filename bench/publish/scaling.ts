/**
 * How the cost of pipelined publishing grows with partitions and value size (issue 17, item 4):
 * rx-liftbridge (`publishTo`) beside go-liftbridge (`PublishAsync`, tools/go-compare) on the same
 * brokers, in the same run, interleaved.
 *
 *   node --import tsx bench/publish/scaling.ts
 *
 * A 3-node cluster (test harness; every node pinned to the broker core) unless BENCH_CLUSTER=0
 * (one node). For each partition count in BENCH_PARTITIONS ("1,4,16,64"; partition leaders spread
 * over the nodes by the cluster) and value size in BENCH_SIZES ("64,1024,65536"), each client
 * publishes to a fresh stream, message i to partition i % partitions, in a fresh process pinned to
 * the client core, alternating who goes first, for BENCH_ROUNDS (2) rounds. The window is 1024
 * messages, and at most 8 MiB of values (128 messages of 64 KiB); the count is 64 MiB of values
 * (at least 1,000 and at most 100,000 messages). Every run checks its acks: one per message, and
 * each partition's offsets contiguous and in order (ours) / contiguous (Go); a wrong run fails the
 * benchmark.
 *
 * Reports per configuration the medians of msg/s, MB/s of values, client CPU per message and per
 * MB, peak RSS, and the median of the per-round msg/s ratios. One JSON line per run in
 * bench/results/publish-scaling-<time>.jsonl.
 */
import { firstValueFrom } from 'rxjs';
import { connect } from '../../src/index.js';
import { uniqueName } from '../../spec/support/broker.js';
import { goTool } from '../../spec/support/go-tools.js';
import {
  appendJsonLine,
  envInt,
  envInts,
  machineNotes,
  median,
  perRoundRatios,
  pinning,
  prepareChild,
  ratioText,
  resultsFile,
  runJson,
  startPinnedBroker,
  startPinnedCluster,
} from '../subscribe/common.js';
import { publishCommand } from './commands.js';

const PARTITIONS = envInts('BENCH_PARTITIONS', [1, 4, 16, 64]);
const SIZES = envInts('BENCH_SIZES', [64, 1024, 65_536]);
const ROUNDS = envInt('BENCH_ROUNDS', 2);
const CLUSTER = process.env.BENCH_CLUSTER !== '0';
const MiB = 1024 * 1024;

const windowFor = (size: number): number => Math.min(1024, Math.max(16, Math.floor((8 * MiB) / size)));
const countFor = (size: number): number => Math.min(100_000, Math.max(1000, Math.floor((64 * MiB) / size)));

interface Run {
  client: 'rx-liftbridge' | 'go-liftbridge';
  round: number;
  partitions: number;
  size: number;
  window: number;
  messages: number;
  msgPerSec: number;
  mbPerSec: number;
  cpuUsPerMsg: number;
  cpuUsPerMb: number;
  maxRssMb: number;
  ok: boolean;
  problems: string[];
}

async function main(): Promise<void> {
  const pin = pinning();
  const file = resultsFile('publish-scaling');
  const machine = machineNotes(pin);
  console.log(
    `publish scaling: partitions ${PARTITIONS.join('/')}, values ${SIZES.join('/')} B, ${ROUNDS} rounds, ${CLUSTER ? '3-node cluster' : 'one node'}; results -> ${file}`,
  );
  console.log(JSON.stringify(machine));
  const go = goTool('go-compare');
  const child = prepareChild('publish-child', false, 'publish');
  const node = CLUSTER ? await startPinnedCluster(pin) : await startPinnedBroker(pin);
  const admin = connect({ brokers: node.address.split(',') });
  const runs: Run[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const size of SIZES) {
        for (const partitions of PARTITIONS) {
          const window = windowFor(size);
          const count = countFor(size);
          const order = (round + partitions) % 2 === 0 ? (['rx-liftbridge', 'go-liftbridge'] as const) : (['go-liftbridge', 'rx-liftbridge'] as const);
          for (const client of order) {
            const stream = uniqueName(`pscale-p${partitions}`);
            await firstValueFrom(admin.createStream({ name: stream, partitions }));
            const [cmd, args] = publishCommand(pin, client, child, go, { brokers: node.address, stream, window, count, size, partitions });
            const raw = await runJson<Record<string, unknown>>(cmd, args);
            const problems = client === 'rx-liftbridge' ? ((raw.problems as string[] | undefined) ?? []) : [];
            if (client === 'go-liftbridge') {
              if (Number(raw.errors) > 0) problems.push(`${String(raw.errors)} errors`);
              if (raw.contiguous !== true) problems.push('acked offsets are not contiguous per partition');
            }
            const msgPerSec = Number(raw.msgPerSec);
            const cpuUsPerMsg = Number(raw.cpuUsPerMsg);
            const run: Run = {
              client,
              round,
              partitions,
              size,
              window,
              messages: count,
              msgPerSec,
              mbPerSec: (msgPerSec * size) / MiB,
              cpuUsPerMsg,
              cpuUsPerMb: (cpuUsPerMsg * MiB) / size,
              maxRssMb: Number(raw.maxRssMb),
              ok: problems.length === 0 && (client === 'go-liftbridge' || raw.ok === true),
              problems,
            };
            appendJsonLine(file, { kind: 'publish-scaling', machine, cluster: CLUSTER, ...run });
            runs.push(run);
            console.log(
              `round ${round} ${client.padEnd(13)} p=${String(partitions).padEnd(2)} ${String(size).padStart(5)} B w=${String(window).padEnd(4)} ${Math.round(msgPerSec).toString().padStart(7)} msg/s ${run.mbPerSec.toFixed(1).padStart(6)} MB/s cpu ${cpuUsPerMsg.toFixed(1)} µs/msg rss ${run.maxRssMb.toFixed(0)} MB${run.ok ? '' : `  WRONG: ${problems.join('; ')}`}`,
            );
            if (!run.ok) throw new Error(`a wrong run: ${JSON.stringify(raw)}`);
            await firstValueFrom(admin.deleteStream(stream));
          }
        }
      }
    }
  } finally {
    await admin.close();
    await node.stop();
  }
  console.log(`\n${summarize(runs)}`);
}

/** The table: per value size and partition count, ours beside Go's, and the per-round msg/s ratio. */
export function summarize(runs: readonly Run[]): string {
  const rows = [
    '| value | partitions | window | client | msg/s | MB/s | CPU µs/msg | CPU ms/MB | peak RSS MB | msg/s ratio (ours/Go) | CPU/msg ratio |',
    '|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const sizes = [...new Set(runs.map((r) => r.size))].sort((a, b) => a - b);
  const parts = [...new Set(runs.map((r) => r.partitions))].sort((a, b) => a - b);
  for (const size of sizes) {
    for (const partitions of parts) {
      const set = runs.filter((r) => r.size === size && r.partitions === partitions);
      const ours = set.filter((r) => r.client === 'rx-liftbridge');
      const go = set.filter((r) => r.client === 'go-liftbridge');
      if (ours.length === 0 || go.length === 0) continue;
      const ratio = (f: (r: Run) => number): string => {
        const rs = perRoundRatios(ours, go, f);
        return rs.length === 0 ? 'n/a' : ratioText(rs);
      };
      for (const [name, rs] of [
        ['rx-liftbridge', ours],
        ['go-liftbridge', go],
      ] as const) {
        const mine = name === 'rx-liftbridge';
        rows.push(
          `| ${size >= 1024 ? `${size / 1024} KiB` : `${size} B`} | ${partitions} | ${rs[0]!.window} | ${name} | ${Math.round(median(rs.map((r) => r.msgPerSec))).toLocaleString('en-US')} | ${median(rs.map((r) => r.mbPerSec)).toFixed(1)} | ${median(rs.map((r) => r.cpuUsPerMsg)).toFixed(1)} | ${(median(rs.map((r) => r.cpuUsPerMb)) / 1000).toFixed(1)} | ${median(rs.map((r) => r.maxRssMb)).toFixed(0)} | ${mine ? ratio((r) => r.msgPerSec) : ''} | ${mine ? ratio((r) => r.cpuUsPerMsg) : ''} |`,
        );
      }
    }
  }
  return rows.join('\n');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
