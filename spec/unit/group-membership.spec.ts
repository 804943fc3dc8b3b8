import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { partitionKey, planAssignment, startMembership } from '../../src/consume/group-membership.js';

const joined = { coordinator: 'c1', epoch: 10n, consumerTimeoutMs: 2_000, coordinatorTimeoutMs: 2_000 };

describe('group membership epoch rules', () => {
  it('the epoch never goes back, whatever brokers report, and only a newer epoch changes the coordinator', () => {
    const event = fc.record({
      kind: fc.constantFrom('observe' as const, 'accept' as const),
      epoch: fc.bigInt({ min: 0n, max: 40n }),
      coordinator: fc.constantFrom('c1', 'c2', 'c3'),
    });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 60 }), (events) => {
        const m = startMembership(joined);
        let highest = m.epoch();
        for (const e of events) {
          const before = { epoch: m.epoch(), coordinator: m.coordinator() };
          if (e.kind === 'observe') {
            const seen = m.observe(e);
            expect(seen).toBe(e.epoch > before.epoch ? 'newer' : e.epoch === before.epoch ? 'same' : 'older');
            if (seen !== 'newer') expect(m.coordinator()).toBe(before.coordinator);
          } else {
            expect(m.accept(e.epoch)).toBe(e.epoch >= before.epoch);
          }
          expect(m.epoch() >= highest).toBe(true);
          highest = m.epoch();
        }
      }),
    );
  });

  it('plans: revoke what is gone, keep what stays, reissue what stays but ended, add what is new', () => {
    const k = (p: number) => partitionKey('s', p);
    const held = new Map([
      [k(0), { ended: false }],
      [k(1), { ended: true }],
      [k(2), { ended: false }],
    ]);
    expect(planAssignment(held, [k(0), k(1), k(3)])).toEqual({ revoke: [k(2)], keep: [k(0)], reissue: [k(1)], add: [k(3)] });
  });

  it('every held or wanted partition lands in exactly one bucket', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.boolean())), fc.array(fc.integer({ min: 0, max: 9 })), (h, w) => {
        const held = new Map(h.map(([p, ended]) => [partitionKey('s', p), { ended }]));
        const wanted = w.map((p) => partitionKey('s', p));
        const plan = planAssignment(held, wanted);
        const all = [...plan.revoke, ...plan.keep, ...plan.reissue, ...plan.add];
        expect(new Set(all).size).toBe(all.length);
        expect(new Set(all)).toEqual(new Set([...held.keys(), ...wanted]));
        for (const key of [...plan.keep, ...plan.reissue, ...plan.add]) expect(wanted).toContain(key);
      }),
    );
  });
});
