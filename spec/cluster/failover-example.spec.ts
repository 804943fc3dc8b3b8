/**
 * examples/reliability/failover.ts (the kombu scenario) run as a user runs it, on a 3-node
 * cluster whose partition leader the suite kills while the example publishes and consumes.
 */
import { describe, expect, it } from 'vitest';
import { useCluster } from '../support/broker.js';
import { runExample } from '../support/run-example.js';

const cluster = useCluster({ size: 3 });

describe('examples/reliability/failover.ts', () => {
  it('fails over from a dead address with both strategies, stops at the retry limit, and survives the leader being killed', async () => {
    const run = runExample('examples/reliability/failover.ts', {
      LIFTBRIDGE_BROKERS: cluster.addresses.join(','),
      FAILOVER_MESSAGES: '2000',
      FAILOVER_RATE: '400',
    });
    try {
      await run.waitFor(/progress: acked 400\n/, 90_000);
      const leader = /leader of \S+\/0: (\S+)/.exec(run.output())?.[1];
      const index = cluster.addresses.indexOf(leader ?? '');
      expect(index).toBeGreaterThanOrEqual(0);
      await cluster.kill(index);
      expect(await run.exit).toBe(0);
      const out = run.output();
      // 1. each strategy went past the dead first address (round-robin retries it first) to a live broker
      for (const strategy of ['round-robin', 'shuffle']) {
        const answered = new RegExp(`${strategy}: metadata from (\\S+) \\(3 brokers`).exec(out)?.[1];
        expect(cluster.addresses).toContain(answered);
      }
      expect(out).toMatch(/round-robin: CONNECTION \(attempt 1\)/);
      // 2. the retry limit: three callbacks, then the typed error
      expect(out.match(/limited: CONNECTION \(attempt \d\)/g)).toHaveLength(3);
      expect(out).toMatch(/limited: gave up: ConnectionError/);
      // 3. every message published was acked and consumed, under a new leader
      expect(out).toMatch(/OK failover: published 2000, acked 2000, failed 0, received 2000 distinct/);
      const now = /leader of \S+\/0 now: (\S+)/.exec(out)?.[1];
      expect(now).not.toBe(leader);
      expect(cluster.addresses).toContain(now);
    } finally {
      run.child.kill('SIGKILL');
    }
  }, 180_000);
});
