/**
 * The chaos suite's reading of replica divergence from broker debug logs (spec/chaos/replica-divergence.ts),
 * on the lines a real v1.9.0 run logged when an acked message was lost (seed 84080011, partition 3).
 */
import { describe, expect, it } from 'vitest';
import { divergenceAt, epochStarts } from '../chaos/replica-divergence.js';

const S = 'chaos-84080011-mx1pa1vv-b072db02';
const line = (epoch: number, offset: number, partition = 3, stream = S): string =>
  `time="2026-11-29 10:33:57" level=debug msg="Updated log leader epoch. New: {epoch:${epoch}, offset:${offset}}, Previous: {epoch:279, offset:3755} for log [subject=${stream}, stream=${stream}, partition=${partition}]. Cache now contains 4 entries."`;

const logs = new Map([
  ['n1', [line(279, 3755), line(365, 4523), 'time="x" level=debug msg="api: PublishAsync [stream=x, partition=3]"'].join('\n')],
  ['n2', [line(279, 3755), line(365, 4521), line(365, 9, 4)].join('\n')],
  ['n3', [line(279, 3755), line(365, 4522), line(365, 4400, 3, 'other-stream')].join('\n')],
]);

describe('replica divergence in broker logs', () => {
  it("collects each broker's start offset per leader epoch of one partition (other partitions and streams ignored)", () => {
    const starts = epochStarts(logs, S, 3);
    expect([...starts.get(365)!]).toEqual([
      ['n1', 4523n],
      ['n2', 4521n],
      ['n3', 4522n],
    ]);
    expect([...starts.get(279)!.values()]).toEqual([3755n, 3755n, 3755n]);
  });

  it('explains an offset between the lowest and highest start of one epoch, and nothing else', () => {
    expect(divergenceAt(logs, S, 3, 4522n)).toMatch(/leader epoch 365 of partition 3 .*n1 at 4523, n2 at 4521, n3 at 4522/);
    expect(divergenceAt(logs, S, 3, 4521n)).toBeDefined();
    expect(divergenceAt(logs, S, 3, 4523n)).toBeUndefined();
    expect(divergenceAt(logs, S, 3, 3755n)).toBeUndefined();
    expect(divergenceAt(logs, S, 4, 4522n)).toBeUndefined();
  });
});
