/**
 * `rxlift bench publish|subscribe`: a live rate line on a terminal, then a table.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { lastValueFrom, take, tap } from 'rxjs';
import { type AckPolicy, publishBulk, StartAt, StopAt } from '../index.js';
import { contextOf, withClient } from './context.js';
import { human, Latencies, LiveLine, ms, table, toJson } from './output.js';
import { oneOf, parseCount } from './parse.js';

interface Result {
  readonly test: string;
  readonly messages: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
}

function printResult(json: boolean, r: Result): void {
  const msgPerSec = r.messages / Math.max(r.seconds, 0.001);
  const mbPerSec = r.bytes / 1e6 / Math.max(r.seconds, 0.001);
  if (json) {
    process.stdout.write(
      `${toJson({ ...r, seconds: Number(r.seconds.toFixed(3)), msgPerSec: Math.round(msgPerSec), mbPerSec: Number(mbPerSec.toFixed(2)), p50Ms: r.p50Ms ?? null, p99Ms: r.p99Ms ?? null })}\n`,
    );
    return;
  }
  process.stdout.write(
    `${table(
      ['TEST', 'MESSAGES', 'SECONDS', 'MSG/S', 'MB/S', 'P50', 'P99'],
      [[r.test, String(r.messages), r.seconds.toFixed(2), human(msgPerSec), mbPerSec.toFixed(2), ms(r.p50Ms), ms(r.p99Ms)]],
    )}\n`,
  );
}

export function registerBench(program: Command): void {
  const bench = program.command('bench').description('measure publish and subscribe throughput against a stream');
  bench
    .command('publish')
    .argument('<stream>', 'stream name (must exist)')
    .description('publish --count messages of --size bytes, pipelined')
    .option('-c, --count <n>', 'messages', (s: string) => parseCount(s, 1), 10_000)
    .option('-s, --size <bytes>', 'value size', (s: string) => parseCount(s, 0, 16 * 1024 * 1024), 128)
    .option('-n, --in-flight <n>', 'messages awaiting their ack at once', (s: string) => parseCount(s, 1, 100_000), 256)
    .option('-a, --ack <policy>', 'none | leader | all', oneOf(['none', 'leader', 'all'] as const), 'leader')
    .action(async (stream: string, o: { count: number; size: number; inFlight: number; ack: AckPolicy }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const value = randomBytes(o.size);
      const live = new LiveLine(ctx.term);
      const latencies = new Latencies();
      const pulled: number[] = [];
      let acked = 0;
      function* inputs(): Generator<Uint8Array> {
        for (let i = 0; i < o.count; i++) {
          pulled.push(performance.now());
          yield value;
        }
      }
      await withClient(ctx, async (lift) => {
        const started = performance.now();
        await lastValueFrom(
          publishBulk(lift, inputs(), { stream, ackPolicy: o.ack, maxInFlight: o.inFlight, partitioner: 'round-robin' }).pipe(
            tap(() => {
              const t = pulled.shift();
              if (t !== undefined) latencies.add(performance.now() - t);
              acked++;
              live.update(() => `publish ${human(acked)}/${human(o.count)}  ${human(acked / ((performance.now() - started) / 1000))} msg/s`);
            }),
          ),
          { defaultValue: undefined },
        );
        const seconds = (performance.now() - started) / 1000;
        live.clear();
        printResult(ctx.options.json, {
          test: `publish ${o.size}B ack=${o.ack} in-flight=${o.inFlight}`,
          messages: acked,
          bytes: acked * o.size,
          seconds,
          p50Ms: latencies.percentile(50),
          p99Ms: latencies.percentile(99),
        });
      });
    });
  bench
    .command('subscribe')
    .argument('<stream>', 'stream name')
    .description('read a stream from the earliest message to the newest (or --count messages), all partitions')
    .option('-c, --count <n>', 'stop after this many messages', (s: string) => parseCount(s, 1))
    .option('--prefetch <n>', 'messages buffered per partition', (s: string) => parseCount(s, 1, 1_000_000))
    .action(async (stream: string, o: { count?: number; prefetch?: number }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const live = new LiveLine(ctx.term);
      let messages = 0;
      let bytes = 0;
      await withClient(ctx, async (lift) => {
        const started = performance.now();
        let source = lift.subscribe(stream, {
          partitions: 'all',
          startAt: StartAt.earliest(),
          stopAt: StopAt.latest(),
          ...(o.prefetch === undefined ? {} : { prefetch: o.prefetch }),
        });
        if (o.count !== undefined) source = source.pipe(take(o.count));
        await lastValueFrom(
          source.pipe(
            tap((m) => {
              messages++;
              bytes += m.value.length;
              live.update(() => `subscribe ${human(messages)}  ${human(messages / ((performance.now() - started) / 1000))} msg/s`);
            }),
          ),
          { defaultValue: undefined },
        );
        const seconds = (performance.now() - started) / 1000;
        live.clear();
        // A catch-up read has no per-message latency to report (the data was stored before the run).
        printResult(ctx.options.json, { test: 'subscribe earliest..latest', messages, bytes, seconds, p50Ms: undefined, p99Ms: undefined });
      });
    });
}
