/**
 * PipelineBudget against a model: after any sequence of the pipeline's calls (take, accept, queue,
 * unqueue, first send, settle), its counts are exactly what the inputs' states say — `inFlight`
 * the inputs taken and not emitted, `unsent` the accepted ones that never reached a lane and are
 * not settled, and credit given exactly while both bounds (maxInFlight, maxQueuedBytes over the
 * inputs' queued bytes) hold. Nothing goes negative, whatever the order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/publish/in-flight-entry.js';
import { PipelineBudget } from '../../src/publish/pipeline-budget.js';

interface Input {
  readonly entry: Entry;
  accepted: boolean;
  settled: boolean;
}

const op = fc.oneof(
  fc.record({ kind: fc.constant('take' as const), bound: fc.integer({ min: 1, max: 400 }) }),
  fc.record({ kind: fc.constantFrom('accept' as const, 'unqueue' as const, 'sent' as const, 'settle' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('queue' as const), at: fc.nat(), bytes: fc.integer({ min: 1, max: 400 }) }),
);

describe('PipelineBudget', () => {
  it('its counts always match the inputs it was told about, and it gives credit exactly within both bounds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 1000 }), fc.array(op, { maxLength: 80 }), (maxInFlight, maxQueuedBytes, ops) => {
        const budget = new PipelineBudget(maxInFlight, maxQueuedBytes);
        const inputs: Input[] = [];
        const live = (at: number): Input | undefined => {
          const open = inputs.filter((i) => !i.settled);
          return open.length === 0 ? undefined : open[at % open.length];
        };
        const apply = (o: (typeof ops)[number]): void => {
          if (o.kind === 'take') {
            const entry = { queuedBytes: 0, sentOnce: false, framedSizeBound: () => o.bound } as unknown as Entry;
            inputs.push({ entry, accepted: false, settled: false });
            budget.taken();
            return;
          }
          const i = live(o.at);
          if (i === undefined) return;
          if (o.kind === 'accept' && !i.accepted) {
            i.accepted = true;
            budget.accepted(i.entry);
          } else if (o.kind === 'queue' && i.accepted) budget.queue(i.entry, o.bytes);
          else if (o.kind === 'unqueue') budget.unqueue(i.entry);
          else if (o.kind === 'sent' && i.accepted) budget.sent(i.entry);
          else if (o.kind === 'settle') {
            // As the pipeline settles an input: its bytes leave the queue; one never sent stops
            // counting as unsent (an invalid input, never accepted, never counted).
            budget.unqueue(i.entry);
            if (i.accepted) budget.neverSent(i.entry);
            budget.emitted();
            i.settled = true;
          }
        };
        for (const o of ops) {
          apply(o);
          const open = inputs.filter((x) => !x.settled);
          const queued = open.reduce((sum, x) => sum + x.entry.queuedBytes, 0);
          expect(budget.inFlight).toBe(open.length);
          expect(budget.unsent).toBe(open.filter((x) => x.accepted && !x.entry.sentOnce).length);
          expect(budget.hasCredit).toBe(open.length < maxInFlight && queued < maxQueuedBytes);
          // Nothing negative; a settled input holds no queued bytes.
          for (const x of inputs) expect(x.entry.queuedBytes).toBeGreaterThanOrEqual(0);
          for (const x of inputs.filter((y) => y.settled)) expect(x.entry.queuedBytes).toBe(0);
        }
      }),
    );
  });
});
