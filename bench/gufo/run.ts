/**
 * The seed's client beside ours (issue 17, item 6): publish and subscribe throughput of
 * gufo-liftbridge (PyPI `gufo-liftbridge` 0.2.0, its `publish_bulk` and `subscribe`) and of
 * rx-liftbridge (`publishTo` with its default window, a plain `subscribe`) on the same broker, in
 * the same rounds, alternating who goes first:
 *
 *   node --import tsx bench/gufo/run.ts
 *
 * Installs gufo-liftbridge into a virtualenv in .bench-bin/gufo-venv (git-ignored) on first use.
 * Each round: a publish run per client (BENCH_COUNT, default 100,000 values of BENCH_SIZE = 256
 * bytes, one partition, a fresh stream, after an unmeasured warm-up inside the child), then a
 * catch-up read per client of one BENCH_COUNT backlog loaded by the Go loader. Every run checks
 * its data: an ack per message with contiguous offsets; every offset once, in order. The broker
 * and the clients are pinned to different cores (as in the other benchmarks). BENCH_ROUNDS
 * (default 3) measured rounds after one warm-up round. One JSON line per run in
 * bench/results/gufo-<time>.jsonl; the table (medians, median of per-round ratios) at the end.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { firstValueFrom } from 'rxjs';
import { connect } from '../../src/index.js';
import { uniqueName } from '../../spec/support/broker.js';
import {
  BIN_DIR,
  appendJsonLine,
  buildGoTool,
  envInt,
  loadBacklog,
  machineNotes,
  median,
  perRoundRatios,
  pinned,
  pinning,
  ratioText,
  resultsFile,
  runJson,
  startPinnedBroker,
} from '../subscribe/common.js';

const ROUNDS = envInt('BENCH_ROUNDS', 3);
const COUNT = envInt('BENCH_COUNT', 100_000);
const SIZE = envInt('BENCH_SIZE', 256);
const VENV = join(BIN_DIR, 'gufo-venv');
const PYTHON = join(VENV, 'bin', 'python');

interface Run {
  readonly kind: 'publish' | 'subscribe';
  readonly client: 'rx-liftbridge' | 'gufo-liftbridge';
  readonly round: number;
  readonly msgPerSec: number;
  readonly cpuUsPerMsg: number;
  readonly ok: boolean;
}

function ensureGufo(): void {
  if (existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import gufo.liftbridge']).status === 0) return;
  const steps: [string, string[]][] = [
    ['python3', ['-m', 'venv', VENV]],
    [join(VENV, 'bin', 'pip'), ['install', '--quiet', 'gufo-liftbridge==0.2.0']],
  ];
  for (const [cmd, args] of steps) {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  }
}

async function main(): Promise<void> {
  ensureGufo();
  buildGoTool();
  const pin = pinning();
  const node = await startPinnedBroker(pin);
  const admin = connect({ brokers: [node.address] });
  const file = resultsFile('gufo');
  appendJsonLine(file, machineNotes(pin));
  console.log(`gufo-liftbridge vs rx-liftbridge: ${COUNT} x ${SIZE} B, ${ROUNDS} rounds + 1 warm-up; results -> ${file}`);
  const runs: Run[] = [];
  try {
    for (let round = 0; round <= ROUNDS; round++) {
      const order = round % 2 === 0 ? (['rx-liftbridge', 'gufo-liftbridge'] as const) : (['gufo-liftbridge', 'rx-liftbridge'] as const);
      for (const client of order) {
        const stream = uniqueName('gufo-pub');
        await firstValueFrom(admin.createStream({ name: stream }));
        const [cmd, args] =
          client === 'rx-liftbridge'
            ? pinned(pin, process.execPath, ['--import', 'tsx', 'bench/publish/publish-child.ts', node.address, stream, '1024', String(COUNT), String(SIZE)])
            : pinned(pin, PYTHON, ['bench/gufo/gufo_child.py', 'publish', node.address, stream, String(COUNT), String(SIZE)]);
        const r = await runJson<Record<string, number | boolean>>(cmd, args);
        record(runs, file, { kind: 'publish', client, round, msgPerSec: Number(r.msgPerSec), cpuUsPerMsg: Number(r.cpuUsPerMsg), ok: r.ok === true }, r);
        await firstValueFrom(admin.deleteStream(stream));
      }
      const backlog = uniqueName('gufo-sub');
      await loadBacklog(pin, node.address, backlog, 1, COUNT, SIZE);
      for (const client of order) {
        const [cmd, args] =
          client === 'rx-liftbridge'
            ? pinned(pin, process.execPath, ['--import', 'tsx', 'bench/subscribe/catch-up-child.ts', node.address, backlog, '1', String(COUNT)])
            : pinned(pin, PYTHON, ['bench/gufo/gufo_child.py', 'subscribe', node.address, backlog, String(COUNT)]);
        const r = await runJson<Record<string, number | boolean>>(cmd, args);
        record(runs, file, { kind: 'subscribe', client, round, msgPerSec: Number(r.msgPerSec), cpuUsPerMsg: Number(r.cpuUsPerMsg), ok: r.ok === true }, r);
      }
      await firstValueFrom(admin.deleteStream(backlog));
    }
  } finally {
    await admin.close();
    await node.stop();
  }
  console.log('\n| operation | client | msg/s (median) | client CPU µs/msg (median) | ours / gufo msg/s (median of per-round ratios) | gufo / ours CPU |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const kind of ['publish', 'subscribe'] as const) {
    const measured = runs.filter((r) => r.kind === kind && r.round > 0);
    const of = (client: Run['client']) => measured.filter((r) => r.client === client);
    const ratios = perRoundRatios(of('rx-liftbridge'), of('gufo-liftbridge'), (r) => r.msgPerSec);
    const cpuOurs = median(of('rx-liftbridge').map((r) => r.cpuUsPerMsg));
    const cpuGufo = median(of('gufo-liftbridge').map((r) => r.cpuUsPerMsg));
    const label = kind === 'publish' ? 'publish (ours: publishTo, window 1024; gufo: publish_bulk, wait=True)' : 'catch-up subscribe, 1 partition';
    console.log(
      `| ${label} | rx-liftbridge | ${Math.round(median(of('rx-liftbridge').map((r) => r.msgPerSec))).toLocaleString('en-US')} | ${cpuOurs.toFixed(2)} | **${ratioText(ratios)}** | ${(cpuGufo / cpuOurs).toFixed(1)}x |`,
    );
    console.log(
      `| | gufo-liftbridge 0.2.0 | ${Math.round(median(of('gufo-liftbridge').map((r) => r.msgPerSec))).toLocaleString('en-US')} | ${cpuGufo.toFixed(2)} | | |`,
    );
  }
  console.log(`\nresults: ${file}`);
}

function record(runs: Run[], file: string, run: Run, raw: Record<string, unknown>): void {
  appendJsonLine(file, { ...raw, ...run });
  if (!run.ok) throw new Error(`a wrong run: ${JSON.stringify(raw)}`);
  runs.push(run);
  console.log(
    `round ${run.round}${run.round === 0 ? ' (warm-up)' : ''} ${run.kind.padEnd(9)} ${run.client.padEnd(15)} ${Math.round(run.msgPerSec).toString().padStart(7)} msg/s  cpu ${run.cpuUsPerMsg.toFixed(2)} µs/msg`,
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
