/**
 * `rxlift publish <stream>`: values from arguments, `--file` or stdin, pipelined over publishBulk.
 *
 * @module
 */
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { lastValueFrom, tap } from 'rxjs';
import { type AckPolicy, publishBulk, type PublishMessage } from '../index.js';
import { contextOf, UsageError, withClient } from './context.js';
import { bar, eta, human, Latencies, LiveLine, ms, toJson } from './output.js';
import { collectHeader, oneOf, parseCount } from './parse.js';

interface PublishFlags {
  file?: string;
  key?: string;
  header?: Record<string, string>;
  partition?: number;
  partitionBy?: 'key' | 'round-robin';
  ack: AckPolicy;
  inFlight: number;
  lines: 'text' | 'json';
  encoding: 'utf8' | 'hex' | 'base64';
}

/** One input line as a message: plain text, or `{"key","value","headers","partition"}` with `--input json`. */
export function lineToMessage(line: string, flags: Pick<PublishFlags, 'key' | 'header' | 'partition' | 'lines' | 'encoding'>, lineNo: number): PublishMessage {
  const decode = (text: string): Uint8Array | string => {
    if (flags.encoding === 'utf8') return text;
    const bytes = Buffer.from(text, flags.encoding);
    if (flags.encoding === 'hex' && bytes.length * 2 !== text.length) throw new UsageError(`line ${lineNo}: not hex: '${text.slice(0, 40)}'`);
    return new Uint8Array(bytes);
  };
  const base: { -readonly [K in keyof PublishMessage]: PublishMessage[K] } = { value: flags.lines === 'text' ? decode(line) : line };
  if (flags.key !== undefined) base.key = flags.key;
  if (flags.header !== undefined) base.headers = flags.header;
  if (flags.partition !== undefined) base.partition = flags.partition;
  if (flags.lines === 'text') return base;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    throw new UsageError(`line ${lineNo}: not JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`line ${lineNo}: expected a JSON object with "value"`);
  const o = parsed as Record<string, unknown>;
  const value = o.value === undefined ? '' : typeof o.value === 'string' ? decode(o.value) : JSON.stringify(o.value);
  const out: { -readonly [K in keyof PublishMessage]: PublishMessage[K] } = { ...base, value };
  if (o.key !== undefined && o.key !== null) out.key = String(o.key);
  if (o.headers !== undefined) {
    if (typeof o.headers !== 'object' || o.headers === null) throw new UsageError(`line ${lineNo}: "headers" must be an object`);
    out.headers = { ...(base.headers ?? {}), ...Object.fromEntries(Object.entries(o.headers).map(([k, v]) => [k, String(v)])) };
  }
  if (o.partition !== undefined) {
    if (typeof o.partition !== 'number' || !Number.isInteger(o.partition) || o.partition < 0)
      throw new UsageError(`line ${lineNo}: "partition" must be a whole number`);
    out.partition = o.partition;
  }
  return out;
}

async function* readLines(path: string | undefined): AsyncGenerator<string> {
  const input = path === undefined ? process.stdin : createReadStream(path);
  const rl = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of rl) yield line;
  } finally {
    rl.close();
    if (path !== undefined) (input as ReturnType<typeof createReadStream>).destroy();
  }
}

export function registerPublish(program: Command): void {
  program
    .command('publish')
    .alias('pub')
    .argument('<stream>', 'stream name')
    .argument('[values...]', 'values to publish (default: one per line from --file or stdin)')
    .description('publish values from arguments, --file or stdin (one message per line)')
    .option('-f, --file <path>', 'read values from a file, one per line')
    .option('-k, --key <key>', 'message key (also picks the partition with --partition-by key)')
    .option('-H, --header <name=value>', 'header (repeatable)', collectHeader)
    .option('-p, --partition <n>', 'publish to this partition', (s: string) => parseCount(s, 0, 2_147_483_647))
    .option('--partition-by <how>', 'key | round-robin (when no --partition)', oneOf(['key', 'round-robin'] as const))
    .option('-a, --ack <policy>', 'none | leader | all', oneOf(['none', 'leader', 'all'] as const), 'leader')
    .option('-n, --in-flight <n>', 'messages awaiting their ack at once', (s: string) => parseCount(s, 1, 100_000), 256)
    .option(
      '--lines <format>',
      'text (each line is a value) | json (each line {"key","value","headers","partition"})',
      oneOf(['text', 'json'] as const),
      'text',
    )
    .option(
      '-e, --encoding <encoding>',
      'utf8 | hex | base64: how values are written (hex or base64 for binary data)',
      oneOf(['utf8', 'hex', 'base64'] as const),
      'utf8',
    )
    .action(async (stream: string, values: string[], flags: PublishFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      if (values.length > 0 && flags.file !== undefined) throw new UsageError('give values as arguments or --file, not both');
      // What is known of the input's size: a count (arguments) or bytes (a file).
      const totalCount = values.length > 0 ? values.length : undefined;
      const totalBytes = flags.file !== undefined ? statSync(flags.file).size : undefined;
      const live = new LiveLine(ctx.term);
      const started = performance.now();
      const pulled: number[] = [];
      let sentBytes = 0;
      let lineBytes = 0;
      let count = 0;
      let bytes = 0;
      const latencies = new Latencies();
      const partitions = new Map<number, number>();

      async function* inputs(): AsyncGenerator<PublishMessage> {
        let n = 0;
        const source: AsyncIterable<string> | Iterable<string> = values.length > 0 ? values : readLines(flags.file);
        for await (const line of source) {
          n++;
          const message = lineToMessage(line, flags, n);
          lineBytes += Buffer.byteLength(line) + 1;
          pulled.push(performance.now());
          yield message;
        }
      }

      const progress = (): string => {
        const elapsed = (performance.now() - started) / 1000;
        const rate = count / Math.max(elapsed, 0.001);
        let fraction: number | undefined;
        if (totalCount !== undefined) fraction = count / totalCount;
        else if (totalBytes !== undefined && totalBytes > 0) fraction = sentBytes / totalBytes;
        const remaining = fraction === undefined || fraction === 0 ? Number.NaN : (elapsed / fraction) * (1 - fraction);
        return fraction === undefined
          ? `${human(count)} msgs  ${human(rate)} msg/s`
          : `${bar(fraction)}  ${human(count)} msgs  ${human(rate)} msg/s  ETA ${eta(remaining)}`;
      };

      const summary = (failed: boolean): Record<string, unknown> => {
        const seconds = (performance.now() - started) / 1000;
        return {
          stream,
          published: count,
          bytes,
          seconds: Number(seconds.toFixed(3)),
          msgPerSec: Math.round(count / Math.max(seconds, 0.001)),
          p50Ms: latencies.percentile(50) ?? null,
          p99Ms: latencies.percentile(99) ?? null,
          partitions: Object.fromEntries([...partitions].sort((a, b) => a[0] - b[0])),
          ...(failed ? { failed: true } : {}),
        };
      };

      const print = (failed: boolean): void => {
        live.clear();
        const s = summary(failed);
        const out = failed ? process.stderr : process.stdout;
        if (ctx.options.json) out.write(`${toJson(s)}\n`);
        else
          out.write(
            `${failed ? 'stopped after publishing' : 'published'} ${count} messages (${human(bytes)}B) to ${stream} in ${String(s.seconds)}s: ` +
              `${human(s.msgPerSec as number)} msg/s, p50 ${ms(latencies.percentile(50))}, p99 ${ms(latencies.percentile(99))}\n`,
          );
      };

      await withClient(ctx, async (lift) => {
        try {
          await lastValueFrom(
            publishBulk(lift, inputs(), {
              stream,
              ackPolicy: flags.ack,
              maxInFlight: flags.inFlight,
              ...(flags.partitionBy === undefined ? {} : { partitioner: flags.partitionBy }),
            }).pipe(
              tap((outcome) => {
                const t = pulled.shift();
                if (t !== undefined) latencies.add(performance.now() - t);
                count++;
                partitions.set(outcome.partition, (partitions.get(outcome.partition) ?? 0) + 1);
                sentBytes = lineBytes;
                live.update(progress);
              }),
            ),
            { defaultValue: undefined },
          );
          bytes = lineBytes;
        } catch (error) {
          bytes = lineBytes;
          print(true);
          throw error;
        }
        print(false);
      });
    });
}
