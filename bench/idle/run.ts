/**
 * The idle cost of a client holding many subscriptions (issue 17, item 4): CPU and memory of a
 * process that holds BENCH_SUBSCRIPTIONS (default 100) established, idle Subscribe calls (one
 * stream with that many partitions), rx-liftbridge (bench/idle/idle-child.ts, bundled and run with
 * plain node like the other subscribe children) beside
 * go-liftbridge (tools/go-bench-consumer `idle`), on the same broker, alternating the order:
 *
 *   node --import tsx bench/idle/run.ts
 *
 * BENCH_SECONDS (default 30) idle seconds measured, BENCH_ROUNDS (default 3). Clients pinned to
 * the client core, the broker to the other. One JSON line per run in bench/results/idle-<time>.jsonl.
 */
import { firstValueFrom } from 'rxjs';
import { connect } from '../../src/index.js';
import { uniqueName } from '../../spec/support/broker.js';
import {
  appendJsonLine,
  buildGoTool,
  envInt,
  machineNotes,
  median,
  pinned,
  pinning,
  prepareChild,
  resultsFile,
  runJson,
  startPinnedBroker,
} from '../subscribe/common.js';

const SUBSCRIPTIONS = envInt('BENCH_SUBSCRIPTIONS', 100);
const SECONDS = envInt('BENCH_SECONDS', 30);
const ROUNDS = envInt('BENCH_ROUNDS', 3);

async function main(): Promise<void> {
  const go = buildGoTool();
  // Bundled and run with plain node: a process started with `--import tsx` alone spends ~10 ms of
  // CPU per second idle (tsx's loader thread), which would be most of what is measured here.
  const ours = prepareChild('idle-child', false, 'idle');
  const pin = pinning();
  const node = await startPinnedBroker(pin);
  const admin = connect({ brokers: [node.address] });
  const file = resultsFile('idle');
  appendJsonLine(file, machineNotes(pin));
  console.log(`idle cost: ${SUBSCRIPTIONS} subscriptions, ${SECONDS} s idle, ${ROUNDS} rounds; results -> ${file}`);
  const runs: { client: string; cpuMsPerSec: number; maxRssMb: number }[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const client of round % 2 === 0 ? ['rx-liftbridge', 'go-liftbridge'] : ['go-liftbridge', 'rx-liftbridge']) {
        const stream = uniqueName('idle');
        await firstValueFrom(admin.createStream({ name: stream, partitions: SUBSCRIPTIONS }));
        const [cmd, args] =
          client === 'rx-liftbridge'
            ? ours(pin, [node.address, stream, String(SUBSCRIPTIONS), String(SECONDS)], ['--expose-gc'])
            : pinned(pin, go, ['idle', '-brokers', node.address, '-stream', stream, '-partitions', String(SUBSCRIPTIONS), '-seconds', String(SECONDS)]);
        const r = await runJson<Record<string, number>>(cmd, args);
        if (client === 'rx-liftbridge' && r.subscriptions !== SUBSCRIPTIONS)
          throw new Error(`expected ${SUBSCRIPTIONS} live subscriptions: ${JSON.stringify(r)}`);
        const run = { client, round, cpuMsPerSec: Number(r.cpuMsPerSec), maxRssMb: Number(r.maxRssKb) / 1024 };
        appendJsonLine(file, { ...r, ...run });
        runs.push(run);
        console.log(`round ${round} ${client.padEnd(13)} idle CPU ${run.cpuMsPerSec.toFixed(2)} ms/s  max RSS ${run.maxRssMb.toFixed(1)} MB`);
        await firstValueFrom(admin.deleteStream(stream));
      }
    }
  } finally {
    await admin.close();
    await node.stop();
  }
  console.log(`\n| client | ${SUBSCRIPTIONS} idle subscriptions: CPU ms per second (median) | max RSS MB (median) |`);
  console.log('|---|---:|---:|');
  for (const client of ['rx-liftbridge', 'go-liftbridge']) {
    const mine = runs.filter((r) => r.client === client);
    console.log(`| ${client} | ${median(mine.map((r) => r.cpuMsPerSec)).toFixed(2)} | ${median(mine.map((r) => r.maxRssMb)).toFixed(1)} |`);
  }
  console.log(`\nresults: ${file}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
