/**
 * A user's onRetry callback that throws must not break a retry loop: the operation goes on, the
 * error is logged.
 */
import { Status } from 'nice-grpc-common';
import { of, VirtualTimeScheduler } from 'rxjs';
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ConnectionError, type LiftbridgeError } from '../../src/errors/errors.js';
import { runOperation, type RunnerContext } from '../../src/internal/operation-runner.js';
import type { Logger } from '../../src/internal/logger.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../../src/retry/retry-policy.js';
import { partitionMessages, type PartitionStreamContext } from '../../src/subscribe/partition-stream.js';
import { subscribeRequest } from '../support/fixtures/wire.js';

const throwing: RetryPolicy = {
  ...DEFAULT_RETRY,
  initialDelayMs: 1,
  jitter: 0,
  onRetry: () => {
    throw new Error('user callback bug');
  },
};

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug: () => undefined, info: () => undefined, error: (m: string) => void warnings.push(m), warn: (m: string) => void warnings.push(m) };
}

describe('a throwing onRetry callback', () => {
  it('does not end a unary operation: it is retried and succeeds; the failure is logged', async () => {
    const logger = recordingLogger();
    let calls = 0;
    const ctx: RunnerContext = {
      policy: throwing,
      callTimeoutMs: 1_000,
      scheduler: new VirtualTimeScheduler(),
      random: () => 0,
      client: () => ({}) as never,
      isClosed: () => false,
      brokerFailed: () => undefined,
      retrying: () => undefined,
      logger,
    };
    const scheduler = ctx.scheduler as VirtualTimeScheduler;
    let result: unknown;
    let failure: unknown;
    runOperation(ctx, {
      rpc: 'Test',
      route: () => ['a:1'],
      call: () => (calls++ === 0 ? Promise.reject(Object.assign(new Error('down'), { code: Status.UNAVAILABLE, details: 'down' })) : Promise.resolve('ok')),
      retryable: (e) => e instanceof ConnectionError,
    }).subscribe({ next: (v) => (result = v), error: (e: unknown) => (failure = e) });
    // Advance virtual time in small steps, letting the (real) promises of the calls settle between.
    for (let i = 1; i <= 10; i++) {
      await Promise.resolve();
      scheduler.maxFrames = i * 10;
      scheduler.flush();
    }
    expect(failure).toBeUndefined();
    expect(result).toBe('ok');
    expect(logger.warnings.some((w) => /onRetry/.test(w))).toBe(true);
  });

  it('does not break a subscription: it resubscribes after the break; the failure is logged', () => {
    const logger = recordingLogger();
    const scheduler = new VirtualTimeScheduler();
    const calls: EventEmitter[] = [];
    const ctx: PartitionStreamContext = {
      policy: throwing,
      callTimeoutMs: 10_000,
      scheduler,
      random: () => 0,
      logger,
      address: () => of('b1'),
      acquireStream: () => ({
        connectionId: 1,
        release: () => undefined,
        client: {
          subscribe: () => {
            const c = Object.assign(new EventEmitter(), { pause() {}, resume() {}, cancel() {} });
            calls.push(c);
            return c;
          },
        } as never,
      }),
      brokerFailed: () => undefined,
      emitStatus: () => undefined,
      register: () => () => undefined,
      partitionPaused: () => of(false),
      newestOffset: () => of(-1n),
      callStarted: () => () => undefined,
      confirmNotFound: () => of(),
    } as PartitionStreamContext;
    let error: LiftbridgeError | undefined;
    const sub = partitionMessages(ctx, subscribeRequest(), 16).subscribe({ error: (e: LiftbridgeError) => (error = e) });
    expect(calls).toHaveLength(1);
    const broken = Object.assign(new Error('gone'), { code: Status.UNAVAILABLE, details: 'gone' });
    expect(() => {
      calls[0]!.emit('error', broken);
      calls[0]!.emit('end');
    }).not.toThrow();
    scheduler.maxFrames = 100; // past the 1 ms backoff, well before any deadline
    scheduler.flush();
    expect(error).toBeUndefined();
    expect(calls).toHaveLength(2);
    expect(logger.warnings.some((w) => /onRetry/.test(w))).toBe(true);
    sub.unsubscribe();
  });
});
