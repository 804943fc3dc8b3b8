/**
 * What V8's garbage collector does while we publish: young-generation pauses, bytes promoted to old
 * space per young collection, and full collections, at each window.
 *
 *   node --import tsx bench/publish/gc.ts
 *
 * One single node (test harness) pinned to the broker core; for each window in BENCH_WINDOWS
 * ("128,1024") and each of BENCH_ROUNDS (2) rounds, our publish child (bundled, pinned to the client
 * core) publishes BENCH_COUNT (200,000) x 256 B with `--trace-gc-nvp`, and the collections of the
 * whole process (its warm-up included) are summed up. BENCH_NODE_FLAGS adds flags to the child, e.g.
 * `--no-allocation-site-pretenuring` to see what V8's pretenuring costs.
 *
 * Why this exists: at window 1024, V8 pretenured three object literals made per message (the
 * prepared message, its headers array, the `{ value }` of a bare input): they live as long as their
 * entry, and V8 allocated them in old space, which then filled and was collected several times a
 * second. They are class instances now (docs/performance.md).
 */
import { firstValueFrom } from 'rxjs';
import { connect } from '../../src/index.js';
import { uniqueName } from '../../spec/support/broker.js';
import { envInt, envInts, pinning, prepareChild, startPinnedBroker } from '../subscribe/common.js';
import { spawnSync } from 'node:child_process';

const WINDOWS = envInts('BENCH_WINDOWS', [128, 1024]);
const ROUNDS = envInt('BENCH_ROUNDS', 2);
const COUNT = envInt('BENCH_COUNT', 200_000);
const EXTRA = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');

/** A numeric field of a `--trace-gc-nvp` line. */
function field(line: string, name: string): number {
  return Number(new RegExp(`\\b${name}=([0-9.]+)`).exec(line)?.[1] ?? 0);
}

async function main(): Promise<void> {
  const pin = pinning();
  const child = prepareChild('publish-child', false, 'publish');
  const node = await startPinnedBroker(pin);
  const admin = connect({ brokers: [node.address] });
  console.log(`publish GC: windows ${WINDOWS.join('/')}, ${COUNT} x 256 B, ${ROUNDS} rounds${EXTRA.length > 0 ? `, node ${EXTRA.join(' ')}` : ''}`);
  console.log(
    '| window | round | msg/s | CPU µs/msg | p99 µs | young collections | mean young pause ms | promoted per young collection MB | full collections | total GC pause ms |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const window of WINDOWS) {
        const stream = uniqueName(`gc-w${window}`);
        await firstValueFrom(admin.createStream({ name: stream }));
        const [cmd, args] = child(pin, [node.address, stream, String(window), String(COUNT), '256'], ['--trace-gc-nvp', ...EXTRA]);
        const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
        const lines = r.stdout.split('\n');
        const result = JSON.parse(lines.filter((l) => l.startsWith('{')).pop() ?? '{}') as Record<string, unknown>;
        if (r.status !== 0 || result.ok !== true) throw new Error(`a wrong run: ${r.stdout.slice(-2000)}${r.stderr.slice(-2000)}`);
        const gcs = lines.filter((l) => l.includes('gc='));
        const young = gcs.filter((l) => /\bgc=s\b/.test(l));
        const full = gcs.filter((l) => /\bgc=mc\b/.test(l));
        const sum = (ls: string[], name: string): number => ls.reduce((a, l) => a + field(l, name), 0);
        console.log(
          `| ${window} | ${round} | ${Math.round(Number(result.msgPerSec)).toLocaleString('en-US')} | ${Number(result.cpuUsPerMsg).toFixed(2)} | ${Number(result.p99Us)} | ${young.length} | ${(sum(young, 'pause') / Math.max(1, young.length)).toFixed(2)} | ${(sum(young, 'promoted') / Math.max(1, young.length) / 2 ** 20).toFixed(2)} | ${full.length} | ${sum(gcs, 'pause').toFixed(0)} |`,
        );
        await firstValueFrom(admin.deleteStream(stream));
      }
    }
  } finally {
    await admin.close();
    await node.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
