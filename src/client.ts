/**
 * `connect()` and the {@link LiftbridgeClient} facade. The facade only composes: the engine is
 * the core (src/core/), each method's body lives in its feature folder (admin/, publish/,
 * subscribe/, consume/).
 */
import type { Observable } from 'rxjs';
import type { PauseStreamOptions, SetStreamReadonlyOptions } from './admin/admin-options.js';
import { createStream, deleteStream, fetchPartitionMetadata, pauseStream, setStreamReadonly } from './admin/admin-operations.js';
import type { CreateStreamOptions } from './admin/create-stream-options.js';
import type { ClientOptions } from './client-options.js';
import { consumerGroup } from './consume/consumer-group.js';
import type { AssignedPartition, GroupOptions } from './consume/group-options.js';
import { groupHost } from './consume/group-host.js';
import type { CursorKey, CursorPosition } from './consume/cursor-position.js';
import { fetchCursor, setCursor } from './consume/cursors.js';
import type { CallOptions } from './core/call-options.js';
import { ClientCore } from './core/client-core.js';
import { attachCore } from './core/internal-access.js';
import { validated } from './internal/validate.js';
import { type LagOptions, type PartitionLag, lagStream } from './observability/lag.js';
import type { ClusterMetadata, PartitionInfo } from './metadata/cluster-metadata.js';
import { publish } from './publish/publish.js';
import { type PublishToSubjectOptions, type SubjectOutcome, publishToSubject } from './publish/publish-to-subject.js';
import type { AckOf, AckPolicy, Bytes, PublishOptions } from './publish/types.js';
import type { ClientStatus } from './status.js';
import type { PartitionSubscriptionStats } from './subscribe/subscription-stats.js';
import type { ClientStats } from './client-stats.js';
import { subscribeStream } from './subscribe/subscribe-stream.js';
import type { Message, SubscribeOptions } from './subscribe/types.js';

export type { CallOptions } from './core/call-options.js';
export type { ClientStats, ConnectionStats } from './client-stats.js';
export type { PauseStreamOptions, SetStreamReadonlyOptions } from './admin/admin-options.js';

/**
 * A Liftbridge client. Create it with {@link connect}. Every broker interaction is a cold
 * Observable: nothing is sent until you subscribe, and unsubscribing cancels the call.
 * No method that returns an Observable throws: invalid arguments make the Observable error with
 * {@link InvalidArgumentError} on subscribe, before anything is sent (see docs/errors.md).
 *
 * @example
 * ```ts
 * const lift = connect({ brokers: ['127.0.0.1:9292'] });
 * await firstValueFrom(lift.createStream({ name: 'orders', partitions: 4 }));
 * await lift.close();
 * ```
 */
export class LiftbridgeClient implements AsyncDisposable {
  readonly #core: ClientCore;
  #closePromise: Promise<void> | undefined;

  /**
   * Connection and cluster events; replays the latest to new subscribers and completes
   * after `closed`. See {@link ClientStatus}.
   */
  readonly status$: Observable<ClientStatus>;

  /**
   * The shared cluster view (brokers, streams, partitions, leaders, ISR, offsets as seen
   * by the answering broker). Replays the latest view; the first subscriber triggers a
   * fetch; refreshed every `metadataRefreshMs` while subscribed, on {@link refreshMetadata},
   * and whenever an operation meets a routing error. It emits only new views, so it is quiet
   * while brokers are unreachable; it errors with {@link ConnectionError} (or
   * {@link TimeoutError}) as soon as any refresh — the first fetch, a periodic one, one made by
   * {@link refreshMetadata} or for routing — got no answer from any broker within the retry
   * policy (`retry.totalTimeoutMs`). So during an outage of every broker it errors at the latest
   * `metadataRefreshMs + retry.totalTimeoutMs` after the outage began (with `metadataRefreshMs:
   * 0`, at the next refresh something else makes). Subscribe again to resume: a new subscription
   * replays the latest view and fetches a fresh one.
   */
  readonly metadata$: Observable<ClusterMetadata>;

  /** Use {@link connect}. */
  constructor(options: ClientOptions) {
    const core = new ClientCore(options);
    this.#core = core;
    attachCore(this, core);
    this.status$ = core.status$;
    this.metadata$ = core.track(core.metadata.metadata$, 'stream');
  }

  /** Fetches a fresh cluster view now and emits it (also on `metadata$`). */
  refreshMetadata(): Observable<ClusterMetadata> {
    return this.#core.refreshMetadata();
  }

  /**
   * Creates a stream. Emits once (`undefined`) and completes when the cluster has it.
   * Retried on another broker when one fails; an "already exists" answer to a retry of
   * our own request counts as success.
   *
   * @throws {InvalidArgumentError} as the Observable's error on subscribe, before sending, for invalid options (the field is named).
   * @throws {StreamExistsError} when a stream of that name exists already.
   * @throws {ConnectionError} when no broker could be reached within the retry policy.
   * @example
   * ```ts
   * await firstValueFrom(lift.createStream({ name: 'orders', subject: 'orders', partitions: 4, replicationFactor: 3 }));
   * ```
   */
  createStream(options: CreateStreamOptions, call?: CallOptions): Observable<void> {
    return createStream(this.#core, options, call);
  }

  /**
   * Deletes a stream and all its partitions. Emits once and completes.
   * @throws {NoSuchStreamError} when the stream does not exist.
   */
  deleteStream(name: string, call?: CallOptions): Observable<void> {
    return deleteStream(this.#core, name, call);
  }

  /**
   * Pauses some or all partitions of a stream. A paused partition stops serving until a
   * publish to it (or to any partition, with `resumeAll`) or a subscription with
   * `resume: true` resumes it.
   * @throws {NoSuchStreamError} / {NoSuchPartitionError} for an unknown stream or partition.
   */
  pauseStream(name: string, options: PauseStreamOptions = {}, call?: CallOptions): Observable<void> {
    return pauseStream(this.#core, name, options, call);
  }

  /**
   * Makes some or all partitions readonly (or writable again with `readonly: false`).
   * Publishes to a readonly partition fail; subscribers read to its end.
   * @throws {NoSuchStreamError} / {NoSuchPartitionError} for an unknown stream or partition.
   */
  setStreamReadonly(name: string, options: SetStreamReadonlyOptions = {}, call?: CallOptions): Observable<void> {
    return setStreamReadonly(this.#core, name, options, call);
  }

  /**
   * Reads one partition's metadata from its leader: exact high watermark and newest
   * offset, ISR, paused/readonly state.
   * @throws {NoSuchStreamError} / {NoSuchPartitionError} when they do not exist.
   * @throws {PartitionPausedError} when the partition is paused (the server answers
   * nothing for paused partitions).
   */
  fetchPartitionMetadata(stream: string, partition: number, call?: CallOptions): Observable<PartitionInfo> {
    return fetchPartitionMetadata(this.#core, stream, partition, call);
  }

  /**
   * Publishes one message over PublishAsync and emits its {@link Ack} once the broker stored
   * it (by the partition leader, or every in-sync replica with `ackPolicy: 'all'`; with
   * `'none'` a `Sent` receipt). Every publish waits at most `ackWaitMs` and ends with exactly
   * one outcome. By default it is resent only when it provably never left the client (a
   * resend could store it twice); see docs/publishing.md for `retry` and for `publishTo()`.
   *
   * @throws {InvalidArgumentError} as the Observable's error on subscribe, before sending, for invalid input.
   * @throws {NoSuchStreamError} / {NoSuchPartitionError} / {ReadonlyPartitionError} /
   * {IncorrectOffsetError} / {MessageTooLargeError} / {TimeoutError} (no ack in time: the
   * outcome is unknown).
   * @example
   * ```ts
   * const ack = await firstValueFrom(lift.publish('orders', JSON.stringify(order), { key: order.id }));
   * console.log(ack.offset);
   * ```
   */
  publish<P extends AckPolicy = 'leader'>(stream: string, value: Bytes, options?: PublishOptions & { ackPolicy?: P }): Observable<AckOf<P>> {
    return publish(this.#core, stream, value, options);
  }

  /**
   * Publishes one message to a NATS subject (enveloped as Liftbridge expects), to be stored by
   * every stream that records that subject. With an ack policy other than `'none'` it waits for
   * the first stream's ack (the call carries a deadline); with `'none'` it emits a `SubjectSent`
   * receipt. No partitioning, readonly or pause handling happens on this path.
   */
  publishToSubject<P extends AckPolicy = 'leader'>(
    subject: string,
    value: Bytes,
    options?: PublishToSubjectOptions & { ackPolicy?: P },
  ): Observable<SubjectOutcome<P>> {
    return publishToSubject(this.#core, subject, value, options);
  }

  /**
   * Reads one partition of a stream, from `startAt` (new messages only by default) until
   * `stopAt` (forever by default), as a cold Observable of {@link Message}. The first
   * subscription goes to the partition leader (retried through metadata while setting up);
   * unsubscribing cancels the gRPC call at once. Completes at the stop position or at the
   * end of a readonly partition.
   *
   * @throws {NoSuchStreamError} / {NoSuchPartitionError} / {PartitionPausedError} (without
   * `resume: true`) / {ConnectionError}.
   * @example
   * ```ts
   * lift.subscribe('orders', { startAt: StartAt.earliest(), stopAt: StopAt.latest() })
   *   .subscribe((m) => console.log(m.offset, new TextDecoder().decode(m.value)));
   * ```
   */
  subscribe(stream: string, options: SubscribeOptions = {}): Observable<Message> {
    return subscribeStream(this.#core, stream, options);
  }

  /**
   * Stores a cursor: the offset of the last message a consumer (`cursorId`) processed on a
   * partition. Sent to the leader of the cursor's partition of the internal `__cursors`
   * stream (computed as the server computes it), retried there through leader changes. The
   * stored value follows the server's convention (the last *processed* offset; resume at
   * value + 1), so cursors are shared with the Go client.
   *
   * @throws {CursorsDisabledError} when the server runs without a cursors stream.
   * @throws {InvalidArgumentError} as the Observable's error on subscribe, before sending, for an empty cursor id or an offset outside -1n..2^63-1.
   */
  setCursor(cursor: CursorPosition, call?: CallOptions): Observable<void> {
    return setCursor(this.#core, cursor, call);
  }

  /**
   * Reads a cursor: the last processed offset stored for `cursorId` on a partition, or `-1n`
   * when it was never set.
   *
   * @throws {CursorsDisabledError} when the server runs without a cursors stream.
   */
  fetchCursor(cursor: CursorKey, call?: CallOptions): Observable<bigint> {
    return fetchCursor(this.#core, cursor, call);
  }

  /**
   * Joins consumer group `groupId` for `streams` and emits each partition the group assigns to
   * this member, as an {@link AssignedPartition} with its own `messages` Observable (starting
   * after the group's committed position) that completes when the partition is revoked.
   * Membership is kept alive by polling assignments (the heartbeat); rebalances, epoch
   * changes, coordinator failover (reported to the cluster after `coordinator timeout`) and
   * expiry (re-join) are handled, and show on `status$` as `group` events. Unsubscribing
   * revokes every partition (flushing `commit()`s) and leaves the group.
   *
   * @throws {NoSuchStreamError} when a stream does not exist.
   * @throws {CursorsDisabledError} when the server has no cursors stream (groups need it).
   * @throws {InvalidArgumentError} as the Observable's error on subscribe, for invalid options.
   * @example
   * ```ts
   * lift.group('billing', { streams: ['orders'] }).pipe(
   *   mergeMap((p) => p.messages.pipe(consume(handle), commit(p, { count: 1000, timeMs: 5000 }))),
   * ).subscribe();
   * ```
   */
  group(groupId: string, options: GroupOptions): Observable<AssignedPartition> {
    return validated(() => this.#core.track(consumerGroup(groupHost(this.#core), groupId, options), 'stream'));
  }

  /**
   * Consumer lag of this client's live partition subscriptions (plain, with `consume()` /
   * `commit()`, or of a consumer group): per partition, the newest offset the broker reports
   * minus the last processed offset (`lag`) and minus the last committed one (`committedLag`).
   * Looks every `intervalMs` (one FetchMetadata per look, or none with `refreshMetadata:
   * false`; nothing per message) and emits the rows, sorted by stream and partition, when any
   * changed. Filter with `stream`, `partition` or `groupId`. Completes when the client closes.
   *
   * @throws {InvalidArgumentError} as the Observable's error on subscribe for invalid options (the field is named).
   * @example
   * ```ts
   * lift.lag$({ groupId: 'billing', intervalMs: 10_000 }).subscribe((rows) =>
   *   rows.forEach((r) => console.log(r.stream, r.partition, r.lag, r.committedLag)));
   * ```
   */
  lag$(options: LagOptions = {}): Observable<readonly PartitionLag[]> {
    return lagStream(this.#core, options);
  }

  /**
   * Diagnostics: open connections per broker and the streams each carries, live partition
   * subscriptions with their backpressure counters, and Subscribe calls still open.
   */
  stats(): ClientStats {
    const core = this.#core;
    return {
      openSubscribeCalls: core.openSubscribeCalls(),
      closed: core.lifetime.state !== 'open',
      connections: core.connectionStats(),
      subscriptions: [...core.partitionStats].map((s) => ({ ...(s as PartitionSubscriptionStats) })),
    };
  }

  /**
   * Closes the client gracefully: refuses new work, completes live subscriptions, waits
   * up to `closeTimeoutMs` for in-flight calls, cancels what is left (they fail with
   * {@link ClientClosedError}) and closes every connection. Idempotent.
   */
  close(): Promise<void> {
    this.#closePromise ??= this.#core.shutdown(false);
    return this.#closePromise;
  }

  /** Closes now: cancels everything in flight (with {@link ClientClosedError}) and closes connections. */
  destroy(): Promise<void> {
    if (this.#core.lifetime.state === 'closed') return this.#closePromise ?? Promise.resolve();
    this.#closePromise = this.#core.shutdown(true);
    return this.#closePromise;
  }

  /** `await using lift = connect(...)` closes the client at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Creates a client. No I/O happens until the first operation is subscribed to.
 *
 * @throws {InvalidArgumentError} for invalid options (the field is named).
 * @example
 * ```ts
 * import { connect } from 'rx-liftbridge';
 * const lift = connect({ brokers: ['127.0.0.1:9292', '127.0.0.1:9293'], failover: 'shuffle',
 *   retry: { maxRetries: 5, onRetry: (err, attempt, delayMs) => console.warn(err.message, attempt, delayMs) } });
 * ```
 */
export function connect(options: ClientOptions): LiftbridgeClient {
  return new LiftbridgeClient(options);
}
