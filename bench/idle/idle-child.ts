/**
 * The idle cost of rx-liftbridge, in its own process (pinned by the caller):
 *
 *   node --import tsx bench/idle/idle-child.ts <broker> <stream> <partitions> <seconds>
 *
 * Subscribes to every partition of an empty stream from the earliest offset, publishes one
 * message to each and waits until each subscription delivered it (so every Subscribe call is
 * established), lets start-up work settle for 5 s, then does nothing for `seconds` and prints one JSON line: CPU spent while idle
 * (process.cpuUsage, ms per second), RSS and heap at the end, and max RSS.
 */
import { lastValueFrom } from 'rxjs';
import { StartAt, connect, publishBulk } from '../../src/index.js';

const [address, stream, partitionsArg, secondsArg] = process.argv.slice(2);
const partitions = Number(partitionsArg);
const seconds = Number(secondsArg);

async function main(): Promise<void> {
  const lift = connect({ brokers: [address!] });
  const seen = new Set<number>();
  const established = new Promise<void>((resolve) => {
    lift.subscribe(stream!, { partitions: 'all', startAt: StartAt.earliest() }).subscribe((m) => {
      seen.add(m.partition);
      if (seen.size === partitions) resolve();
    });
  });
  await lastValueFrom(
    publishBulk(
      lift,
      Array.from({ length: partitions }, (_, p) => ({ value: 'x', partition: p })),
      { stream: stream! },
    ),
    { defaultValue: undefined },
  );
  await established;
  // Let start-up work (V8's background compilation and sweeping) finish: the steady idle state is
  // what a long-lived process pays.
  await new Promise((r) => setTimeout(r, 5_000));
  global.gc?.();
  const cpu0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const mem = process.memoryUsage();
  console.log(
    JSON.stringify({
      client: 'rx-liftbridge',
      subscriptions: lift.stats().subscriptions.length,
      seconds,
      cpuMsPerSec: (cpu.user + cpu.system) / 1000 / seconds,
      rssMb: mem.rss / 2 ** 20,
      heapUsedMb: mem.heapUsed / 2 ** 20,
      maxRssKb: process.resourceUsage().maxRSS,
    }),
  );
  await lift.close();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
