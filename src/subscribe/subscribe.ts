/**
 * Validation of `subscribe()` options and the Subscribe request they become.
 *
 * Internal: not exported from the package root.
 */
import { StartPosition as WireStart, StopPosition as WireStop, type SubscribeRequest } from '../generated/liftbridge/api.js';
import { InvalidArgumentError } from '../errors/errors.js';
import {
  describe,
  rejectUnknownKeys,
  requireBoolean,
  requireDuration,
  requireInt64,
  requireInteger,
  requireNonEmptyString,
  requireObject,
  requirePartition,
  requireStreamName,
} from '../internal/validate.js';
import type { PositionStore } from '../consume/position-store.js';
import type { StartPosition, StopPosition, SubscribeOptions } from './types.js';

const KEYS = ['partition', 'partitions', 'startAt', 'stopAt', 'readIsrReplica', 'resume', 'reverse', 'prefetch', 'retry', 'transport'] as const;

/** Default of `SubscribeOptions.prefetch`. */
export const DEFAULT_PREFETCH = 256;

/** Offsets and nanosecond timestamps travel as int64: 0 to 2^63-1. */
function offsetOf(field: string, value: unknown): bigint {
  return requireInt64(field, value);
}

/** `StartAt.ago(ms)` accepts any finite non-negative number of ms (it is not a timer). */
function requireAgo(field: string, value: unknown): number {
  return requireDuration(field, value, { max: Number.MAX_SAFE_INTEGER });
}

/** Start time of `StartAt.ago(ms)` at `nowMs`, in Unix ns; before 1970 means from the beginning (0). */
function agoToTimestampNs(nowMs: number, ms: number): bigint {
  const start = Math.round(nowMs - ms);
  return start <= 0 ? 0n : BigInt(start) * 1_000_000n;
}

/** A validated subscription: the request template, which partitions, and the bound. @internal */
export interface SubscribePlan {
  /**
   * The request for a subscription starting at `nowMs` (the scheduler's clock when the Observable
   * is subscribed): relative positions (`StartAt.ago`) are resolved against it, so building an
   * Observable and subscribing it later reads from "ago" before the subscription, not the call.
   */
  readonly request: (nowMs: number) => SubscribeRequest;
  readonly readIsrReplica: boolean;
  /** Explicit partitions, or 'all' (resolved from metadata at subscribe time). */
  readonly partitions: readonly number[] | 'all';
  readonly prefetch: number;
  /** A start that is looked up per partition before subscribing (cursor or position store). */
  readonly storedStart: { readonly cursorId: string } | { readonly store: PositionStore } | undefined;
  /** The subscription's own retry options (validated by the client against its policy). */
  readonly retry: SubscribeOptions['retry'];
  /** How its Subscribe calls travel. */
  readonly transport: 'http2' | 'grpc-js';
}

/** Validates subscribe options. @internal */
export function toSubscribePlan(stream: string, options: SubscribeOptions, now: () => number = Date.now): SubscribePlan {
  const o = requireObject('options', options);
  rejectUnknownKeys('options', o, KEYS);
  let partitions: readonly number[] | 'all' = [0];
  if (o.partition !== undefined && o.partitions !== undefined) {
    throw new InvalidArgumentError('options.partitions', 'give either partition or partitions, not both');
  }
  if (o.partition !== undefined) partitions = [requirePartition('options.partition', o.partition)];
  else if (o.partitions === 'all') partitions = 'all';
  else if (typeof o.partitions === 'number') partitions = [requirePartition('options.partitions', o.partitions)];
  else if (Array.isArray(o.partitions)) {
    if (o.partitions.length === 0) throw new InvalidArgumentError('options.partitions', 'expected at least one partition');
    partitions = [...new Set(o.partitions.map((p: unknown, i: number) => requirePartition(`options.partitions[${i}]`, p)))];
  } else if (o.partitions !== undefined) {
    throw new InvalidArgumentError('options.partitions', `expected a partition number, an array of them or 'all', got ${describe(o.partitions)}`);
  }
  const prefetch = o.prefetch === undefined ? DEFAULT_PREFETCH : requireInteger('options.prefetch', o.prefetch, 1, 1_000_000);
  let storedStart: SubscribePlan['storedStart'];
  let startAt = o.startAt as StartPosition | undefined;
  if (startAt?.type === 'cursor' || startAt?.type === 'stored') {
    if (startAt.type === 'cursor') storedStart = { cursorId: requireNonEmptyString('options.startAt.cursorId', startAt.cursorId) };
    else {
      if (typeof startAt.store?.load !== 'function') throw new InvalidArgumentError('options.startAt.store', 'expected a PositionStore');
      storedStart = { store: startAt.store };
    }
    startAt = startAt.otherwise;
    if (startAt?.type === 'cursor' || startAt?.type === 'stored') {
      throw new InvalidArgumentError('options.startAt.otherwise', 'must be a position, not another stored start');
    }
  }
  const transport = o.transport === undefined ? 'http2' : o.transport;
  if (transport !== 'http2' && transport !== 'grpc-js') {
    throw new InvalidArgumentError('options.transport', `expected 'http2' or 'grpc-js', got ${describe(o.transport)}`);
  }
  const template: SubscribeOptions = {
    ...(o as SubscribeOptions),
    startAt,
    partition: 0,
    partitions: undefined,
    prefetch: undefined,
    retry: undefined,
    transport: undefined,
  };
  // Validates everything now (before anything is sent); only a relative start is built again later.
  const fixed = toSubscribeRequest(stream, template, now);
  const request = startAt?.type === 'ago' ? (nowMs: number) => toSubscribeRequest(stream, template, () => nowMs) : () => fixed;
  return { request, readIsrReplica: fixed.readISRReplica, partitions, prefetch, storedStart, retry: o.retry as SubscribeOptions['retry'], transport };
}

/** Validates subscribe options for one partition and builds its request. @internal */
export function toSubscribeRequest(stream: string, options: SubscribeOptions, now: () => number = Date.now): SubscribeRequest {
  const name = requireStreamName('stream', stream);
  const o = requireObject('options', options);
  rejectUnknownKeys('options', o, KEYS);
  const req: SubscribeRequest = {
    stream: name,
    partition: o.partition === undefined ? 0 : requirePartition('options.partition', o.partition),
    startPosition: WireStart.NEW_ONLY,
    startOffset: 0n,
    startTimestamp: 0n,
    readISRReplica: o.readIsrReplica === undefined ? false : requireBoolean('options.readIsrReplica', o.readIsrReplica),
    resume: o.resume === undefined ? false : requireBoolean('options.resume', o.resume),
    stopPosition: WireStop.STOP_ON_CANCEL,
    stopOffset: 0n,
    stopTimestamp: 0n,
    reverse: o.reverse === undefined ? false : requireBoolean('options.reverse', o.reverse),
  };
  if (o.startAt !== undefined) {
    const s = requireObject('options.startAt', o.startAt) as unknown as StartPosition;
    switch (s.type) {
      case 'new-only':
        break;
      case 'earliest':
        req.startPosition = WireStart.EARLIEST;
        break;
      case 'latest':
        req.startPosition = WireStart.LATEST;
        break;
      case 'offset':
        req.startPosition = WireStart.OFFSET;
        req.startOffset = offsetOf('options.startAt.offset', s.offset);
        break;
      case 'time':
        req.startPosition = WireStart.TIMESTAMP;
        req.startTimestamp = offsetOf('options.startAt.timestampNs', s.timestampNs);
        break;
      case 'ago':
        req.startPosition = WireStart.TIMESTAMP;
        req.startTimestamp = agoToTimestampNs(now(), requireAgo('options.startAt.ms', s.ms));
        break;
      case 'cursor':
      case 'stored':
        throw new InvalidArgumentError('options.startAt', 'a stored start is resolved per partition by subscribe()');
      default:
        throw new InvalidArgumentError('options.startAt', `unknown start position ${describe((s as { type?: unknown }).type)}; use StartAt.*`);
    }
  }
  if (o.stopAt !== undefined) {
    const s = requireObject('options.stopAt', o.stopAt) as unknown as StopPosition;
    switch (s.type) {
      case 'offset':
        req.stopPosition = WireStop.STOP_OFFSET;
        req.stopOffset = offsetOf('options.stopAt.offset', s.offset);
        break;
      case 'latest':
        req.stopPosition = WireStop.STOP_LATEST;
        break;
      case 'time':
        req.stopPosition = WireStop.STOP_TIMESTAMP;
        req.stopTimestamp = offsetOf('options.stopAt.timestampNs', s.timestampNs);
        break;
      default:
        throw new InvalidArgumentError('options.stopAt', `unknown stop position ${describe((s as { type?: unknown }).type)}; use StopAt.*`);
    }
  }
  return req;
}
