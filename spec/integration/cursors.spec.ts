import { execFileSync } from 'node:child_process';
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, CursorsDisabledError, InvalidArgumentError, type LiftbridgeClient, StartAt, StopAt } from '../../src/index.js';
import { cursorPartition } from '../../src/consume/cursor-routing.js';
import { uniqueName, useSingleNode } from '../support/broker.js';
import { goTool } from '../support/go-tools.js';

const broker = useSingleNode({ cursorsPartitions: 3 });
let lift: LiftbridgeClient;
beforeAll(() => {
  lift = connect({ brokers: [broker.address] });
});
afterAll(() => lift.destroy());

describe('cursors', () => {
  it('stores and reads back a cursor per stream partition; -1 when never set', async () => {
    const stream = uniqueName('cur');
    await firstValueFrom(lift.createStream({ name: stream, partitions: 2 }));
    expect(await firstValueFrom(lift.fetchCursor({ stream, partition: 0, cursorId: 'c1' }))).toBe(-1n);
    await firstValueFrom(lift.setCursor({ stream, partition: 0, cursorId: 'c1', offset: 41n }));
    await firstValueFrom(lift.setCursor({ stream, partition: 1, cursorId: 'c1', offset: 7n }));
    await firstValueFrom(lift.setCursor({ stream, partition: 0, cursorId: 'c2', offset: 3n }));
    expect(await firstValueFrom(lift.fetchCursor({ stream, partition: 0, cursorId: 'c1' }))).toBe(41n);
    expect(await firstValueFrom(lift.fetchCursor({ stream, partition: 1, cursorId: 'c1' }))).toBe(7n);
    expect(await firstValueFrom(lift.fetchCursor({ stream, partition: 0, cursorId: 'c2' }))).toBe(3n);
  });

  it('rejects bad input before sending (the Observable errors on subscribe)', async () => {
    await expect(firstValueFrom(lift.setCursor({ stream: 's', partition: 0, cursorId: '', offset: 1n }))).rejects.toThrow(InvalidArgumentError);
    await expect(firstValueFrom(lift.setCursor({ stream: 's', partition: 0, cursorId: 'c', offset: 1 as unknown as bigint }))).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(firstValueFrom(lift.fetchCursor({ stream: 's', partition: -1, cursorId: 'c' }))).rejects.toThrow(InvalidArgumentError);
  });

  it('places cursors in the __cursors partition the server uses (the Go client reads what we write and vice versa)', async () => {
    const go = goTool('go-cursor');
    const stream = uniqueName('interop');
    await firstValueFrom(lift.createStream({ name: stream, partitions: 4 }));
    // Ids until every __cursors partition is hit (the stream name is random, so a fixed list of 12
    // missed one partition about once in 40 runs).
    const ids: string[] = [];
    for (let i = 0; ids.length < 12 || new Set(ids.map((id) => cursorPartition(id, stream, 3, 3))).size < 3; i++) ids.push(`interop-${i}`);
    expect(new Set(ids.map((id) => cursorPartition(id, stream, 3, 3))).size).toBe(3);
    for (const [i, id] of ids.entries()) {
      await firstValueFrom(lift.setCursor({ stream, partition: 3, cursorId: id, offset: BigInt(100 + i) }));
      const fromGo = execFileSync(go, ['fetch', broker.address, stream, '3', id], { encoding: 'utf8' }).trim();
      expect(fromGo).toBe(String(100 + i));
      execFileSync(go, ['set', broker.address, stream, '3', id, String(200 + i)]);
      expect(await firstValueFrom(lift.fetchCursor({ stream, partition: 3, cursorId: id }))).toBe(BigInt(200 + i));
    }
  }, 120_000);

  it('StartAt.cursor resumes after the stored offset, and falls back where none is stored', async () => {
    const stream = uniqueName('resume');
    await firstValueFrom(lift.createStream({ name: stream, partitions: 2 }));
    for (let i = 0; i < 5; i++) for (const p of [0, 1]) await firstValueFrom(lift.publish(stream, `m${i}`, { partition: p }));
    await firstValueFrom(lift.setCursor({ stream, partition: 0, cursorId: 'reader', offset: 2n }));
    const got = await lastValueFrom(lift.subscribe(stream, { partitions: 'all', startAt: StartAt.cursor('reader'), stopAt: StopAt.latest() }).pipe(toArray()));
    expect(got.filter((m) => m.partition === 0).map((m) => m.offset)).toEqual([3n, 4n]);
    expect(got.filter((m) => m.partition === 1).map((m) => m.offset)).toEqual([0n, 1n, 2n, 3n, 4n]);
    const latestOnly = await firstValueFrom(lift.subscribe(stream, { partition: 1, startAt: StartAt.cursor('nobody', StartAt.latest()) }).pipe(take(1)));
    expect(latestOnly.offset).toBe(4n);
  });
});

describe('cursors disabled', () => {
  const plain = useSingleNode({ cursorsPartitions: 0 });
  it('fails with CursorsDisabledError that says so', async () => {
    const other = connect({ brokers: [plain.address], retry: { maxRetries: 1, initialDelayMs: 10 } });
    try {
      const stream = uniqueName('nocur');
      await firstValueFrom(other.createStream({ name: stream }));
      const error = await firstValueFrom(other.setCursor({ stream, partition: 0, cursorId: 'x', offset: 1n })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CursorsDisabledError);
      expect((error as Error).message).toMatch(/cursors\.stream\.partitions/);
      await expect(firstValueFrom(other.fetchCursor({ stream, partition: 0, cursorId: 'x' }))).rejects.toBeInstanceOf(CursorsDisabledError);
    } finally {
      await other.destroy();
    }
  });
});
