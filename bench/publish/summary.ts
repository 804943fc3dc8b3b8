/**
 * Summary of the publishing benchmark: per client and window, the medians over the measured rounds,
 * and the median of the per-round ratios rx-liftbridge / go-liftbridge (a ratio inside a round
 * cancels most of the machine's drift).
 *
 *   node --import tsx bench/publish/summary.ts bench/results/publish-<time>.jsonl
 */
import { readFileSync } from 'node:fs';
import { median, perRoundRatios } from '../subscribe/common.js';

export interface RunResult {
  client: 'rx-liftbridge' | 'go-liftbridge';
  window: number;
  round: number;
  warmup: boolean;
  msgPerSec: number;
  p50Us: number;
  p99Us: number;
  cpuUsPerMsg: number;
  /** The broker's CPU per message stored during the run (older result files have none). */
  brokerUsPerMsg?: number;
  ok: boolean;
}

export function printSummary(results: readonly RunResult[]): void {
  const windows = [...new Set(results.map((r) => r.window))].sort((a, b) => a - b);
  const rows: string[] = [];
  rows.push('| window | client | msg/s | p50 µs | p99 µs | CPU µs/msg | broker CPU µs/msg | msg/s ratio (ours/Go), median (range) | p50 ratio | CPU ratio |');
  rows.push('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const w of windows) {
    const ours = results.filter((r) => r.window === w && r.client === 'rx-liftbridge');
    const go = results.filter((r) => r.window === w && r.client === 'go-liftbridge');
    const ratios = (f: (r: RunResult) => number): number[] => perRoundRatios(ours, go, f);
    const ratio = (f: (r: RunResult) => number): number => median(ratios(f));
    const throughput = ratios((r) => r.msgPerSec);
    for (const [name, set] of [
      ['rx-liftbridge', ours],
      ['go-liftbridge', go],
    ] as const) {
      const mine = name === 'rx-liftbridge';
      const broker = set.map((r) => r.brokerUsPerMsg).filter((x): x is number => typeof x === 'number');
      rows.push(
        `| ${w} | ${name} | ${Math.round(median(set.map((r) => r.msgPerSec)))} | ${median(set.map((r) => r.p50Us)).toFixed(0)} | ${median(set.map((r) => r.p99Us)).toFixed(0)} | ${median(set.map((r) => r.cpuUsPerMsg)).toFixed(1)} | ${broker.length > 0 ? median(broker).toFixed(1) : 'n/a'} | ${mine ? `${ratio((r) => r.msgPerSec).toFixed(2)} (${Math.min(...throughput).toFixed(2)}-${Math.max(...throughput).toFixed(2)})` : ''} | ${mine ? ratio((r) => r.p50Us).toFixed(2) : ''} | ${mine ? ratio((r) => r.cpuUsPerMsg).toFixed(2) : ''} |`,
      );
    }
  }
  console.log(`\n${rows.join('\n')}`);
}

if (process.argv[1]?.endsWith('summary.ts') && process.argv[2] !== undefined) {
  const lines = readFileSync(process.argv[2], 'utf8').trim().split('\n');
  printSummary(lines.map((l) => JSON.parse(l) as RunResult).filter((r) => !r.warmup));
}
