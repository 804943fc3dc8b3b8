/**
 * Liftbridge's own benchmark tools beside go-liftbridge and rx-liftbridge (issue 17, item 7): the
 * server repository's `bench/producer` and `bench/consumer` (only on its unreleased main; built
 * here from ../shared/liftbridge-server/liftbridge-50ac358.tar.gz into .bench-bin/, never
 * committed), on the same broker, in the same rounds, alternating the order:
 *
 *   node --import tsx bench/upstream/run.ts
 *
 * Publish (one partition, ack policy leader, BENCH_COUNT = 100,000 values of BENCH_SIZE = 256
 * bytes, a fresh stream per run): ours `publishTo` with a window of 1024 (bench/publish/
 * publish-child.ts), go-liftbridge `PublishAsync` with a semaphore of 1024 (tools/go-compare), and
 * the upstream producer with `--pub-batch 1024` (publish 1024 asynchronously, wait for their acks,
 * repeat). Catch-up read of one BENCH_SUB_COUNT (300,000) backlog: ours (bench/subscribe/
 * catch-up-child.ts), go-liftbridge (tools/go-bench-consumer) and the upstream consumer.
 *
 * Checks: ours and go-liftbridge check offsets themselves; for the upstream producer the stream's
 * newest offset must be count - 1 afterwards, and the upstream consumer must report `count`
 * messages and no error. The upstream tools report no CPU, so client CPU here is the child
 * process's total (getrusage of the finished child, start-up included) for every client alike.
 * BENCH_ROUNDS (default 3) measured rounds after a warm-up round; one JSON line per run in
 * bench/results/upstream-<time>.jsonl; the table at the end.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { firstValueFrom } from 'rxjs';
import { connect } from '../../src/index.js';
import { uniqueName } from '../../spec/support/broker.js';
import { goTool } from '../../spec/support/go-tools.js';
import {
  BIN_DIR,
  ROOT,
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
  startPinnedBroker,
} from '../subscribe/common.js';

const ROUNDS = envInt('BENCH_ROUNDS', 3);
const COUNT = envInt('BENCH_COUNT', 100_000);
const SUB_COUNT = envInt('BENCH_SUB_COUNT', 300_000);
const SIZE = envInt('BENCH_SIZE', 256);
const SRC_TAR = join(ROOT, '..', 'shared', 'liftbridge-server', 'liftbridge-50ac358.tar.gz');
const SRC_DIR = join(BIN_DIR, 'liftbridge-src');
const PRODUCER = join(BIN_DIR, 'lb-bench-producer');
const CONSUMER = join(BIN_DIR, 'lb-bench-consumer');

type Client = 'rx-liftbridge' | 'go-liftbridge' | 'liftbridge bench/*';
interface Run {
  readonly kind: 'publish' | 'subscribe';
  readonly client: Client;
  readonly round: number;
  readonly msgPerSec: number;
  /** The child process's user+sys CPU over its whole life, per message. */
  readonly processCpuUsPerMsg: number;
}

function buildUpstream(): void {
  if (existsSync(PRODUCER) && existsSync(CONSUMER)) return;
  mkdirSync(SRC_DIR, { recursive: true });
  const steps: [string, string[], string][] = [
    ['tar', ['-xzf', SRC_TAR, '-C', SRC_DIR], ROOT],
    ['go', ['build', '-o', PRODUCER, './bench/producer'], join(SRC_DIR, 'liftbridge-50ac358')],
    ['go', ['build', '-o', CONSUMER, './bench/consumer'], join(SRC_DIR, 'liftbridge-50ac358')],
  ];
  for (const [cmd, args, cwd] of steps) {
    const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, GOFLAGS: '-mod=mod' } });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  }
}

/** Runs a child to its end; its last JSON line on stdout, and its CPU (user+sys, µs) from wait4's rusage. */
function measured(cmd: string, args: readonly string[]): Promise<{ json: Record<string, unknown>; cpuUs: number }> {
  // Node has no rusage of a finished child: a one-line Python parent reports it.
  const wrapper =
    'import json,resource,subprocess,sys\np=subprocess.run(sys.argv[1:]);u=resource.getrusage(resource.RUSAGE_CHILDREN)\nprint(json.dumps({"__cpuUs":(u.ru_utime+u.ru_stime)*1e6,"__code":p.returncode}))';
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', wrapper, cmd, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('error', reject);
    child.once('close', () => {
      // The wrapper's line is last; before it the tool's JSON object, on one line or indented over several.
      const trimmed = out.trim();
      const lastBreak = trimmed.lastIndexOf('\n');
      const tail = JSON.parse(trimmed.slice(lastBreak + 1)) as { __cpuUs?: number; __code?: number };
      const body = trimmed.slice(0, Math.max(0, lastBreak));
      const start = body.startsWith('{') ? Math.max(0, body.lastIndexOf('\n{') + 1) : body.lastIndexOf('\n{') + 1;
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(body.slice(start)) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      if (tail.__code !== 0 || json === undefined)
        reject(new Error(`${cmd} ${args.join(' ')} failed (${tail.__code})\n${out.slice(-2000)}\n${err.slice(-3000)}`));
      else resolve({ json, cpuUs: tail.__cpuUs ?? 0 });
    });
  });
}

async function main(): Promise<void> {
  buildUpstream();
  const goBench = goTool('go-compare');
  const goConsumer = buildGoTool();
  const pin = pinning();
  const node = await startPinnedBroker(pin);
  const admin = connect({ brokers: [node.address] });
  const file = resultsFile('upstream');
  appendJsonLine(file, machineNotes(pin));
  console.log(`upstream tools: publish ${COUNT}, read ${SUB_COUNT} x ${SIZE} B, ${ROUNDS} rounds + 1 warm-up; results -> ${file}`);
  const runs: Run[] = [];
  const clients: Client[] = ['rx-liftbridge', 'go-liftbridge', 'liftbridge bench/*'];
  const record = (run: Run, raw: Record<string, unknown>): void => {
    appendJsonLine(file, { ...raw, ...run });
    runs.push(run);
    console.log(
      `round ${run.round}${run.round === 0 ? ' (warm-up)' : ''} ${run.kind.padEnd(9)} ${run.client.padEnd(18)} ${Math.round(run.msgPerSec).toString().padStart(7)} msg/s  process cpu ${run.processCpuUsPerMsg.toFixed(2)} µs/msg`,
    );
  };
  try {
    for (let round = 0; round <= ROUNDS; round++) {
      const order = clients.map((_, i) => clients[(i + round) % clients.length] as Client);
      for (const client of order) {
        const stream = uniqueName('up-pub');
        await firstValueFrom(admin.createStream({ name: stream }));
        const [cmd, args] =
          client === 'rx-liftbridge'
            ? pinned(pin, process.execPath, ['--import', 'tsx', 'bench/publish/publish-child.ts', node.address, stream, '1024', String(COUNT), String(SIZE)])
            : client === 'go-liftbridge'
              ? pinned(pin, goBench, ['bench', '-brokers', node.address, '-stream', stream, '-window', '1024', '-count', String(COUNT), '-size', String(SIZE)])
              : pinned(pin, PRODUCER, ['-s', node.address, '--stream', stream, '-n', String(COUNT), '--ms', String(SIZE), '--pb', '1024', '-o', 'json']);
        const { json, cpuUs } = await measured(cmd, args);
        const info = await firstValueFrom(admin.fetchPartitionMetadata(stream, 0));
        // Ours warms up inside the child (min(count, 20,000) more messages on the same stream, as
        // publish-child.ts does); the others do not.
        const stored = client === 'rx-liftbridge' ? COUNT + Math.min(COUNT, 20_000) : client === 'go-liftbridge' ? COUNT + 1 : COUNT;
        const ok =
          client === 'liftbridge bench/*'
            ? Number(json.errors) === 0 && Number(json.total_messages) === COUNT && info.newestOffset === BigInt(stored - 1)
            : client === 'go-liftbridge'
              ? Number(json.errors) === 0 && Number(json.maxOffset) - Number(json.minOffset) + 1 === COUNT && info.newestOffset === BigInt(stored - 1)
              : json.ok === true && info.newestOffset === BigInt(stored - 1);
        if (!ok) throw new Error(`a wrong publish run (${client}): ${JSON.stringify(json)}; newest offset ${info.newestOffset}`);
        const msgPerSec = client === 'liftbridge bench/*' ? Number(json.messages_per_second) : Number(json.msgPerSec);
        record({ kind: 'publish', client, round, msgPerSec, processCpuUsPerMsg: cpuUs / stored }, json);
        await firstValueFrom(admin.deleteStream(stream));
      }
      const backlog = uniqueName('up-sub');
      await loadBacklog(pin, node.address, backlog, 1, SUB_COUNT, SIZE);
      for (const client of order) {
        const [cmd, args] =
          client === 'rx-liftbridge'
            ? pinned(pin, process.execPath, ['--import', 'tsx', 'bench/subscribe/catch-up-child.ts', node.address, backlog, '1', String(SUB_COUNT)])
            : client === 'go-liftbridge'
              ? pinned(pin, goConsumer, ['consume', '-brokers', node.address, '-stream', backlog, '-partitions', '1', '-count', String(SUB_COUNT)])
              : pinned(pin, CONSUMER, ['-s', node.address, '--stream', backlog, '-n', String(SUB_COUNT), '--start', 'earliest', '-o', 'json']);
        const { json, cpuUs } = await measured(cmd, args);
        const ok = client === 'liftbridge bench/*' ? Number(json.errors) === 0 && Number(json.total_messages) === SUB_COUNT : json.ok === true;
        if (!ok) throw new Error(`a wrong read (${client}): ${JSON.stringify(json)}`);
        const msgPerSec = client === 'liftbridge bench/*' ? Number(json.messages_per_second) : Number(json.msgPerSec);
        record({ kind: 'subscribe', client, round, msgPerSec, processCpuUsPerMsg: cpuUs / SUB_COUNT }, json);
      }
      await firstValueFrom(admin.deleteStream(backlog));
    }
  } finally {
    await admin.close();
    await node.stop();
  }
  console.log('\n| operation | client | msg/s (median) | process CPU µs/msg (median) | ours / this msg/s (median of per-round ratios) |');
  console.log('|---|---|---:|---:|---:|');
  for (const kind of ['publish', 'subscribe'] as const) {
    const measuredRuns = runs.filter((r) => r.kind === kind && r.round > 0);
    for (const client of clients) {
      const mine = measuredRuns.filter((r) => r.client === client);
      const ours = measuredRuns.filter((r) => r.client === 'rx-liftbridge');
      const label = kind === 'publish' ? 'publish, window/batch 1024' : 'catch-up read';
      console.log(
        `| ${label} | ${client} | ${Math.round(median(mine.map((r) => r.msgPerSec))).toLocaleString('en-US')} | ${median(mine.map((r) => r.processCpuUsPerMsg)).toFixed(2)} | ${client === 'rx-liftbridge' ? '' : ratioText(perRoundRatios(ours, mine, (r) => r.msgPerSec))} |`,
      );
    }
  }
  console.log(`\nresults: ${file}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
