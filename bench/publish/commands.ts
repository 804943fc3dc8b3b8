/**
 * The command of one publish run, ours (bench/publish/publish-child.ts, bundled) or go-liftbridge's
 * (tools/go-compare `bench`), shared by run.ts and scaling.ts.
 */
import { type Pinning, pinned, type prepareChild } from '../subscribe/common.js';

export interface PublishRun {
  /** Broker addresses, comma-separated (ours starts from the first and finds the rest). */
  readonly brokers: string;
  readonly stream: string;
  readonly window: number;
  readonly count: number;
  readonly size: number;
  /** Message i goes to partition i % partitions (default 1). */
  readonly partitions?: number;
  /** Our transport (default the SDK's). */
  readonly transport?: string;
}

export function publishCommand(
  pin: Pinning,
  client: 'rx-liftbridge' | 'go-liftbridge',
  ours: ReturnType<typeof prepareChild>,
  go: string,
  r: PublishRun,
): [string, string[]] {
  const partitions = r.partitions ?? 1;
  if (client === 'rx-liftbridge') {
    return ours(pin, [r.brokers.split(',')[0]!, r.stream, String(r.window), String(r.count), String(r.size), r.transport ?? '', String(partitions)]);
  }
  const args = ['bench', '-brokers', r.brokers, '-stream', r.stream, '-window', String(r.window), '-count', String(r.count), '-size', String(r.size)];
  return pinned(pin, go, partitions === 1 ? args : [...args, '-partitions', String(partitions)]);
}
