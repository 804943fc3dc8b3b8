import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors/errors.js';
import { BrokerHealth, QUARANTINE_MS } from '../../src/core/broker-health.js';
import { BrokerSelector } from '../../src/core/broker-selector.js';
import { resolveFailover, roundRobin, shuffle, type FailoverFunction } from '../../src/retry/failover.js';

function take<T>(iterable: Iterable<T>, n: number): T[] {
  const out: T[] = [];
  if (n <= 0) return out;
  for (const v of iterable) {
    out.push(v);
    if (out.length >= n) break;
  }
  return out;
}

/** Small deterministic PRNG in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const addressArb = fc.tuple(fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/), fc.integer({ min: 1, max: 65_535 })).map(([h, p]) => `${h}:${p}`);
const addressListArb = fc.uniqueArray(addressArb, { minLength: 1, maxLength: 8 });

describe('roundRobin', () => {
  it('cycles through the addresses in the given order, forever', () => {
    expect(take(roundRobin(['a:1', 'b:1', 'c:1']), 7)).toEqual(['a:1', 'b:1', 'c:1', 'a:1', 'b:1', 'c:1', 'a:1']);
  });

  it('yields nothing for an empty list', () => {
    expect([...roundRobin([])]).toEqual([]);
  });

  it('property: each pass yields every address exactly once, in order', () => {
    fc.assert(
      fc.property(addressListArb, fc.integer({ min: 1, max: 4 }), (addresses, passes) => {
        const seq = take(roundRobin(addresses), addresses.length * passes);
        for (let p = 0; p < passes; p++) {
          expect(seq.slice(p * addresses.length, (p + 1) * addresses.length)).toEqual(addresses);
        }
      }),
    );
  });
});

describe('shuffle', () => {
  it('yields nothing for an empty list', () => {
    expect([...shuffle(() => 0.5)([])]).toEqual([]);
  });

  it('is a Fisher-Yates shuffle driven by the random source', () => {
    // random() = 0 swaps each position i (from the end) with 0.
    expect(take(shuffle(() => 0)(['a', 'b', 'c']), 3)).toEqual(['b', 'c', 'a']);
    // random() close to 1 swaps each position with itself: identity.
    expect(take(shuffle(() => 0.999_999)(['a', 'b', 'c']), 3)).toEqual(['a', 'b', 'c']);
  });

  it('draws a new permutation on every pass', () => {
    const values = [0, 0, 0.999_999, 0.999_999];
    let i = 0;
    const random = (): number => values[i++ % values.length] as number;
    const seq = take(shuffle(random)(['a', 'b', 'c']), 6);
    expect(seq.slice(0, 3)).toEqual(['b', 'c', 'a']);
    expect(seq.slice(3, 6)).toEqual(['a', 'b', 'c']);
  });

  it('does not modify the input list', () => {
    const list = ['a', 'b', 'c', 'd'];
    take(shuffle(() => 0)(list), 12);
    expect(list).toEqual(['a', 'b', 'c', 'd']);
  });

  it('property: each pass is a permutation of the addresses', () => {
    fc.assert(
      fc.property(addressListArb, fc.integer(), fc.integer({ min: 1, max: 4 }), (addresses, seed, passes) => {
        const seq = take(shuffle(mulberry32(seed))(addresses), addresses.length * passes);
        expect(seq).toHaveLength(addresses.length * passes);
        const sorted = [...addresses].sort();
        for (let p = 0; p < passes; p++) {
          expect(seq.slice(p * addresses.length, (p + 1) * addresses.length).sort()).toEqual(sorted);
        }
      }),
    );
  });
});

describe('resolveFailover', () => {
  it("maps undefined and 'round-robin' to roundRobin", () => {
    expect(resolveFailover(undefined)).toBe(roundRobin);
    expect(resolveFailover('round-robin')).toBe(roundRobin);
  });

  it("maps 'shuffle' to a shuffle driven by the given random source", () => {
    const f = resolveFailover('shuffle', () => 0);
    expect(f).not.toBe(roundRobin);
    expect(take(f(['a', 'b', 'c']), 3)).toEqual(['b', 'c', 'a']);
  });

  it('passes a custom function through', () => {
    const custom: FailoverFunction = (a) => [...a].reverse();
    expect(resolveFailover(custom)).toBe(custom);
  });

  it.each([['random'], ['roundrobin'], [42], [null], [{}]])('rejects %o with field "failover"', (value) => {
    expect(() => resolveFailover(value)).toThrow(InvalidArgumentError);
    try {
      resolveFailover(value);
    } catch (e) {
      expect((e as InvalidArgumentError).field).toBe('failover');
    }
  });
});

describe('BrokerSelector', () => {
  it('starts at the first address the strategy names and sticks to it', () => {
    const s = new BrokerSelector(['a:1', 'b:1', 'c:1'], roundRobin);
    expect(s.current()).toBe('a:1');
    expect(s.current()).toBe('a:1');
    expect(s.addresses()).toEqual(['a:1', 'b:1', 'c:1']);
  });

  it('moves to the next address when the current one fails, wrapping around', () => {
    const s = new BrokerSelector(['a:1', 'b:1', 'c:1'], roundRobin);
    expect(s.current()).toBe('a:1');
    expect(s.failed('a:1')).toBe('b:1');
    expect(s.current()).toBe('b:1');
    expect(s.failed('b:1')).toBe('c:1');
    expect(s.failed('c:1')).toBe('a:1');
  });

  it('ignores a failure of an address that is no longer current', () => {
    const s = new BrokerSelector(['a:1', 'b:1', 'c:1'], roundRobin);
    s.current();
    s.failed('a:1'); // now b
    expect(s.failed('a:1')).toBe('b:1'); // a late report about a
    expect(s.current()).toBe('b:1');
  });

  it('stays on the only address there is', () => {
    const s = new BrokerSelector(['a:1'], roundRobin);
    expect(s.failed('a:1')).toBe('a:1');
    expect(s.failed('a:1')).toBe('a:1');
  });

  it('skips the failed address when the strategy names it next', () => {
    // A strategy that names the same broker twice in a row.
    const s = new BrokerSelector(['a:1', 'b:1'], function* () {
      for (;;) yield* ['a:1', 'a:1', 'b:1'];
    });
    expect(s.current()).toBe('a:1');
    expect(s.failed('a:1')).toBe('b:1');
  });

  it('restarts a finite strategy when it runs out', () => {
    const s = new BrokerSelector(['a:1', 'b:1'], (a) => a);
    expect(s.current()).toBe('a:1');
    expect(s.failed('a:1')).toBe('b:1');
    expect(s.failed('b:1')).toBe('a:1');
  });

  it('falls back to the first candidate when the strategy yields nothing', () => {
    const s = new BrokerSelector(['a:1', 'b:1'], () => []);
    expect(s.current()).toBe('a:1');
  });

  it('rejects a strategy that yields something other than an address', () => {
    const s = new BrokerSelector(['a:1'], () => [''] as string[]);
    expect(() => s.current()).toThrow(InvalidArgumentError);
    const t = new BrokerSelector(['a:1'], () => [42] as unknown as string[]);
    expect(() => t.current()).toThrow(/failover function yielded 42/);
  });

  it('fails with InvalidArgumentError "brokers" when there are no candidates', () => {
    const s = new BrokerSelector([], roundRobin);
    try {
      s.current();
      expect.unreachable('current() should throw');
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidArgumentError);
      expect((e as InvalidArgumentError).field).toBe('brokers');
    }
  });

  it('setCandidates keeps the current broker when still listed and de-duplicates', () => {
    const s = new BrokerSelector(['a:1', 'b:1'], roundRobin);
    s.current();
    s.failed('a:1'); // b
    s.setCandidates(['a:1', 'b:1', 'b:1', 'c:1']);
    expect(s.addresses()).toEqual(['a:1', 'b:1', 'c:1']);
    expect(s.current()).toBe('b:1');
  });

  it('setCandidates drops the current broker when it is no longer listed', () => {
    const s = new BrokerSelector(['a:1', 'b:1'], roundRobin);
    expect(s.current()).toBe('a:1');
    s.setCandidates(['c:1', 'd:1']);
    expect(s.current()).toBe('c:1');
    expect(s.failed('c:1')).toBe('d:1');
  });

  it('setCandidates with the same list keeps the strategy position', () => {
    const s = new BrokerSelector(['a:1', 'b:1', 'c:1'], roundRobin);
    s.current();
    s.failed('a:1'); // b, iterator positioned after b
    s.setCandidates(['a:1', 'b:1', 'c:1']);
    expect(s.failed('b:1')).toBe('c:1');
  });

  it('property: failing the current broker repeatedly visits every broker once per pass (round-robin)', () => {
    fc.assert(
      fc.property(addressListArb, (addresses) => {
        const s = new BrokerSelector(addresses, roundRobin);
        const visited = [s.current()];
        for (let i = 1; i < addresses.length * 2; i++) visited.push(s.failed(s.current()));
        expect(visited).toEqual([...addresses, ...addresses]);
      }),
    );
  });

  it('property: with shuffle, consecutive brokers differ when there are several, and every broker is reachable', () => {
    fc.assert(
      fc.property(fc.uniqueArray(addressArb, { minLength: 2, maxLength: 6 }), fc.integer(), (addresses, seed) => {
        const s = new BrokerSelector(addresses, shuffle(mulberry32(seed)));
        const visited = [s.current()];
        for (let i = 1; i < addresses.length * 6; i++) {
          const prev = visited[visited.length - 1] as string;
          const next = s.failed(prev);
          expect(next).not.toBe(prev);
          expect(addresses).toContain(next);
          visited.push(next);
        }
      }),
    );
  });

  it("shares the client's broker health: moving on, it passes over quarantined brokers until the quarantine ends", () => {
    const health = new BrokerHealth();
    let now = 1_000;
    const s = new BrokerSelector(['a:1', 'b:1', 'c:1'], roundRobin, health, () => now);
    expect(s.current()).toBe('a:1');
    health.failed('b:1', now); // a publisher's call to b broke
    expect(s.failed('a:1')).toBe('c:1');
    now += QUARANTINE_MS;
    expect(s.failed('c:1')).toBe('a:1');
    expect(s.failed('a:1')).toBe('b:1');
  });

  it('with every other broker in quarantine, it still moves on (to the first the strategy names)', () => {
    const health = new BrokerHealth();
    const s = new BrokerSelector(['a:1', 'b:1', 'c:1'], roundRobin, health, () => 0);
    expect(s.current()).toBe('a:1');
    health.failed('b:1', 0);
    health.failed('c:1', 0);
    expect(s.failed('a:1')).toBe('b:1');
    health.failed('a:1', 0);
    health.answered('c:1'); // c answered a publisher meanwhile
    expect(s.failed('b:1')).toBe('c:1');
  });
});
