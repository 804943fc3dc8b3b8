/**
 * The demo behind `npm run demo`: starts a local Liftbridge (installed by
 * scripts/install-liftbridge.mjs), then for ~10 s publishes to a 4-partition stream (pipelined,
 * with backpressure) while a two-member consumer group consumes and commits, showing a small live
 * view per partition; then a summary and where to go next.
 *
 * Point it at your own broker instead with `LIFTBRIDGE_BROKERS=host:port npm run demo`;
 * `DEMO_SECONDS=n` changes the length.
 */
import { firstValueFrom, mergeMap, type Subscription } from 'rxjs';
import { commit, connect, consume, publishBulk, type LiftbridgeClient } from '../src/index.js';
import { startSingleNode } from '../spec/support/broker.js';

const PARTITIONS = 4;
const seconds = Number(process.env.DEMO_SECONDS ?? 10);
const live = process.stdout.isTTY === true && (process.env.NO_COLOR ?? '') === '';

async function main(): Promise<void> {
  const external = process.env.LIFTBRIDGE_BROKERS;
  const node = external === undefined ? await startSingleNode() : undefined;
  const brokers = external?.split(',') ?? [node!.address];
  console.log(`Liftbridge at ${brokers.join(', ')}${node === undefined ? '' : ' (started for this demo)'}`);

  const producer = connect({ brokers });
  const members: LiftbridgeClient[] = [connect({ brokers }), connect({ brokers })];
  const stream = `demo-${Date.now()}`;
  const groupId = `${stream}-readers`;
  const published = new Array<number>(PARTITIONS).fill(0);
  const consumed = new Array<number>(PARTITIONS).fill(0);
  const newest = new Array<bigint>(PARTITIONS).fill(-1n);
  const committed = new Array<bigint>(PARTITIONS).fill(-1n);
  /** Highest offset the group processed per partition (counts above include redeliveries). */
  const reached = new Array<bigint>(PARTITIONS).fill(-1n);
  const owner = new Array<string>(PARTITIONS).fill('-');
  const runs: Subscription[] = [];
  try {
    await firstValueFrom(producer.createStream({ name: stream, partitions: PARTITIONS }));
    console.log(`created ${stream}: ${PARTITIONS} partitions; group ${groupId} with 2 members; ${seconds} s\n`);

    members.forEach((member, i) => {
      runs.push(
        member
          .group(groupId, { streams: [stream] })
          .pipe(
            mergeMap((a) => {
              owner[a.partition] = `m${i + 1}`;
              return a.messages.pipe(
                consume(async (m) => {
                  consumed[m.partition]! += 1;
                  if (m.offset > reached[m.partition]!) reached[m.partition] = m.offset;
                }),
                commit(a, { count: 200, timeMs: 500 }),
              );
            }),
          )
          .subscribe({ error: (e: unknown) => console.error(`member ${i + 1}:`, e) }),
      );
    });

    const end = Date.now() + seconds * 1000;
    async function* orders(): AsyncGenerator<string> {
      for (let i = 0; Date.now() < end; i++) yield JSON.stringify({ order: i, total: i % 97 });
    }
    const started = Date.now();
    const publishing = new Promise<void>((resolve, reject) => {
      publishBulk(producer, orders(), { stream, partitioner: 'round-robin', maxInFlight: 128 }).subscribe({
        next: (ack) => {
          published[ack.partition]! += 1;
          newest[ack.partition] = ack.offset;
        },
        error: reject,
        complete: resolve,
      });
    });

    const header = 'part  member  published  msg/s  offset  consumed  committed    lag';
    let lastPublished = [...published];
    let lines = 0;
    const view = async (): Promise<void> => {
      const positions = await Promise.all(
        newest.map((_, p) => firstValueFrom(producer.fetchCursor({ stream, partition: p, cursorId: `__group:${groupId}` })).catch(() => -1n)),
      );
      positions.forEach((c, p) => {
        committed[p] = c;
      });
      const rows = newest.map((off, p) => {
        const rate = published[p]! - lastPublished[p]!;
        const lag = off < 0n ? 0n : off - committed[p]!;
        return `p${p}    ${owner[p]!.padEnd(6)}  ${String(published[p]).padStart(9)}  ${String(rate).padStart(5)}  ${String(off).padStart(6)}  ${String(consumed[p]).padStart(8)}  ${String(committed[p]).padStart(9)}  ${String(lag).padStart(5)}`;
      });
      lastPublished = [...published];
      const elapsed = ((Date.now() - started) / 1000).toFixed(0).padStart(2);
      if (live) {
        if (lines > 0) process.stdout.write(`\u001b[${lines}A`);
        const text = [`t=${elapsed}s`, header, ...rows];
        process.stdout.write(text.map((l) => `\u001b[2K${l}\n`).join(''));
        lines = text.length;
      } else {
        // One line per partition, so a line stays short however many messages a fast machine publishes.
        console.log(`t=${elapsed}s`);
        for (const [p, n] of published.entries()) {
          console.log(`  p${p} ${owner[p]!.padEnd(6)} published ${n} consumed ${consumed[p]} committed ${committed[p]}`);
        }
      }
    };
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, live ? 1000 : 2500));
      await view();
    }
    await publishing;
    // Let the group catch up with every partition's newest message (bounded wait); leaving then commits the tail.
    const total = published.reduce((a, b) => a + b, 0);
    const deadline = Date.now() + 10_000;
    while (reached.some((r, p) => r < newest[p]!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const r of runs) r.unsubscribe();
    await Promise.all(members.map((m) => m.close()));
    await view();
    const read = consumed.reduce((a, b) => a + b, 0);
    console.log(`\nsummary: published ${total} messages in ${seconds} s (${Math.round(total / seconds)} msg/s); the group consumed ${read}`);
    console.log(`  committed positions: ${committed.map((c, p) => `p${p}=${c}`).join(' ')}`);
    if (read > total) console.log(`  ${read - total} redelivered after the rebalance (at-least-once: from the committed position)`);
    console.log(`next: npx rxlift --help (docs/cli.md) and docs/consumer-groups.md`);
    await firstValueFrom(producer.deleteStream(stream));
    console.log('deleted the stream; demo done.');
  } finally {
    for (const r of runs) r.unsubscribe();
    await Promise.all(members.map((m) => m.close()));
    await producer.close();
    await node?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
