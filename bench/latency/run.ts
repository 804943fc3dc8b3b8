/**
 * End-to-end latency at fixed offered rates (issue 17, item 5): from the publish call to the
 * consumer's handler, rx-liftbridge (bench/latency/latency-child.ts: `publishTo` + `subscribe` +
 * `consume()`) beside go-liftbridge (tools/go-compare `latency`: `PublishAsync` + `Subscribe`) on
 * the same broker, in the same rounds, alternating the order:
 *
 *   node --import tsx bench/latency/run.ts
 *
 * BENCH_RATES (default "1000,10000") messages per second, BENCH_SECONDS (10) measured after
 * BENCH_WARMUP (2) seconds, BENCH_SIZE (256) bytes, BENCH_ROUNDS (3); publisher and subscriber in
 * one process per client, pinned to the client core, the broker to the other. Every run checks
 * that every offset arrived once and in order and that no publish failed. One JSON line per run in
 * bench/results/latency-<time>.jsonl; the table (medians over rounds) at the end.
 */
import { firstValueFrom } from 'rxjs';
import { connect } from '../../src/index.js';
import { uniqueName } from '../../spec/support/broker.js';
import { goTool } from '../../spec/support/go-tools.js';
import { appendJsonLine, envInt, envInts, machineNotes, median, pinned, pinning, resultsFile, runJson, startPinnedBroker } from '../subscribe/common.js';

const RATES = envInts('BENCH_RATES', [1000, 10_000]);
const SECONDS = envInt('BENCH_SECONDS', 10);
const WARMUP = envInt('BENCH_WARMUP', 2);
const SIZE = envInt('BENCH_SIZE', 256);
const ROUNDS = envInt('BENCH_ROUNDS', 3);

interface Run {
  readonly client: string;
  readonly rate: number;
  readonly round: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly p999Us: number;
  readonly ok: boolean;
}

async function main(): Promise<void> {
  const go = goTool('go-compare');
  const pin = pinning();
  const node = await startPinnedBroker(pin);
  const admin = connect({ brokers: [node.address] });
  const file = resultsFile('latency');
  appendJsonLine(file, machineNotes(pin));
  console.log(`latency: rates ${RATES.join('/')} msg/s, ${SECONDS} s (+${WARMUP} s warm-up), ${SIZE} B, ${ROUNDS} rounds; results -> ${file}`);
  const runs: Run[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const rate of RATES) {
        const order = (round + rate) % 2 === 0 ? ['rx-liftbridge', 'go-liftbridge'] : ['go-liftbridge', 'rx-liftbridge'];
        for (const client of order) {
          const stream = uniqueName('lat');
          await firstValueFrom(admin.createStream({ name: stream }));
          const common = [String(rate), String(SECONDS), String(WARMUP), String(SIZE)];
          const [cmd, args] =
            client === 'rx-liftbridge'
              ? pinned(pin, process.execPath, ['--import', 'tsx', 'bench/latency/latency-child.ts', node.address, stream, ...common])
              : pinned(pin, go, [
                  'latency',
                  '-brokers',
                  node.address,
                  '-stream',
                  stream,
                  '-rate',
                  common[0]!,
                  '-seconds',
                  common[1]!,
                  '-warmup',
                  common[2]!,
                  '-size',
                  common[3]!,
                ]);
          const r = await runJson<Run & Record<string, unknown>>(cmd, args);
          const run: Run = { client, rate, round, p50Us: Number(r.p50Us), p99Us: Number(r.p99Us), p999Us: Number(r.p999Us), ok: r.ok === true };
          appendJsonLine(file, { ...r, ...run });
          if (!run.ok) throw new Error(`a wrong run: ${JSON.stringify(r)}`);
          runs.push(run);
          console.log(
            `round ${round} ${String(rate).padStart(5)} msg/s ${client.padEnd(13)} p50 ${run.p50Us.toFixed(0).padStart(6)} µs  p99 ${run.p99Us.toFixed(0).padStart(6)} µs  p99.9 ${run.p999Us.toFixed(0).padStart(6)} µs`,
          );
          await firstValueFrom(admin.deleteStream(stream));
        }
      }
    }
  } finally {
    await admin.close();
    await node.stop();
  }
  console.log('\n| offered rate | client | p50 µs | p99 µs | p99.9 µs | ours / Go p50 | ours / Go p99 |');
  console.log('|---:|---|---:|---:|---:|---:|---:|');
  for (const rate of RATES) {
    const of = (client: string) => runs.filter((r) => r.rate === rate && r.client === client);
    const m = (client: string, k: 'p50Us' | 'p99Us' | 'p999Us') => median(of(client).map((r) => r[k]));
    console.log(
      `| ${rate.toLocaleString('en-US')} msg/s | rx-liftbridge | ${m('rx-liftbridge', 'p50Us').toFixed(0)} | ${m('rx-liftbridge', 'p99Us').toFixed(0)} | ${m('rx-liftbridge', 'p999Us').toFixed(0)} | ${(m('rx-liftbridge', 'p50Us') / m('go-liftbridge', 'p50Us')).toFixed(2)}x | ${(m('rx-liftbridge', 'p99Us') / m('go-liftbridge', 'p99Us')).toFixed(2)}x |`,
    );
    console.log(
      `| | go-liftbridge | ${m('go-liftbridge', 'p50Us').toFixed(0)} | ${m('go-liftbridge', 'p99Us').toFixed(0)} | ${m('go-liftbridge', 'p999Us').toFixed(0)} | | |`,
    );
  }
  console.log(`\nresults: ${file}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
