/**
 * `rxlift streams list | describe | create | delete | pause | readonly`.
 *
 * @module
 */
import type { Command } from 'commander';
import { firstValueFrom } from 'rxjs';
import type { CreateStreamOptions, PartitionInfo, StreamInfo } from '../index.js';
import { contextOf, withClient } from './context.js';
import { table, toJson } from './output.js';
import { collectPartitions, parseCount, parseDurationMs } from './parse.js';

function streamSummary(s: StreamInfo): Record<string, unknown> {
  return { name: s.name, subject: s.subject, partitions: s.partitions.length, createdAt: nsToIso(s.creationTimestampNs) };
}

function nsToIso(ns: bigint): string | null {
  return ns <= 0n ? null : new Date(Number(ns / 1_000_000n)).toISOString();
}

function partitionRow(p: PartitionInfo): Record<string, unknown> {
  return {
    partition: p.id,
    leader: p.leader ?? null,
    replicas: p.replicas,
    isr: p.isr,
    newestOffset: p.newestOffset,
    highWatermark: p.highWatermark,
    paused: p.paused,
    readonly: p.readonly,
  };
}

export function registerStreams(program: Command): void {
  const streams = program.command('streams').description('list, describe, create, delete, pause and set streams readonly');

  streams
    .command('list')
    .alias('ls')
    .description('list the streams of the cluster')
    .action(async (_opts, cmd: Command) => {
      const ctx = contextOf(cmd);
      await withClient(ctx, async (lift) => {
        const meta = await firstValueFrom(lift.refreshMetadata());
        const list = [...meta.streams].sort((a, b) => a.name.localeCompare(b.name));
        if (ctx.options.json) {
          process.stdout.write(`${toJson(list.map(streamSummary))}\n`);
          return;
        }
        if (list.length === 0) {
          process.stdout.write('no streams\n');
          return;
        }
        process.stdout.write(
          `${table(
            ['STREAM', 'SUBJECT', 'PARTITIONS'],
            list.map((s) => [s.name, s.subject, String(s.partitions.length)]),
          )}\n`,
        );
      });
    });

  streams
    .command('describe')
    .argument('<stream>', 'stream name')
    .description('partitions, leaders, replicas, ISR, newest offsets and high watermarks of a stream')
    .action(async (name: string, _opts, cmd: Command) => {
      const ctx = contextOf(cmd);
      await withClient(ctx, async (lift) => {
        const meta = await firstValueFrom(lift.refreshMetadata());
        const info = meta.stream(name);
        if (info === undefined) {
          // The same typed error the SDK uses elsewhere: fetch one partition to get it.
          await firstValueFrom(lift.fetchPartitionMetadata(name, 0));
          throw new Error(`stream ${name} not found`);
        }
        const partitions = await Promise.all(info.partitions.map((p) => firstValueFrom(lift.fetchPartitionMetadata(name, p.id)).catch(() => p)));
        if (ctx.options.json) {
          process.stdout.write(`${toJson({ ...streamSummary(info), partitions: partitions.map(partitionRow) })}\n`);
          return;
        }
        process.stdout.write(`stream ${info.name}  subject ${info.subject}  partitions ${partitions.length}\n`);
        const rows = partitions.map((p) => [
          String(p.id),
          p.leader ?? '-',
          p.replicas.join(','),
          p.isr.join(','),
          String(p.newestOffset),
          String(p.highWatermark),
          [p.paused ? 'paused' : '', p.readonly ? 'readonly' : ''].filter((f) => f !== '').join(',') || '-',
        ]);
        process.stdout.write(`${table(['PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'NEWEST', 'HW', 'FLAGS'], rows)}\n`);
      });
    });

  streams
    .command('create')
    .argument('<stream>', 'stream name')
    .description('create a stream (every CreateStream option)')
    .option('-s, --subject <subject>', 'NATS subject (default: the stream name)')
    .option('-p, --partitions <n>', 'number of partitions', (s: string) => parseCount(s, 1, 100_000))
    .option('-r, --replication-factor <n>', 'replicas per partition (-1: all brokers)', (s: string) => (s === '-1' ? -1 : parseCount(s, 1, 1_000)))
    .option('-g, --group <name>', 'NATS queue group the partitions subscribe with')
    .option('--retention-max-bytes <n>', 'retention: bytes per partition', (s: string) => parseCount(s))
    .option('--retention-max-messages <n>', 'retention: messages per partition', (s: string) => parseCount(s))
    .option('--retention-max-age <duration>', 'retention: age of a message (e.g. 7d)', parseDurationMs)
    .option('--segment-max-bytes <n>', 'segment roll size in bytes', (s: string) => parseCount(s))
    .option('--segment-max-age <duration>', 'segment roll age', parseDurationMs)
    .option('--cleaner-interval <duration>', 'how often retention is enforced', parseDurationMs)
    .option('--compact', 'enable log compaction')
    .option('--no-compact', 'disable log compaction')
    .option('--compact-max-goroutines <n>', 'compaction concurrency', (s: string) => parseCount(s, 1, 1_000_000))
    .option('--auto-pause-time <duration>', 'pause partitions idle for this long', parseDurationMs)
    .option('--auto-pause-disable-if-subscribers', 'do not auto-pause partitions that have subscribers')
    .option('--min-isr <n>', 'minimum in-sync replicas for ack policy all', (s: string) => parseCount(s, 1, 1_000))
    .option('--optimistic-concurrency-control', 'enable expected-offset checks on publish')
    .option('--encryption', 'encrypt partition data at rest')
    .action(async (name: string, o: Record<string, unknown>, cmd: Command) => {
      const ctx = contextOf(cmd);
      const options: CreateStreamOptions = { name };
      const set = <K extends keyof CreateStreamOptions>(k: K, v: CreateStreamOptions[K] | undefined): void => {
        if (v !== undefined) options[k] = v;
      };
      set('subject', o.subject as string | undefined);
      set('partitions', o.partitions as number | undefined);
      set('replicationFactor', o.replicationFactor as number | undefined);
      set('group', o.group as string | undefined);
      const retention = { maxBytes: o.retentionMaxBytes, maxMessages: o.retentionMaxMessages, maxAgeMs: o.retentionMaxAge };
      if (Object.values(retention).some((v) => v !== undefined)) options.retention = defined(retention) as CreateStreamOptions['retention'];
      const segment = { maxBytes: o.segmentMaxBytes, maxAgeMs: o.segmentMaxAge };
      if (Object.values(segment).some((v) => v !== undefined)) options.segment = defined(segment) as CreateStreamOptions['segment'];
      set('cleanerIntervalMs', o.cleanerInterval as number | undefined);
      // --no-compact defines `compact: true` by default in commander; only pass it when given.
      const compactGiven = cmd.getOptionValueSource('compact') === 'cli';
      if (compactGiven || o.compactMaxGoroutines !== undefined) {
        options.compaction = defined({
          enabled: compactGiven ? (o.compact as boolean) : undefined,
          maxGoroutines: o.compactMaxGoroutines,
        }) as CreateStreamOptions['compaction'];
      }
      if (o.autoPauseTime !== undefined || o.autoPauseDisableIfSubscribers !== undefined) {
        options.autoPause = defined({ timeMs: o.autoPauseTime, disableIfSubscribers: o.autoPauseDisableIfSubscribers }) as CreateStreamOptions['autoPause'];
      }
      set('minIsr', o.minIsr as number | undefined);
      set('optimisticConcurrencyControl', o.optimisticConcurrencyControl as boolean | undefined);
      set('encryption', o.encryption as boolean | undefined);
      await withClient(ctx, async (lift) => {
        await firstValueFrom(lift.createStream(options));
        report(ctx.options.json, { created: name, partitions: options.partitions ?? 1, subject: options.subject ?? name }, `created stream ${name}`);
      });
    });

  streams
    .command('delete')
    .alias('rm')
    .argument('<stream>', 'stream name')
    .description('delete a stream and its data')
    .action(async (name: string, _o, cmd: Command) => {
      const ctx = contextOf(cmd);
      await withClient(ctx, async (lift) => {
        await firstValueFrom(lift.deleteStream(name));
        report(ctx.options.json, { deleted: name }, `deleted stream ${name}`);
      });
    });

  streams
    .command('pause')
    .argument('<stream>', 'stream name')
    .description('pause partitions (all by default); a publish to the subject or a subscribe resumes them')
    .option('-p, --partition <n>', 'partition (repeatable or comma separated)', collectPartitions)
    .option('--resume-all', 'when one partition resumes, resume all of them')
    .action(async (name: string, o: { partition?: number[]; resumeAll?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      await withClient(ctx, async (lift) => {
        await firstValueFrom(lift.pauseStream(name, defined({ partitions: o.partition, resumeAll: o.resumeAll })));
        report(ctx.options.json, { paused: name, partitions: o.partition ?? 'all' }, `paused ${name} (partitions ${o.partition?.join(',') ?? 'all'})`);
      });
    });

  streams
    .command('readonly')
    .argument('<stream>', 'stream name')
    .description('make partitions readonly (all by default), or writable again with --off')
    .option('-p, --partition <n>', 'partition (repeatable or comma separated)', collectPartitions)
    .option('--off', 'make them writable again')
    .action(async (name: string, o: { partition?: number[]; off?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const readonly = o.off !== true;
      await withClient(ctx, async (lift) => {
        await firstValueFrom(lift.setStreamReadonly(name, defined({ partitions: o.partition, readonly })));
        report(
          ctx.options.json,
          { stream: name, readonly, partitions: o.partition ?? 'all' },
          `${name} (partitions ${o.partition?.join(',') ?? 'all'}) ${readonly ? 'readonly' : 'writable'}`,
        );
      });
    });
}

function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function report(json: boolean, data: Record<string, unknown>, text: string): void {
  process.stdout.write(json ? `${toJson(data)}\n` : `${text}\n`);
}
