/**
 * Options of `createStream`, validated and mapped to the wire request.
 */
import type { CreateStreamRequest } from '../generated/liftbridge/api.js';
import { InvalidArgumentError } from '../errors/errors.js';
import {
  rejectUnknownKeys,
  requireBoolean,
  requireDuration,
  requireInt64,
  requireInteger,
  requireObject,
  requireStreamName,
  requireSubject,
  describe,
} from '../internal/validate.js';

/** How to create a stream. Unset options use the server's configured defaults. */
export interface CreateStreamOptions {
  /** Stream name, unique in the cluster: letters, digits, `_`, `-`, `.`; not starting with `__`. */
  name: string;
  /**
   * NATS subject the stream records; partition n > 0 uses `<subject>.n`.
   * @defaultValue the stream name
   */
  subject?: string;
  /** Number of partitions (>= 1). @defaultValue 1 */
  partitions?: number;
  /** Replicas per partition: >= 1, or -1 for every broker. @defaultValue the server default (1) */
  replicationFactor?: number;
  /** Load-balance group: streams of one group on the same subject share its messages. */
  group?: string;
  /** Retention limits; the oldest segments are deleted past any of them. */
  retention?: { maxBytes?: number | bigint; maxMessages?: number | bigint; maxAgeMs?: number };
  /** Segment rolling. */
  segment?: { maxBytes?: number | bigint; maxAgeMs?: number };
  /** How often retention and compaction run, in ms. */
  cleanerIntervalMs?: number;
  /** Log compaction: keep only the newest message per key. */
  compaction?: { enabled?: boolean; maxGoroutines?: number };
  /** Pause partitions that receive nothing for `timeMs` (0 disables). */
  autoPause?: { timeMs?: number; disableIfSubscribers?: boolean };
  /** Minimum in-sync replicas for AckPolicy ALL publishes to succeed. */
  minIsr?: number;
  /** Enables optimistic concurrency control (expected offsets) on the stream. */
  optimisticConcurrencyControl?: boolean;
  /** Encrypts the stream at rest (the servers need `LIFTBRIDGE_ENCRYPTION_KEY`). */
  encryption?: boolean;
}

const KEYS = [
  'name',
  'subject',
  'partitions',
  'replicationFactor',
  'group',
  'retention',
  'segment',
  'cleanerIntervalMs',
  'compaction',
  'autoPause',
  'minIsr',
  'optimisticConcurrencyControl',
  'encryption',
] as const;

function int64(field: string, value: unknown): bigint {
  if (typeof value === 'bigint') return requireInt64(field, value);
  return BigInt(requireInteger(field, value, 0));
}

/** A duration the server keeps (not a client timer): any whole-ms value up to 2^53-1. */
function serverDuration(field: string, value: unknown, allowZero = true): bigint {
  return BigInt(Math.round(requireDuration(field, value, { allowZero, max: Number.MAX_SAFE_INTEGER })));
}

/** Validates the options and builds the request. Throws {@link InvalidArgumentError}. @internal */
export function toCreateStreamRequest(options: CreateStreamOptions): CreateStreamRequest {
  const o = requireObject('options', options);
  rejectUnknownKeys('', o, KEYS);
  const name = requireStreamName('name', o.name, true);
  const subject = o.subject === undefined ? name : requireSubject('subject', o.subject);
  const partitions = o.partitions === undefined ? 1 : requireInteger('partitions', o.partitions, 1, 100_000);
  let replicationFactor = 0;
  if (o.replicationFactor !== undefined) {
    replicationFactor = requireInteger('replicationFactor', o.replicationFactor, -1, 1_000);
    if (replicationFactor === 0) throw new InvalidArgumentError('replicationFactor', 'must be >= 1, or -1 for every broker; got 0');
  }
  if (o.group !== undefined && (typeof o.group !== 'string' || /\s/.test(o.group))) {
    throw new InvalidArgumentError('group', `expected a group name without whitespace, got ${describe(o.group)}`);
  }
  const req: CreateStreamRequest = {
    subject,
    name,
    group: (o.group as string | undefined) ?? '',
    replicationFactor,
    partitions,
  };
  if (o.retention !== undefined) {
    const r = requireObject('retention', o.retention);
    rejectUnknownKeys('retention', r, ['maxBytes', 'maxMessages', 'maxAgeMs']);
    if (r.maxBytes !== undefined) req.retentionMaxBytes = { value: int64('retention.maxBytes', r.maxBytes) };
    if (r.maxMessages !== undefined) req.retentionMaxMessages = { value: int64('retention.maxMessages', r.maxMessages) };
    if (r.maxAgeMs !== undefined) req.retentionMaxAge = { value: serverDuration('retention.maxAgeMs', r.maxAgeMs) };
  }
  if (o.segment !== undefined) {
    const s = requireObject('segment', o.segment);
    rejectUnknownKeys('segment', s, ['maxBytes', 'maxAgeMs']);
    if (s.maxBytes !== undefined) req.segmentMaxBytes = { value: int64('segment.maxBytes', s.maxBytes) };
    if (s.maxAgeMs !== undefined) req.segmentMaxAge = { value: serverDuration('segment.maxAgeMs', s.maxAgeMs) };
  }
  if (o.cleanerIntervalMs !== undefined) {
    req.cleanerInterval = { value: serverDuration('cleanerIntervalMs', o.cleanerIntervalMs, false) };
  }
  if (o.compaction !== undefined) {
    const c = requireObject('compaction', o.compaction);
    rejectUnknownKeys('compaction', c, ['enabled', 'maxGoroutines']);
    if (c.enabled !== undefined) req.compactEnabled = { value: requireBoolean('compaction.enabled', c.enabled) };
    if (c.maxGoroutines !== undefined) req.compactMaxGoroutines = { value: requireInteger('compaction.maxGoroutines', c.maxGoroutines, 1, 10_000) };
  }
  if (o.autoPause !== undefined) {
    const a = requireObject('autoPause', o.autoPause);
    rejectUnknownKeys('autoPause', a, ['timeMs', 'disableIfSubscribers']);
    if (a.timeMs !== undefined) req.autoPauseTime = { value: serverDuration('autoPause.timeMs', a.timeMs) };
    if (a.disableIfSubscribers !== undefined) {
      req.autoPauseDisableIfSubscribers = { value: requireBoolean('autoPause.disableIfSubscribers', a.disableIfSubscribers) };
    }
  }
  if (o.minIsr !== undefined) req.minIsr = { value: requireInteger('minIsr', o.minIsr, 1, 1_000) };
  if (o.optimisticConcurrencyControl !== undefined) {
    req.optimisticConcurrencyControl = { value: requireBoolean('optimisticConcurrencyControl', o.optimisticConcurrencyControl) };
  }
  if (o.encryption !== undefined) req.encryption = { value: requireBoolean('encryption', o.encryption) };
  return req;
}

/** Validates a partition list (`undefined` or empty = all partitions). @internal */
export function toPartitionList(field: string, value: unknown): number[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new InvalidArgumentError(field, `expected an array of partition numbers, got ${describe(value)}`);
  return value.map((p: unknown, i: number) => requireInteger(`${field}[${i}]`, p, 0, 2_147_483_647));
}
