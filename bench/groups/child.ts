/**
 * One measured read of a backlog, in its own process:
 *
 *   node --import tsx bench/groups/child.ts <mode> <broker> <stream> <partitions> <messages> [group]
 *
 * mode `subscribe`: every partition from the earliest offset with a plain subscriber.
 * mode `group`: a one-member consumer group (fresh group id, so it starts from the earliest offset),
 *   each assigned partition through `consume(noop)` and `commit(assignment, { count: 1000, timeMs: 5000 })`.
 * Both check that every partition delivered offsets 0..n-1 exactly once, and print one JSON line:
 * mode, msgs, seconds, msgPerSec, cpuUsPerMsg, setCursorCalls (group mode: position writes).
 */
import { type Subscription, firstValueFrom, mergeMap } from 'rxjs';
import { StartAt, commit, connect, consume, type Message } from '../../src/index.js';

const [mode, address, stream, partitionsArg, messagesArg, groupArg] = process.argv.slice(2);
if ((mode !== 'subscribe' && mode !== 'group') || address === undefined || stream === undefined || partitionsArg === undefined || messagesArg === undefined) {
  console.error('usage: child.ts subscribe|group <broker> <stream> <partitions> <messages> [group]');
  process.exit(2);
}
const partitions = Number(partitionsArg);
const messages = Number(messagesArg);
const expected = Array.from({ length: partitions }, (_, p) => Math.floor(messages / partitions) + (p < messages % partitions ? 1 : 0));

async function main(): Promise<void> {
  const lift = connect({ brokers: [address!] });
  await firstValueFrom(lift.refreshMetadata());
  const next = new Array<number>(partitions).fill(0);
  const problems: string[] = [];
  let msgs = 0;
  let writes = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const seen = (m: Message): void => {
    if (Number(m.offset) !== next[m.partition]) problems.push(`partition ${m.partition}: offset ${m.offset}, expected ${next[m.partition]}`);
    next[m.partition] = Number(m.offset) + 1;
    if (++msgs === messages) finish();
  };

  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let sub: Subscription;
  if (mode === 'subscribe') {
    sub = lift.subscribe(stream!, { partitions: 'all', startAt: StartAt.earliest() }).subscribe(seen);
  } else {
    sub = lift
      .group(groupArg ?? `bench-${process.pid}`, { streams: [stream!], startAt: StartAt.earliest() })
      .pipe(
        mergeMap((p) =>
          p.messages.pipe(
            consume((m) => seen(m)),
            commit(p, { count: 1_000, timeMs: 5_000, onCommit: () => writes++ }),
          ),
        ),
      )
      .subscribe();
  }
  await finished;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  sub.unsubscribe();
  await lift.close(); // waits for the final position writes
  for (let p = 0; p < partitions; p++) if (next[p] !== expected[p]) problems.push(`partition ${p}: read ${next[p]}, expected ${expected[p]}`);
  console.log(
    JSON.stringify({
      mode,
      msgs,
      seconds,
      msgPerSec: msgs / seconds,
      cpuUsPerMsg: (cpu.user + cpu.system) / msgs,
      setCursorCalls: mode === 'group' ? writes : 0,
      ok: problems.length === 0,
      problems: problems.slice(0, 5),
    }),
  );
  process.exit(problems.length === 0 ? 0 : 1);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
