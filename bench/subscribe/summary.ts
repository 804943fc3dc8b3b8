/**
 * Summary tables of the subscribe benchmarks' JSON lines.
 *
 *   node --import tsx bench/subscribe/summary.ts [file.jsonl ...]
 *
 * Without arguments: the newest catch-up-*.jsonl and slow-consumer-*.jsonl in bench/results/.
 * Catch-up: per partition count and client the medians of msg/s, client CPU µs/msg and peak
 * RSS over the measured rounds (warm-up excluded), and the median of the per-round ratios
 * rx-liftbridge / go-liftbridge, checked against the goals (>= 0.9x, <= 7 µs/msg).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RESULTS_DIR, median } from './common.js';

const GOAL_RATIO = 0.9;
const GOAL_CPU_US = 7;
const GOAL_RSS_GROWTH_MB = 16;

function readLines(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);
const fmt = (v: number, digits = 0): string =>
  Number.isFinite(v) ? v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';

export function summarizeCatchUp(file: string): string {
  const runs = readLines(file).filter((l) => l.kind === 'run' && l.warmup !== true);
  const out: string[] = [`Catch-up read (${basename(file)}): medians over ${new Set(runs.map((r) => r.round)).size} measured rounds`, ''];
  out.push('| partitions | client | msg/s | client CPU µs/msg | peak RSS MB | RSS growth during read MB | seconds | broker CPU µs/msg | broker core busy % |');
  out.push('|---:|---|---:|---:|---:|---:|---:|---:|---:|');
  const verdicts: string[] = [];
  const partitionCounts = [...new Set(runs.map((r) => num(r.partitions)))].sort((a, b) => a - b);
  for (const p of partitionCounts) {
    const of = (client: string) => runs.filter((r) => r.partitions === p && r.client === client);
    const ours = [...new Set(runs.filter((r) => r.partitions === p && r.client !== 'go-liftbridge').map((r) => String(r.client)))].sort((a, b) =>
      a === 'rx-liftbridge' ? -1 : b === 'rx-liftbridge' ? 1 : 0,
    );
    for (const client of [...ours, 'go-liftbridge']) {
      const rs = of(client);
      if (rs.length === 0) continue;
      out.push(
        `| ${p} | ${client} | ${fmt(median(rs.map((r) => num(r.msgPerSec))))} | ${fmt(median(rs.map((r) => num(r.cpuUsPerMsg))), 2)} | ${fmt(median(rs.map((r) => num(r.peakRssMb))), 1)} | ${fmt(median(rs.map((r) => num(r.peakRssMb) - num(r.rssBeforeMb))), 1)} | ${fmt(median(rs.map((r) => num(r.seconds))), 2)} | ${fmt(median(rs.map((r) => num(r.brokerCpuUsPerMsg))), 2)} | ${fmt(median(rs.map((r) => num((r.coreBusyPct as number[] | undefined)?.[0]))))} |`,
      );
    }
    for (const client of ours) {
      // Per-round ratios ours / Go.
      const rounds = [...new Set(of(client).map((r) => r.round))];
      const ratios: number[] = [];
      const cpuRatios: number[] = [];
      for (const round of rounds) {
        const a = of(client).find((r) => r.round === round);
        const b = of('go-liftbridge').find((r) => r.round === round);
        if (a === undefined || b === undefined) continue;
        ratios.push(num(a.msgPerSec) / num(b.msgPerSec));
        cpuRatios.push(num(a.cpuUsPerMsg) / num(b.cpuUsPerMsg));
      }
      const ratio = median(ratios);
      const cpu = median(of(client).map((r) => num(r.cpuUsPerMsg)));
      out.push(
        `| ${p} | **${client} / Go** (median of ${ratios.length} per-round ratios; range ${fmt(Math.min(...ratios), 2)}..${fmt(Math.max(...ratios), 2)}) | **${fmt(ratio, 2)}x** | ${fmt(median(cpuRatios), 2)}x | | | | | |`,
      );
      verdicts.push(
        `- ${p} partition(s), ${client}: throughput ${fmt(ratio, 2)}x Go (goal >= ${GOAL_RATIO}x: ${ratio >= GOAL_RATIO ? 'met' : 'MISSED'}); client CPU ${fmt(cpu, 2)} µs/msg (goal <= ${GOAL_CPU_US}: ${cpu <= GOAL_CPU_US ? 'met' : 'MISSED'})`,
      );
    }
  }
  out.push('', ...verdicts);
  return out.join('\n');
}

export function summarizeSlow(file: string): string {
  const rows = readLines(file).filter((l) => l.kind === 'slow-consumer');
  const out: string[] = [`Slow consumer (${basename(file)})`, ''];
  out.push(
    '| partitions | prefetch | variant | seconds | handled | msg/s | RSS before subscribe MB | RSS at 1 s MB | RSS max MB | growth MB (max - before) | growth MB (max - at 1 s) | growth after 10 s MB | slope last 20 s MB/min | heap used max MB | heap total max MB | unsettled / prefetch (max) | paused |',
  );
  out.push('|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|');
  const verdicts: string[] = [];
  for (const r of rows) {
    out.push(
      `| ${num(r.partitions)} | ${String(r.prefetch)} | ${[r.nodeFlags === undefined || r.nodeFlags === '' ? '' : String(r.nodeFlags), r.protoDecoder === true ? 'prototype decoder' : '', typeof r.flowWindow === 'number' ? `window ${r.flowWindow}` : '', r.allocProfile === true ? 'allocation profile (RSS distorted)' : ''].filter((x) => x !== '').join(', ') || '-'} | ${fmt(num(r.seconds), 0)} | ${fmt(num(r.handled))} | ${fmt(num(r.msgPerSec))} | ${fmt(num(r.rssStartMb), 1)} | ${fmt(num(r.rssAt1sMb), 1)} | ${fmt(num(r.rssMaxMb), 1)} | ${fmt(num(r.growthMb), 1)} | ${fmt(num(r.growthFrom1sMb), 1)} | ${fmt(num(r.growthAfter10sMb), 1)} | ${fmt(num(r.slopeLast20sMbPerMin), 2)} | ${fmt(num(r.heapMaxMb), 1)} | ${fmt(num(r.heapTotalMaxMb), 1)} | ${String(r.unsettledSummary)} | ${String(r.pausedSummary)} |`,
    );
    const growth = num(r.growthMb);
    verdicts.push(
      `- ${num(r.partitions)} partition(s): RSS growth ${fmt(growth, 1)} MB (goal <= ${GOAL_RSS_GROWTH_MB}: ${growth <= GOAL_RSS_GROWTH_MB ? 'met' : 'MISSED'}); ${r.flat === true ? 'flat' : 'NOT flat'} over the last 20 s (range ${fmt(num(r.rssLast20sMinMb), 1)}..${fmt(num(r.rssLast20sMaxMb), 1)} MB, slope ${fmt(num(r.slopeLast20sMbPerMin), 2)} MB/min)`,
    );
  }
  out.push('', ...verdicts);
  return out.join('\n');
}

function newest(prefix: string): string | undefined {
  let files: string[];
  try {
    files = readdirSync(RESULTS_DIR).filter((f) => f.startsWith(prefix) && f.endsWith('.jsonl'));
  } catch {
    return undefined;
  }
  files.sort();
  const last = files.at(-1);
  return last === undefined ? undefined : join(RESULTS_DIR, last);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const files = args.length > 0 ? args : [newest('catch-up-'), newest('slow-consumer-')].filter((f): f is string => f !== undefined);
  if (files.length === 0) {
    console.error(`no results in ${RESULTS_DIR}; run npm run bench:subscribe first`);
    process.exitCode = 1;
  }
  for (const f of files) {
    console.log(basename(f).startsWith('slow-consumer') ? summarizeSlow(f) : summarizeCatchUp(f));
    console.log();
  }
}
