/**
 * Partitioners: by key (CRC-32 IEEE of the key, unsigned, modulo the partition count; an empty key
 * goes to partition 0 — exactly what go-liftbridge's key partitioner does; the default), round-robin
 * (a per-stream counter per client), or a custom function.
 */
import { InvalidArgumentError } from '../errors/errors.js';
import { describe, requireInteger } from '../internal/validate.js';
import { crc32 } from '../internal/crc32.js';
import type { Partitioner, PartitionerContext, PartitionerFunction } from './types.js';

/**
 * The partition go-liftbridge's key partitioner picks for `key` in a stream of `partitions`
 * partitions: `crc32.ChecksumIEEE(key) % partitions` (0 when the count is 0).
 * @throws {InvalidArgumentError} `key` when it is not a Uint8Array, `partitions` when it is not an
 * integer from 0 to 2^31-1.
 */
export function partitionForKey(key: Uint8Array, partitions: number): number {
  if (!(key instanceof Uint8Array)) throw new InvalidArgumentError('key', `expected a Uint8Array, got ${describe(key)}`);
  requireInteger('partitions', partitions, 0, 2_147_483_647);
  return keyPartition(key, partitions);
}

function keyPartition(key: Uint8Array, partitions: number): number {
  if (partitions <= 0) return 0;
  return crc32(key) % partitions;
}

/** The `'key'` partitioner as a function (inputs already validated by the pipeline). */
export const byKey: PartitionerFunction = (m) => keyPartition(m.key, m.partitions);

/** Round-robin counters, one per stream, kept per owner (a client). */
const counters = new WeakMap<object, Map<string, number>>();

/** A round-robin partitioner whose per-stream counters belong to `owner`. */
export function roundRobinFor(owner: object): PartitionerFunction {
  let perStream = counters.get(owner);
  if (perStream === undefined) {
    perStream = new Map();
    counters.set(owner, perStream);
  }
  const map = perStream;
  return (m) => {
    if (m.partitions <= 0) return 0;
    const n = map.get(m.stream) ?? 0;
    map.set(m.stream, (n + 1) % 0x7fffffff);
    return n % m.partitions;
  };
}

/**
 * Validates a `partitioner` option; undefined stays undefined (the publishing options then default
 * to {@link byKey}). @internal
 */
export function resolvePartitioner(field: string, value: unknown, owner: object): PartitionerFunction | undefined {
  if (value === undefined) return undefined;
  if (value === 'key') return byKey;
  if (value === 'round-robin') return roundRobinFor(owner);
  if (typeof value === 'function') return value as PartitionerFunction;
  throw new InvalidArgumentError(field, `expected 'key', 'round-robin' or a function, got ${describe(value)}`);
}

/** Runs a partitioner and checks its answer. @internal */
export function choosePartition(partitioner: PartitionerFunction, context: PartitionerContext, field: string): number {
  let p: unknown;
  try {
    p = partitioner(context);
  } catch (error) {
    // A user function: its failure is this message's outcome, not the pipeline's.
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidArgumentError(field, `the partitioner threw for stream ${context.stream}: ${reason}`, { cause: error });
  }
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p >= Math.max(1, context.partitions)) {
    throw new InvalidArgumentError(
      field,
      `the partitioner returned ${describe(p)} for stream ${context.stream} with ${context.partitions} partition(s); expected an integer from 0 to ${Math.max(0, context.partitions - 1)}`,
    );
  }
  return p as number;
}

export type { Partitioner };
