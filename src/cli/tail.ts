/**
 * `rxlift tail <stream>` (alias `subscribe`): prints messages of one, several or all partitions.
 *
 * @module
 */
import type { Command } from 'commander';
import { EMPTY, take, type Subscription } from 'rxjs';
import { type Message, StartAt, type StartPosition, StopAt, type StopPosition } from '../index.js';
import { contextOf, type Context, UsageError } from './context.js';
import { style } from './output.js';
import { collectPartitions, oneOf, parseCount, parseStart, parseStop } from './parse.js';

type Format = 'text' | 'json' | 'hex' | 'raw';

interface TailFlags {
  from?: StartPosition;
  to?: StopPosition;
  partition?: number[];
  follow?: boolean;
  format?: Format;
  reverse?: boolean;
  count?: number;
  prefetch?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** One message as a line in `format` (`raw` writes the value bytes and a newline). */
export function formatMessage(m: Message, format: Format, ctx: Pick<Context, 'term'>): string | Uint8Array {
  const enc = format === 'hex' ? hex : (b: Uint8Array) => utf8.decode(b);
  if (format === 'raw') return m.value;
  if (format === 'json') {
    return JSON.stringify({
      stream: m.stream,
      partition: m.partition,
      offset: m.offset.toString(),
      timestamp: m.timestamp.toISOString(),
      key: m.key.length === 0 ? null : utf8.decode(m.key),
      headers: Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, utf8.decode(v)])),
      value: utf8.decode(m.value),
      valueHex: hex(m.value),
    });
  }
  const headers = Object.entries(m.headers)
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([k, v]) => `${k}=${enc(v)}`)
    .join(',');
  const where = style(ctx.term, 'dim', `p${m.partition}@${m.offset}`);
  const key = m.key.length === 0 ? '' : ` ${style(ctx.term, 'cyan', `key=${enc(m.key)}`)}`;
  const hdr = headers === '' ? '' : ` ${style(ctx.term, 'yellow', `headers{${headers}}`)}`;
  return `${where}${key}${hdr} ${enc(m.value)}`;
}

export function registerTail(program: Command): void {
  program
    .command('tail')
    .alias('subscribe')
    .argument('<stream>', 'stream name')
    .description('print messages: partition, offset, key, headers, value (stops at the newest unless --follow)')
    .option('--from <position>', 'earliest | latest | new | offset:N | time:<ISO> | ago:<duration> | cursor:<id>', parseStart)
    .option('--to <position>', 'latest | offset:N | time:<ISO> (stop there)', parseStop)
    .option('-p, --partition <n>', 'partition (repeatable or comma separated; default all)', collectPartitions)
    .option('-F, --follow', 'keep waiting for new messages until Ctrl-C')
    .option('--format <format>', 'text | json | hex | raw (value bytes only)', oneOf(['text', 'json', 'hex', 'raw'] as const))
    .option('--reverse', 'newest to oldest, from --from (default latest); needs a server after v1.9.0')
    .option('-c, --count <n>', 'stop after this many messages', (s: string) => parseCount(s, 1))
    .option('--prefetch <n>', 'messages buffered per partition', (s: string) => parseCount(s, 1, 1_000_000))
    .action(async (stream: string, flags: TailFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const format: Format = flags.format ?? (ctx.options.json ? 'json' : 'text');
      const reverse = flags.reverse === true;
      // A reverse read starts at the newest message by default and ends by itself at the oldest.
      const startAt = flags.from ?? (reverse ? StartAt.latest() : StartAt.earliest());
      if (flags.follow === true && flags.to !== undefined) throw new UsageError('--follow and --to exclude each other');
      if (flags.follow === true && flags.reverse === true) throw new UsageError('--reverse needs a bounded read: drop --follow');
      // Without --follow a read ends at the newest message, like `kcat -e`; `--from new` waits for new ones.
      const follow = flags.follow === true || (flags.to === undefined && startAt.type === 'new-only');
      const stopAt = flags.to ?? (follow || reverse ? undefined : StopAt.latest());
      const lift = ctx.client();
      const partitions: number[] | 'all' = flags.partition ?? 'all';
      const perPartition = new Map<number, number>();
      let total = 0;
      const started = performance.now();
      let sub: Subscription | undefined;
      const outcome = await new Promise<{ error?: unknown; interrupted: boolean }>((resolve) => {
        const onSigint = (): void => {
          sub?.unsubscribe();
          resolve({ interrupted: true });
        };
        process.once('SIGINT', onSigint);
        process.once('SIGTERM', onSigint);
        const done = (r: { error?: unknown; interrupted: boolean }): void => {
          process.off('SIGINT', onSigint);
          process.off('SIGTERM', onSigint);
          resolve(r);
        };
        let source = lift.subscribe(stream, {
          partitions,
          startAt,
          ...(stopAt === undefined ? {} : { stopAt }),
          ...(flags.reverse === true ? { reverse: true } : {}),
          ...(flags.prefetch === undefined ? {} : { prefetch: flags.prefetch }),
        });
        if (Array.isArray(partitions) && partitions.length === 0) source = EMPTY;
        if (flags.count !== undefined) source = source.pipe(take(flags.count));
        sub = source.subscribe({
          next: (m) => {
            total++;
            perPartition.set(m.partition, (perPartition.get(m.partition) ?? 0) + 1);
            const line = formatMessage(m, format, ctx);
            if (typeof line === 'string') process.stdout.write(`${line}\n`);
            else {
              process.stdout.write(line);
              process.stdout.write('\n');
            }
          },
          error: (error: unknown) => done({ error, interrupted: false }),
          complete: () => done({ interrupted: false }),
        });
      });
      await lift.close().catch(() => lift.destroy());
      if (outcome.error !== undefined) throw outcome.error;
      const seconds = (performance.now() - started) / 1000;
      const parts = [...perPartition].sort((a, b) => a[0] - b[0]);
      const line = ctx.options.json
        ? JSON.stringify({ messages: total, seconds: Number(seconds.toFixed(3)), partitions: Object.fromEntries(parts), interrupted: outcome.interrupted })
        : `${outcome.interrupted ? 'interrupted: ' : ''}${total} messages from ${stream} in ${seconds.toFixed(1)}s` +
          (parts.length === 0 ? '' : ` (${parts.map(([p, n]) => `p${p}: ${n}`).join(', ')})`);
      // The summary goes to stderr: stdout carries only messages, so it can be piped.
      process.stderr.write(`${line}\n`);
    });
}
