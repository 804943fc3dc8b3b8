import { Status } from 'nice-grpc-common';
import { type Observable, type SchedulerLike, type Subscription, asyncScheduler, catchError, concat, firstValueFrom, of, throwError } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { type Mock, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ConnectionError,
  InternalServerError,
  type LiftbridgeError,
  NoSuchStreamError,
  NotLeaderError,
  StreamExistsError,
  TimeoutError,
} from '../../src/errors/errors.js';
import { type AttemptOptions, type OperationSpec, type RunnerContext, runOperation } from '../../src/internal/operation-runner.js';
import { BrokerSelector } from '../../src/core/broker-selector.js';
import { roundRobin } from '../../src/retry/failover.js';
import { type RetryOptions, type RetryPolicy, resolveRetryPolicy } from '../../src/retry/retry-policy.js';
import type { BrokerClient } from '../../src/transport/connection-pool.js';

// ---------------------------------------------------------------------------
// Fakes

/** What grpc-js rejects a unary call with. */
function serviceError(code: Status, details: string): Error {
  return Object.assign(new Error(`${code} ${Status[code]}: ${details}`), { code, details, metadata: {} });
}
const unavailable = (): Error => serviceError(Status.UNAVAILABLE, 'No connection established');
const deadline = (): Error => serviceError(Status.DEADLINE_EXCEEDED, 'Deadline exceeded');
const internal = (): Error => serviceError(Status.INTERNAL, 'no metadata leader');
const notFound = (): Error => serviceError(Status.NOT_FOUND, 'No such stream: orders');
const alreadyExists = (): Error => serviceError(Status.ALREADY_EXISTS, 'stream already exists');

type Outcome<T> = { readonly value: T } | { readonly error: unknown };

/**
 * A Promise stand-in that settles on the given scheduler instead of the microtask queue, so
 * the runner's `fromCall` can be driven in TestScheduler virtual time: `afterMs` 0 settles
 * synchronously inside `.then`, a positive value after that many virtual ms, Infinity never.
 * Aborting the signal cancels a pending settlement.
 */
function virtualCall<T>(scheduler: SchedulerLike, signal: AbortSignal, afterMs: number, outcome: Outcome<T>): Promise<T> {
  const thenable = {
    // biome-ignore lint/suspicious/noThenProperty: a thenable on purpose: it stands in for the RPC promise
    then(onValue: (v: T) => void, onError: (e: unknown) => void): unknown {
      const settle = (): void => {
        if ('value' in outcome) onValue(outcome.value);
        else onError(outcome.error);
      };
      if (afterMs === 0) settle();
      else if (Number.isFinite(afterMs)) {
        const action = scheduler.schedule(settle, afterMs);
        signal.addEventListener('abort', () => action.unsubscribe(), { once: true });
      }
      return thenable;
    },
  };
  return thenable as unknown as Promise<T>;
}

interface Attempt {
  readonly address: string;
  readonly at: number;
  readonly client: BrokerClient;
  readonly options: AttemptOptions;
}

interface Harness {
  readonly ctx: RunnerContext;
  readonly attempts: Attempt[];
  readonly retries: { error: LiftbridgeError; attempt: number; delayMs: number; at: number }[];
  readonly retrying: Parameters<RunnerContext['retrying']>[0][];
  readonly brokerFailed: Mock<(address: string, error: LiftbridgeError) => void>;
  closed: boolean;
  /** A spec whose call answers attempt n (0-based) with `script(n)`; route always returns `address`. */
  spec<T>(script: (n: number) => { afterMs?: number } & Outcome<T>, extra?: Partial<OperationSpec<T>>): OperationSpec<T>;
}

function harness(scheduler: SchedulerLike, retry: RetryOptions = {}, over: Partial<RunnerContext> = {}): Harness {
  const attempts: Attempt[] = [];
  const retries: Harness['retries'] = [];
  const retrying: Harness['retrying'] = [];
  const clients = new Map<string, BrokerClient>();
  const policy: RetryPolicy = resolveRetryPolicy({
    maxRetries: 10,
    initialDelayMs: 100,
    maxDelayMs: 5_000,
    multiplier: 2,
    jitter: 0,
    totalTimeoutMs: 30_000,
    onRetry: (error, attempt, delayMs) => retries.push({ error, attempt, delayMs, at: scheduler.now() }),
    ...retry,
  });
  const h: Harness = {
    attempts,
    retries,
    retrying,
    brokerFailed: vi.fn<(address: string, error: LiftbridgeError) => void>(),
    closed: false,
    ctx: {
      policy,
      callTimeoutMs: 10_000,
      scheduler,
      random: () => 0.5,
      client: (address) => {
        let c = clients.get(address);
        if (c === undefined) {
          c = { fakeFor: address } as unknown as BrokerClient;
          clients.set(address, c);
        }
        return c;
      },
      isClosed: () => h.closed,
      brokerFailed: (address, error) => h.brokerFailed(address, error),
      retrying: (event) => retrying.push(event),
      ...over,
    },
    spec: (script, extra = {}) => ({
      rpc: 'TestRpc',
      route: () => ['a:1'],
      retryable: (e) => e instanceof ConnectionError || e instanceof TimeoutError || e instanceof InternalServerError || e instanceof NotLeaderError,
      call: (client, options, address) => {
        const n = attempts.length;
        attempts.push({ address, at: scheduler.now(), client, options });
        const { afterMs = 0, ...outcome } = script(n);
        return virtualCall(scheduler, options.signal, afterMs, outcome as Outcome<never>);
      },
      ...extra,
    }),
  };
  return h;
}

/** Ends the stream with the error's code so marbles can show it. */
function codeOnError<T>(source: Observable<T>): Observable<T | string> {
  return source.pipe(catchError((e: LiftbridgeError) => of(`E:${e.code}`)));
}

const fail = (error: () => unknown, afterMs = 0) => ({ error: error(), afterMs });
const ok = <T>(value: T, afterMs = 0) => ({ value, afterMs });

function newScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

// ---------------------------------------------------------------------------
// Virtual time (TestScheduler)

describe('runOperation (virtual time)', () => {
  let ts: TestScheduler;
  beforeEach(() => {
    ts = newScheduler();
  });

  it('is cold: nothing is routed or called before subscribe', () => {
    const h = harness(ts);
    const route = vi.fn(() => ['a:1']);
    runOperation(
      h.ctx,
      h.spec(() => ok(1), { route }),
    );
    expect(route).not.toHaveBeenCalled();
    expect(h.attempts).toHaveLength(0);
  });

  it("emits the call's value and completes, calling ctx.client(address) for the routed broker", () => {
    ts.run(({ expectObservable }) => {
      const h = harness(ts);
      const route = vi.fn(() => ['b:7']);
      expectObservable(
        runOperation(
          h.ctx,
          h.spec(() => ok('v'), { route }),
        ),
      ).toBe('(v|)', { v: 'v' });
      ts.flush();
      expect(route).toHaveBeenCalledExactlyOnceWith(0, undefined);
      expect(h.attempts.map((a) => a.address)).toEqual(['b:7']);
      expect(h.attempts[0]?.client).toBe(h.ctx.client('b:7'));
      expect(h.retries).toEqual([]);
    });
  });

  it('a value that takes virtual time arrives at that time', () => {
    ts.run(({ expectObservable }) => {
      const h = harness(ts);
      expectObservable(
        runOperation(
          h.ctx,
          h.spec(() => ok('v', 250)),
        ),
      ).toBe('250ms (v|)', { v: 'v' });
    });
  });

  it('retries with delays 100, 200, 400, 800 (jitter 0) and gives up after maxRetries+1 attempts', () => {
    ts.run(({ expectObservable }) => {
      const h = harness(ts, { maxRetries: 4 });
      const op = runOperation(
        h.ctx,
        h.spec(() => fail(unavailable)),
      );
      // Attempts at 0, 100, 300, 700, 1500; the last failure ends it.
      expectObservable(codeOnError(op)).toBe('1500ms (e|)', { e: 'E:CONNECTION' });
      ts.flush();
      expect(h.attempts.map((a) => a.at)).toEqual([0, 100, 300, 700, 1_500]);
      expect(h.retries.map((r) => [r.attempt, r.delayMs, r.at])).toEqual([
        [1, 100, 0],
        [2, 200, 100],
        [3, 400, 300],
        [4, 800, 700],
      ]);
    });
  });

  it('caps each delay at maxDelayMs', () => {
    ts.run(() => {
      const h = harness(ts, { maxRetries: 5, maxDelayMs: 250 });
      runOperation(
        h.ctx,
        h.spec(() => fail(unavailable)),
      ).subscribe({ error: () => undefined });
      ts.flush();
      expect(h.retries.map((r) => r.delayMs)).toEqual([100, 200, 250, 250, 250]);
      expect(h.attempts.map((a) => a.at)).toEqual([0, 100, 300, 550, 800, 1_050]);
    });
  });

  it('applies jitter with ctx.random', () => {
    ts.run(() => {
      const h = harness(ts, { maxRetries: 3, jitter: 0.5 }, { random: () => 0.5 });
      runOperation(
        h.ctx,
        h.spec(() => fail(unavailable)),
      ).subscribe({ error: () => undefined });
      ts.flush();
      expect(h.retries.map((r) => r.delayMs)).toEqual([75, 150, 300]);
      expect(h.attempts.map((a) => a.at)).toEqual([0, 75, 225, 525]);
    });
  });

  it('calls onRetry once per retry with the mapped error, the 1-based retry number and the delay', () => {
    ts.run(() => {
      const h = harness(ts, { maxRetries: 2 });
      runOperation(
        h.ctx,
        h.spec(() => fail(unavailable)),
      ).subscribe({ error: () => undefined });
      ts.flush();
      expect(h.retries).toHaveLength(2);
      expect(h.attempts).toHaveLength(3);
      for (const r of h.retries) {
        expect(r.error).toBeInstanceOf(ConnectionError);
        expect(r.error.rpc).toBe('TestRpc');
        expect(r.error.address).toBe('a:1');
        expect(r.error.grpcCode).toBe('UNAVAILABLE');
      }
      expect(h.retries.map((r) => r.attempt)).toEqual([1, 2]);
    });
  });

  it('reports every retry to ctx.retrying with rpc, attempt, delay, error and address', () => {
    ts.run(() => {
      const h = harness(ts, { maxRetries: 2 });
      runOperation(
        h.ctx,
        h.spec(() => fail(unavailable)),
      ).subscribe({ error: () => undefined });
      ts.flush();
      expect(h.retrying).toEqual([
        { rpc: 'TestRpc', attempt: 1, delayMs: 100, error: h.retries[0]?.error, address: 'a:1' },
        { rpc: 'TestRpc', attempt: 2, delayMs: 200, error: h.retries[1]?.error, address: 'a:1' },
      ]);
    });
  });

  it('succeeds after failures: emits the value of the first successful attempt', () => {
    ts.run(({ expectObservable }) => {
      const h = harness(ts);
      const op = runOperation(
        h.ctx,
        h.spec((n) => (n < 2 ? fail(unavailable) : ok(n))),
      );
      expectObservable(op).toBe('300ms (v|)', { v: 2 });
      ts.flush();
      expect(h.attempts).toHaveLength(3);
    });
  });

  it('exhausting retries on connection errors ends with a ConnectionError wrapping the last one', () => {
    ts.run(() => {
      const h = harness(ts, { maxRetries: 3 });
      let error: unknown;
      runOperation(
        h.ctx,
        h.spec(() => fail(unavailable)),
      ).subscribe({ error: (e: unknown) => (error = e) });
      ts.flush();
      expect(h.attempts).toHaveLength(4);
      expect(error).toBeInstanceOf(ConnectionError);
      const e = error as ConnectionError;
      expect(e.message).toMatch(/^TestRpc: no broker reachable after 3 retries; last error: /);
      expect(e.cause).toBeInstanceOf(ConnectionError);
      expect(e.cause).not.toBe(e);
      expect(e.address).toBe('a:1');
      expect(e.grpcCode).toBe('UNAVAILABLE');
      expect(e.rpc).toBe('TestRpc');
    });
  });

  it('maxRetries 0 makes exactly one attempt', () => {
    ts.run(() => {
      const h = harness(ts, { maxRetries: 0 });
      let error: unknown;
      runOperation(
        h.ctx,
        h.spec(() => fail(unavailable)),
      ).subscribe({ error: (e: unknown) => (error = e) });
      ts.flush();
      expect(h.attempts).toHaveLength(1);
      expect(h.retries).toHaveLength(0);
      expect((error as Error).message).toMatch(/after 0 retries/);
    });
  });

  it('exhausting retries on another retryable error rethrows that error itself', () => {
    ts.run(() => {
      const h = harness(ts, { maxRetries: 2 });
      let error: unknown;
      runOperation(
        h.ctx,
        h.spec(() => fail(internal)),
      ).subscribe({ error: (e: unknown) => (error = e) });
      ts.flush();
      expect(h.attempts).toHaveLength(3);
      expect(error).toBeInstanceOf(InternalServerError);
      expect((error as Error).message).toContain('no metadata leader');
    });
  });

  it('does not retry a non-retryable error', () => {
    ts.run(({ expectObservable }) => {
      const h = harness(ts);
      const retryable = vi.fn((e: LiftbridgeError, _attempt: number) => e instanceof ConnectionError);
      const op = runOperation(
        h.ctx,
        h.spec(() => fail(notFound, 40), { retryable }),
      );
      expectObservable(codeOnError(op)).toBe('40ms (e|)', { e: 'E:NO_SUCH_STREAM' });
      ts.flush();
      expect(h.attempts).toHaveLength(1);
      expect(h.retries).toHaveLength(0);
      expect(h.retrying).toHaveLength(0);
      expect(retryable).toHaveBeenCalledOnce();
      expect(retryable.mock.calls[0]?.[0]).toBeInstanceOf(NoSuchStreamError);
      expect(retryable.mock.calls[0]?.[1]).toBe(0);
    });
  });

  it('asks retryable with the 0-based index of the failed attempt', () => {
    ts.run(() => {
      const h = harness(ts, { maxRetries: 5 });
      const seen: number[] = [];
      const op = runOperation(
        h.ctx,
        h.spec(() => fail(unavailable), {
          retryable: (_e, attempt) => {
            seen.push(attempt);
            return attempt < 2;
          },
        }),
      );
      op.subscribe({ error: () => undefined });
      ts.flush();
      expect(seen).toEqual([0, 1, 2]);
      expect(h.attempts).toHaveLength(3);
    });
  });

  it('fails over to the next broker on a ConnectionError, reporting it with ctx.brokerFailed', () => {
    ts.run(() => {
      const selector = new BrokerSelector(['a:1', 'b:1', 'c:1'], roundRobin);
      const h = harness(ts, { maxRetries: 4 });
      const failed: string[] = [];
      const ctx: RunnerContext = {
        ...h.ctx,
        brokerFailed: (address, error) => {
          expect(error).toBeInstanceOf(ConnectionError);
          failed.push(address);
          selector.failed(address);
        },
      };
      runOperation(
        ctx,
        h.spec(() => fail(unavailable), { route: () => [selector.current()] }),
      ).subscribe({ error: () => undefined });
      ts.flush();
      expect(h.attempts.map((a) => a.address)).toEqual(['a:1', 'b:1', 'c:1', 'a:1', 'b:1']);
      expect(failed).toEqual(['a:1', 'b:1', 'c:1', 'a:1', 'b:1']);
    });
  });

  it('a failover answer from the next broker ends the operation with its value', () => {
    ts.run(({ expectObservable }) => {
      const selector = new BrokerSelector(['a:1', 'b:1'], roundRobin);
      const h = harness(ts, {}, { brokerFailed: (address) => void selector.failed(address) });
      const op = runOperation(h.ctx, {
        ...h.spec(() => ok('never used')),
        route: () => [selector.current()],
        call: (_client, options, address) => {
          h.attempts.push({ address, at: ts.now(), client: _client, options });
          return virtualCall(ts, options.signal, 0, address === 'a:1' ? { error: unavailable() } : { value: `from ${address}` });
        },
      });
      expectObservable(op).toBe('100ms (v|)', { v: 'from b:1' });
      ts.flush();
      expect(h.attempts.map((a) => a.address)).toEqual(['a:1', 'b:1']);
    });
  });

  it('does not report the broker as failed for errors other than connection errors and timeouts', () => {
    ts.run(() => {
      const selector = new BrokerSelector(['a:1', 'b:1'], roundRobin);
      const h = harness(ts, { maxRetries: 2 }, { brokerFailed: (address) => void selector.failed(address) });
      const spy = vi.spyOn(h.ctx, 'brokerFailed');
      runOperation(
        h.ctx,
        h.spec(() => fail(internal), { route: () => [selector.current()] }),
      ).subscribe({ error: () => undefined });
      ts.flush();
      expect(h.attempts.map((a) => a.address)).toEqual(['a:1', 'a:1', 'a:1']);
      expect(spy).not.toHaveBeenCalled();
      expect(h.retries.every((r) => r.error instanceof InternalServerError)).toBe(true);
    });
  });

  it('fails over after a per-attempt timeout (DEADLINE_EXCEEDED) like after a connection error', () => {
    ts.run(() => {
      const selector = new BrokerSelector(['a:1', 'b:1'], roundRobin);
      const failed: [string, LiftbridgeError][] = [];
      const h = harness(
        ts,
        { maxRetries: 2 },
        {
          brokerFailed: (address, error) => {
            failed.push([address, error]);
            selector.failed(address);
          },
        },
      );
      runOperation(
        h.ctx,
        h.spec(() => fail(deadline), { route: () => [selector.current()] }),
      ).subscribe({ error: () => undefined });
      ts.flush();
      expect(h.attempts.map((a) => a.address)).toEqual(['a:1', 'b:1', 'a:1']);
      expect(failed.map(([a]) => a)).toEqual(['a:1', 'b:1', 'a:1']);
      expect(failed.every(([, e]) => e instanceof TimeoutError)).toBe(true);
    });
  });

  it('routing failures are retried and the next route sees the last error', () => {
    ts.run(({ expectObservable }) => {
      const h = harness(ts);
      const routed: [number, LiftbridgeError | undefined][] = [];
      const op = runOperation(
        h.ctx,
        h.spec(() => ok('done'), {
          route: (attempt, lastError) => {
            routed.push([attempt, lastError]);
            return attempt === 0 ? throwError(() => new NotLeaderError('no leader known')) : ['b:1'];
          },
        }),
      );
      expectObservable(op).toBe('100ms (v|)', { v: 'done' });
      ts.flush();
      expect(routed[0]).toEqual([0, undefined]);
      expect(routed[1]?.[0]).toBe(1);
      expect(routed[1]?.[1]).toBeInstanceOf(NotLeaderError);
      expect(h.brokerFailed).not.toHaveBeenCalled();
    });
  });

  it('the total budget ends an operation whose call never answers with a TimeoutError, aborting the call', () => {
    ts.run(({ expectObservable }) => {
      const h = harness(ts, { maxRetries: 1_000_000, totalTimeoutMs: 1_000 });
      const op = runOperation(
        h.ctx,
        h.spec(() => ({ value: 'late', afterMs: Infinity })),
      );
      expectObservable(codeOnError(op)).toBe('1000ms (e|)', { e: 'E:TIMEOUT' });
      ts.flush();
      expect(h.attempts).toHaveLength(1);
      expect(h.attempts[0]?.options.signal.aborted).toBe(true);
    });
  });

  it('the total budget ends retries of slow connection failures with a ConnectionError, even with huge maxRetries', () => {
    ts.run(({ expectObservable }) => {
      const h = harness(ts, { maxRetries: 1_000_000, totalTimeoutMs: 1_000 });
      // Each attempt fails after 300 ms: attempts at 0, 300+100, 700+200; the budget ends at 1000 mid-attempt.
      const op = runOperation(
        h.ctx,
        h.spec(() => fail(unavailable, 300)),
      );
      expectObservable(codeOnError(op)).toBe('1000ms (e|)', { e: 'E:CONNECTION' });
      ts.flush();
      expect(h.attempts.map((a) => a.at)).toEqual([0, 400, 900]);
      expect(h.attempts[2]?.options.signal.aborted).toBe(true);
    });
  });

  it('the budget error is a TimeoutError carrying the last error when that was not a connection error', () => {
    ts.run(() => {
      const h = harness(ts, { maxRetries: 1_000_000, totalTimeoutMs: 1_000 });
      let error: unknown;
      runOperation(
        h.ctx,
        h.spec(() => fail(internal, 300)),
      ).subscribe({ error: (e: unknown) => (error = e) });
      ts.flush();
      expect(error).toBeInstanceOf(TimeoutError);
      expect((error as TimeoutError).message).toMatch(/^TestRpc: did not complete within the 1000 ms budget; last error: /);
      expect((error as TimeoutError).cause).toBeInstanceOf(InternalServerError);
    });
  });

  it('does not start a backoff that would end past the budget', () => {
    ts.run(({ expectObservable }) => {
      // Immediate failures, constant 100 ms delay, 1000 ms budget: attempts at 0..900, then the
      // next delay would reach the budget, so it fails at 900 with the budget error.
      const h = harness(ts, { maxRetries: 1_000_000, multiplier: 1, totalTimeoutMs: 1_000 });
      const op = runOperation(
        h.ctx,
        h.spec(() => fail(unavailable)),
      );
      expectObservable(codeOnError(op)).toBe('900ms (e|)', { e: 'E:CONNECTION' });
      ts.flush();
      expect(h.attempts).toHaveLength(10);
      expect(h.retries).toHaveLength(9);
    });
  });

  it('spec.policy overrides the context policy', () => {
    ts.run(() => {
      const h = harness(ts, { maxRetries: 10 });
      const policy = resolveRetryPolicy({ maxRetries: 1, initialDelayMs: 7, jitter: 0 });
      runOperation(
        h.ctx,
        h.spec(() => fail(unavailable), { policy }),
      ).subscribe({ error: () => undefined });
      ts.flush();
      expect(h.attempts.map((a) => a.at)).toEqual([0, 7]);
      expect(h.retrying.map((r) => r.delayMs)).toEqual([7]);
    });
  });

  describe('per-attempt deadline', () => {
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(1_000_000);
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    it('is callTimeoutMs from now, shortened to what is left of the budget', () => {
      ts.run(() => {
        const h = harness(ts, { totalTimeoutMs: 1_000, maxRetries: 5 }, { callTimeoutMs: 800 });
        runOperation(
          h.ctx,
          h.spec(() => fail(unavailable, 300)),
        ).subscribe({ error: () => undefined });
        ts.flush();
        // Attempt 1 at 0 (the call timeout, 800, is less than the budget), attempt 2 at 400 (600 left
        // of the budget), attempt 3 at 900 (100 left).
        expect(h.attempts.map((a) => a.at)).toEqual([0, 400, 900]);
        expect(h.attempts.map((a) => (a.options.deadline?.getTime() ?? Number.NaN) - 1_000_000)).toEqual([800, 600, 100]);
      });
    });

    it('spec.callTimeoutMs overrides the context one', () => {
      ts.run(() => {
        const h = harness(ts, {}, { callTimeoutMs: 800 });
        runOperation(
          h.ctx,
          h.spec(() => ok(1), { callTimeoutMs: 50 }),
        ).subscribe();
        ts.flush();
        expect(h.attempts[0]?.options.deadline?.getTime()).toBe(1_000_050);
      });
    });
  });

  it('recover turns an error into a value (an "already exists" answer to a retried create)', () => {
    ts.run(({ expectObservable }) => {
      const h = harness(ts);
      const recover = vi.fn((e: LiftbridgeError, attempt: number) => (attempt > 0 && e instanceof StreamExistsError ? of('created') : undefined));
      const op = runOperation(
        h.ctx,
        h.spec((n) => (n === 0 ? fail(unavailable) : fail(alreadyExists)), { recover }),
      );
      expectObservable(op).toBe('100ms (v|)', { v: 'created' });
      ts.flush();
      expect(recover.mock.calls.map(([e, n]) => [e.constructor.name, n])).toEqual([
        ['ConnectionError', 0],
        ['StreamExistsError', 1],
      ]);
    });
  });

  it('recover returning undefined keeps the error', () => {
    ts.run(({ expectObservable }) => {
      const h = harness(ts);
      const op = runOperation(
        h.ctx,
        h.spec(() => fail(alreadyExists), { recover: () => undefined, retryable: () => false }),
      );
      expectObservable(codeOnError(op)).toBe('(e|)', { e: 'E:STREAM_EXISTS' });
    });
  });

  it('fails with ClientClosedError without routing when the client is closed', () => {
    ts.run(({ expectObservable }) => {
      const h = harness(ts);
      h.closed = true;
      const route = vi.fn(() => ['a:1']);
      expectObservable(
        codeOnError(
          runOperation(
            h.ctx,
            h.spec(() => ok(1), { route }),
          ),
        ),
      ).toBe('(e|)', { e: 'E:CLIENT_CLOSED' });
      ts.flush();
      expect(route).not.toHaveBeenCalled();
      expect(h.attempts).toHaveLength(0);
    });
  });

  it('a client closed during the backoff ends the operation with ClientClosedError, without further retries', () => {
    ts.run(({ expectObservable }) => {
      const h = harness(ts, { maxRetries: 10 });
      ts.schedule(() => {
        h.closed = true;
      }, 150);
      const op = runOperation(
        h.ctx,
        h.spec(() => fail(unavailable)),
      );
      // Attempts at 0 and 100; the one due at 300 finds the client closed.
      expectObservable(codeOnError(op)).toBe('300ms (e|)', { e: 'E:CLIENT_CLOSED' });
      ts.flush();
      expect(h.attempts.map((a) => a.at)).toEqual([0, 100]);
      expect(h.retries).toHaveLength(2);
    });
  });

  it('unsubscribing during the backoff delay stops at once: no further attempt, no error', () => {
    ts.run(({ expectObservable }) => {
      const h = harness(ts, { maxRetries: 10 });
      const op = runOperation(
        h.ctx,
        h.spec(() => fail(unavailable)),
      );
      // Retry 2 is due at 300; unsubscribe at 150.
      expectObservable(op, '^ 149ms !').toBe('');
      ts.flush();
      expect(h.attempts.map((a) => a.at)).toEqual([0, 100]);
      expect(h.retries).toHaveLength(2);
    });
  });

  it('unsubscribing during a call aborts its signal and retries nothing', () => {
    ts.run(() => {
      const h = harness(ts, { maxRetries: 10 });
      const events: string[] = [];
      let sub: Subscription | undefined;
      ts.schedule(() => sub?.unsubscribe(), 50);
      sub = runOperation(
        h.ctx,
        h.spec(() => fail(unavailable, 100)),
      ).subscribe({
        next: () => events.push('next'),
        error: () => events.push('error'),
        complete: () => events.push('complete'),
      });
      ts.flush();
      expect(h.attempts).toHaveLength(1);
      expect(h.attempts[0]?.options.signal.aborted).toBe(true);
      expect(events).toEqual([]);
      expect(h.retries).toHaveLength(0);
    });
  });

  it('each subscription starts over: own attempt count and budget', () => {
    ts.run(({ cold, expectObservable }) => {
      const h = harness(ts, { maxRetries: 1, totalTimeoutMs: 550 });
      const op = runOperation(
        h.ctx,
        h.spec(() => fail(unavailable)),
      );
      expectObservable(codeOnError(op)).toBe('100ms (e|)', { e: 'E:CONNECTION' });
      // Subscribing again at 500 gets the full schedule and budget again.
      expectObservable(codeOnError(concat(cold<never>('500ms |'), op))).toBe('600ms (e|)', { e: 'E:CONNECTION' });
      ts.flush();
      expect(h.attempts.map((a) => a.at)).toEqual([0, 100, 500, 600]);
      expect(h.retries.map((r) => r.attempt)).toEqual([1, 1]);
    });
  });
});

// ---------------------------------------------------------------------------
// Real Promises (microtasks) with fake timers and the async scheduler

describe('runOperation (Promises, fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function promiseCtx(retry: RetryOptions): { ctx: RunnerContext; retries: number[] } {
    const retries: number[] = [];
    return {
      retries,
      ctx: {
        policy: resolveRetryPolicy({ jitter: 0, initialDelayMs: 100, onRetry: (_e, _n, d) => retries.push(d), ...retry }),
        callTimeoutMs: 10_000,
        scheduler: asyncScheduler,
        random: () => 0,
        client: () => ({}) as unknown as BrokerClient,
        isClosed: () => false,
        brokerFailed: () => undefined,
        retrying: () => undefined,
      },
    };
  }

  function baseSpec<T>(call: OperationSpec<T>['call'], extra: Partial<OperationSpec<T>> = {}): OperationSpec<T> {
    return { rpc: 'P', route: () => ['a:1'], call, retryable: (e) => e instanceof ConnectionError, ...extra };
  }

  it('resolves with the value of a Promise-based call', async () => {
    const { ctx } = promiseCtx({});
    await expect(
      firstValueFrom(
        runOperation(
          ctx,
          baseSpec(() => Promise.resolve(42)),
        ),
      ),
    ).resolves.toBe(42);
  });

  it('retries rejected Promises on the async scheduler at 100, 200, 400 ms and then fails', async () => {
    const { ctx, retries } = promiseCtx({ maxRetries: 3 });
    let calls = 0;
    const result = firstValueFrom(
      runOperation(
        ctx,
        baseSpec(() => {
          calls++;
          return Promise.reject(unavailable());
        }),
      ),
    );
    const settled = result.then(
      () => 'resolved',
      (e: unknown) => e,
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(99);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(200);
    expect(calls).toBe(3);
    await vi.advanceTimersByTimeAsync(399);
    expect(calls).toBe(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(4);
    const error = await settled;
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toMatch(/after 3 retries/);
    expect(retries).toEqual([100, 200, 400]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toBe(4);
  });

  it('ends a never-settling call at the total budget with a TimeoutError and aborts it', async () => {
    const { ctx } = promiseCtx({ totalTimeoutMs: 2_000 });
    let signal: AbortSignal | undefined;
    const settled = firstValueFrom(
      runOperation(
        ctx,
        baseSpec((_c, options) => {
          signal = options.signal;
          return new Promise<never>(() => undefined);
        }),
      ),
    ).then(
      () => 'resolved',
      (e: unknown) => e,
    );
    await vi.advanceTimersByTimeAsync(1_999);
    expect(signal?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await settled;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(signal?.aborted).toBe(true);
  });

  it('unsubscribing aborts the in-flight call; its abort rejection is swallowed', async () => {
    const { ctx } = promiseCtx({});
    let signal: AbortSignal | undefined;
    const events: string[] = [];
    const sub = runOperation(
      ctx,
      baseSpec((_c, options) => {
        signal = options.signal;
        return new Promise<never>((_resolve, reject) => {
          options.signal.addEventListener('abort', () => {
            const e = new Error('The operation was aborted');
            e.name = 'AbortError';
            reject(e);
          });
        });
      }),
    ).subscribe({ next: () => events.push('next'), error: () => events.push('error'), complete: () => events.push('complete') });
    await vi.advanceTimersByTimeAsync(10);
    sub.unsubscribe();
    expect(signal?.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(events).toEqual([]);
  });

  it('unsubscribing during the backoff stops further attempts', async () => {
    const { ctx } = promiseCtx({ maxRetries: 10 });
    let calls = 0;
    const sub = runOperation(
      ctx,
      baseSpec(() => {
        calls++;
        return Promise.reject(unavailable());
      }),
    ).subscribe({ error: () => undefined });
    await vi.advanceTimersByTimeAsync(150); // attempts at 0 and 100, the next is due at 300
    expect(calls).toBe(2);
    sub.unsubscribe();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toBe(2);
  });

  it('a non-retryable rejection fails at once', async () => {
    const { ctx, retries } = promiseCtx({});
    let calls = 0;
    const settled = firstValueFrom(
      runOperation(
        ctx,
        baseSpec(() => {
          calls++;
          return Promise.reject(notFound());
        }),
      ),
    ).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(0);
    expect(await settled).toBeInstanceOf(NoSuchStreamError);
    expect(calls).toBe(1);
    expect(retries).toEqual([]);
  });
});
