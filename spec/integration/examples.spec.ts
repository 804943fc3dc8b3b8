/**
 * Runs the examples in examples/ against a real broker, as a user would.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useSingleNode } from '../support/broker.js';

const run = promisify(execFile);
const broker = useSingleNode();

async function example(file: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', file], {
    env: { ...process.env, LIFTBRIDGE_BROKERS: broker.address },
    timeout: 110_000,
  });
  return stdout;
}

describe('examples', () => {
  it('demo.ts publishes and reads back', async () => {
    const out = await example('examples/demo.ts');
    expect(out).toMatch(/partition 0 read back: 0:\{"order":0,"total":0\} {2}1:\{"order":2,"total":20\} {2}2:\{"order":4,"total":40\}/);
    expect(out).toMatch(/demo done/);
  });

  it('observability/trace-and-lag.ts: one trace per message, lag while held back and after', async () => {
    const out = await example('examples/observability/trace-and-lag.ts');
    expect(out).toMatch(/held back: lag 5 \(newest offset 4, processed -1\)/);
    expect(out).toMatch(/caught up: lag 0, committed offset 4/);
    expect(out).toMatch(/spans: 5 send, 5 process, 5 process spans in their message's trace/);
    expect(out).toMatch(/metric messaging\.client\.sent\.messages: 5/);
    expect(out).toMatch(/metric messaging\.client\.consumed\.messages: 5/);
  });

  it('subscribing/read-backlog.ts reads every partition', async () => {
    expect(await example('examples/subscribing/read-backlog.ts')).toMatch(/OK read 30 messages: \{ '0': 10, '1': 10, '2': 10 \}/);
  });

  it('consumer-groups/liiklus-recipe.ts processes everything and stores the group position', async () => {
    expect(await example('examples/consumer-groups/liiklus-recipe.ts')).toMatch(/OK processed 2500 records; group position per partition: 1249, 1249/);
  }, 120_000);

  it('consumer-groups/out-of-order.ts commits only contiguous prefixes', async () => {
    const out = await example('examples/consumer-groups/out-of-order.ts');
    const m = /OK (\d+) jobs, (\d+) finished out of order, stored position (\d+), commits past an unfinished job: (\d+)/.exec(out);
    expect(m?.slice(1)).toEqual(['200', expect.any(String), '199', '0']);
    expect(Number(m?.[2])).toBeGreaterThan(0); // the run really was out of order
  });

  it('subscribing/slow-consumer.ts stays within its prefetch', async () => {
    const out = await example('examples/subscribing/slow-consumer.ts');
    const m = /OK processed (\d+) messages; never more than (\d+) unsettled/.exec(out);
    expect(m?.[1]).toBe('200');
    expect(Number(m?.[2])).toBeLessThanOrEqual(8);
    expect(Number(m?.[2])).toBeGreaterThan(0);
  });
});
