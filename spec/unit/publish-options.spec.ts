import { describe, expect, expectTypeOf, it } from 'vitest';
import { connect, InvalidArgumentError } from '../../src/index.js';
import { publish } from '../../src/publish/publish.js';
import { publishBulk } from '../../src/publish/publish-bulk.js';
import { publishTo } from '../../src/publish/publish-to.js';
import { publishToSubject } from '../../src/publish/publish-to-subject.js';
import { DEFAULT_PUBLISH_OPTIONS } from '../../src/publish/publish-options.js';
import type { Ack, PublishResult, Sent } from '../../src/publish/types.js';
import { EMPTY, type Observable } from 'rxjs';

/**
 * The field named by the InvalidArgumentError that the built Observable (or operator, applied to an
 * empty source) errors with on subscribe. Building must not throw (RxJS convention).
 */
function fieldOf(f: () => Observable<unknown> | ((source: Observable<never>) => Observable<unknown>)): string | undefined {
  let built: Observable<unknown> | ((source: Observable<never>) => Observable<unknown>) | undefined;
  expect(() => (built = f())).not.toThrow();
  const observable = typeof built === 'function' ? built(EMPTY) : built!;
  let error: unknown;
  observable.subscribe({ error: (e: unknown) => (error = e) }).unsubscribe();
  if (error === undefined) return undefined;
  expect(error).toBeInstanceOf(InvalidArgumentError);
  return (error as InvalidArgumentError).field;
}

describe('publishing options are validated before anything is sent', () => {
  const lift = connect({ brokers: ['127.0.0.1:1'] });

  it('publish(): names the bad field, errors on subscribe', () => {
    expect(fieldOf(() => publish(lift, '', 'v'))).toBe('stream');
    expect(fieldOf(() => publish(lift, 's', 5 as unknown as string))).toBe('options.value');
    expect(fieldOf(() => publish(lift, 's', 'v', { key: 1 as unknown as string }))).toBe('options.key');
    expect(fieldOf(() => publish(lift, 's', 'v', { headers: { a: 2 as unknown as string } }))).toBe('options.headers.a');
    expect(fieldOf(() => publish(lift, 's', 'v', { partition: -1 }))).toBe('options.partition');
    expect(fieldOf(() => publish(lift, 's', 'v', { ackPolicy: 'most' as 'all' }))).toBe('options.ackPolicy');
    expect(fieldOf(() => publish(lift, 's', 'v', { ackWaitMs: 0 }))).toBe('options.ackWaitMs');
    expect(fieldOf(() => publish(lift, 's', 'v', { correlationId: '' }))).toBe('options.correlationId');
    expect(fieldOf(() => publish(lift, 's', 'v', { expectedOffset: 3 as unknown as bigint }))).toBe('options.expectedOffset');
    expect(fieldOf(() => publish(lift, 's', 'v', { partitioner: 'hash' as 'key' }))).toBe('options.partitioner');
    expect(fieldOf(() => publish(lift, 's', 'v', { retry: { maxRetries: -1 } }))).toBe('options.retry.maxRetries');
    expect(fieldOf(() => publish(lift, 's', 'v', { transport: 'udp' as 'http2' }))).toBe('options.transport');
    expect(fieldOf(() => publish(lift, 's', 'v', { keys: 'x' } as never))).toBe('options.keys');
  });

  it('publishTo() / publishBulk() / publishToSubject(): name the bad option', () => {
    expect(fieldOf(() => publishTo(lift, 's', { maxInFlight: 0 }))).toBe('options.maxInFlight');
    expect(fieldOf(() => publishTo(lift, 's', { maxBuffered: -1 }))).toBe('options.maxBuffered');
    expect(fieldOf(() => publishTo(lift, 's', { ordered: 'yes' as unknown as boolean }))).toBe('options.ordered');
    expect(fieldOf(() => publishTo(lift, 's', { failFast: 1 as unknown as boolean }))).toBe('options.failFast');
    expect(fieldOf(() => publishTo(lift, 's', { maxMessageBytes: 0 }))).toBe('options.maxMessageBytes');
    expect(fieldOf(() => publishTo(lift, 's', { wait: true } as never))).toBe('options.wait');
    expect(fieldOf(() => publishTo(lift, 'a b'))).toBe('stream');
    expect(fieldOf(() => publishBulk(lift, [], { stream: '' }))).toBe('options.stream');
    expect(fieldOf(() => publishBulk(lift, [], { wait: 'no' as unknown as boolean }))).toBe('options.wait');
    expect(fieldOf(() => publishToSubject(lift, 'a..b', 'v'))).toBe('subject');
    expect(fieldOf(() => publishToSubject(lift, 'a.b', 'v', { ackWaitMs: -5 }))).toBe('options.ackWaitMs');
    expect(lift.stats().connections).toEqual([]);
  });

  it('has documented defaults', () => {
    expect(DEFAULT_PUBLISH_OPTIONS).toMatchObject({
      maxInFlight: 1024,
      maxBuffered: 8192,
      ackWaitMs: 5000,
      ordered: true,
      failFast: true,
      ackPolicy: 'leader',
      maxMessageBytes: 1048576,
      wait: true,
      transport: 'http2',
    });
    expect(Object.isFrozen(DEFAULT_PUBLISH_OPTIONS)).toBe(true);
  });

  it('types the outcomes after the options', () => {
    expectTypeOf(publish(lift, 's', 'v')).toEqualTypeOf<Observable<Ack>>();
    expectTypeOf(publish(lift, 's', 'v', { ackPolicy: 'all' })).toEqualTypeOf<Observable<Ack>>();
    expectTypeOf(publish(lift, 's', 'v', { ackPolicy: 'none' })).toEqualTypeOf<Observable<Sent>>();
    expectTypeOf(publishTo(lift, 's')).returns.toEqualTypeOf<Observable<Ack>>();
    expectTypeOf(publishTo(lift, 's', { failFast: false })).returns.toEqualTypeOf<Observable<PublishResult<Ack>>>();
    expectTypeOf(publishTo(lift, 's', { failFast: false, ackPolicy: 'none' })).returns.toEqualTypeOf<Observable<PublishResult<Sent>>>();
    const wide: { ackPolicy?: 'leader' | 'all' | 'none'; failFast?: boolean } = {};
    expectTypeOf(publishBulk(lift, [], wide)).toEqualTypeOf<Observable<Ack | Sent | PublishResult<Ack | Sent>>>();
    // a custom partitioner's argument is typed
    publishTo(lift, 's', { partitioner: (m) => m.partitions - 1 });
    publish(lift, 's', 'v', { partitioner: (m) => (m.key.length > 0 ? 1 : 0) });
  });
});
