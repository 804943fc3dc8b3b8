/**
 * The publishing engine against a scripted transport and a manual clock: backpressure, ordering,
 * outcomes, timeouts, resends and failover decisions. The real-broker behaviour is covered by
 * spec/integration/publish*.spec.ts and spec/cluster/publish-failover.spec.ts.
 */
import { NEVER, Observable, Subject, type Subscription, map, of, range } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  AckTimeoutError,
  BufferOverflowError,
  ConnectionError,
  InvalidArgumentError,
  type LiftbridgeError,
  NoSuchPartitionError,
  NoSuchStreamError,
  ReadonlyPartitionError,
} from '../../src/errors/errors.js';
import { PublishRequest, PublishResponse } from '../../src/generated/liftbridge/api.js';
import { type Logger, silentLogger } from '../../src/internal/logger.js';
import type { ClusterMetadata } from '../../src/metadata/cluster-metadata.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../../src/retry/retry-policy.js';
import type { ClientStatus } from '../../src/status.js';
import { PublishLanes } from '../../src/publish/publish-lanes.js';
import { partitionForKey } from '../../src/publish/partitioner.js';
import { PUBLISH_BULK_KEYS, resolvePublishOptions } from '../../src/publish/publish-options.js';
import { judgeMissing } from '../../src/metadata/confirm-missing.js';
import { PublishPipeline, type PublishSource } from '../../src/publish/publish-pipeline.js';
import type { CallHandlers, PublishCall, PublishTransport } from '../../src/transport/publish-call.js';
import type { PublisherHost } from '../../src/publish/publisher-host.js';
import type { Ack, PublishResult, Sent } from '../../src/publish/types.js';
import { ManualScheduler } from '../support/manual-scheduler.js';
import { leaderView, loopbackBrokers } from '../support/fixtures/wire.js';

// ---------------------------------------------------------------------------------------------
// Fakes

interface FakeCall {
  address: string;
  handlers: CallHandlers;
  requests: PublishRequest[];
  writeCallbacks: (() => void)[];
  ended: boolean;
  cancelled: boolean;
}

class FakeTransport implements PublishTransport {
  calls: FakeCall[] = [];
  open(address: string, handlers: CallHandlers): PublishCall {
    const call: FakeCall = { address, handlers, requests: [], writeCallbacks: [], ended: false, cancelled: false };
    this.calls.push(call);
    return {
      write: (framed, cb) => {
        call.requests.push(PublishRequest.decode(framed.subarray(5)));
        if (cb !== undefined) call.writeCallbacks.push(cb);
      },
      end: () => {
        call.ended = true;
      },
      cancel: () => {
        call.cancelled = true;
      },
    };
  }
  get requests(): PublishRequest[] {
    return this.calls.flatMap((c) => c.requests);
  }
  /** Acks a request on its call (offset = its index among all requests unless given). */
  ack(request: PublishRequest, offset?: bigint, call = this.callOf(request)): void {
    const wire = PublishResponse.encode({
      correlationId: request.correlationId,
      ack: {
        stream: request.stream,
        partitionSubject: request.stream,
        msgSubject: request.partition === 0 ? request.stream : `${request.stream}.${request.partition}`,
        offset: offset ?? BigInt(this.requests.indexOf(request)),
        ackInbox: 'inbox',
        correlationId: request.correlationId,
        ackPolicy: request.ackPolicy,
        receptionTimestamp: 1n,
        commitTimestamp: 2n,
        ackError: 0,
      },
      asyncError: undefined,
    }).finish();
    call.handlers.onMessage(Buffer.from(wire), 0, wire.length);
  }
  fail(request: PublishRequest, code: number, message: string): void {
    const wire = PublishResponse.encode({
      correlationId: request.correlationId,
      ack: {
        stream: '',
        partitionSubject: '',
        msgSubject: '',
        offset: 0n,
        ackInbox: '',
        correlationId: '',
        ackPolicy: 0,
        receptionTimestamp: 0n,
        commitTimestamp: 0n,
        ackError: 0,
      },
      asyncError: { code, message },
    }).finish();
    this.callOf(request).handlers.onMessage(Buffer.from(wire), 0, wire.length);
  }
  callOf(request: PublishRequest): FakeCall {
    const c = this.calls.find((x) => x.requests.includes(request));
    if (c === undefined) throw new Error('request not sent');
    return c;
  }
}

function metadata(leaders: Record<number, string | undefined>, stream = 'orders'): ClusterMetadata {
  return leaderView(stream, loopbackBrokers(['a', 'b', 'c'], 9000), leaders);
}

const A = '127.0.0.1:9000';
const B = '127.0.0.1:9001';

function setup(options: Record<string, unknown> = {}, policy: Partial<RetryPolicy> = {}, logger: Logger = silentLogger) {
  const scheduler = new ManualScheduler();
  const transport = new FakeTransport();
  let view: ClusterMetadata | undefined = metadata({ 0: A, 1: A, 2: B });
  let refreshes = 0;
  const statuses: ClientStatus[] = [];
  const failedBrokers: string[] = [];
  const retry: RetryPolicy = { ...DEFAULT_RETRY, onRetry: undefined, jitter: 0, ...policy };
  const host = {
    options: { retry, scheduler, random: () => 0, logger, brokers: [A] },
    track: <T>(o: Observable<T>) => o,
    run: () => NEVER,
    acquireStream: () => {
      throw new Error('unused');
    },
    metadataService: () => ({
      latest: () => view,
      refresh: () => {
        refreshes++;
        return view === undefined ? NEVER : of(view);
      },
      // A one-broker cluster: the fresh view of that broker decides (as MetadataService does without a survey).
      confirmMissing: (stream: string) => {
        refreshes++;
        return view === undefined ? NEVER : of(judgeMissing([view], 1, stream));
      },
    }),
    emitStatus: (s: ClientStatus) => statuses.push(s),
    brokerFailed: (a: string) => failedBrokers.push(a),
    status$: NEVER,
  } as unknown as PublisherHost;
  const config = resolvePublishOptions('options', options, PUBLISH_BULK_KEYS, {}, retry);
  const out: unknown[] = [];
  let error: unknown;
  let completed = false;
  const run = (source: PublishSource, stream = 'orders'): Subscription =>
    new Observable<unknown>((sub) => {
      const p = new PublishPipeline(host, config, stream, sub, { lanes: new PublishLanes(transport, silentLogger), owned: true });
      p.start(source);
      return () => p.stop();
    }).subscribe({
      next: (v) => out.push(v),
      error: (e: unknown) => {
        error = e;
      },
      complete: () => {
        completed = true;
      },
    });
  return {
    scheduler,
    transport,
    statuses,
    failedBrokers,
    out,
    run,
    get error() {
      return error;
    },
    get completed() {
      return completed;
    },
    get refreshes() {
      return refreshes;
    },
    setView(m: ClusterMetadata | undefined) {
      view = m;
    },
  };
}

function counting(n: number, make: (i: number) => unknown = (i) => `m${i}`): { source: Iterable<never>; pulled: () => number } {
  let pulled = 0;
  return {
    source: (function* () {
      for (let i = 0; i < n; i++) {
        pulled++;
        yield make(i) as never;
      }
    })(),
    pulled: () => pulled,
  };
}

const acks = (out: unknown[]): Ack[] => out as Ack[];
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

// ---------------------------------------------------------------------------------------------

describe('publish pipeline: backpressure', () => {
  it('pulls an iterable only while fewer than maxInFlight are unsettled', () => {
    const t = setup({ maxInFlight: 3 });
    const src = counting(10);
    t.run(src.source);
    expect(src.pulled()).toBe(3);
    expect(t.transport.requests).toHaveLength(3);
    t.transport.ack(t.transport.requests[0]!);
    expect(src.pulled()).toBe(4);
    for (let i = 1; i < 10; i++) t.transport.ack(t.transport.requests[i]!);
    expect(src.pulled()).toBe(10);
    expect(t.out).toHaveLength(10);
    expect(t.completed).toBe(true);
    // every lane was half-closed at the end
    expect(t.transport.calls.every((c) => c.ended)).toBe(true);
  });

  it('pulls an AsyncIterable one at a time, within the window', async () => {
    const t = setup({ maxInFlight: 2 });
    let pulled = 0;
    async function* gen() {
      for (let i = 0; i < 5; i++) {
        pulled++;
        yield `a${i}`;
      }
    }
    t.run(gen());
    await new Promise((r) => setImmediate(r));
    expect(pulled).toBe(2);
    expect(t.transport.requests).toHaveLength(2);
    t.transport.ack(t.transport.requests[0]!);
    await new Promise((r) => setImmediate(r));
    expect(pulled).toBe(3);
    for (let i = 1; i < 5; i++) {
      t.transport.ack(t.transport.requests[i]!);
      await new Promise((r) => setImmediate(r));
    }
    expect(t.out).toHaveLength(5);
    expect(t.completed).toBe(true);
  });

  it('queues an Observable source up to maxBuffered, then fails with BufferOverflowError', () => {
    const t = setup({ maxInFlight: 2, maxBuffered: 3 });
    const subject = new Subject<string>();
    t.run(subject);
    for (let i = 0; i < 5; i++) subject.next(`o${i}`);
    expect(t.transport.requests).toHaveLength(2);
    expect(t.error).toBeUndefined();
    t.transport.ack(t.transport.requests[0]!); // one buffered input moves into the window
    expect(t.transport.requests).toHaveLength(3);
    subject.next('o5');
    expect(t.error).toBeUndefined();
    subject.next('o6');
    expect(t.error).toBeInstanceOf(BufferOverflowError);
    expect(subject.observed).toBe(false);
    expect(t.transport.calls.every((c) => c.cancelled)).toBe(true);
  });
});

describe('publish pipeline: outcomes', () => {
  it('emits acks in input order by default, whatever order they arrive in', () => {
    const t = setup();
    t.run(['a', 'b', 'c']);
    const [a, b, c] = t.transport.requests;
    t.transport.ack(c!, 12n);
    t.transport.ack(b!, 11n);
    expect(t.out).toHaveLength(0);
    t.transport.ack(a!, 10n);
    expect(acks(t.out).map((x) => x.offset)).toEqual([10n, 11n, 12n]);
    expect(acks(t.out).map((x) => x.correlationId)).toEqual([a!.correlationId, b!.correlationId, c!.correlationId]);
  });

  it('emits acks as they arrive with ordered: false', () => {
    const t = setup({ ordered: false });
    t.run(['a', 'b', 'c']);
    const [a, b, c] = t.transport.requests;
    t.transport.ack(c!, 12n);
    t.transport.ack(a!, 10n);
    t.transport.ack(b!, 11n);
    expect(acks(t.out).map((x) => x.offset)).toEqual([12n, 10n, 11n]);
  });

  it('sends key, headers, partition, correlation id, ack policy and expected offset (-1 unless set)', () => {
    const t = setup({ ackPolicy: 'all' });
    t.run([{ value: 'v', key: 'k', headers: { h: 'x' }, partition: 2, correlationId: 'mine', expectedOffset: 7n }, 'plain']);
    const [r1, r2] = t.transport.requests;
    expect(text(r1!.key)).toBe('k');
    expect(text(r1!.headers.h!)).toBe('x');
    expect(r1!.partition).toBe(2);
    expect(r1!.correlationId).toBe('mine');
    expect(r1!.ackPolicy).toBe(1);
    expect(r1!.expectedOffset).toBe(7n);
    expect(t.transport.callOf(r1!).address).toBe(B); // partition 2's leader
    expect(r2!.expectedOffset).toBe(-1n);
    expect(r2!.partition).toBe(0);
    expect(r2!.correlationId).not.toBe('');
  });

  it('failFast (default): the first failure ends the Observable after the outcomes before it', () => {
    const t = setup();
    t.run(['a', 'b', 'c']);
    const [a, b, c] = t.transport.requests;
    t.transport.fail(b!, 4, 'partition is readonly');
    t.transport.ack(c!);
    expect(t.error).toBeUndefined(); // a is still pending and comes first
    t.transport.ack(a!);
    expect(t.out).toHaveLength(1);
    expect(t.error).toBeInstanceOf(ReadonlyPartitionError);
    expect((t.error as LiftbridgeError).correlationId).toBe(b!.correlationId);
  });

  it('failFast: false reports every input (ok or typed error with its input) and goes on', () => {
    const t = setup({ failFast: false });
    t.run(['a', { value: 'b', correlationId: 'bee' }, { value: 'c', key: 5 as unknown as string }, 'd']);
    const [a, b, d] = t.transport.requests; // c never went out: invalid key
    t.transport.ack(a!);
    t.transport.fail(b!, 5, 'incorrect expected offset');
    t.transport.ack(d!);
    const results = t.out as PublishResult[];
    expect(results.map((r) => r.ok)).toEqual([true, false, false, true]);
    const bad = results[1] as Extract<PublishResult, { ok: false }>;
    expect(bad.error.code).toBe('INCORRECT_OFFSET');
    expect(bad.error.correlationId).toBe('bee');
    expect(bad.input).toEqual({ value: 'b', correlationId: 'bee' });
    const invalid = results[2] as Extract<PublishResult, { ok: false }>;
    expect(invalid.error).toBeInstanceOf(InvalidArgumentError);
    expect((invalid.error as InvalidArgumentError).field).toBe('input.key');
    expect(t.completed).toBe(true);
  });

  it('ackPolicy none: a Sent receipt once the message was written', () => {
    const t = setup({ ackPolicy: 'none' });
    t.run(['a']);
    expect(t.out).toHaveLength(0);
    t.transport.calls[0]!.writeCallbacks[0]!();
    expect(t.out).toEqual([{ type: 'sent', stream: 'orders', partition: 0, correlationId: t.transport.requests[0]!.correlationId } satisfies Sent]);
    expect(t.completed).toBe(true);
  });

  it('refuses a second message with a correlation id already in flight', () => {
    const t = setup({ failFast: false });
    t.run([
      { value: 'x', correlationId: 'same' },
      { value: 'y', correlationId: 'same' },
    ]);
    expect(t.transport.requests).toHaveLength(1);
    t.transport.ack(t.transport.requests[0]!);
    const results = t.out as PublishResult[];
    expect(results[1]!.ok).toBe(false);
    expect((results[1] as unknown as { error: InvalidArgumentError }).error.field).toBe('input.correlationId');
  });

  it('fails a missing stream or partition after two metadata refreshes, without sending', () => {
    const t = setup({ failFast: false });
    t.run([{ value: 'x', partition: 9 }]);
    t.scheduler.advance(10_000);
    t.run([{ value: 'y', stream: 'nope' }]);
    t.scheduler.advance(10_000);
    const results = t.out as PublishResult[];
    expect((results[0] as { error: unknown }).error).toBeInstanceOf(NoSuchPartitionError);
    expect((results[1] as { error: unknown }).error).toBeInstanceOf(NoSuchStreamError);
    expect(t.refreshes).toBe(4);
    expect(t.transport.requests).toHaveLength(0);
  });

  it('emits exactly one outcome per input, whatever the order of acks and failures', () => {
    for (let round = 0; round < 50; round++) {
      const t = setup({ failFast: false, ordered: round % 2 === 0, maxInFlight: 7 });
      t.run(Array.from({ length: 40 }, (_, i) => `m${i}`));
      let answered = 0;
      while (t.out.length < 40 && answered < 200) {
        const open = t.transport.requests.filter((r) => !(t.out as PublishResult[]).some((o) => o.ok && (o.ack as Ack).correlationId === r.correlationId));
        const pick = open[(round * 7 + answered) % open.length]!;
        // A final failure (READONLY; a NOT_FOUND answer is no longer final unless the cluster confirms it).
        if ((answered + round) % 5 === 0) t.transport.fail(pick, 4, 'partition is readonly');
        else t.transport.ack(pick);
        // a duplicate answer for the same message is ignored
        if (answered % 3 === 0) t.transport.ack(pick);
        answered++;
      }
      const ids = (t.out as PublishResult[]).map((o) => (o.ok ? (o.ack as Ack).correlationId : o.error.correlationId));
      expect(ids).toHaveLength(40);
      expect(new Set(ids).size).toBe(40);
      expect(t.completed).toBe(true);
    }
  });
});

describe('publish pipeline: timeouts and resends', () => {
  it('sweeps ack deadlines with one timer, not one per message', () => {
    const t = setup({ maxInFlight: 500, ackWaitMs: 1000 });
    t.run(counting(500).source);
    expect(t.transport.requests).toHaveLength(500);
    expect(t.scheduler.scheduled).toBe(1);
  });

  it('resends after an ack timeout (same correlation id) and ignores the late first ack', () => {
    const t = setup({ ackWaitMs: 1000 }, { initialDelayMs: 50 });
    t.run(['a']);
    const first = t.transport.requests[0]!;
    t.scheduler.advance(1000);
    expect(t.statuses.some((s) => s.type === 'reconnecting' && s.error instanceof AckTimeoutError)).toBe(true);
    t.scheduler.advance(50);
    expect(t.transport.requests).toHaveLength(2);
    const second = t.transport.requests[1]!;
    expect(second.correlationId).toBe(first.correlationId);
    t.transport.ack(second, 5n);
    t.transport.ack(first, 4n, t.transport.calls[0]!); // late: the message is no longer waiting
    expect(acks(t.out).map((a) => a.offset)).toEqual([5n]);
    expect(t.completed).toBe(true);
  });

  it('ends with AckTimeoutError (correlation id attached) once the policy is exhausted, or at once with retry: false', () => {
    const t = setup({ ackWaitMs: 1000 }, { maxRetries: 2, initialDelayMs: 10 });
    t.run([{ value: 'a', correlationId: 'c-a' }]);
    t.scheduler.advance(10_000);
    expect(t.transport.requests).toHaveLength(3);
    expect(t.error).toBeInstanceOf(AckTimeoutError);
    expect((t.error as AckTimeoutError).correlationId).toBe('c-a');
    expect((t.error as Error).message).toMatch(/after 2 resends/);

    const once = setup({ ackWaitMs: 1000, retry: false });
    once.run(['a']);
    once.scheduler.advance(1000);
    expect(once.transport.requests).toHaveLength(1);
    expect(once.error).toBeInstanceOf(AckTimeoutError);
  });

  it('on a broken call: reports reconnecting, refreshes metadata, resends to the new leader, in input order', () => {
    const t = setup({}, { initialDelayMs: 100 });
    t.run(['a', 'b', 'c']);
    const call = t.transport.calls[0]!;
    t.transport.ack(call.requests[1]!, 1n);
    t.setView(metadata({ 0: B, 1: B, 2: B }));
    call.handlers.onError(new ConnectionError('gone', { address: A }));
    expect(t.failedBrokers).toEqual([A]);
    const reconnecting = t.statuses.filter((s) => s.type === 'reconnecting');
    expect(reconnecting).toHaveLength(1); // one event for the whole call, not one per message
    t.scheduler.advance(100);
    const resent = t.transport.calls[1]!;
    expect(resent.address).toBe(B);
    expect(resent.requests.map((r) => text(r.value))).toEqual(['a', 'c']);
    for (const r of resent.requests) t.transport.ack(r);
    expect(acks(t.out).map((a) => a.correlationId)).toEqual(call.requests.map((r) => r.correlationId));
  });

  it('ends each unacknowledged message with a ConnectionError when resends are exhausted', () => {
    const t = setup({ failFast: false }, { maxRetries: 1, initialDelayMs: 10 });
    t.run(['a', 'b']);
    t.transport.calls[0]!.handlers.onError(new ConnectionError('gone'));
    t.scheduler.advance(10);
    t.transport.calls[1]!.handlers.onError(new ConnectionError('gone again'));
    t.scheduler.advance(1000);
    const results = t.out as PublishResult[];
    expect(results).toHaveLength(2);
    for (const r of results) {
      expect(r.ok).toBe(false);
      const e = (r as { error: LiftbridgeError }).error;
      expect(e).toBeInstanceOf(ConnectionError);
      expect(e.correlationId).toBeDefined();
    }
  });

  it('sends again a message that provably never left the client, even with retry: false', () => {
    const t = setup({ retry: false }, { initialDelayMs: 10 });
    t.run(['a']);
    t.transport.calls[0]!.handlers.onError(new ConnectionError('refused', { address: A, neverSent: true }));
    t.scheduler.advance(10);
    expect(t.transport.calls).toHaveLength(2);
    t.transport.ack(t.transport.calls[1]!.requests[0]!);
    expect(t.out).toHaveLength(1);
    // ...but not one that may have been sent
    const u = setup({ retry: false }, { initialDelayMs: 10 });
    u.run(['b']);
    u.transport.calls[0]!.handlers.onError(new ConnectionError('reset', { address: A }));
    u.scheduler.advance(10);
    expect(u.transport.calls).toHaveLength(1);
    expect(u.error).toBeInstanceOf(ConnectionError);
  });

  it('without a known leader, sends through a live broker, which forwards it (the same one for a partition)', () => {
    const t = setup({}, { initialDelayMs: 100 });
    t.setView(metadata({ 0: undefined, 1: undefined }));
    t.run([
      { value: 'a', partition: 0 },
      { value: 'b', partition: 0 },
      { value: 'c', partition: 1 },
    ]);
    const byPartition = new Map<number, Set<string>>();
    for (const c of t.transport.calls) for (const r of c.requests) byPartition.set(r.partition, (byPartition.get(r.partition) ?? new Set()).add(c.address));
    expect(t.transport.requests).toHaveLength(3);
    expect(byPartition.get(0)?.size).toBe(1);
  });

  it("after a leader's call failed, routes around that broker for a while and refreshes metadata in the background", () => {
    const t = setup({ retry: false }, { initialDelayMs: 10 });
    t.run(['a']);
    expect(t.transport.calls[0]!.address).toBe(A);
    t.transport.calls[0]!.handlers.onError(new ConnectionError('refused', { address: A, neverSent: true }));
    const refreshes = t.refreshes;
    t.scheduler.advance(10);
    expect(t.transport.calls[1]!.address).not.toBe(A);
    expect(t.refreshes).toBe(refreshes + 1);
    t.transport.ack(t.transport.calls[1]!.requests[0]!);
    expect(t.out).toHaveLength(1);
  });

  it('waits (within the policy) when no broker at all can be reached', () => {
    const t = setup({ failFast: false }, { initialDelayMs: 10, maxRetries: 3 });
    t.run(['a']);
    for (let i = 0; i < 3; i++) {
      const call = t.transport.calls.at(-1)!;
      call.handlers.onError(new ConnectionError('refused', { address: call.address, neverSent: true }));
      t.scheduler.advance(200);
    }
    // every broker failed recently: nothing to send to until the quarantine ends or the policy does
    t.scheduler.advance(10_000);
    const r = t.out[0] as PublishResult;
    expect(r.ok).toBe(false);
    expect(new Set(t.transport.calls.map((c) => c.address)).size).toBe(3);
  });

  it('unsubscribing cancels the calls and timers, and emits nothing', () => {
    const t = setup();
    const sub = t.run(['a', 'b']);
    sub.unsubscribe();
    expect(t.transport.calls[0]!.cancelled).toBe(true);
    expect(t.scheduler.pending).toBe(0);
    expect(t.out).toHaveLength(0);
    expect(t.error).toBeUndefined();
  });

  it('wait: false completes once everything was sent, emitting only what was settled by then', () => {
    const t = setup({ wait: false });
    t.run(['a', 'b']);
    expect(t.completed).toBe(true);
    expect(t.out).toHaveLength(0);
    expect(t.transport.calls[0]!.ended).toBe(true);
  });
});

describe('publish pipeline: issue 8 regressions', () => {
  it('8.2: a source that errors while inputs are queued settles every accepted input, then errors', () => {
    const t = setup({ maxInFlight: 2 });
    const subject = new Subject<string>();
    t.run(subject);
    for (let i = 0; i < 5; i++) subject.next(`q${i}`);
    const boom = new Error('source failed');
    subject.error(boom);
    expect(t.error).toBeUndefined(); // inputs are still unsettled
    for (let i = 0; i < 5; i++) {
      const r = t.transport.requests[i];
      expect(r, `input q${i} was sent`).toBeDefined();
      t.transport.ack(r!);
    }
    expect(acks(t.out).map((a) => a.correlationId)).toEqual(t.transport.requests.map((r) => r.correlationId));
    expect(t.out).toHaveLength(5);
    expect(t.error).toBe(boom);
    expect(t.completed).toBe(false);
    expect(t.scheduler.pending).toBe(0);
  });
});

describe('publish pipeline: issue 8.4, failFast and user callbacks', () => {
  /** A logger that records what it was told. */
  function recordingLogger(): Logger & { lines: { level: string; message: string; fields?: Record<string, unknown> }[] } {
    const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
    const at =
      (level: string) =>
      (message: string, fields?: Record<string, unknown>): void => {
        lines.push({ level, message, fields });
      };
    return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  }

  it('ordered + failFast + wait: false: a known failure behind a pending input is not swallowed by completion', () => {
    const t = setup({ wait: false });
    const source = new Subject<string>();
    t.run(source);
    source.next('a');
    source.next('b');
    source.next('c');
    const [a, b, c] = t.transport.requests;
    t.transport.fail(b!, 4, 'partition is readonly');
    t.transport.ack(c!);
    source.complete(); // everything was sent, and b's failure is known
    expect(t.completed).toBe(false);
    expect(t.error).toBeUndefined(); // a comes first
    t.transport.ack(a!);
    expect(t.out).toHaveLength(1);
    expect(t.error).toBeInstanceOf(ReadonlyPartitionError);
    expect(t.completed).toBe(false);
  });

  it('ordered + failFast + wait: false: an invalid input behind a pending one ends the pipeline with its error', () => {
    const t = setup({ wait: false });
    t.run(of<unknown[]>('a', { value: 'b', key: 5 }) as Observable<never>); // the source completes at once
    expect(t.completed).toBe(false);
    t.transport.ack(t.transport.requests[0]!);
    expect(t.out).toHaveLength(1);
    expect(t.error).toBeInstanceOf(InvalidArgumentError);
    expect((t.error as InvalidArgumentError).field).toBe('input.key');
  });

  it('a throwing onRetry (lane break) is logged; the resend still happens', () => {
    const logger = recordingLogger();
    const t = setup(
      {},
      {
        initialDelayMs: 10,
        onRetry: () => {
          throw new Error('callback bug');
        },
      },
      logger,
    );
    t.run(['a']);
    expect(() => t.transport.calls[0]!.handlers.onError(new ConnectionError('gone', { address: A }))).not.toThrow();
    t.scheduler.advance(10);
    expect(t.transport.calls).toHaveLength(2);
    t.transport.ack(t.transport.calls[1]!.requests[0]!);
    expect(t.out).toHaveLength(1);
    expect(t.completed).toBe(true);
    expect(
      logger.lines.some((l) => l.level === 'error' && /onRetry/.test(l.message) && (l.fields?.error as Error | undefined)?.message === 'callback bug'),
    ).toBe(true);
  });

  it('a throwing onRetry (ack timeout, from the sweep timer) is logged; the resend still happens', () => {
    const logger = recordingLogger();
    const t = setup(
      { ackWaitMs: 100 },
      {
        initialDelayMs: 10,
        onRetry: () => {
          throw new Error('callback bug');
        },
      },
      logger,
    );
    t.run(['a']);
    expect(() => t.scheduler.advance(100)).not.toThrow();
    t.scheduler.advance(10);
    expect(t.transport.requests).toHaveLength(2);
    t.transport.ack(t.transport.requests[1]!);
    expect(t.out).toHaveLength(1);
    expect(t.completed).toBe(true);
  });

  it('a throwing partitioner fails only that message, with InvalidArgumentError naming options.partitioner', () => {
    const t = setup({
      failFast: false,
      partitioner: (m: { value: Uint8Array }) => {
        if (text(m.value) === 'bad') throw new Error('partitioner bug');
        return 1;
      },
    });
    t.run(['a', 'bad', 'c']);
    for (const r of t.transport.requests) t.transport.ack(r);
    const results = t.out as PublishResult[];
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    const bad = (results[1] as Extract<PublishResult, { ok: false }>).error;
    expect(bad).toBeInstanceOf(InvalidArgumentError);
    expect((bad as InvalidArgumentError).field).toBe('options.partitioner');
    expect((bad.cause as Error).message).toBe('partitioner bug');
    expect(bad.correlationId).toBeDefined();
    expect(t.completed).toBe(true);
  });

  it('an input whose properties throw when read gets its own error; the others go on', () => {
    const t = setup({ failFast: false });
    const hostile = {
      get value(): string {
        throw new Error('getter bug');
      },
      get correlationId(): string {
        throw new Error('getter bug');
      },
    };
    t.run(['a', hostile as never, 'c']);
    for (const r of t.transport.requests) t.transport.ack(r);
    const results = t.out as PublishResult[];
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(t.completed).toBe(true);
  });

  it('an Observable source whose teardown throws: the pipeline still ends with its own error, and logs the teardown failure', () => {
    const logger = recordingLogger();
    const t = setup({}, {}, logger);
    const source = new Observable<unknown>((sub) => {
      sub.next('a');
      sub.next({ value: 'b', key: 5 }); // invalid: failFast ends the pipeline, which unsubscribes the source
      return () => {
        throw new Error('teardown bug');
      };
    });
    expect(() => t.run(source as Observable<never>)).not.toThrow();
    t.transport.ack(t.transport.requests[0]!);
    expect(t.out).toHaveLength(1);
    expect(t.error).toBeInstanceOf(InvalidArgumentError);
    expect(t.transport.calls.every((c) => c.cancelled)).toBe(true);
    expect(logger.lines.some((l) => /source/.test(l.message))).toBe(true);
  });

  it('an AsyncIterable whose return() throws: a failFast error still ends the pipeline', async () => {
    const t = setup();
    let calls = 0;
    const source: AsyncIterable<unknown> = {
      [Symbol.asyncIterator]: () => ({
        next: () => Promise.resolve({ value: calls++ === 0 ? 'a' : { value: 'b', key: 5 }, done: false }),
        return: () => {
          throw new Error('return bug');
        },
      }),
    };
    t.run(source as never);
    for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r));
    t.transport.ack(t.transport.requests[0]!);
    expect(t.out).toHaveLength(1);
    expect(t.error).toBeInstanceOf(InvalidArgumentError);
    expect(t.scheduler.pending).toBe(0);
  });

  it('an AsyncIterable whose return() gives no promise is tolerated on unsubscribe', () => {
    const t = setup();
    const source: AsyncIterable<string> = {
      [Symbol.asyncIterator]: () => ({
        next: () => new Promise(() => undefined),
        return: () => ({ done: true, value: undefined }) as never,
      }),
    };
    const sub = t.run(source as never);
    expect(() => sub.unsubscribe()).not.toThrow();
  });

  it('a throwing logger cannot break the pipeline either', () => {
    const throwing: Logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => {
        throw new Error('logger bug');
      },
      error: () => {
        throw new Error('logger bug');
      },
    };
    const t = setup(
      {},
      {
        initialDelayMs: 10,
        onRetry: () => {
          throw new Error('callback bug');
        },
      },
      throwing,
    );
    t.run(['a']);
    expect(() => t.transport.calls[0]!.handlers.onError(new ConnectionError('gone', { address: A }))).not.toThrow();
    t.scheduler.advance(10);
    t.transport.ack(t.transport.calls[1]!.requests[0]!);
    expect(t.completed).toBe(true);
  });
});

describe('publish pipeline: synchronous Observable sources', () => {
  it('a synchronous burst over maxInFlight + maxBuffered fails at once with an error that names the fixes', () => {
    const t = setup();
    t.run(range(0, 100_000).pipe(map((i) => ({ value: `m${i}` }))) as Observable<never>);
    expect(t.error).toBeInstanceOf(BufferOverflowError);
    const message = (t.error as Error).message;
    expect(message).toMatch(/synchronously/);
    expect(message).toMatch(/publishTo\(client, stream\)\(iterable\)/);
    expect(message).toMatch(/maxBuffered/);
    expect(t.transport.calls.every((c) => c.cancelled)).toBe(true);
  });

  it('with maxBuffered at least the burst size, a synchronous range() is published whole, in order', () => {
    const N = 3000; // the real-broker spec does 100 000 (spec/integration/publish-to.spec.ts)
    const t = setup({ maxInFlight: 64, maxBuffered: N });
    t.run(range(0, N).pipe(map((i) => `m${i}`)) as Observable<never>);
    for (let i = 0; i < N; i++) t.transport.ack(t.transport.requests[i]!, BigInt(i));
    expect(acks(t.out).map((a) => a.offset)).toEqual(Array.from({ length: N }, (_, i) => BigInt(i)));
    expect(t.transport.requests.map((r) => text(r.value))).toEqual(Array.from({ length: N }, (_, i) => `m${i}`));
    expect(t.completed).toBe(true);
  });
});

describe('publish pipeline: default partitioning', () => {
  it('without a partitioner, a keyed message goes to crc32(key) mod partitions (go-liftbridge PartitionByKey); no key: 0', () => {
    const t = setup({ failFast: false });
    const keys = Array.from({ length: 30 }, (_, i) => `customer-${i}`);
    const inputs = [
      ...keys.map((key) => ({ value: 'v', key })),
      { value: 'keyless' },
      { value: 'empty key', key: '' },
      { value: 'explicit', key: 'customer-1', partition: 2 },
    ];
    t.run(inputs.map((m, i) => ({ ...m, correlationId: `c${i}` })));
    const byId = new Map(t.transport.requests.map((r) => [r.correlationId, r.partition]));
    const partitions = inputs.map((_, i) => byId.get(`c${i}`));
    const expected = keys.map((k) => partitionForKey(new TextEncoder().encode(k), 3));
    expect(new Set(expected).size).toBe(3); // the keys do spread
    expect(partitions).toEqual([...expected, 0, 0, 2]);
  });
});

describe('Ack.toJSON', () => {
  it('JSON.stringify(ack) works: bigints become decimal strings, nothing else changes', () => {
    const t = setup();
    t.run([{ value: 'a', correlationId: 'json-1' }]);
    t.transport.ack(t.transport.requests[0]!, 9_007_199_254_740_993n); // above Number.MAX_SAFE_INTEGER
    const ack = acks(t.out)[0]!;
    expect(JSON.parse(JSON.stringify(ack))).toEqual({
      stream: 'orders',
      partition: 0,
      offset: '9007199254740993',
      partitionSubject: 'orders',
      msgSubject: 'orders',
      correlationId: 'json-1',
      ackPolicy: 'leader',
      receptionTimestampNs: '1',
      commitTimestampNs: '2',
    });
    // a PublishResult holding the ack serialises too
    expect(JSON.parse(JSON.stringify({ ok: true, ack })).ack.offset).toBe('9007199254740993');
    // the fields are still the exact bigints
    expect(ack.offset).toBe(9_007_199_254_740_993n);
  });
});
