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
  it('demo.ts runs the live pipeline: everything published is consumed and committed', async () => {
    const out = await example('examples/demo.ts');
    const m = /summary: published (\d+) messages in \d+ s \(\d+ msg\/s\); the group consumed (\d+)/.exec(out);
    expect(Number(m?.[1])).toBeGreaterThan(0);
    expect(Number(m?.[2])).toBeGreaterThanOrEqual(Number(m?.[1])); // at least once
    const committed = /committed positions: (.*)/
      .exec(out)?.[1]
      ?.split(' ')
      .map((c) => Number(c.split('=')[1]));
    expect(committed).toHaveLength(4);
    // Round-robin over 4 partitions: each holds a quarter (+-1); the group committed its newest offset.
    for (const c of committed ?? []) expect(Math.abs(c + 1 - Number(m?.[1]) / 4)).toBeLessThanOrEqual(1);
    expect(Math.max(...out.split('\n').map((l) => l.length))).toBeLessThanOrEqual(100);
    expect(out).toMatch(/demo done/);
  }, 120_000);

  it('basics/python-liftbridge-basics.ts reads from every start position', async () => {
    const out = await example('examples/basics/python-liftbridge-basics.ts');
    expect(out).toContain('earliest: a=1 b=2 c=3 d=4 e=5\nlatest:   e=5\noffset 3: d=4 e=5\ntime:     d=4 e=5\nago 1 h:  a=1 b=2 c=3 d=4 e=5\n');
    expect(out).toMatch(/new only: new-\d+\nOK basics/);
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
