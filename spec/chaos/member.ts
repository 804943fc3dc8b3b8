/**
 * A consumer-group member for the chaos suite, in its own process (so the suite can SIGKILL it):
 *   node --import tsx spec/chaos/member.ts <brokers,...> <groupId> <stream> <commitCount> <commitMs>
 *
 * Prints one JSON line per event on stdout (the suite parses them):
 *   {"t":"assigned","p":0,"epoch":"3"}   {"t":"processed","p":0,"o":"17","v":"<value>"}
 *   {"t":"committed","p":0,"o":"15"}     {"t":"revoked","p":0}
 *   {"t":"rss","v":12345678,"heap":2345678,"handles":12} every 5 s, after a full GC (run with --expose-gc)
 *   {"t":"status","e":"coordinator-reported"} the member's group events (joined, rejoining, ...)
 *   {"t":"log","e":"..."}                the client's warnings and errors
 *   {"t":"error","e":"..."}              the group Observable errored (a finding: groups retry by themselves)
 *   {"t":"fatal","e":"..."}              an uncaught exception or unhandled rejection (a finding)
 * SIGTERM: unsubscribes (final commits flush, the member leaves), closes the client and exits 0.
 */
import { finalize, mergeMap } from 'rxjs';
import { commit, connect, consume } from '../../src/index.js';

const [brokers, groupId, stream, countArg, msArg] = process.argv.slice(2);
if (brokers === undefined || groupId === undefined || stream === undefined) {
  console.error('usage: member <brokers> <groupId> <stream> <commitCount> <commitMs>');
  process.exit(2);
}
const say = (o: unknown): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};
// The parent is gone (its end of the pipe closed): nobody reads this member any more, so it exits
// (writing the failure as a line would fail again, and the handler below would loop on it).
process.stdout.on('error', () => process.exit(0));
process.on('uncaughtException', (e) => say({ t: 'fatal', e: `uncaughtException: ${String(e)}` }));
process.on('unhandledRejection', (e) => say({ t: 'fatal', e: `unhandledRejection: ${String(e)}` }));

const lift = connect({
  brokers: brokers.split(','),
  callTimeoutMs: 3_000,
  retry: { maxRetries: 1_000, initialDelayMs: 100, maxDelayMs: 1_000, totalTimeoutMs: 120_000 },
  // Warnings and errors as lines too (ignored by the chaos suite, shown by specs that fail).
  logger: {
    debug() {},
    info() {},
    warn: (message: string, fields?: Record<string, unknown>) => say({ t: 'log', e: `${message} ${JSON.stringify(fields ?? {})}` }),
    error: (message: string, fields?: Record<string, unknown>) => say({ t: 'log', e: `${message} ${JSON.stringify(fields ?? {})}` }),
  },
});
lift.status$.subscribe((s) => {
  if (s.type === 'group') say({ t: 'status', e: s.event });
});
const decoder = new TextDecoder();
const subscription = lift
  .group(groupId, { streams: [stream], consumerId: `member-${process.pid}` })
  .pipe(
    mergeMap((p) => {
      say({ t: 'assigned', p: p.partition, epoch: p.epoch.toString() });
      return p.messages.pipe(
        consume((m) => say({ t: 'processed', p: m.partition, o: m.offset.toString(), v: decoder.decode(m.value) })),
        commit(p, {
          count: Number(countArg ?? '200'),
          timeMs: Number(msArg ?? '1000'),
          onCommit: (c) => say({ t: 'committed', p: c.partition, o: c.offset.toString() }),
        }),
        finalize(() => say({ t: 'revoked', p: p.partition })),
      );
    }),
  )
  .subscribe({ error: (e: unknown) => say({ t: 'error', e: String(e) }) });

const sampler = setInterval(() => {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
  // After a full collection, so a sample shows what is retained, not garbage not yet collected.
  (globalThis as { gc?: () => void }).gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  say({ t: 'rss', v: rss, heap: heapUsed, handles });
}, 5_000);

process.on('SIGTERM', () => {
  clearInterval(sampler);
  subscription.unsubscribe();
  void lift.close().finally(() => {
    say({ t: 'closed' });
    process.exit(0);
  });
});
