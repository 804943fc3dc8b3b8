/**
 * What a partition subscription (partition-stream.ts) needs from the client, and a group member's
 * identity on its subscriptions. The core builds the context (subscribe-stream.ts); unit specs
 * pass small fakes.
 *
 * Internal (not exported from the package root).
 */
import type { Observable, SchedulerLike } from 'rxjs';
import type { LiftbridgeError } from '../errors/errors.js';
import type { Logger } from '../internal/logger.js';
import type { RetryPolicy } from '../retry/retry-policy.js';
import type { ClientStatus } from '../status.js';
import type { SubscribeRequest } from '../generated/liftbridge/api.js';
import type { StreamLease } from '../transport/connection-pool.js';
import type { SubscribeCall, SubscribeHandlers } from '../transport/subscribe-call.js';
import type { OffsetLedger } from './offset-ledger.js';
import type { PartitionSubscriptionStats } from './subscription-stats.js';

/** What a partition subscription needs from the client. */
export interface PartitionStreamContext {
  /** Retry policy of the subscription; `totalTimeoutMs` bounds each outage (Infinity: retry forever). */
  readonly policy: RetryPolicy;
  /** Deadline of one call's setup (until the broker's handshake). */
  readonly callTimeoutMs: number;
  /** Where a throwing `onRetry` callback is reported. */
  readonly logger?: Logger;
  readonly scheduler: SchedulerLike;
  readonly random: () => number;
  address(stream: string, partition: number, refresh: boolean): Observable<string>;
  /** A grpc-js stream slot: the transport when `openSubscribe` is not given. */
  acquireStream(address: string): StreamLease;
  /** Opens a Subscribe call (the subscription's transport). */
  openSubscribe?(address: string, request: SubscribeRequest, handlers: SubscribeHandlers): SubscribeCall;
  brokerFailed(address: string): void;
  emitStatus(status: ClientStatus): void;
  register(stats: PartitionSubscriptionStats): () => void;
  /** Whether fresh metadata says the partition is paused. */
  partitionPaused(stream: string, partition: number): Observable<boolean>;
  /** Newest offset of a partition, from its leader (-1n when empty). */
  newestOffset(stream: string, partition: number): Observable<bigint>;
  /** Counts Subscribe calls from their start until their stream is closed. */
  callStarted(): () => void;
  /**
   * A broker answered "not found": errors with it (or the confirmed NoSuchStream/NoSuchPartition
   * error) when the cluster confirms it, else with a retriable routing error.
   */
  confirmNotFound(error: LiftbridgeError, stream: string, partition: number): Observable<never>;
}

/** A consumer-group member's identity on its subscriptions. */
export interface GroupMember {
  readonly groupId: string;
  readonly consumerId: string;
  /** The group epoch to subscribe with (the latest known: it changes with rebalances). */
  epoch(): bigint;
  /** Receives the subscription's ledger, so that the assignment can hand it to its `commit()`s. */
  onLedger?(ledger: OffsetLedger): void;
}
