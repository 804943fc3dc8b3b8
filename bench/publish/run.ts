/**
 * S1/S2 publishing benchmark: rx-liftbridge against go-liftbridge v2.4.0 (its async publish, the
 * same API Liftbridge's own bench producer uses) on the same broker, in the same run, interleaved.
 *
 *   npm run bench:publish            (node --import tsx bench/publish/run.ts)
 *
 * One single node (test harness) pinned to one core; every run is a fresh process pinned to the
 * other core. Variants: sync publish (window 1) and pipelined windows 16, 128, 1024; 256-byte
 * values; ack policy leader; one partition; a fresh stream per run. One warm-up round (discarded),
 * then BENCH_ROUNDS (default 5) rounds; within a round the clients alternate which goes first.
 * Every run checks its acks (all there, no duplicates, contiguous offsets); a wrong run fails the
 * benchmark. Writes one JSON line per run to bench/results/publish-<time>.jsonl and prints the
 * summary: medians, and medians of the per-round ratios (ours / Go).
 *
 * Knobs: BENCH_ROUNDS, BENCH_WINDOWS ("1,16,128,1024"), BENCH_SYNC_COUNT (5000),
 * BENCH_COUNT (50000), BENCH_SIZE (256), BENCH_TRANSPORT (http2 | grpc-js), BENCH_PIN=0 (no
 * taskset), BENCH_BROKER_CPU / BENCH_CLIENT_CPU.
 */
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom } from 'rxjs';
import { connect } from '../../src/index.js';
import { PROJECT_ROOT, liftbridgeVersion, startSingleNode, uniqueName } from '../../spec/support/broker.js';
import { goTool } from '../../spec/support/go-tools.js';
import { pinning, prepareChild, processCpuUs } from '../subscribe/common.js';
import { publishCommand } from './commands.js';
import { printSummary, type RunResult } from './summary.js';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw.replaceAll('_', ''));
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer`);
  return v;
}

const ROUNDS = envInt('BENCH_ROUNDS', 5);
const WINDOWS = (process.env.BENCH_WINDOWS ?? '1,16,128,1024').split(',').map(Number);
const SYNC_COUNT = envInt('BENCH_SYNC_COUNT', 5000);
const COUNT = envInt('BENCH_COUNT', 50_000);
const SIZE = envInt('BENCH_SIZE', 256);
const TRANSPORT = process.env.BENCH_TRANSPORT ?? 'http2';
/** Broker on one core, clients on another (BENCH_PIN=0 / BENCH_BROKER_CPU / BENCH_CLIENT_CPU). */
const pin = pinning();

function runJson(cmd: string, args: readonly string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('error', reject);
    child.once('close', (code) => {
      const line = out
        .trim()
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{'));
      if (code !== 0 || line === undefined) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}\n${out.slice(-2000)}\n${err.slice(-4000)}`));
      else resolve(JSON.parse(line) as Record<string, unknown>);
    });
  });
}

async function main(): Promise<void> {
  const go = goTool('go-compare');
  // Our child is bundled (esbuild) like the other benchmarks' children: a child run through
  // `--import tsx` carries tsx's own background CPU (about 10 ms/s) into "ours".
  const child = prepareChild('publish-child', false, 'publish');
  const node = await startSingleNode({ logLevel: 'warn', activity: false });
  if (pin.enabled) execFileSync('taskset', ['-a', '-p', '-c', String(pin.brokerCpu), String(node.pid)], { stdio: 'ignore' });
  const admin = connect({ brokers: [node.address] });
  mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
  const file = join(PROJECT_ROOT, 'bench', 'results', `publish-${new Date().toISOString().replaceAll(':', '-').replace('.', '-')}.jsonl`);
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? '?'}; node ${process.version}; liftbridge ${liftbridgeVersion()}; ${pin.enabled ? `broker on cpu ${pin.brokerCpu}, clients on cpu ${pin.clientCpu}` : 'not pinned'}`;
  console.log(`publish benchmark: ${machine}; ${ROUNDS} rounds (+1 warm-up), windows ${WINDOWS.join('/')}, ${SIZE}-byte values, transport ${TRANSPORT}`);
  const results: RunResult[] = [];
  try {
    for (let round = 0; round <= ROUNDS; round++) {
      for (const window of WINDOWS) {
        const count = window <= 1 ? SYNC_COUNT : COUNT;
        const order = (round + window) % 2 === 0 ? (['rx-liftbridge', 'go-liftbridge'] as const) : (['go-liftbridge', 'rx-liftbridge'] as const);
        for (const client of order) {
          const stream = uniqueName(`bench-w${window}`);
          await firstValueFrom(admin.createStream({ name: stream }));
          const [cmd, args] = publishCommand(pin, client, child, go, { brokers: node.address, stream, window, count, size: SIZE, transport: TRANSPORT });
          const broker0 = processCpuUs(node.pid);
          const raw = await runJson(cmd, args);
          const broker1 = processCpuUs(node.pid);
          // The broker's CPU per message it stored in this run: our child's unmeasured warm-up
          // (publish-child.ts) and Go's single warm-up message included, process start-up not.
          const sent = count + (client === 'rx-liftbridge' ? Number(raw.warmup) : 1);
          if (broker0 !== undefined && broker1 !== undefined) raw.brokerUsPerMsg = (broker1 - broker0) / sent;
          if (client === 'go-liftbridge') {
            const problems: string[] = [];
            if (Number(raw.errors) > 0) problems.push(`${String(raw.errors)} errors`);
            if (Number(raw.maxOffset) - Number(raw.minOffset) + 1 !== count) problems.push('offsets are not contiguous');
            raw.ok = problems.length === 0;
            raw.problems = problems;
          }
          const r = { ...raw, round, warmup: round === 0, machine } as unknown as RunResult;
          appendFileSync(file, `${JSON.stringify(r)}\n`);
          if (r.ok !== true) throw new Error(`a wrong run: ${JSON.stringify(r)}`);
          if (round > 0) results.push(r);
          console.log(
            `round ${round}${round === 0 ? ' (warm-up)' : ''} ${client.padEnd(13)} w=${String(window).padEnd(4)} ${Math.round(r.msgPerSec).toString().padStart(7)} msg/s  p50 ${r.p50Us.toFixed(0).padStart(6)} µs  p99 ${r.p99Us.toFixed(0).padStart(6)} µs  cpu ${r.cpuUsPerMsg.toFixed(1)} µs/msg  broker cpu ${r.brokerUsPerMsg?.toFixed(1) ?? 'n/a'} µs/msg`,
          );
          await firstValueFrom(admin.deleteStream(stream));
        }
      }
    }
  } finally {
    await admin.close();
    await node.stop();
  }
  printSummary(results);
  console.log(`\nresults: ${file}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
