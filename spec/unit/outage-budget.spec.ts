/**
 * Properties of the outage budget (src/core/retry-scheduler.ts), the promise of docs/subscribing.md
 * "Outages and the retry budget": retries are numbered 1, 2, 3... within one outage, and a loop
 * that bounds its inner work by remainingMs() ends within totalTimeoutMs of the outage's start.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClusterMetadata, type PartitionInfo } from '../../src/metadata/cluster-metadata.js';
import { judgeMissing } from '../../src/metadata/confirm-missing.js';
import { outageBudget } from '../../src/core/retry-scheduler.js';

const policyArb = fc.record({
  maxRetries: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constant(Infinity)),
  totalTimeoutMs: fc.oneof(fc.integer({ min: 1, max: 120_000 }), fc.constant(Infinity)),
  initialDelayMs: fc.integer({ min: 0, max: 2_000 }),
  maxDelayMs: fc.integer({ min: 2_000, max: 10_000 }),
  multiplier: fc.double({ min: 1, max: 3, noNaN: true }),
  jitter: fc.double({ min: 0, max: 1, noNaN: true }),
});

describe('outage budget (property)', () => {
  it('a retry loop whose inner work is bounded by remainingMs() ends within totalTimeoutMs; attempts count 1, 2, 3 within an outage', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.array(fc.integer({ min: 0, max: 60_000 }), { minLength: 1, maxLength: 200 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        (policy, innerDurations, r) => {
          let now = 0;
          const budget = outageBudget(
            policy,
            () => now,
            () => r,
          );
          budget.begin();
          const start = now;
          const attempts: number[] = [];
          for (const inner of innerDurations) {
            // A lookup or a call's setup: as long as it takes, but never beyond the budget.
            now += Math.min(inner, budget.remainingMs());
            const next = budget.failed();
            if (next.kind === 'exhausted') {
              expect(now - start).toBeLessThanOrEqual(policy.totalTimeoutMs);
              expect(next.retries).toBe(attempts.length);
              break;
            }
            attempts.push(next.attempt);
            now += next.delayMs;
            expect(now - start).toBeLessThan(policy.totalTimeoutMs);
            expect(next.attempt).toBeLessThanOrEqual(policy.maxRetries);
          }
          expect(attempts).toEqual(attempts.map((_, i) => i + 1));
        },
      ),
    );
  });

  it('recovered() ends the outage: the next failure starts at attempt 1 with a full budget', () => {
    fc.assert(
      fc.property(policyArb, fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 100_000 }), (policy, failures, gap) => {
        let now = 0;
        const budget = outageBudget(
          { ...policy, maxRetries: Infinity, totalTimeoutMs: Infinity },
          () => now,
          () => 0,
        );
        for (let i = 0; i < failures; i++) budget.failed();
        budget.recovered();
        expect(budget.active).toBe(false);
        expect(budget.remainingMs()).toBe(Infinity);
        now += gap;
        const next = budget.failed();
        expect(next.kind === 'retry' && next.attempt).toBe(1);
      }),
    );
  });
});

describe('judgeMissing (property)', () => {
  const names = ['a', 'b', 'c', 'orders'];
  const viewArb = fc.record({ streams: fc.subarray(names), source: fc.constantFrom('x:1', 'y:1', 'z:1'), at: fc.integer({ min: 0, max: 1000 }) }).map(
    ({ streams, source, at }) =>
      new ClusterMetadata(
        [],
        streams.map((name) => ({ name, subject: name, creationTimestampNs: 0n, partitions: [{ stream: name, id: 0 } as unknown as PartitionInfo] })),
        new Date(at),
        source,
      ),
  );

  it('exists iff some view lists it; missing only with a majority of answers, none listing it, one listing something', () => {
    fc.assert(
      fc.property(fc.array(viewArb, { maxLength: 5 }), fc.integer({ min: 1, max: 5 }), (views, known) => {
        const v = judgeMissing(views, known, 'orders', 0);
        const listed = views.some((m) => m.stream('orders') !== undefined);
        expect(v.kind === 'exists').toBe(listed);
        if (v.kind === 'missing') {
          expect(views.length).toBeGreaterThanOrEqual(Math.floor(known / 2) + 1);
          expect(views.some((m) => m.streams.length > 0)).toBe(true);
        }
      }),
    );
  });
});
