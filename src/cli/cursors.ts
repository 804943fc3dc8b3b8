/**
 * `rxlift cursors get|set` and `rxlift group <id> status`.
 *
 * @module
 */
import type { Command } from 'commander';
import { firstValueFrom } from 'rxjs';
import { contextOf, withClient } from './context.js';
import { table, toJson } from './output.js';
import { collectPartitions, oneOf, parseCount } from './parse.js';

const partitionArg = (s: string): number => parseCount(s, 0, 2_147_483_647);

export function registerCursors(program: Command): void {
  const cursors = program.command('cursors').description('read and write stored cursor positions');
  cursors
    .command('get')
    .argument('<stream>', 'stream name')
    .argument('<cursor>', 'cursor id')
    .description('the stored position of a cursor on each partition (-1: none stored)')
    .option('-p, --partition <n>', 'partition (repeatable or comma separated; default all)', collectPartitions)
    .action(async (stream: string, cursorId: string, o: { partition?: number[] }, cmd: Command) => {
      const ctx = contextOf(cmd);
      await withClient(ctx, async (lift) => {
        const partitions = o.partition ?? (await partitionsOf(lift, stream));
        const rows = await Promise.all(
          partitions.map(async (partition) => ({ partition, offset: await firstValueFrom(lift.fetchCursor({ stream, partition, cursorId })) })),
        );
        if (ctx.options.json) process.stdout.write(`${toJson({ stream, cursorId, positions: rows })}\n`);
        else
          process.stdout.write(
            `${table(
              ['PARTITION', 'OFFSET'],
              rows.map((r) => [String(r.partition), String(r.offset)]),
            )}\n`,
          );
      });
    });
  cursors
    .command('set')
    .argument('<stream>', 'stream name')
    .argument('<cursor>', 'cursor id')
    .argument('<offset>', 'offset to store (the last processed message)')
    .description('store a cursor position on one partition')
    .requiredOption('-p, --partition <n>', 'partition', partitionArg)
    .action(async (stream: string, cursorId: string, offsetText: string, o: { partition: number }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const offset = BigInt(parseCount(offsetText));
      await withClient(ctx, async (lift) => {
        await firstValueFrom(lift.setCursor({ stream, partition: o.partition, cursorId, offset }), { defaultValue: undefined });
        if (ctx.options.json) process.stdout.write(`${toJson({ stream, partition: o.partition, cursorId, offset })}\n`);
        else process.stdout.write(`cursor ${cursorId} on ${stream}/${o.partition} set to ${offset}\n`);
      });
    });
}

async function partitionsOf(lift: import('../index.js').LiftbridgeClient, stream: string): Promise<number[]> {
  const meta = await firstValueFrom(lift.refreshMetadata());
  const info = meta.stream(stream);
  if (info === undefined) {
    await firstValueFrom(lift.fetchPartitionMetadata(stream, 0)); // the SDK's typed NoSuchStreamError
    return [];
  }
  return info.partitions.map((p) => p.id);
}

export function registerGroup(program: Command): void {
  program
    .command('group')
    .argument('<group>', 'group id')
    .argument('[action]', 'status (the only action so far)', oneOf(['status'] as const), 'status')
    .description("committed positions and lag of a group on each partition of its streams (the group's cursor __group:<id>)")
    .requiredOption('-s, --stream <name>', 'a stream the group reads (repeatable)', (s: string, prev: string[] | undefined) => [...(prev ?? []), s])
    .action(async (groupId: string, _action: string, o: { stream: string[] }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const cursorId = `__group:${groupId}`;
      await withClient(ctx, async (lift) => {
        const meta = await firstValueFrom(lift.refreshMetadata());
        const rows: { stream: string; partition: number; leader: string | null; committed: bigint; newest: bigint; lag: bigint }[] = [];
        for (const stream of o.stream) {
          const info = meta.stream(stream);
          if (info === undefined) await firstValueFrom(lift.fetchPartitionMetadata(stream, 0));
          for (const p of info?.partitions ?? []) {
            const [committed, fresh] = await Promise.all([
              firstValueFrom(lift.fetchCursor({ stream, partition: p.id, cursorId })),
              firstValueFrom(lift.fetchPartitionMetadata(stream, p.id)),
            ]);
            const newest = fresh.newestOffset;
            const lag = newest < 0n ? 0n : committed < 0n ? newest + 1n : newest - committed;
            rows.push({ stream, partition: p.id, leader: fresh.leader ?? null, committed, newest, lag: lag < 0n ? 0n : lag });
          }
        }
        if (ctx.options.json) {
          process.stdout.write(`${toJson({ group: groupId, cursorId, partitions: rows })}\n`);
          return;
        }
        process.stdout.write(`group ${groupId} (cursor ${cursorId})\n`);
        process.stdout.write(
          `${table(
            ['STREAM', 'PARTITION', 'LEADER', 'COMMITTED', 'NEWEST', 'LAG'],
            rows.map((r) => [r.stream, String(r.partition), r.leader ?? '-', r.committed < 0n ? '-' : String(r.committed), String(r.newest), String(r.lag)]),
          )}\n`,
        );
      });
    });
}
