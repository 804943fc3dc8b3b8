/**
 * The publishing examples of docs/publishing.md run against a real broker (they are type-checked by
 * `tsc -p tsconfig.json`, which includes examples/).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, useSingleNode } from '../support/broker.js';

const run = promisify(execFile);
const broker = useSingleNode();

async function example(name: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', `examples/publishing/${name}.ts`], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, LIFTBRIDGE_BROKERS: broker.address, LIFTBRIDGE_NATS: `127.0.0.1:${broker.natsPort}` },
    timeout: 60_000,
  });
  return stdout;
}

describe('examples/publishing', () => {
  it('publish-one.ts', async () => {
    const out = await example('publish-one');
    expect(out).toMatch(/stored on partition \d at offset 0/);
    expect(out).toMatch(/committed at 1/);
    expect(out).toMatch(/refused a stale write: INCORRECT_OFFSET/);
  });

  it('pipelined.ts', async () => {
    const out = await example('pipelined');
    expect(out).toMatch(/10000 events acknowledged/);
    expect(out).toMatch(/6 stored, 3 refused/);
  });

  it('bulk.ts (the gufo bulk-publishing scenario)', async () => {
    const out = await example('bulk');
    expect(out).toMatch(/10 acks/);
    expect(out).toMatch(/offset: 9n/);
  });

  it('many.ts (getting started: publish many, default key partitioning, acks as JSON)', async () => {
    const out = await example('many');
    expect(out).toMatch(/pulled: 100000 acks/);
    expect(out).toMatch(/pushed: BUFFER_OVERFLOW \(.*synchronously/);
    expect(out).toMatch(/pushed with maxBuffered 100000: 100000 acks/);
    const [, got, go] = /customer-7 went to partition (\d) \(go-liftbridge: (\d)\)/.exec(out) ?? [];
    expect(got).toBeDefined();
    expect(got).toBe(go);
    expect(out).toMatch(/as JSON: \{"stream":"orders-\d+","partition":\d,"offset":"\d+",/);
  });

  it('nats-interop.ts', async () => {
    const out = await example('nats-interop');
    expect(out).toMatch(/NATS publisher got ack for reading-1 at offset 0/);
    expect(out).toMatch(/offset 1: key=sensor-1 value=22.0 unit=celsius/);
  });
});
