import { firstValueFrom, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { LiftbridgeClient } from '../../src/client.js';
import { connect } from '../../src/connect.js';
import { ClientClosedError, ConnectionError, InvalidArgumentError } from '../../src/errors/errors.js';
import type { ClientStatus } from '../../src/status.js';

/** Nothing listens on port 1 of the loopback interface: connecting is refused at once. */
const UNREACHABLE = '127.0.0.1:1';

interface Recorded<T> {
  readonly values: T[];
  error: unknown;
  completed: boolean;
}

function record<T>(source: Observable<T>): Recorded<T> {
  const r: Recorded<T> = { values: [], error: undefined, completed: false };
  source.subscribe({
    next: (v) => r.values.push(v),
    error: (e: unknown) => (r.error = e),
    complete: () => (r.completed = true),
  });
  return r;
}

describe('connect() and the client lifecycle (no broker)', () => {
  it('does no I/O before the first subscription: status$ stays idle, no connections', async () => {
    const lift = connect({ brokers: [UNREACHABLE] });
    expect(lift).toBeInstanceOf(LiftbridgeClient);
    const status = record(lift.status$);
    // Building operations without subscribing must not connect either.
    lift.createStream({ name: 'never-sent' });
    lift.deleteStream('never-sent');
    lift.fetchPartitionMetadata('never-sent', 0);
    void lift.metadata$;
    await Promise.resolve();
    expect(status.values).toEqual([{ type: 'idle' }]);
    expect(lift.stats()).toEqual({ closed: false, connections: [], subscriptions: [], openSubscribeCalls: 0 });
    await lift.close();
  });

  it('validates options before any I/O: connect() throws, operations error their Observable', async () => {
    expect(() => connect({ brokers: ['localhost'] })).toThrow(InvalidArgumentError);
    expect(() => connect({ brokers: [] })).toThrow(InvalidArgumentError);
    const lift = connect({ brokers: [UNREACHABLE] });
    await expect(firstValueFrom(lift.createStream({ name: 'a b' }))).rejects.toThrow(InvalidArgumentError);
    expect(lift.stats().connections).toEqual([]);
    void lift.close();
  });

  it('close() resolves, is idempotent, emits closed and completes status$', async () => {
    const lift = connect({ brokers: [UNREACHABLE] });
    const status = record(lift.status$);
    const first = lift.close();
    const second = lift.close();
    expect(second).toBe(first);
    await expect(first).resolves.toBeUndefined();
    await expect(lift.close()).resolves.toBeUndefined();
    expect(status.values).toEqual([{ type: 'idle' }, { type: 'closed' }]);
    expect(status.completed).toBe(true);
    expect(status.error).toBeUndefined();
    expect(lift.stats().closed).toBe(true);
    expect(lift.stats().connections).toEqual([]);
  });

  it('status$ subscribed after close completes without emitting anything but closed', async () => {
    const lift = connect({ brokers: [UNREACHABLE] });
    await lift.close();
    const late = record(lift.status$);
    expect(late.completed).toBe(true);
    expect(late.values.every((s: ClientStatus) => s.type === 'closed')).toBe(true);
  });

  it('operations after close fail with ClientClosedError', async () => {
    const lift = connect({ brokers: [UNREACHABLE] });
    await lift.close();
    await expect(firstValueFrom(lift.createStream({ name: 'after-close' }))).rejects.toBeInstanceOf(ClientClosedError);
    await expect(firstValueFrom(lift.deleteStream('after-close'))).rejects.toBeInstanceOf(ClientClosedError);
    await expect(firstValueFrom(lift.fetchPartitionMetadata('after-close', 0))).rejects.toBeInstanceOf(ClientClosedError);
    await expect(firstValueFrom(lift.refreshMetadata())).rejects.toBeInstanceOf(ClientClosedError);
    await expect(firstValueFrom(lift.metadata$)).rejects.toBeInstanceOf(ClientClosedError);
    expect(lift.stats().connections).toEqual([]);
  });

  it('destroy() after close() resolves', async () => {
    const lift = connect({ brokers: [UNREACHABLE] });
    await lift.close();
    await expect(lift.destroy()).resolves.toBeUndefined();
  });

  it('implements Symbol.asyncDispose by closing the client', async () => {
    const lift = connect({ brokers: [UNREACHABLE] });
    expect(typeof lift[Symbol.asyncDispose]).toBe('function');
    const status = record(lift.status$);
    await lift[Symbol.asyncDispose]();
    expect(status.values.at(-1)).toEqual({ type: 'closed' });
    expect(status.completed).toBe(true);
    expect(lift.stats().closed).toBe(true);
  });

  it('with maxRetries 0, an operation against an unreachable broker fails with ConnectionError quickly', async () => {
    const lift = connect({ brokers: [UNREACHABLE], retry: { maxRetries: 0, totalTimeoutMs: 5_000 }, callTimeoutMs: 3_000 });
    const status = record(lift.status$);
    try {
      const error = await firstValueFrom(lift.createStream({ name: 'unreachable' })).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as ConnectionError).retriable).toBe(true);
      expect((error as ConnectionError).rpc).toBe('CreateStream');
      // The first subscription opened exactly one connection, to the bootstrap broker.
      expect(lift.stats().connections.map((c) => c.address)).toEqual([UNREACHABLE]);
      // No retries with maxRetries 0.
      expect(status.values.filter((s) => s.type === 'reconnecting')).toEqual([]);
    } finally {
      await lift.close();
    }
    expect(lift.stats().connections).toEqual([]);
    expect(status.values.at(-1)).toEqual({ type: 'closed' });
  }, 10_000);

  it('retries against an unreachable broker report reconnecting on status$ and call onRetry', async () => {
    const retries: [string, number, number][] = [];
    const lift = connect({
      brokers: [UNREACHABLE],
      retry: { maxRetries: 2, initialDelayMs: 10, maxDelayMs: 10, jitter: 0, onRetry: (e, n, d) => retries.push([e.code, n, d]) },
      callTimeoutMs: 3_000,
    });
    const status = record(lift.status$);
    try {
      await expect(firstValueFrom(lift.deleteStream('unreachable'))).rejects.toBeInstanceOf(ConnectionError);
      expect(retries).toEqual([
        ['CONNECTION', 1, 10],
        ['CONNECTION', 2, 10],
      ]);
      const reconnecting = status.values.filter((s) => s.type === 'reconnecting');
      expect(reconnecting.map((s) => (s.type === 'reconnecting' ? [s.rpc, s.attempt, s.delayMs, s.address] : []))).toEqual([
        ['DeleteStream', 1, 10, UNREACHABLE],
        ['DeleteStream', 2, 10, UNREACHABLE],
      ]);
    } finally {
      await lift.close();
    }
  }, 15_000);
});
