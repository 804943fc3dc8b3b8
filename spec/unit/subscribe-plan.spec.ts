import { describe, expect, it } from 'vitest';
import { StartPosition as WireStart } from '../../src/generated/liftbridge/api.js';
import { toSubscribePlan } from '../../src/subscribe/subscribe.js';
import { StartAt, StopAt } from '../../src/subscribe/types.js';

describe('subscribe plans', () => {
  it('resolve StartAt.ago against the clock given when subscribing, not when planned', () => {
    const plan = toSubscribePlan('s', { startAt: StartAt.ago(1_000) }, () => 5_000);
    expect(plan.request(10_000).startPosition).toBe(WireStart.TIMESTAMP);
    expect(plan.request(10_000).startTimestamp).toBe(9_000n * 1_000_000n);
    expect(plan.request(20_000).startTimestamp).toBe(19_000n * 1_000_000n);
  });

  it('an ago reaching before 1970 starts at timestamp 0', () => {
    const plan = toSubscribePlan('s', { startAt: StartAt.ago(10_000) }, () => 0);
    expect(plan.request(3_000).startTimestamp).toBe(0n);
  });

  it('absolute positions do not depend on the clock', () => {
    const plan = toSubscribePlan('s', { startAt: StartAt.time(1_234n), stopAt: StopAt.offset(9n) });
    expect(plan.request(1).startTimestamp).toBe(1_234n);
    expect(plan.request(99_999).startTimestamp).toBe(1_234n);
    expect(plan.request(1).stopOffset).toBe(9n);
  });
});
