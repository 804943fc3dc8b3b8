/**
 * The options of `client.group()` and what it emits.
 */
import { randomUUID } from 'node:crypto';
import type { Observable } from 'rxjs';
import { InvalidArgumentError } from '../errors/errors.js';
import { rejectUnknownKeys, requireDuration, requireInteger, requireNonEmptyString, requireObject, requireStreamName } from '../internal/validate.js';
import { toSubscribePlan } from '../subscribe/subscribe.js';
import type { Message, StartPosition } from '../subscribe/types.js';
import type { PositionStore } from './position-store.js';

/** Options of `client.group()`. */
export interface GroupOptions {
  /** Streams the member consumes (all must exist). */
  streams: readonly string[];
  /** This member's id, unique in the group. @defaultValue a random UUID */
  consumerId?: string;
  /**
   * Where a partition starts when the group has no committed position for it.
   * @defaultValue StartAt.earliest()
   */
  startAt?: StartPosition;
  /** Per-partition bound of unsettled messages (see `SubscribeOptions.prefetch`). @defaultValue 256 */
  prefetch?: number;
  /**
   * How often assignments are polled (the poll is the membership heartbeat), in ms. A heartbeat
   * talks to the coordinator only. After "not a member" the member joins again with the client's
   * retry backoff.
   * @defaultValue 40% of the server's consumer timeout (6 s for the default 15 s)
   */
  pollIntervalMs?: number;
  /**
   * How long a revoked partition waits for the final writes of the `commit()`s writing to it
   * before it fences them off anyway, in ms.
   * @defaultValue 10000
   */
  revokeTimeoutMs?: number;
}

/** A partition assigned to this member. Pass it to `commit()` to store the group's position. */
export interface AssignedPartition extends PositionStore {
  readonly groupId: string;
  readonly consumerId: string;
  readonly stream: string;
  readonly partition: number;
  /**
   * Group epoch of the newest accepted assignment that gave this member the partition. The
   * partition's subscription claims the partition leader with it (never with a newer epoch learnt
   * elsewhere), so it can grow while the partition stays assigned.
   */
  readonly epoch: bigint;
  /** The cursor holding the group's position: `__group:<groupId>` (the Go client's convention). */
  readonly cursorId: string;
  /**
   * The partition's messages from the group's committed position + 1 (or `startAt` when none);
   * completes when the partition is revoked, the member leaves, or the group is unsubscribed.
   * Subscribed after revocation (or after it ended by itself), it completes at once without
   * subscribing to the broker.
   */
  readonly messages: Observable<Message>;
  /**
   * True once the partition was revoked from this member and fenced: its intake stopped, the
   * `commit()`s writing to this assignment finished their final writes (or `revokeTimeoutMs`
   * passed), and later position writes fail with {@link ConsumerGroupError}.
   */
  readonly revoked: boolean;
}

/** Default of `GroupOptions.revokeTimeoutMs`. */
export const DEFAULT_REVOKE_TIMEOUT_MS = 10_000;

/** Validated group options. @internal */
export interface ResolvedGroupOptions {
  readonly streams: string[];
  readonly consumerId: string;
  readonly startAt: StartPosition;
  readonly prefetch: number | undefined;
  readonly revokeTimeoutMs: number;
  /** `pollIntervalMs` when given (else derived from the server's consumer timeout). */
  readonly pollOverride: number | undefined;
}

/** Checks `groupId` and the options (the field is named), before anything is sent. @internal */
export function resolveGroupOptions(groupId: string, options: GroupOptions): ResolvedGroupOptions {
  requireNonEmptyString('groupId', groupId);
  const o = requireObject('options', options);
  rejectUnknownKeys('options', o, ['streams', 'consumerId', 'startAt', 'prefetch', 'pollIntervalMs', 'revokeTimeoutMs']);
  if (!Array.isArray(o.streams) || o.streams.length === 0) throw new InvalidArgumentError('options.streams', 'expected at least one stream');
  const streams = [...new Set(o.streams.map((s: unknown, i: number) => requireStreamName(`options.streams[${i}]`, s)))];
  const consumerId = o.consumerId === undefined ? randomUUID() : requireNonEmptyString('options.consumerId', o.consumerId);
  const startAt: StartPosition = (o.startAt as StartPosition | undefined) ?? { type: 'earliest' };
  if (startAt.type === 'cursor' || startAt.type === 'stored') throw new InvalidArgumentError('options.startAt', 'must be a position, not a stored start');
  // Checked now, as subscribe() would (field `options.startAt...`), not later per assigned partition.
  toSubscribePlan(streams[0] as string, { startAt });
  const prefetch = o.prefetch === undefined ? undefined : requireInteger('options.prefetch', o.prefetch, 1, 1_000_000);
  const revokeTimeoutMs = o.revokeTimeoutMs === undefined ? DEFAULT_REVOKE_TIMEOUT_MS : requireDuration('options.revokeTimeoutMs', o.revokeTimeoutMs);
  const pollOverride = o.pollIntervalMs === undefined ? undefined : requireDuration('options.pollIntervalMs', o.pollIntervalMs, { allowZero: false });
  return { streams, consumerId, startAt, prefetch, revokeTimeoutMs, pollOverride };
}
