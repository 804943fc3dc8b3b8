/**
 * The retry/resume loop of a partition subscription, in virtual time: each outage gets the
 * policy's budget (inner lookups included), the attempt counter does not restart within one
 * outage, and `totalTimeoutMs: Infinity` retries forever.
 */
import { EventEmitter } from 'node:events';
import { Status } from 'nice-grpc-common';
import { type Observable, throwError, timer, switchMap, VirtualTimeScheduler, of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConnectionError, type LiftbridgeError } from '../../src/errors/errors.js';
import type { SubscribeRequest } from '../../src/generated/liftbridge/api.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../../src/retry/retry-policy.js';
import type { ClientStatus } from '../../src/status.js';
import { partitionMessages, type PartitionStreamContext } from '../../src/subscribe/partition-stream.js';
import { subscribeRequest, wireMessage } from '../support/fixtures/wire.js';

/** A grpc-js server stream stand-in. */
class FakeCall extends EventEmitter {
  cancelled = false;
  pause(): void {}
  resume(): void {}
  cancel(): void {
    this.cancelled = true;
  }
  handshake(): void {
    this.emit('data', {
      offset: 0n,
      key: new Uint8Array(),
      value: new Uint8Array(),
      timestamp: 0n,
      stream: '',
      partition: 0,
      subject: '',
      replySubject: '',
      headers: {},
    });
  }
  message(offset: bigint): void {
    this.emit('data', wireMessage(offset));
  }
  breakWith(code: Status, details: string): void {
    const error = Object.assign(new Error(details), { code, details });
    this.emit('error', error);
    this.emit('end');
    this.emit('status', { code, details });
  }
}

const request: SubscribeRequest = subscribeRequest();

function setup(policy: Partial<RetryPolicy>, address: (refresh: boolean) => Observable<string>) {
  const scheduler = new VirtualTimeScheduler();
  const calls: FakeCall[] = [];
  const statuses: ClientStatus[] = [];
  const ctx: PartitionStreamContext = {
    policy: { ...DEFAULT_RETRY, onRetry: undefined, jitter: 0, ...policy },
    callTimeoutMs: 10_000,
    scheduler,
    random: () => 0,
    address: (_s, _p, refresh) => address(refresh),
    acquireStream: () => ({
      connectionId: 1,
      release: () => undefined,
      client: {
        subscribe: () => {
          const c = new FakeCall();
          calls.push(c);
          return c;
        },
      } as never,
    }),
    brokerFailed: () => undefined,
    emitStatus: (s) => statuses.push(s),
    register: () => () => undefined,
    partitionPaused: () => of(false),
    newestOffset: () => of(-1n),
    callStarted: () => () => undefined,
    confirmNotFound: (e) => throwError(() => e),
  };
  let error: LiftbridgeError | undefined;
  let failedAt: number | undefined;
  const offsets: bigint[] = [];
  const sub = partitionMessages(ctx, request, 16).subscribe({
    next: (m) => offsets.push(m.offset),
    error: (e: LiftbridgeError) => {
      error = e;
      failedAt = scheduler.now();
    },
  });
  const advanceTo = (ms: number): void => {
    scheduler.maxFrames = ms;
    scheduler.flush();
  };
  const attempts = () => statuses.flatMap((s) => (s.type === 'reconnecting' ? [s.attempt] : []));
  return {
    scheduler,
    calls,
    statuses,
    attempts,
    offsets,
    sub,
    advanceTo,
    get error() {
      return error;
    },
    get failedAt() {
      return failedAt;
    },
  };
}

describe('partition subscription: retry budget per outage', () => {
  it('gives up within totalTimeoutMs of the break even when each lookup takes most of the budget itself', () => {
    let lookups = 0;
    let scheduler!: VirtualTimeScheduler;
    const t = setup({ totalTimeoutMs: 30_000, maxRetries: 100, initialDelayMs: 100, maxDelayMs: 1_000 }, () => {
      lookups++;
      // The first lookup answers; later ones behave like a metadata refresh with its own retries
      // against unreachable brokers: they fail only after 20 s.
      return lookups === 1
        ? of('b1')
        : timer(20_000, scheduler).pipe(switchMap(() => throwError(() => new ConnectionError('FetchMetadata: no broker reachable'))));
    });
    scheduler = t.scheduler;
    t.advanceTo(0);
    t.calls[0]!.handshake();
    t.calls[0]!.message(0n);
    t.advanceTo(5_000);
    const brokeAt = t.scheduler.now();
    t.calls[0]!.breakWith(Status.UNAVAILABLE, 'Connection dropped');
    t.advanceTo(120_000);
    expect(t.error).toBeDefined();
    expect(t.failedAt! - brokeAt).toBeLessThanOrEqual(30_000);
  });

  it('the attempt counter does not restart when a resubscription is accepted and breaks again at once', () => {
    const t = setup({ totalTimeoutMs: 30_000, maxRetries: 1_000, initialDelayMs: 100, maxDelayMs: 1_000 }, () => of('b1'));
    t.advanceTo(0);
    t.calls[0]!.handshake();
    t.calls[0]!.message(0n);
    t.advanceTo(5_000);
    t.calls[0]!.breakWith(Status.UNAVAILABLE, 'Connection dropped');
    // Each new call is accepted (handshake) and dropped right away: one long outage.
    for (let i = 0; i < 200 && t.error === undefined; i++) {
      t.advanceTo(t.scheduler.now() + 1_000);
      const c = t.calls.at(-1)!;
      if (c.listenerCount('data') > 0 && !c.cancelled) {
        c.handshake();
        c.breakWith(Status.UNAVAILABLE, 'Connection dropped');
      }
    }
    const attempts = t.attempts();
    expect(attempts.length).toBeGreaterThan(5);
    expect(attempts).toEqual(attempts.map((_, i) => i + 1));
    expect(t.error).toBeInstanceOf(ConnectionError);
    expect(t.failedAt! - 5_000).toBeLessThanOrEqual(30_000);
  });

  it('with totalTimeoutMs and maxRetries Infinity it retries with backoff for as long as the outage lasts, then resumes', () => {
    let down = false;
    let scheduler!: VirtualTimeScheduler;
    const t = setup({ totalTimeoutMs: Infinity, maxRetries: Infinity, initialDelayMs: 100, maxDelayMs: 5_000 }, () =>
      down ? timer(2_000, scheduler).pipe(switchMap(() => throwError(() => new ConnectionError('FetchMetadata: no broker reachable')))) : of('b1'),
    );
    scheduler = t.scheduler;
    t.advanceTo(0);
    t.calls[0]!.handshake();
    t.calls[0]!.message(0n);
    down = true;
    t.calls[0]!.breakWith(Status.UNAVAILABLE, 'Connection dropped');
    t.advanceTo(60 * 60_000); // one hour of outage
    expect(t.error).toBeUndefined();
    const attempts = t.attempts();
    expect(attempts).toEqual(attempts.map((_, i) => i + 1));
    // Backoff: capped at maxDelayMs (+ the 2 s lookup), so roughly 3600 / 7 attempts, not thousands.
    expect(attempts.length).toBeGreaterThan(400);
    expect(attempts.length).toBeLessThan(600);
    down = false;
    t.advanceTo(60 * 60_000 + 10_000);
    const c = t.calls.at(-1)!;
    c.handshake();
    c.message(1n);
    expect(t.offsets).toEqual([0n, 1n]);
    t.sub.unsubscribe();
  });
});

describe('partition subscription: server-side read failures', () => {
  // Found by the chaos suite (seed 11): after a leader change a broker's reader hit a replaced
  // segment and ended the Subscribe with UNKNOWN "failed to reinitialize reader: segment not
  // found", which ended a plain subscriber and a group member. The data is still in the cluster.
  it('an UNKNOWN status mid-subscription resubscribes from the next offset instead of ending', () => {
    const t = setup({ totalTimeoutMs: 30_000, maxRetries: 100, initialDelayMs: 100, maxDelayMs: 1_000 }, () => of('b1'));
    t.advanceTo(0);
    t.calls[0]!.handshake();
    t.calls[0]!.message(0n);
    t.calls[0]!.message(1n);
    t.advanceTo(1_000);
    t.calls[0]!.breakWith(Status.UNKNOWN, 'failed to reinitialize reader: segment not found');
    t.advanceTo(5_000);
    expect(t.error).toBeUndefined();
    expect(t.calls.length).toBe(2);
    t.calls[1]!.handshake();
    t.calls[1]!.message(2n);
    t.advanceTo(6_000);
    expect(t.offsets).toEqual([0n, 1n, 2n]);
    t.sub.unsubscribe();
  });
});
