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
    '| partitions | prefetch | variant | seconds | handled | msg/s | RSS before subscribe MB | RSS max MB | growth MB (max - before) | warm-up ends s | RSS after warm-up MB | growth after warm-up (60 s) MB | slope after warm-up MB/min | young generation max MB | heap used / external after full GC MB | unsettled / prefetch (max) | paused |',
  );
  out.push('|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|');
  const verdicts: string[] = [];
  for (const r of rows) {
    const flags = String(r.nodeFlags ?? '')
      .split(' ')
      .filter((f) => f !== '' && f !== '--expose-gc')
      .join(' ');
    const variant = [
      flags,
      r.protoDecoder === true ? 'prototype decoder' : '',
      typeof r.flowWindow === 'number' ? `window ${r.flowWindow}` : '',
      r.allocProfile === true ? 'allocation profile (RSS distorted)' : '',
    ]
      .filter((x) => x !== '')
      .join(', ');
    const gc = r.afterFullGc as { heapUsedMb?: number; externalMb?: number } | undefined;
    const live = gc === undefined ? 'n/a' : `${fmt(num(gc.heapUsedMb), 1)} / ${fmt(num(gc.externalMb), 1)}`;
    const warm = typeof r.growthAfterWarmUpMb === 'number';
    out.push(
      `| ${num(r.partitions)} | ${String(r.prefetch)} | ${variant || '-'} | ${fmt(num(r.seconds), 0)} | ${fmt(num(r.handled))} | ${fmt(num(r.msgPerSec))} | ${fmt(num(r.rssStartMb), 1)} | ${fmt(num(r.rssMaxMb), 1)} | ${fmt(num(r.growthMb), 1)} | ${warm ? fmt(num(r.warmUpEndsAt), 1) : 'n/a'} | ${warm ? fmt(num(r.rssAfterWarmUpMb), 1) : 'n/a'} | ${warm ? fmt(num(r.growthAfterWarmUpMb), 1) : 'n/a'} | ${warm ? fmt(num(r.slopeAfterWarmUpMbPerMin), 2) : 'n/a'} | ${typeof r.newSpaceMaxMb === 'number' ? fmt(r.newSpaceMaxMb, 0) : 'n/a'} | ${live} | ${String(r.unsettledSummary)} | ${String(r.pausedSummary)} |`,
    );
    if (!warm) {
      verdicts.push(
        `- ${num(r.partitions)} partition(s): recorded before the warm-up measure existed; growth from before subscribing ${fmt(num(r.growthMb), 1)} MB`,
      );
      continue;
    }
    const growth = num(r.growthAfterWarmUpMb);
    const measured = num(r.measuredAfterWarmUpSeconds);
    verdicts.push(
      `- ${num(r.partitions)} partition(s): RSS growth after warm-up ${fmt(growth, 1)} MB over ${fmt(measured, 0)} s (goal <= ${GOAL_RSS_GROWTH_MB}: ${growth <= GOAL_RSS_GROWTH_MB ? 'met' : 'MISSED'}); ${r.flatAfterWarmUp === true ? 'flat' : measured < 59 ? 'NOT measured for 60 s (raise SLOW_SECONDS)' : 'NOT flat'} (last 20 s peak ${fmt(num(r.riseAfterWarmUpMb), 1)} MB above the first 20 s; slope ${fmt(num(r.slopeAfterWarmUpMbPerMin), 2)} MB/min); growth from before subscribing ${fmt(num(r.growthMb), 1)} MB, of which V8's young generation ${typeof r.newSpaceMaxMb === 'number' && typeof (r.samples as { newSpaceMb?: number }[] | undefined)?.[0]?.newSpaceMb === 'number' ? `+${fmt(r.newSpaceMaxMb - (r.samples as { newSpaceMb: number }[])[0]!.newSpaceMb, 0)} MB` : 'n/a'}`,
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
