import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors/errors.js';
import { byKey, choosePartition, partitionForKey, resolvePartitioner, roundRobinFor } from '../../src/publish/partitioner.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const ctx = (key: string, partitions: number, stream = 's') => ({ stream, key: enc(key), value: new Uint8Array(0), partitions });

describe('key partitioner', () => {
  it('is crc32(key) mod partitions, unsigned; empty key and zero partitions give 0', () => {
    // crc32("a") = 0xe8b7be43 = 3904355907 -> mod 7 = 3904355907 % 7
    expect(partitionForKey(enc('a'), 7)).toBe(3904355907 % 7);
    expect(partitionForKey(enc(''), 5)).toBe(0);
    expect(partitionForKey(enc('anything'), 0)).toBe(0);
    expect(byKey(ctx('a', 7))).toBe(3904355907 % 7);
  });

  it('always returns a partition in range and the same one for the same key', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 1, max: 1000 }), (key, n) => {
        const p = partitionForKey(key, n);
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThan(n);
        expect(partitionForKey(Uint8Array.from(key), n)).toBe(p);
      }),
    );
  });
});

describe('round-robin partitioner', () => {
  it('cycles per stream, with counters per owner', () => {
    const owner = {};
    const rr = roundRobinFor(owner);
    expect([0, 1, 2, 3].map(() => rr(ctx('', 3, 'a')))).toEqual([0, 1, 2, 0]);
    expect(rr(ctx('', 3, 'b'))).toBe(0);
    // the same owner shares counters; another owner starts over
    expect(roundRobinFor(owner)(ctx('', 3, 'a'))).toBe(1);
    expect(roundRobinFor({})(ctx('', 3, 'a'))).toBe(0);
  });
});

describe('partitioner option and custom functions', () => {
  it('accepts key, round-robin and functions, and names the field otherwise', () => {
    expect(resolvePartitioner('options.partitioner', undefined, {})).toBeUndefined();
    expect(resolvePartitioner('options.partitioner', 'key', {})).toBe(byKey);
    expect(typeof resolvePartitioner('options.partitioner', 'round-robin', {})).toBe('function');
    const f = (): number => 0;
    expect(resolvePartitioner('options.partitioner', f, {})).toBe(f);
    const error = (() => {
      try {
        resolvePartitioner('options.partitioner', 'hash', {});
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).field).toBe('options.partitioner');
  });

  it('rejects out-of-range or non-integer answers of a custom partitioner', () => {
    for (const bad of [-1, 3, 1.5, Number.NaN, '1' as unknown as number]) {
      expect(() => choosePartition(() => bad, ctx('k', 3), 'options.partitioner')).toThrow(InvalidArgumentError);
    }
    expect(choosePartition(() => 2, ctx('k', 3), 'options.partitioner')).toBe(2);
  });
});
