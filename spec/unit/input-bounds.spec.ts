/**
 * Fuzzed inputs that escaped as raw errors or reached the wire (issues 9.4 and 18.6): each must end
 * in an InvalidArgumentError naming the field, before anything is sent.
 */
import { EMPTY, firstValueFrom, type Observable } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { LiftbridgeClient } from '../../src/client.js';
import { connect } from '../../src/connect.js';
import { commit } from '../../src/consume/commit.js';
import { InvalidArgumentError } from '../../src/errors/errors.js';
import { partitionForKey } from '../../src/publish/partitioner.js';
import { publishToSubject } from '../../src/publish/publish-to-subject.js';
import { DEFAULT_RETRY, backoffDelay } from '../../src/retry/retry-policy.js';
import { StartAt, StopAt, type Message } from '../../src/subscribe/types.js';

const UNREACHABLE = '127.0.0.1:1';
const INT64_MAX = 2n ** 63n - 1n;
const bad = <T>(v: unknown): T => v as T;

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

function expectInvalid(error: unknown, field: string): void {
  expect(error, `expected InvalidArgumentError for ${field}, got ${String(error)}`).toBeInstanceOf(InvalidArgumentError);
  expect((error as InvalidArgumentError).field).toBe(field);
  expect((error as InvalidArgumentError).code).toBe('INVALID_ARGUMENT');
}

const errorOf = (o: Observable<unknown>): Promise<unknown> =>
  firstValueFrom(o).then(
    () => undefined,
    (e: unknown) => e,
  );

let lift: LiftbridgeClient | undefined;
afterEach(async () => {
  await lift?.close();
  lift = undefined;
});

describe('position builders throw InvalidArgumentError (never a TypeError or RangeError)', () => {
  it.each([
    ['StopAt.offset(undefined)', () => StopAt.offset(bad(undefined)), 'offset'],
    ['StopAt.offset(1)', () => StopAt.offset(bad(1)), 'offset'],
    ['StartAt.offset(-1n)', () => StartAt.offset(-1n), 'offset'],
    ['StartAt.offset(2^63)', () => StartAt.offset(INT64_MAX + 1n), 'offset'],
    ['StartAt.time(new Date(NaN))', () => StartAt.time(new Date(NaN)), 'time'],
    ['StartAt.time(undefined)', () => StartAt.time(bad(undefined)), 'time'],
    ['StartAt.time(2^63 ns)', () => StartAt.time(INT64_MAX + 1n), 'time'],
    ['StartAt.time(before 1970)', () => StartAt.time(new Date(-1)), 'time'],
    ['StopAt.time(new Date(NaN))', () => StopAt.time(new Date(NaN)), 'time'],
    ['StopAt.time("2020")', () => StopAt.time(bad('2020')), 'time'],
    ['StartAt.ago(NaN)', () => StartAt.ago(NaN), 'ms'],
    ['StartAt.ago(-1)', () => StartAt.ago(-1), 'ms'],
    ['StartAt.ago(undefined)', () => StartAt.ago(bad(undefined)), 'ms'],
    ['StartAt.cursor("")', () => StartAt.cursor(''), 'cursorId'],
    ['StartAt.cursor(5)', () => StartAt.cursor(bad(5)), 'cursorId'],
    ['StartAt.cursor(id, bogus)', () => StartAt.cursor('c', bad({ type: 'bogus' })), 'otherwise'],
    ['StartAt.stored({})', () => StartAt.stored(bad({})), 'store'],
  ])('%s', (_name, build, field) => {
    expectInvalid(thrown(build), field);
  });

  it('valid extremes are accepted', () => {
    expect(StartAt.offset(INT64_MAX)).toEqual({ type: 'offset', offset: INT64_MAX });
    expect(StopAt.time(INT64_MAX)).toEqual({ type: 'time', timestampNs: INT64_MAX });
    expect(StartAt.time(new Date(0))).toEqual({ type: 'time', timestampNs: 0n });
    expect(StartAt.ago(30 * 24 * 3600 * 1000)).toEqual({ type: 'ago', ms: 2_592_000_000 });
  });
});

describe('64-bit values outside int64 fail before anything is sent', () => {
  it('subscribe positions, setCursor offsets, createStream retention', async () => {
    lift = connect({ brokers: [UNREACHABLE] });
    expectInvalid(await errorOf(lift.subscribe('s', { startAt: { type: 'offset', offset: INT64_MAX + 1n } })), 'options.startAt.offset');
    expectInvalid(await errorOf(lift.subscribe('s', { stopAt: { type: 'time', timestampNs: 2n ** 64n } })), 'options.stopAt.timestampNs');
    expectInvalid(await errorOf(lift.setCursor({ stream: 's', partition: 0, cursorId: 'c', offset: INT64_MAX + 1n })), 'cursor.offset');
    expectInvalid(await errorOf(lift.createStream({ name: 'ok', retention: { maxBytes: INT64_MAX + 1n } })), 'retention.maxBytes');
    expectInvalid(await errorOf(lift.createStream({ name: 'ok', segment: { maxAgeMs: 1e300 } })), 'segment.maxAgeMs');
    expectInvalid(await errorOf(lift.createStream({ name: 'ok', retention: { maxMessages: 2 ** 64 } })), 'retention.maxMessages');
    expect(lift.stats().connections).toEqual([]);
  });
});

describe('durations are bounded by what a timer can hold (2^31-1 ms)', () => {
  const TOO_LONG = 2 ** 31;
  it.each([
    ['callTimeoutMs', { callTimeoutMs: TOO_LONG }],
    ['closeTimeoutMs', { closeTimeoutMs: TOO_LONG }],
    ['metadataRefreshMs', { metadataRefreshMs: TOO_LONG }],
    ['retry.totalTimeoutMs', { retry: { totalTimeoutMs: TOO_LONG } }],
    ['retry.maxDelayMs', { retry: { maxDelayMs: TOO_LONG } }],
    ['keepAlive.timeMs', { keepAlive: { timeMs: TOO_LONG } }],
  ])('connect({ %s: 2^31 }) throws', (field, options) => {
    expectInvalid(
      thrown(() => connect({ brokers: [UNREACHABLE], ...options })),
      field,
    );
  });

  it('per-call and operator durations error their Observable', async () => {
    lift = connect({ brokers: [UNREACHABLE] });
    expectInvalid(await errorOf(lift.deleteStream('s', { timeoutMs: TOO_LONG })), 'call.timeoutMs');
    expectInvalid(await errorOf(publishToSubject(lift, 'a', 'v', { ackWaitMs: TOO_LONG })), 'options.ackWaitMs');
    expectInvalid(await errorOf((EMPTY as Observable<Message>).pipe(commit(lift, 'c', { timeMs: TOO_LONG }))), 'options.timeMs');
    expectInvalid(await errorOf(lift.group('g', { streams: ['s'], pollIntervalMs: TOO_LONG })), 'options.pollIntervalMs');
  });

  it('server-side durations (retention ages) may be longer than a timer', async () => {
    lift = connect({ brokers: [UNREACHABLE] });
    // Validation passes (the error is the unreachable broker, not the argument).
    const error = await errorOf(lift.createStream({ name: 'ok', retention: { maxAgeMs: 90 * 24 * 3600 * 1000 } }, { timeoutMs: 200 }));
    expect(error).not.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('schedulers, partitionForKey and backoffDelay', () => {
  it.each([
    ['{}', {}],
    ['5', 5],
    ['{ now }', { now: () => 0 }],
  ])('connect({ scheduler: %s }) throws instead of crashing from a timer later', (_n, scheduler) => {
    expectInvalid(
      thrown(() => connect({ brokers: [UNREACHABLE], scheduler: bad(scheduler) })),
      'scheduler',
    );
  });

  it('commit({ scheduler: {} }) errors its Observable', async () => {
    lift = connect({ brokers: [UNREACHABLE] });
    expectInvalid(await errorOf((EMPTY as Observable<Message>).pipe(commit(lift, 'c', bad({ scheduler: {} })))), 'options.scheduler');
  });

  it('partitionForKey validates its arguments', () => {
    expectInvalid(
      thrown(() => partitionForKey(bad(undefined), 3)),
      'key',
    );
    expectInvalid(
      thrown(() => partitionForKey(new Uint8Array([1]), NaN)),
      'partitions',
    );
    expectInvalid(
      thrown(() => partitionForKey(new Uint8Array([1]), bad(3n))),
      'partitions',
    );
    expect(partitionForKey(new Uint8Array([1, 2, 3]), 7)).toBeLessThan(7);
  });

  it('backoffDelay validates its arguments', () => {
    expectInvalid(
      thrown(() => backoffDelay(bad(undefined), 1)),
      'policy',
    );
    expectInvalid(
      thrown(() => backoffDelay(DEFAULT_RETRY, NaN)),
      'attempt',
    );
    expectInvalid(
      thrown(() => backoffDelay({ ...DEFAULT_RETRY, multiplier: bad('2') }, 1)),
      'policy.multiplier',
    );
    expectInvalid(
      thrown(() => backoffDelay(DEFAULT_RETRY, 1, bad('x'))),
      'random',
    );
    expect(backoffDelay(DEFAULT_RETRY, 1, () => 0)).toBe(100);
  });
});

describe('group()', () => {
  it('checks startAt when called, like subscribe() (not later, per assigned partition)', async () => {
    lift = connect({ brokers: [UNREACHABLE] });
    await lift.close();
    expectInvalid(await errorOf(lift.group('g', { streams: ['s'], startAt: bad({ type: 'offset', offset: -1n }) })), 'options.startAt.offset');
    expectInvalid(await errorOf(lift.group('g', { streams: ['s'], startAt: bad('earliest') })), 'options.startAt');
  });
});
