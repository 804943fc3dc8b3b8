/**
 * CopyLedger (src/publish/copy-ledger.ts) against a plain model: a list of copy records. A message
 * is tracked from its first timeout on a live call until it is dropped; while tracked, every copy
 * sent counts until it is answered, reported unsent, or its call ends. `answered()` returns the
 * copies still out; an untracked message always has none (so the hot path never pays for it).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CopyLedger } from '../../src/publish/copy-ledger.js';

type Op =
  | { readonly op: 'timedOut' | 'sent' | 'unsent' | 'answered'; readonly e: number; readonly l: number }
  | { readonly op: 'laneGone'; readonly l: number }
  | { readonly op: 'drop'; readonly e: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constantFrom('timedOut' as const, 'sent' as const, 'unsent' as const, 'answered' as const), e: fc.nat(2), l: fc.nat(2) }),
  fc.record({ op: fc.constant('laneGone' as const), l: fc.nat(2) }),
  fc.record({ op: fc.constant('drop' as const), e: fc.nat(2) }),
);

describe('CopyLedger', () => {
  it('counts the copies still out of tracked messages, like a list of copy records', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
        const entries = [{}, {}, {}];
        const lanes = [{}, {}, {}];
        const ledger = new CopyLedger<object, object>();
        const tracked = new Set<number>();
        let copies: { e: number; l: number }[] = [];
        const removeOne = (e: number, l: number): void => {
          const i = copies.findIndex((c) => c.e === e && c.l === l);
          if (i >= 0) copies.splice(i, 1);
        };
        for (const o of ops) {
          switch (o.op) {
            case 'timedOut':
              ledger.timedOut(entries[o.e]!, lanes[o.l]!);
              if (!tracked.has(o.e)) {
                tracked.add(o.e);
                copies.push({ e: o.e, l: o.l });
              }
              break;
            case 'sent':
              ledger.sent(entries[o.e]!, lanes[o.l]!);
              if (tracked.has(o.e)) copies.push({ e: o.e, l: o.l });
              break;
            case 'unsent':
              ledger.unsent(entries[o.e]!, lanes[o.l]!);
              removeOne(o.e, o.l);
              break;
            case 'answered': {
              const got = ledger.answered(entries[o.e]!, lanes[o.l]!);
              removeOne(o.e, o.l);
              expect(got).toBe(copies.filter((c) => c.e === o.e).length);
              if (!tracked.has(o.e)) expect(got).toBe(0);
              break;
            }
            case 'laneGone':
              ledger.laneGone(lanes[o.l]!);
              copies = copies.filter((c) => c.l !== o.l);
              break;
            case 'drop':
              ledger.drop(entries[o.e]!);
              tracked.delete(o.e);
              copies = copies.filter((c) => c.e !== o.e);
              break;
          }
          expect(ledger.tracked).toBe(tracked.size);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a message whose deadline never passed is not tracked: sends and answers cost nothing', () => {
    const ledger = new CopyLedger<object, object>();
    const e = {};
    const l = {};
    ledger.sent(e, l);
    ledger.sent(e, l);
    expect(ledger.answered(e, l)).toBe(0);
    expect(ledger.tracked).toBe(0);
  });
});
