/**
 * Fuzzing the public API's input checks (no broker). Two kinds of cases:
 *
 * - invalid by construction (one field broken, the rest valid): the call must not throw and its
 *   Observable must error with InvalidArgumentError naming exactly that field;
 * - anything at all (`fc.anything()` in every argument): the outcome must be a typed
 *   LiftbridgeError with a code, never a raw exception, a hang or a crash.
 *
 * The client is closed, so a case that passes validation ends in ClientClosedError at once and
 * nothing can be sent; value-returning helpers either return or throw InvalidArgumentError.
 */
import fc from 'fast-check';
import { EMPTY, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClientClosedError,
  commit,
  connect,
  consume,
  decodeEnvelope,
  encodeEnvelope,
  InvalidArgumentError,
  LiftbridgeError,
  type LiftbridgeClient,
  type Message,
  backoffDelay,
  partitionForKey,
  publish,
  publishBulk,
  publishTo,
  publishToSubject,
  StartAt,
  StopAt,
} from '../../src/index.js';

const UNREACHABLE = '127.0.0.1:1';
const INT64_MAX = 2n ** 63n - 1n;
const RUNS = 1_000;
// Each test runs RUNS cases of several calls (a few seconds); leave room for a loaded machine.
const any = <T>(v: unknown): T => v as T;

let closed: LiftbridgeClient;
beforeAll(async () => {
  closed = connect({ brokers: [UNREACHABLE] });
  await closed.close();
});
afterAll(() => closed.close());

type Outcome = { kind: 'error'; error: unknown } | { kind: 'complete' } | { kind: 'pending' };

/** Subscribes and reports what happened synchronously (invalid input and a closed client both answer at once). */
function outcomeOf(build: () => Observable<unknown>): Outcome {
  let observable: Observable<unknown> | undefined;
  expect(() => (observable = build())).not.toThrow();
  let outcome: Outcome = { kind: 'pending' };
  const sub = observable!.subscribe({ error: (error: unknown) => (outcome = { kind: 'error', error }), complete: () => (outcome = { kind: 'complete' }) });
  sub.unsubscribe();
  return outcome;
}

function expectField(outcome: Outcome, field: string): void {
  expect(outcome.kind).toBe('error');
  const error = (outcome as { error: unknown }).error;
  if (!(error instanceof InvalidArgumentError)) throw new Error(`expected InvalidArgumentError for ${field}, got ${String(error)}`);
  expect(error.code).toBe('INVALID_ARGUMENT');
  expect(error.field).toBe(field);
}

/** Ends in a typed error with a code (or completes, for operators over an empty source). */
function expectTyped(outcome: Outcome, allowComplete = false): void {
  if (outcome.kind === 'complete' && allowComplete) return;
  expect(outcome.kind).toBe('error');
  const error = (outcome as { error: unknown }).error;
  if (!(error instanceof LiftbridgeError)) throw new Error(`expected a LiftbridgeError, got ${String(error)}`);
  expect(typeof error.code).toBe('string');
  expect(error instanceof InvalidArgumentError || error instanceof ClientClosedError).toBe(true);
}

// ---- invalid values by construction --------------------------------------------------------
const notString = fc.anything().filter((v) => typeof v !== 'string');
const badStream = fc.oneof(
  fc.constant(''),
  notString,
  fc.tuple(fc.string(), fc.constantFrom(' ', '\t', '/', '\\', '\n', '\u0000'), fc.string()).map(([a, b, c]) => a + b + c),
);
const badPartition = fc.oneof(
  fc.integer({ max: -1 }),
  fc.constantFrom(NaN, Infinity, -Infinity, 2 ** 31, Number.MAX_SAFE_INTEGER, 2 ** 64),
  fc.double({ noInteger: true }),
  fc.bigInt(),
  fc.string(),
  fc.constant(null),
);
const badBytes = fc.anything().filter((v) => typeof v !== 'string' && !(v instanceof Uint8Array) && v !== undefined);
const badOffset = fc.oneof(fc.bigInt({ max: -1n }), fc.bigInt({ min: INT64_MAX + 1n }), fc.integer(), fc.string(), fc.constant(null));
const badDuration = fc.oneof(fc.constantFrom(NaN, Infinity, -1, 2 ** 31, 1e300), fc.string(), fc.bigInt(), fc.constant(null));
const unknownKey = fc.stringMatching(/^[a-z][A-Za-z]{0,10}$/);

describe('invalid by construction: the Observable errors with InvalidArgumentError naming the field', { timeout: 60_000 }, () => {
  it('streams, partitions, bytes and headers of publish()', () => {
    fc.assert(
      fc.property(badStream, badPartition, badBytes, badBytes, fc.string(), badBytes, (stream, partition, value, key, headerName, headerValue) => {
        expectField(
          outcomeOf(() => publish(closed, any(stream), 'v')),
          'stream',
        );
        expectField(
          outcomeOf(() => closed.publish('s', 'v', { partition: any(partition) })),
          'options.partition',
        );
        expectField(
          outcomeOf(() => publish(closed, 's', any(value))),
          'options.value',
        );
        expectField(
          outcomeOf(() => publish(closed, 's', 'v', { key: any(key) })),
          'options.key',
        );
        expectField(
          outcomeOf(() => publish(closed, 's', 'v', { headers: { [headerName]: any(headerValue) } })),
          `options.headers.${headerName}`,
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('subscribe(): stream, partitions, start and stop positions, prefetch, unknown options', () => {
    fc.assert(
      fc.property(badStream, badPartition, badOffset, badDuration, unknownKey, (stream, partition, offset, ms, key) => {
        expectField(
          outcomeOf(() => closed.subscribe(any(stream))),
          'stream',
        );
        expectField(
          outcomeOf(() => closed.subscribe('s', { partition: any(partition) })),
          'options.partition',
        );
        expectField(
          outcomeOf(() => closed.subscribe('s', { partitions: [0, any<number>(partition)] })),
          'options.partitions[1]',
        );
        expectField(
          outcomeOf(() => closed.subscribe('s', { startAt: any({ type: 'offset', offset }) })),
          'options.startAt.offset',
        );
        expectField(
          outcomeOf(() => closed.subscribe('s', { stopAt: any({ type: 'time', timestampNs: offset }) })),
          'options.stopAt.timestampNs',
        );
        if (typeof ms !== 'number' || ms < 0 || !Number.isFinite(ms)) {
          expectField(
            outcomeOf(() => closed.subscribe('s', { startAt: any({ type: 'ago', ms }) })),
            'options.startAt.ms',
          );
        }
        expectField(
          outcomeOf(() => closed.subscribe('s', { prefetch: any(partition) })),
          'options.prefetch',
        );
        const known = ['partition', 'partitions', 'startAt', 'stopAt', 'readIsrReplica', 'resume', 'reverse', 'prefetch'];
        if (!known.includes(key))
          expectField(
            outcomeOf(() => closed.subscribe('s', any({ [key]: 1 }))),
            `options.${key}`,
          );
      }),
      { numRuns: RUNS },
    );
  });

  it('cursors, admin calls and per-call options', () => {
    fc.assert(
      fc.property(badStream, badPartition, badOffset, badDuration, fc.oneof(fc.constant(''), notString), (stream, partition, offset, ms, cursorId) => {
        if (offset !== -1n)
          expectField(
            outcomeOf(() => closed.setCursor(any({ stream: 's', partition: 0, cursorId: 'c', offset }))),
            'cursor.offset',
          );
        expectField(
          outcomeOf(() => closed.setCursor(any({ stream: 's', partition: 0, cursorId, offset: 1n }))),
          'cursor.cursorId',
        );
        expectField(
          outcomeOf(() => closed.fetchCursor(any({ stream: 's', partition, cursorId: 'c' }))),
          'cursor.partition',
        );
        expectField(
          outcomeOf(() => closed.fetchCursor(any({ stream, partition: 0, cursorId: 'c' }))),
          'cursor.stream',
        );
        expectField(
          outcomeOf(() => closed.deleteStream(any(stream))),
          'name',
        );
        expectField(
          outcomeOf(() => closed.fetchPartitionMetadata('s', any(partition))),
          'partition',
        );
        expectField(
          outcomeOf(() => closed.pauseStream('s', { partitions: [any(partition)] })),
          'options.partitions[0]',
        );
        expectField(
          outcomeOf(() => closed.createStream({ name: 'ok', partitions: any(partition) })),
          'partitions',
        );
        if (!(typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0)) {
          expectField(
            outcomeOf(() => closed.createStream({ name: 'ok', retention: { maxBytes: any(offset) } })),
            'retention.maxBytes',
          );
        }
        if (ms !== null)
          expectField(
            outcomeOf(() => closed.deleteStream('s', { timeoutMs: any(ms) })),
            'call.timeoutMs',
          );
        expectField(
          outcomeOf(() => publishToSubject(closed, 'a.b', 'v', { ackWaitMs: any(ms ?? -1) })),
          'options.ackWaitMs',
        );
        expectField(
          outcomeOf(() => closed.group(any(cursorId), { streams: ['s'] })),
          'groupId',
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('operators: publishTo, publishBulk, consume, commit', () => {
    const none = EMPTY as Observable<Message>;
    fc.assert(
      fc.property(
        badStream,
        badPartition,
        badDuration,
        fc.anything().filter((v) => typeof v !== 'function'),
        (stream, n, ms, notFunction) => {
          expectField(
            outcomeOf(() => EMPTY.pipe(publishTo(closed, any(stream)))),
            'stream',
          );
          if (n !== null)
            expectField(
              outcomeOf(() => EMPTY.pipe(publishTo(closed, 's', { maxInFlight: any(n) }))),
              'options.maxInFlight',
            );
          if (stream !== undefined)
            expectField(
              outcomeOf(() => publishBulk(closed, [], { stream: any(stream) })),
              'options.stream',
            );
          expectField(
            outcomeOf(() => none.pipe(consume(any(notFunction)))),
            'handler',
          );
          if (n !== null)
            expectField(
              outcomeOf(() => none.pipe(consume(() => undefined, { concurrency: any(n) }))),
              'options.concurrency',
            );
          expectField(
            outcomeOf(() => none.pipe(commit(closed, 'c', { timeMs: any(ms ?? -1) }))),
            'options.timeMs',
          );
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('anything at all: a typed error (or, for operators over nothing, completion), never a raw exception', { timeout: 60_000 }, () => {
  const arg = fc.oneof(fc.anything(), badPartition, fc.constant(undefined), fc.string(), fc.bigInt());
  it('every client method and operator', () => {
    const none = EMPTY as Observable<Message>;
    fc.assert(
      fc.property(arg, arg, arg, (a, b, c) => {
        expectTyped(outcomeOf(() => closed.createStream(any(a), any(b))));
        expectTyped(outcomeOf(() => closed.deleteStream(any(a), any(b))));
        expectTyped(outcomeOf(() => closed.pauseStream(any(a), any(b), any(c))));
        expectTyped(outcomeOf(() => closed.setStreamReadonly(any(a), any(b), any(c))));
        expectTyped(outcomeOf(() => closed.fetchPartitionMetadata(any(a), any(b), any(c))));
        expectTyped(outcomeOf(() => closed.publish(any(a), any(b), any(c))));
        expectTyped(outcomeOf(() => closed.publishToSubject(any(a), any(b), any(c))));
        expectTyped(outcomeOf(() => closed.subscribe(any(a), any(b))));
        expectTyped(outcomeOf(() => closed.setCursor(any(a), any(b))));
        expectTyped(outcomeOf(() => closed.fetchCursor(any(a), any(b))));
        expectTyped(outcomeOf(() => closed.group(any(a), any(b))));
        expectTyped(outcomeOf(() => closed.refreshMetadata()));
        expectTyped(outcomeOf(() => EMPTY.pipe(publishTo(closed, any(a), any(b)))));
        expectTyped(outcomeOf(() => publishBulk(closed, any(a), any(b))));
        expectTyped(
          outcomeOf(() => none.pipe(consume(any(a), any(b)))),
          true,
        );
        expectTyped(
          outcomeOf(() => none.pipe(commit(any(a), any(b), any(c)))),
          true,
        );
        expectTyped(
          outcomeOf(() => none.pipe(commit(closed, any(a), any(b)))),
          true,
        );
      }),
      { numRuns: RUNS },
    );
  });

  /** Returns or throws InvalidArgumentError; anything else fails. */
  function returnsOrInvalid(f: () => unknown): void {
    try {
      f();
    } catch (e) {
      if (!(e instanceof InvalidArgumentError)) throw new Error(`expected InvalidArgumentError, got ${String(e)}`);
    }
  }

  it('value builders and helpers: StartAt, StopAt, partitionForKey, backoffDelay, envelopes', () => {
    fc.assert(
      fc.property(arg, arg, arg, (a, b, c) => {
        for (const f of [StartAt.offset, StartAt.time, StartAt.ago, StopAt.offset, StopAt.time] as Array<(x: unknown) => unknown>) returnsOrInvalid(() => f(a));
        returnsOrInvalid(() => StartAt.cursor(any(a), any(b)));
        returnsOrInvalid(() => StartAt.stored(any(a), any(b)));
        returnsOrInvalid(() => partitionForKey(any(a), any(b)));
        returnsOrInvalid(() => backoffDelay(any(a), any(b), any(c)));
        returnsOrInvalid(() => encodeEnvelope(any(a), any(b)));
        returnsOrInvalid(() => decodeEnvelope(any(a)));
      }),
      { numRuns: RUNS },
    );
  });

  it('decodeEnvelope on random and corrupted envelopes', () => {
    const valid = encodeEnvelope({ value: 'v', key: 'k', headers: { h: 'x' }, correlationId: 'c' }, { crc: true });
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.nat(valid.length - 1),
        fc.integer({ min: 0, max: 255 }),
        fc.nat(valid.length),
        (random, at, byte, cut) => {
          returnsOrInvalid(() => decodeEnvelope(random));
          const corrupted = Uint8Array.from(valid);
          corrupted[at] = byte;
          returnsOrInvalid(() => decodeEnvelope(corrupted));
          returnsOrInvalid(() => decodeEnvelope(valid.subarray(0, cut)));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('connect() with arbitrary options returns a client or throws InvalidArgumentError', async () => {
    const options = fc.record(
      {
        brokers: fc.oneof(fc.constant([UNREACHABLE]), fc.array(fc.oneof(fc.string(), fc.anything()), { maxLength: 3 }), fc.string()),
        retry: fc.oneof(fc.anything(), fc.record({ maxRetries: arg, initialDelayMs: arg, maxDelayMs: arg, totalTimeoutMs: arg }, { requiredKeys: [] })),
        callTimeoutMs: arg,
        keepAlive: fc.oneof(fc.anything(), fc.record({ timeMs: arg, timeoutMs: arg }, { requiredKeys: [] })),
        metadataRefreshMs: arg,
        closeTimeoutMs: arg,
        scheduler: fc.oneof(fc.anything(), fc.record({ now: fc.constant(() => 0) }, { requiredKeys: [] })),
        maxStreamsPerConnection: arg,
        tls: fc.anything(),
        logger: fc.anything(),
        failover: fc.oneof(fc.constantFrom('round-robin', 'shuffle'), fc.anything()),
      },
      { requiredKeys: ['brokers'] },
    );
    const made: LiftbridgeClient[] = [];
    fc.assert(
      fc.property(options, (o) => {
        returnsOrInvalid(() => made.push(connect(any(o))));
      }),
      { numRuns: RUNS },
    );
    await Promise.all(made.map((c) => c.close()));
  });
});
