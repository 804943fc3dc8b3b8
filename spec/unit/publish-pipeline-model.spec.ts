/**
 * Model-based properties of the publishing engine (docs/publishing.md, docs/delivery-guarantees.md):
 * fast-check drives random interleavings of source events (next, error, complete), acks, broker
 * errors, ack timeouts, broken calls, leader moves and unsubscribes against a scripted transport and
 * a manual clock, and checks after every step:
 *
 * - exactly one outcome per accepted input (none twice, none for an input never given), in input
 *   order when `ordered`;
 * - no resend of a message while a copy of it is still waiting on a live call (not answered, not
 *   timed out, call not broken);
 * - the source's error is passed on only after every accepted input has its outcome; with
 *   `failFast`, the pipeline's error is the first failure (in input order when `ordered`) and a
 *   pipeline with a known failure never completes (with `wait: false` either);
 * - at most `maxInFlight` inputs are sent and not yet emitted;
 * - nothing is emitted after the end or after unsubscribing, and nothing is left open (calls,
 *   timers, the source subscription).
 *
 * The fakes are deliberately independent of spec/unit/publish-pipeline.spec.ts: they record what
 * the properties need (every copy of every request, with its send time and fate).
 */
import fc from 'fast-check';
import { Subject, defer, of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { BufferOverflowError, ConnectionError, type LiftbridgeError } from '../../src/errors/errors.js';
import { PublishRequest, PublishResponse } from '../../src/generated/liftbridge/api.js';
import { silentLogger } from '../../src/internal/logger.js';
import type { ClusterMetadata } from '../../src/metadata/cluster-metadata.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../../src/retry/retry-policy.js';
import { PublishLanes } from '../../src/publish/publish-lanes.js';
import { PUBLISH_BULK_KEYS, resolvePublishOptions } from '../../src/publish/publish-options.js';
import { type PipelineSink, PublishPipeline } from '../../src/publish/publish-pipeline.js';
import type { CallHandlers, PublishCall, PublishTransport } from '../../src/transport/publish-call.js';
import type { PublisherHost } from '../../src/publish/publisher-host.js';
import type { Ack, PublishInput, PublishResult } from '../../src/publish/types.js';
import { ManualScheduler } from '../support/manual-scheduler.js';
import { leaderView, loopbackBrokers } from '../support/fixtures/wire.js';

// ---------------------------------------------------------------------------------------------
// Fakes

interface Call {
  readonly address: string;
  readonly handlers: CallHandlers;
  /** Broken by the test, cancelled or half-closed by the pipeline: its copies are dead. */
  dead: boolean;
  cancelled: boolean;
  ended: boolean;
}

/** One copy of one message on the wire. */
interface Copy {
  readonly call: Call;
  readonly request: PublishRequest;
  readonly sentAt: number;
  answered: boolean;
}

class ModelTransport implements PublishTransport {
  readonly calls: Call[] = [];
  readonly copies: Copy[] = [];
  private readonly latest = new Map<string, Copy>();
  readonly violations: string[] = [];
  constructor(
    private readonly clock: ManualScheduler,
    private readonly ackWaitMs: number,
  ) {}

  open(address: string, handlers: CallHandlers): PublishCall {
    const call: Call = { address, handlers, dead: false, cancelled: false, ended: false };
    this.calls.push(call);
    return {
      write: (framed) => {
        const request = PublishRequest.decode(framed.subarray(5));
        const now = this.clock.now();
        const previous = this.latest.get(request.correlationId);
        if (previous !== undefined && this.waiting(previous)) {
          this.violations.push(`${request.correlationId} resent at ${now} while its copy sent at ${previous.sentAt} on ${previous.call.address} still waits`);
        }
        const copy: Copy = { call, request, sentAt: now, answered: false };
        this.copies.push(copy);
        this.latest.set(request.correlationId, copy);
      },
      end: () => {
        call.ended = true;
        call.dead = true;
      },
      cancel: () => {
        call.cancelled = true;
        call.dead = true;
      },
    };
  }

  /** Still waiting for its answer on a live call, within its deadline. */
  waiting(c: Copy): boolean {
    return !c.call.dead && !c.answered && this.clock.now() < c.sentAt + this.ackWaitMs;
  }

  /** The newest copy of each message that a broker could still answer (live call, not answered; deadline or not). */
  answerable(): Copy[] {
    return this.copies.filter((c) => !c.call.dead && !c.answered && this.latest.get(c.request.correlationId) === c);
  }

  /** Older copies of resent messages that a broker could still answer (a late answer). */
  superseded(): Copy[] {
    return this.copies.filter((c) => !c.call.dead && !c.answered && this.latest.get(c.request.correlationId) !== c);
  }

  ack(c: Copy): void {
    c.answered = true;
    const r = c.request;
    const wire = PublishResponse.encode({
      correlationId: r.correlationId,
      ack: {
        stream: r.stream,
        partitionSubject: r.stream,
        msgSubject: r.partition === 0 ? r.stream : `${r.stream}.${r.partition}`,
        offset: BigInt(this.copies.indexOf(c)),
        ackInbox: 'inbox',
        correlationId: r.correlationId,
        ackPolicy: r.ackPolicy,
        receptionTimestamp: 1n,
        commitTimestamp: 2n,
        ackError: 0,
      },
      asyncError: undefined,
    }).finish();
    c.call.handlers.onMessage(Buffer.from(wire), 0, wire.length);
  }

  /** An asyncError answer: 3 (INTERNAL) is resent within the policy, 4 (READONLY) is final. */
  fail(c: Copy, code: 3 | 4): void {
    c.answered = true;
    const wire = PublishResponse.encode({
      correlationId: c.request.correlationId,
      ack: undefined,
      asyncError: { code, message: code === 3 ? 'internal' : 'partition is readonly' },
    }).finish();
    c.call.handlers.onMessage(Buffer.from(wire), 0, wire.length);
  }

  breakCall(call: Call, neverSent: boolean): void {
    if (call.dead) return;
    call.dead = true;
    call.handlers.onError(new ConnectionError('connection reset', { address: call.address, neverSent }));
  }
}

const ADDRESSES = ['127.0.0.1:9000', '127.0.0.1:9001', '127.0.0.1:9002'];

function metadata(leaders: readonly (string | undefined)[]): ClusterMetadata {
  return leaderView('orders', loopbackBrokers(['a', 'b', 'c'], 9000), leaders);
}

// ---------------------------------------------------------------------------------------------
// The model

type Step =
  | { readonly type: 'next'; readonly partition: number; readonly invalid: boolean }
  | { readonly type: 'complete' }
  | { readonly type: 'error' }
  | { readonly type: 'ack'; readonly pick: number }
  /** A late ack for an older copy of a resent message: harmless, its id's outcome is still one. */
  | { readonly type: 'late-ack'; readonly pick: number }
  | { readonly type: 'fail'; readonly pick: number; readonly code: 3 | 4 }
  /** A late error for an older copy of a resent message. */
  | { readonly type: 'late-fail'; readonly pick: number; readonly code: 3 | 4 }
  | { readonly type: 'advance'; readonly ms: number }
  | { readonly type: 'break'; readonly pick: number; readonly neverSent: boolean }
  | { readonly type: 'move'; readonly leaders: readonly (number | undefined)[] }
  | { readonly type: 'unsubscribe' };

interface Scenario {
  readonly source: 'observable' | 'iterable';
  /** Iterable sources: how many inputs, and where (if anywhere) the iterator throws. */
  readonly iterableLength: number;
  readonly iterableThrowsAt: number | undefined;
  readonly maxInFlight: number;
  readonly maxBuffered: number;
  readonly ordered: boolean;
  readonly failFast: boolean;
  /** publishBulk's `wait`: false completes once everything was sent. */
  readonly wait: boolean;
  readonly retry: boolean;
  readonly maxRetries: number;
  readonly initialDelayMs: number;
  /** The application's `onRetry` throws every time. */
  readonly onRetryThrows: boolean;
  readonly steps: readonly Step[];
}

const ACK_WAIT_MS = 100;

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      type: fc.constant('next' as const),
      partition: fc.integer({ min: 0, max: 2 }),
      invalid: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
    }),
  },
  { weight: 12, arbitrary: fc.record({ type: fc.constant('ack' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('late-ack' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('late-fail' as const), pick: fc.nat(), code: fc.constantFrom(3 as const, 4 as const) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('fail' as const), pick: fc.nat(), code: fc.constantFrom(3 as const, 4 as const) }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 120 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('break' as const), pick: fc.nat(), neverSent: fc.boolean() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('move' as const),
      leaders: fc.array(fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }), { minLength: 3, maxLength: 3 }),
    }),
  },
);

/** Source ends and unsubscribes are rare and land anywhere: inserted into the other steps. */
const endArb = fc.record({ step: fc.constantFrom<Step>({ type: 'complete' }, { type: 'error' }, { type: 'unsubscribe' }), at: fc.nat() });

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  source: fc.constantFrom('observable' as const, 'iterable' as const),
  iterableLength: fc.integer({ min: 0, max: 12 }),
  iterableThrowsAt: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }),
  maxInFlight: fc.integer({ min: 1, max: 4 }),
  maxBuffered: fc.integer({ min: 0, max: 6 }),
  ordered: fc.boolean(),
  failFast: fc.boolean(),
  wait: fc.boolean(),
  retry: fc.boolean(),
  maxRetries: fc.integer({ min: 0, max: 3 }),
  initialDelayMs: fc.integer({ min: 0, max: 30 }),
  onRetryThrows: fc.boolean(),
  steps: fc.tuple(fc.array(stepArb, { maxLength: 80, size: 'max' }), fc.array(endArb, { maxLength: 2 })).map(([steps, ends]) => {
    const out = [...steps];
    for (const e of ends) out.splice(e.at % (out.length + 1), 0, e.step);
    return out;
  }),
});

interface Outcome {
  readonly id: string;
  readonly ok: boolean;
  readonly error?: LiftbridgeError;
}

/** Runs one scenario; returns the property violations found (empty: it held). */
function runScenario(s: Scenario): string[] {
  const problems: string[] = [];
  const clock = new ManualScheduler();
  const transport = new ModelTransport(clock, ACK_WAIT_MS);
  let view = metadata([ADDRESSES[0], ADDRESSES[0], ADDRESSES[1]]);
  const onRetry = s.onRetryThrows
    ? (): void => {
        throw new Error('onRetry bug');
      }
    : undefined;
  const retry: RetryPolicy = { ...DEFAULT_RETRY, onRetry, jitter: 0, maxRetries: s.maxRetries, initialDelayMs: s.initialDelayMs, maxDelayMs: 200 };
  const host = {
    options: { retry, scheduler: clock, random: () => 0, logger: silentLogger, brokers: [ADDRESSES[0]] },
    metadataService: () => ({
      latest: () => view,
      refresh: () => defer(() => of(view)),
    }),
    emitStatus: () => undefined,
    brokerFailed: () => undefined,
  } as unknown as PublisherHost;
  const config = resolvePublishOptions(
    'options',
    {
      maxInFlight: s.maxInFlight,
      maxBuffered: s.maxBuffered,
      ordered: s.ordered,
      failFast: s.failFast,
      wait: s.wait,
      ackWaitMs: ACK_WAIT_MS,
      retry: s.retry ? {} : false,
    },
    PUBLISH_BULK_KEYS,
    {},
    retry,
  );

  // What the pipeline was given and what it emitted.
  const given: string[] = [];
  const outcomes: Outcome[] = [];
  let ended: { type: 'error'; error: unknown } | { type: 'complete' } | undefined;
  let unsubscribed = false;
  /** A failure the pipeline has certainly settled (an invalid input, a final error answering a waiting copy). */
  let knownFailure: string | undefined;
  const sourceError = new Error('the source failed');
  const emittedIds = new Set<string>();

  const sink: PipelineSink = {
    get closed() {
      return ended !== undefined || unsubscribed;
    },
    next: (value: unknown) => {
      if (ended !== undefined || unsubscribed) problems.push('emitted after the end or after unsubscribing');
      let o: Outcome;
      if (s.failFast) o = { id: (value as Ack).correlationId, ok: true };
      else {
        const r = value as PublishResult;
        o = r.ok ? { id: r.ack.correlationId, ok: true } : { id: r.error.correlationId ?? '?', ok: false, error: r.error };
      }
      if (!given.includes(o.id)) problems.push(`outcome for ${o.id}, which was never given`);
      if (emittedIds.has(o.id)) problems.push(`second outcome for ${o.id}`);
      emittedIds.add(o.id);
      outcomes.push(o);
      if (s.ordered && given[outcomes.length - 1] !== o.id)
        problems.push(`ordered: outcome #${outcomes.length - 1} is ${o.id}, input was ${given[outcomes.length - 1]}`);
    },
    error: (error: unknown) => {
      if (ended !== undefined || unsubscribed) problems.push('error after the end or after unsubscribing');
      ended = { type: 'error', error };
      if (error === sourceError && emittedIds.size !== given.length) {
        problems.push(`the source's error was passed on with ${given.length - emittedIds.size} of ${given.length} inputs unsettled`);
      }
    },
    complete: () => {
      if (ended !== undefined || unsubscribed) problems.push('completion after the end or after unsubscribing');
      ended = { type: 'complete' };
      // wait: false completes once everything was sent; never over a failure it knows of (failFast)
      if (s.wait && emittedIds.size !== given.length)
        problems.push(`completed with ${given.length - emittedIds.size} of ${given.length} inputs without an outcome`);
      if (s.failFast && knownFailure !== undefined) problems.push(`completed although ${knownFailure} had failed (failFast)`);
    },
  };

  const pipeline = new PublishPipeline(host, config, 'orders', sink, { lanes: new PublishLanes(transport, silentLogger), owned: true });
  let k = 0;
  const input = (partition: number, invalid: boolean): PublishInput => {
    const id = `id-${k++}`;
    given.push(id);
    return invalid ? ({ value: 'x', key: 5, correlationId: id } as never) : { value: `v-${id}`, partition, correlationId: id };
  };

  const subject = new Subject<PublishInput>();
  let sourceOver = false;
  if (s.source === 'observable') pipeline.start(subject);
  else {
    pipeline.start(
      (function* () {
        for (let i = 0; i < s.iterableLength; i++) {
          if (i === s.iterableThrowsAt) throw sourceError;
          yield input(i % 3, false);
        }
      })(),
    );
  }

  const live = (): boolean => ended === undefined && !unsubscribed;

  const checkWindow = (): void => {
    if (!live()) return;
    const open = new Set(transport.copies.map((c) => c.request.correlationId).filter((id) => !emittedIds.has(id)));
    if (open.size > s.maxInFlight) problems.push(`${open.size} inputs sent and not emitted, maxInFlight ${s.maxInFlight}`);
  };

  const apply = (step: Step): void => {
    switch (step.type) {
      case 'next':
        if (s.source === 'observable' && !sourceOver && live()) {
          const next = input(step.partition, step.invalid);
          if (step.invalid) knownFailure ??= given.at(-1);
          subject.next(next);
        }
        break;
      case 'complete':
        if (s.source === 'observable' && !sourceOver) {
          sourceOver = true;
          subject.complete();
        }
        break;
      case 'error':
        if (s.source === 'observable' && !sourceOver) {
          sourceOver = true;
          subject.error(sourceError);
        }
        break;
      case 'ack': {
        const open = transport.answerable();
        if (open.length > 0) transport.ack(open[step.pick % open.length]!);
        break;
      }
      case 'late-ack': {
        const old = transport.superseded();
        if (old.length > 0) transport.ack(old[step.pick % old.length]!);
        break;
      }
      case 'late-fail': {
        const old = transport.superseded();
        if (old.length > 0) transport.fail(old[step.pick % old.length]!, step.code);
        break;
      }
      case 'fail': {
        const open = transport.answerable();
        if (open.length > 0) {
          const copy = open[step.pick % open.length]!;
          if (step.code === 4 && live() && transport.waiting(copy)) knownFailure ??= copy.request.correlationId;
          transport.fail(copy, step.code);
        }
        break;
      }
      case 'advance':
        clock.advance(step.ms);
        break;
      case 'break': {
        const open = transport.calls.filter((c) => !c.dead);
        if (open.length > 0) transport.breakCall(open[step.pick % open.length]!, step.neverSent);
        break;
      }
      case 'move':
        view = metadata(step.leaders.map((i) => (i === undefined ? undefined : ADDRESSES[i])));
        break;
      case 'unsubscribe':
        if (!unsubscribed) {
          unsubscribed = true;
          pipeline.stop();
        }
        break;
    }
  };

  for (const step of s.steps) {
    apply(step);
    checkWindow();
  }
  // Let it finish: the source ends, the brokers answer everything, time passes.
  if (s.source === 'observable' && !sourceOver) {
    sourceOver = true;
    subject.complete();
  }
  for (let round = 0; round < 200 && live(); round++) {
    for (const c of transport.answerable()) if (live()) transport.ack(c);
    checkWindow();
    clock.advance(50);
  }

  if (live()) problems.push(`never ended: ${given.length} given, ${emittedIds.size} outcomes`);
  problems.push(...transport.violations);

  // How it ended.
  if (ended?.type === 'error' && !unsubscribed) {
    const error = ended.error;
    if (error instanceof BufferOverflowError) {
      if (s.source !== 'observable') problems.push('BufferOverflowError from a pulled source');
    } else if (error !== sourceError) {
      const id = (error as LiftbridgeError).correlationId;
      if (!s.failFast) problems.push(`failFast: false ended with ${String(error)}`);
      else if (id === undefined || !given.includes(id)) problems.push(`failFast error without the id of a given input: ${String(error)}`);
      else {
        if (emittedIds.has(id)) problems.push(`${id} both emitted and the pipeline's error`);
        if (s.ordered) {
          const before = given.slice(0, given.indexOf(id));
          if (outcomes.length !== before.length)
            problems.push(`failFast ordered: ${id} failed after ${outcomes.length} outcomes, ${before.length} inputs came before it`);
        }
      }
    }
  }
  if (s.failFast && outcomes.some((o) => !o.ok)) problems.push('failFast emitted a failure as a value');

  // Nothing left open.
  if (clock.pending !== 0) problems.push(`${clock.pending} timers left`);
  if (transport.calls.some((c) => !c.ended && !c.cancelled && !c.dead)) problems.push('a call left open');
  if (subject.observed) problems.push('the source is still subscribed');
  return problems;
}

describe('publish pipeline: model-based properties', () => {
  it('one outcome per input, no resend of a waiting copy, errors after settling, bounded window, nothing left open', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const problems = runScenario(s);
        if (problems.length > 0) throw new Error(problems.slice(0, 5).join('\n'));
      }),
      { numRuns: 1000 },
    );
  });

  it('the 8.2 interleaving (maxInFlight 2, five inputs, then the source fails) is among what it checks', () => {
    const problems = runScenario({
      source: 'observable',
      iterableLength: 0,
      iterableThrowsAt: undefined,
      maxInFlight: 2,
      maxBuffered: 8,
      ordered: true,
      failFast: true,
      wait: true,
      retry: true,
      maxRetries: 1,
      initialDelayMs: 0,
      onRetryThrows: false,
      steps: [
        ...Array.from({ length: 5 }, () => ({ type: 'next' as const, partition: 0, invalid: false })),
        { type: 'error' as const },
        ...Array.from({ length: 5 }, () => ({ type: 'ack' as const, pick: 0 })),
      ],
    });
    expect(problems).toEqual([]);
  });

  // Found by this model: PublishAsync answers carry only the correlation id, so a late INTERNAL
  // for a timed-out copy was taken as the answer to its resend, and the message was sent a third
  // time while the second copy still waited. The lanes now count each message's copies still out.
  it('a late INTERNAL error for a timed-out copy does not cause a resend while the newer copy waits', () => {
    const problems = runScenario({
      source: 'observable',
      iterableLength: 0,
      iterableThrowsAt: undefined,
      maxInFlight: 1,
      maxBuffered: 0,
      ordered: false,
      failFast: false,
      wait: true,
      retry: true,
      maxRetries: 2,
      initialDelayMs: 0,
      onRetryThrows: false,
      steps: [
        { type: 'next', partition: 0, invalid: false },
        { type: 'advance', ms: 100 }, // the ack deadline passes: resent at once
        { type: 'late-fail', pick: 0, code: 3 }, // the first copy's late INTERNAL answer
        { type: 'advance', ms: 1 },
      ],
    });
    expect(problems).toEqual([]);
  });
});
