import { describe, expect, it } from 'vitest';
import { toCreateStreamRequest, toPartitionList, type CreateStreamOptions } from '../../src/admin/create-stream-options.js';
import { InvalidArgumentError } from '../../src/errors/errors.js';

function invalidField(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidArgumentError);
    return (e as InvalidArgumentError).field;
  }
  throw new Error('expected an InvalidArgumentError, nothing was thrown');
}

const create = (extra: Record<string, unknown>): ReturnType<typeof toCreateStreamRequest> =>
  toCreateStreamRequest({ name: 'orders', ...extra } as CreateStreamOptions);

describe('toCreateStreamRequest', () => {
  it('maps a bare name to subject = name, 1 partition, server-default replication and no optional fields', () => {
    expect(toCreateStreamRequest({ name: 'orders' })).toStrictEqual({
      subject: 'orders',
      name: 'orders',
      group: '',
      replicationFactor: 0,
      partitions: 1,
    });
  });

  it('uses the given subject, partitions, replication factor and group', () => {
    expect(create({ subject: 'orders.eu', partitions: 4, replicationFactor: 3, group: 'workers' })).toStrictEqual({
      subject: 'orders.eu',
      name: 'orders',
      group: 'workers',
      replicationFactor: 3,
      partitions: 4,
    });
  });

  it('accepts replicationFactor -1 (every broker)', () => {
    expect(create({ replicationFactor: -1 }).replicationFactor).toBe(-1);
  });

  it('maps retention limits to NullableInt64 wrappers (bigint), ages in ms', () => {
    const req = create({ retention: { maxBytes: 1_048_576, maxMessages: 10n, maxAgeMs: 3_600_000 } });
    expect(req.retentionMaxBytes).toStrictEqual({ value: 1_048_576n });
    expect(req.retentionMaxMessages).toStrictEqual({ value: 10n });
    expect(req.retentionMaxAge).toStrictEqual({ value: 3_600_000n });
  });

  it('sets only the retention wrappers that were given', () => {
    const req = create({ retention: { maxMessages: 5 } });
    expect(req.retentionMaxMessages).toStrictEqual({ value: 5n });
    expect('retentionMaxBytes' in req).toBe(false);
    expect('retentionMaxAge' in req).toBe(false);
  });

  it('maps segment limits', () => {
    const req = create({ segment: { maxBytes: 9_007_199_254_740_993n, maxAgeMs: 60_000 } });
    expect(req.segmentMaxBytes).toStrictEqual({ value: 9_007_199_254_740_993n });
    expect(req.segmentMaxAge).toStrictEqual({ value: 60_000n });
  });

  it('rounds fractional milliseconds', () => {
    expect(create({ retention: { maxAgeMs: 1.6 } }).retentionMaxAge).toStrictEqual({ value: 2n });
  });

  it('maps cleanerIntervalMs, compaction, autoPause, minIsr, optimistic concurrency and encryption', () => {
    const req = create({
      cleanerIntervalMs: 30_000,
      compaction: { enabled: true, maxGoroutines: 4 },
      autoPause: { timeMs: 0, disableIfSubscribers: true },
      minIsr: 2,
      optimisticConcurrencyControl: true,
      encryption: false,
    });
    expect(req).toStrictEqual({
      subject: 'orders',
      name: 'orders',
      group: '',
      replicationFactor: 0,
      partitions: 1,
      cleanerInterval: { value: 30_000n },
      compactEnabled: { value: true },
      compactMaxGoroutines: { value: 4 },
      autoPauseTime: { value: 0n },
      autoPauseDisableIfSubscribers: { value: true },
      minIsr: { value: 2 },
      optimisticConcurrencyControl: { value: true },
      encryption: { value: false },
    });
  });

  it('keeps false booleans as explicit wrappers (unset differs from false)', () => {
    const req = create({ compaction: { enabled: false }, optimisticConcurrencyControl: false });
    expect(req.compactEnabled).toStrictEqual({ value: false });
    expect(req.optimisticConcurrencyControl).toStrictEqual({ value: false });
    expect('compactMaxGoroutines' in req).toBe(false);
    expect('encryption' in req).toBe(false);
  });

  it('empty nested option objects add no wrappers', () => {
    const req = create({ retention: {}, segment: {}, compaction: {}, autoPause: {} });
    expect(Object.keys(req).sort()).toEqual(['group', 'name', 'partitions', 'replicationFactor', 'subject']);
  });

  it.each([['orders'], ['orders-1_a.b'], ['A'], ['a'.repeat(249)]])('accepts the stream name %s', (name) => {
    expect(toCreateStreamRequest({ name }).name).toBe(name);
  });

  it.each([[''], ['a b'], ['a/b'], ['a\\b'], ['__x'], ['..'], ['.'], ['a$b'], ['a\tb'], ['a'.repeat(250)], [42], [undefined], [null]])(
    'rejects the stream name %o with field "name"',
    (name) => {
      expect(invalidField(() => toCreateStreamRequest({ name } as unknown as CreateStreamOptions))).toBe('name');
    },
  );

  it.each([['orders.eu'], ['orders.*'], ['orders.>'], ['a']])('accepts the subject %s', (subject) => {
    expect(create({ subject }).subject).toBe(subject);
  });

  it.each([['a..b'], ['.a'], ['a.'], ['a b'], [''], ['.'], [7]])('rejects the subject %o with field "subject"', (subject) => {
    expect(invalidField(() => create({ subject }))).toBe('subject');
  });

  it.each([
    [{ partitions: 0 }, 'partitions'],
    [{ partitions: -1 }, 'partitions'],
    [{ partitions: 1.5 }, 'partitions'],
    [{ partitions: '2' }, 'partitions'],
    [{ partitions: 100_001 }, 'partitions'],
    [{ replicationFactor: 0 }, 'replicationFactor'],
    [{ replicationFactor: -2 }, 'replicationFactor'],
    [{ replicationFactor: 2.5 }, 'replicationFactor'],
    [{ group: 'a b' }, 'group'],
    [{ group: 3 }, 'group'],
    [{ retention: { maxBytes: -1 } }, 'retention.maxBytes'],
    [{ retention: { maxBytes: -1n } }, 'retention.maxBytes'],
    [{ retention: { maxMessages: 1.5 } }, 'retention.maxMessages'],
    [{ retention: { maxAgeMs: -1 } }, 'retention.maxAgeMs'],
    [{ retention: { maxAge: 1 } }, 'retention.maxAge'],
    [{ retention: 5 }, 'retention'],
    [{ segment: { maxBytes: 'big' } }, 'segment.maxBytes'],
    [{ segment: { maxAgeMs: Number.POSITIVE_INFINITY } }, 'segment.maxAgeMs'],
    [{ segment: { maxMessages: 1 } }, 'segment.maxMessages'],
    [{ cleanerIntervalMs: 0 }, 'cleanerIntervalMs'],
    [{ cleanerIntervalMs: -5 }, 'cleanerIntervalMs'],
    [{ compaction: { enabled: 'yes' } }, 'compaction.enabled'],
    [{ compaction: { maxGoroutines: 0 } }, 'compaction.maxGoroutines'],
    [{ compaction: { on: true } }, 'compaction.on'],
    [{ autoPause: { timeMs: -1 } }, 'autoPause.timeMs'],
    [{ autoPause: { disableIfSubscribers: 1 } }, 'autoPause.disableIfSubscribers'],
    [{ minIsr: 0 }, 'minIsr'],
    [{ optimisticConcurrencyControl: 'true' }, 'optimisticConcurrencyControl'],
    [{ encryption: 1 }, 'encryption'],
    [{ partition: 2 }, 'partition'],
    [{ replicas: 3 }, 'replicas'],
  ])('rejects %o naming %s', (extra, field) => {
    expect(invalidField(() => create(extra))).toBe(field);
  });

  it('rejects a non-object', () => {
    expect(invalidField(() => toCreateStreamRequest(null as never))).toBe('options');
    expect(invalidField(() => toCreateStreamRequest('orders' as never))).toBe('options');
  });
});

describe('toPartitionList', () => {
  it('treats undefined as every partition (empty list)', () => {
    expect(toPartitionList('partitions', undefined)).toEqual([]);
  });

  it('returns the validated list', () => {
    expect(toPartitionList('partitions', [0, 3, 2_147_483_647])).toEqual([0, 3, 2_147_483_647]);
  });

  it.each([
    ['p', 'options.partitions'],
    [3, 'options.partitions'],
    [[-1], 'options.partitions[0]'],
    [[0, 1.5], 'options.partitions[1]'],
    [[0, '1'], 'options.partitions[1]'],
    [[2_147_483_648], 'options.partitions[0]'],
  ])('rejects %o naming %s', (value, field) => {
    expect(invalidField(() => toPartitionList('options.partitions', value))).toBe(field);
  });
});
