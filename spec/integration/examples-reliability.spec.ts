/**
 * The reliability examples, run as a user runs them, while the suite breaks the broker under them:
 * the reliable client across a broker restart (examples/reliability/reliable-client.ts). The
 * failover example runs on a cluster in spec/cluster/failover-example.spec.ts.
 */
import { describe, expect, it } from 'vitest';
import { useSingleNode } from '../support/broker.js';
import { runExample } from '../support/run-example.js';

const broker = useSingleNode();

describe('examples/reliability', () => {
  it('reliable-client.ts: producer and consumer survive a broker restart by themselves; every message arrives', async () => {
    const run = runExample('examples/reliability/reliable-client.ts', {
      LIFTBRIDGE_BROKERS: broker.address,
      RELIABLE_MESSAGES: '3000',
      RELIABLE_RATE: '500',
    });
    try {
      await run.waitFor(/progress: acked 500\n/);
      await broker.restart(); // graceful stop (SIGINT), then a new process on the same port and data
      expect(await run.exit).toBe(0);
      const out = run.output();
      expect(out).toMatch(/OK reliable: published 3000, acked 3000, failed 0, received 3000 distinct/);
      // It noticed the restart and says so, through status$ only.
      expect(out).toMatch(/producer: (disconnected from|reconnecting \()/);
      expect(out).toMatch(/consumer: (resubscribed to|reconnecting \()/);
    } finally {
      run.child.kill('SIGKILL');
    }
  }, 150_000);
});
