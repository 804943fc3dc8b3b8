/**
 * Fuzzing the public API against a real broker: a few hundred invalid or edge inputs, each ending
 * in a typed LiftbridgeError (class and code) within seconds, never a raw exception or a hang; and
 * nothing is published for invalid input (the stream is read back).
 */
import fc from 'fast-check';
import { EMPTY, type Observable, TimeoutError as RxTimeoutError, firstValueFrom, lastValueFrom, of, timeout, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClientClosedError,
  connect,
  InvalidArgumentError,
  LiftbridgeError,
  type LiftbridgeClient,
  MessageTooLargeError,
  NoSuchPartitionError,
  NoSuchStreamError,
  publishBulk,
  publishTo,
  StartAt,
  StopAt,
} from '../../src/index.js';
import { uniqueName, useSingleNode } from '../support/broker.js';

const broker = useSingleNode();
const INT64_MAX = 2n ** 63n - 1n;
const PARTITIONS = 3;
const any = <T>(v: unknown): T => v as T;

let lift: LiftbridgeClient;
let stream: string;
beforeAll(async () => {
  lift = connect({ brokers: [broker.address], retry: { maxRetries: 2, initialDelayMs: 20, totalTimeoutMs: 5_000 } });
  stream = uniqueName('fuzz');
  await firstValueFrom(lift.createStream({ name: stream, partitions: PARTITIONS }));
});
afterAll(() => lift.destroy());

/** The error an operation ends with (undefined if it succeeded); a hang fails after 5 s. */
async function errorOf(build: () => Observable<unknown>): Promise<unknown> {
  let observable: Observable<unknown> | undefined;
  expect(() => (observable = build())).not.toThrow();
  return lastValueFrom(observable!.pipe(timeout(5_000)), { defaultValue: undefined }).then(
    () => undefined,
    (e: unknown) => e,
  );
}

function expectTyped(error: unknown, ...classes: Array<abstract new (...args: never[]) => LiftbridgeError>): void {
  if (error instanceof RxTimeoutError) throw new Error('the operation hung (no outcome within 5 s)');
  if (!(error instanceof LiftbridgeError)) throw new Error(`expected a LiftbridgeError, got ${String(error)}`);
  expect(typeof error.code).toBe('string');
  if (classes.length > 0 && !classes.some((c) => error instanceof c)) {
    throw new Error(`expected ${classes.map((c) => c.name).join(' or ')}, got ${error.name} (${error.code}): ${error.message}`);
  }
}

const badPartition = fc.oneof(
  fc.integer({ max: -1 }),
  fc.constantFrom(NaN, Infinity, 2 ** 31, 2 ** 53, 0.5),
  fc.bigInt({ min: -5n, max: 5n }),
  fc.string({ maxLength: 3 }),
  fc.constant(null),
);
const badBytes = fc.oneof(fc.integer(), fc.bigInt(), fc.constant(null), fc.array(fc.nat(255), { maxLength: 3 }), fc.object({ maxDepth: 1 }), fc.boolean());
const badOffset = fc.oneof(fc.bigInt({ max: -2n }), fc.bigInt({ min: INT64_MAX + 1n, max: 2n ** 70n }), fc.integer(), fc.constant(undefined));
const badCursorId = fc.oneof(fc.constant(''), fc.integer(), fc.constant(null), fc.constant(undefined));
const badName = fc.oneof(fc.constant(''), fc.constantFrom('a b', 'a/b', 'x\ny', '\u0000'), fc.integer(), fc.constant(undefined));

/** One invalid call each: [label, build, expected error classes]. */
const invalidCase = fc.oneof(
  badPartition.map((p) => ['publish partition', () => lift.publish(stream, 'v', { partition: any(p) }), [InvalidArgumentError]] as const),
  badBytes.map((v) => ['publish value', () => lift.publish(stream, any(v)), [InvalidArgumentError]] as const),
  badBytes.map((k) => ['publish key', () => lift.publish(stream, 'v', { key: any(k) }), [InvalidArgumentError]] as const),
  fc
    .tuple(fc.string({ maxLength: 8 }), badBytes)
    .map(([h, v]) => ['publish header', () => lift.publish(stream, 'v', { headers: { [h]: any(v) } }), [InvalidArgumentError]] as const),
  fc
    .oneof(fc.integer(), fc.string(), fc.array(fc.string(), { maxLength: 2 }))
    .map((h) => ['publish headers', () => lift.publish(stream, 'v', { headers: any(h) }), [InvalidArgumentError]] as const),
  badOffset.map((o) => ['publish expectedOffset', () => lift.publish(stream, 'v', { expectedOffset: any(o ?? 'x') }), [InvalidArgumentError]] as const),
  badPartition.map((p) => ['publishBulk partition', () => publishBulk(lift, [{ value: 'v', partition: any(p) }], { stream }), [InvalidArgumentError]] as const),
  badBytes.map((v) => ['publishTo value', () => of(any<string>(v)).pipe(publishTo(lift, stream)), [InvalidArgumentError]] as const),
  badName.map((n) => ['publish stream', () => lift.publish(any(n), 'v'), [InvalidArgumentError]] as const),
  badPartition.map(
    (p) => ['subscribe partition', () => lift.subscribe(stream, { partition: any(p), stopAt: StopAt.latest() }), [InvalidArgumentError]] as const,
  ),
  badOffset.map(
    (o) => ['subscribe start offset', () => lift.subscribe(stream, { startAt: any({ type: 'offset', offset: o }) }), [InvalidArgumentError]] as const,
  ),
  badOffset.map(
    (o) => ['subscribe stop time', () => lift.subscribe(stream, { stopAt: any({ type: 'time', timestampNs: o }) }), [InvalidArgumentError]] as const,
  ),
  badOffset
    .filter((o) => o !== -1n)
    .map((o) => ['setCursor offset', () => lift.setCursor(any({ stream, partition: 0, cursorId: 'c', offset: o })), [InvalidArgumentError]] as const),
  badCursorId.map((c) => ['setCursor cursorId', () => lift.setCursor(any({ stream, partition: 0, cursorId: c, offset: 1n })), [InvalidArgumentError]] as const),
  badCursorId.map((c) => ['fetchCursor cursorId', () => lift.fetchCursor(any({ stream, partition: 0, cursorId: c })), [InvalidArgumentError]] as const),
  badPartition.map((p) => ['fetchCursor partition', () => lift.fetchCursor(any({ stream, partition: p, cursorId: 'c' })), [InvalidArgumentError]] as const),
  badPartition.map((p) => ['fetchPartitionMetadata', () => lift.fetchPartitionMetadata(stream, any(p)), [InvalidArgumentError]] as const),
  badName.map((n) => ['createStream name', () => lift.createStream({ name: any(n) }), [InvalidArgumentError]] as const),
  badPartition.map(
    (p) => ['createStream partitions', () => lift.createStream({ name: uniqueName('never'), partitions: any(p) }), [InvalidArgumentError]] as const,
  ),
  badOffset.map(
    (o) =>
      [
        'createStream retention',
        () => lift.createStream({ name: uniqueName('never'), retention: { maxBytes: any(typeof o === 'number' ? -Math.abs(o) - 1 : (o ?? -1)) } }),
        [InvalidArgumentError],
      ] as const,
  ),
  // Well-formed but wrong for this cluster: the broker's answer, typed.
  fc
    .integer({ min: PARTITIONS, max: 2 ** 31 - 1 })
    .map((p) => ['publish to a missing partition', () => lift.publish(stream, 'v', { partition: p }), [NoSuchPartitionError]] as const),
  fc
    .integer({ min: PARTITIONS, max: 2 ** 31 - 1 })
    .map((p) => ['metadata of a missing partition', () => lift.fetchPartitionMetadata(stream, p), [NoSuchPartitionError]] as const),
  fc
    .stringMatching(/^[a-z0-9]{1,12}$/)
    .map((s) => ['subscribe a missing stream', () => lift.subscribe(`nope-${s}`, { stopAt: StopAt.latest() }), [NoSuchStreamError]] as const),
);

describe('a real broker answers fuzzed input with typed errors, and stores nothing', () => {
  it('a few hundred invalid or edge calls: typed errors, no hangs, nothing published', async () => {
    const started = Date.now();
    const cases = fc.sample(invalidCase, { numRuns: 300, seed: 7 });
    const seen = new Map<string, number>();
    for (const [label, build, classes] of cases) {
      seen.set(label, (seen.get(label) ?? 0) + 1);
      const error = await errorOf(build as () => Observable<unknown>);
      try {
        expectTyped(error, ...classes);
      } catch (e) {
        throw new Error(`${label}: ${(e as Error).message}`);
      }
    }
    expect(seen.size).toBeGreaterThan(15);
    // Nothing was published: every partition is still empty.
    for (let p = 0; p < PARTITIONS; p++) {
      expect((await firstValueFrom(lift.fetchPartitionMetadata(stream, p))).newestOffset).toBe(-1n);
      expect(await lastValueFrom(lift.subscribe(stream, { partition: p, startAt: StartAt.earliest(), stopAt: StopAt.latest() }).pipe(toArray()))).toEqual([]);
    }
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('int64 bounds: the largest offset is stored and read back; one more fails before sending', async () => {
    const cursor = { stream, partition: 1, cursorId: uniqueName('cur') };
    await firstValueFrom(lift.setCursor({ ...cursor, offset: INT64_MAX }));
    expect(await firstValueFrom(lift.fetchCursor(cursor))).toBe(INT64_MAX);
    const started = Date.now();
    const error = await errorOf(() => lift.setCursor({ ...cursor, offset: INT64_MAX + 1n }));
    expectTyped(error, InvalidArgumentError);
    expect((error as InvalidArgumentError).field).toBe('cursor.offset');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await firstValueFrom(lift.fetchCursor(cursor))).toBe(INT64_MAX);
  });

  it('a message above maxMessageBytes fails typed and is not stored', async () => {
    const error = await errorOf(() => lift.publish(stream, new Uint8Array(2_000), { partition: 2, maxMessageBytes: 1_000 }));
    expectTyped(error, MessageTooLargeError);
    expect((await firstValueFrom(lift.fetchPartitionMetadata(stream, 2))).newestOffset).toBe(-1n);
  });

  it("beyond the server's max payload: a typed error, never an uncaught one, and nothing stored", async () => {
    // The server's limits: NATS max_payload (1 MiB by default) for what the leader stores (the value
    // wrapped in its envelope), grpc-go's 4 MiB inbound limit for the request. The client's default
    // maxMessageBytes is 1 MiB; raised, the server's own limits answer.
    const MiB = 1024 * 1024;
    const partition = 1; // the other tests expect partitions 0 and 2 empty
    const probe = async (size: number, maxMessageBytes?: number): Promise<string> => {
      const before = (await firstValueFrom(lift.fetchPartitionMetadata(stream, partition))).newestOffset;
      const value = new Uint8Array(size).fill(size % 251);
      const error = await errorOf(() => lift.publish(stream, value, { partition, ...(maxMessageBytes !== undefined ? { maxMessageBytes } : {}) }));
      const after = (await firstValueFrom(lift.fetchPartitionMetadata(stream, partition))).newestOffset;
      if (error === undefined) {
        // Acked: stored once, at the next offset, with its bytes.
        expect(after).toBe(before + 1n);
        const [stored] = await lastValueFrom(
          lift.subscribe(stream, { partition, startAt: StartAt.offset(after), stopAt: StopAt.offset(after) }).pipe(toArray()),
        );
        expect(stored?.value.length).toBe(size);
        return 'acked';
      }
      expectTyped(error);
      expect(after).toBe(before);
      return `${(error as LiftbridgeError).name} ${(error as LiftbridgeError).code}`;
    };
    const tooLarge = 'MessageTooLargeError MESSAGE_TOO_LARGE';
    expect(await probe(MiB / 2)).toBe('acked');
    // Refused by the client before sending (one byte over its default).
    expect(await probe(MiB + 1)).toBe(tooLarge);
    // Passes the client's check; the envelope the leader adds takes it over NATS max_payload.
    expect(await probe(MiB)).toBe(tooLarge);
    // The client's limit raised: the server's TOO_LARGE, then grpc-go's inbound limit, both typed.
    expect(await probe(2 * MiB, 8 * MiB)).toBe(tooLarge);
    expect(await probe(5 * MiB, 8 * MiB)).toBe(tooLarge);
  });

  it('after close(), every call ends in ClientClosedError (invalid ones in InvalidArgumentError)', async () => {
    const other = connect({ brokers: [broker.address] });
    await firstValueFrom(other.fetchPartitionMetadata(stream, 0));
    await other.close();
    const calls: Array<() => Observable<unknown>> = [
      () => other.publish(stream, 'v'),
      () => other.subscribe(stream),
      () => other.createStream({ name: uniqueName('late') }),
      () => other.deleteStream(stream),
      () => other.pauseStream(stream),
      () => other.setStreamReadonly(stream),
      () => other.publishToSubject(`liftbridge.fuzz.${stream}`, 'v'),
      () => other.fetchPartitionMetadata(stream, 0),
      () => other.setCursor({ stream, partition: 0, cursorId: 'c', offset: 1n }),
      () => other.fetchCursor({ stream, partition: 0, cursorId: 'c' }),
      () => other.group('g', { streams: [stream] }),
      () => other.refreshMetadata(),
      () => other.metadata$,
      () => of('v').pipe(publishTo(other, stream)),
      () => publishBulk(other, [{ value: 'v' }], { stream }),
    ];
    for (const call of calls) expectTyped(await errorOf(call), ClientClosedError);
    expectTyped(await errorOf(() => other.publish(stream, 'v', { partition: -1 })), InvalidArgumentError);
    expectTyped(await errorOf(() => EMPTY.pipe(publishTo(other, ''))), InvalidArgumentError);
    expect(other.stats().connections).toEqual([]);
    expect((await firstValueFrom(lift.fetchPartitionMetadata(stream, 0))).newestOffset).toBe(-1n);
  });
});
