/**
 * The {@link LiftbridgeClient} facade: it only composes. The engine is the core (src/core/); each
 * method's body lives in its feature folder (admin/, publish/, subscribe/, consume/).
 */
import type { Observable } from 'rxjs';
import type { PauseStreamOptions, SetStreamReadonlyOptions } from './admin/admin-options.js';
import { createStream, deleteStream, fetchPartitionMetadata, pauseStream, setStreamReadonly } from './admin/admin-operations.js';
import type { CreateStreamOptions } from './admin/create-stream-options.js';
import type { ClientOptions } from './client-options.js';
import type { AssignedPartition, GroupOptions } from './consume/group-options.js';
import { joinGroup } from './consume/join-group.js';
import type { CursorKey, CursorPosition } from './consume/cursor-position.js';
import { fetchCursor, setCursor } from './consume/cursors.js';
import type { CallOptions } from './core/call-options.js';
import { ClientCore } from './core/client-core.js';
import { attachCore } from './core/internal-access.js';
import { type LagOptions, type PartitionLag, lagStream } from './observability/lag.js';
import type { ClusterMetadata, PartitionInfo } from './metadata/cluster-metadata.js';
import { publish } from './publish/publish.js';
import { type PublishToSubjectOptions, type SubjectOutcome, publishToSubject } from './publish/publish-to-subject.js';
import type { AckOf, AckPolicy, Bytes, PublishOptions } from './publish/types.js';
import type { ClientStatus } from './status.js';
import type { ClientStats } from './client-stats.js';
import { clientStats } from './client-stats-snapshot.js';
import { subscribeStream } from './subscribe/subscribe-stream.js';
import type { Message, SubscribeOptions } from './subscribe/types.js';

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

  /** Connection and cluster events ({@link ClientStatus}); replays the latest, completes after `closed`. */
  readonly status$: Observable<ClientStatus>;

  /**
   * The shared cluster view (brokers, streams, partitions, leaders, ISR, offsets). Replays the
   * latest view; the first subscriber triggers a fetch; refreshed every `metadataRefreshMs` while
   * subscribed, on {@link refreshMetadata} and on routing errors; emits only new views. Errors
   * with {@link ConnectionError} (or {@link TimeoutError}) when a refresh got no answer from any
   * broker within `retry.totalTimeoutMs`; subscribe again to resume (docs/reliability.md).
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
   * Creates a stream; emits once and completes when the cluster has it. Retried on another broker
   * when one fails (an "already exists" answer to our own retry counts as success).
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
   * Pauses some or all partitions. A paused partition is resumed by a publish to it (to any
   * partition with `resumeAll`) or a subscription with `resume: true`.
   * @throws {NoSuchStreamError} / {NoSuchPartitionError} for an unknown stream or partition.
   */
  pauseStream(name: string, options: PauseStreamOptions = {}, call?: CallOptions): Observable<void> {
    return pauseStream(this.#core, name, options, call);
  }

  /**
   * Makes some or all partitions readonly (writable again with `readonly: false`). Publishes to
   * them fail; subscribers read to their end.
   * @throws {NoSuchStreamError} / {NoSuchPartitionError} for an unknown stream or partition.
   */
  setStreamReadonly(name: string, options: SetStreamReadonlyOptions = {}, call?: CallOptions): Observable<void> {
    return setStreamReadonly(this.#core, name, options, call);
  }

  /**
   * Reads one partition's metadata from its leader: exact high watermark and newest offset, ISR,
   * paused/readonly state.
   * @throws {NoSuchStreamError} / {NoSuchPartitionError} when they do not exist; {PartitionPausedError} when it is paused.
   */
  fetchPartitionMetadata(stream: string, partition: number, call?: CallOptions): Observable<PartitionInfo> {
    return fetchPartitionMetadata(this.#core, stream, partition, call);
  }

  /**
   * Publishes one message over PublishAsync and emits its {@link Ack} once the broker stored it
   * (the leader, or every in-sync replica with `ackPolicy: 'all'`; `'none'`: a `Sent` receipt).
   * It waits at most `ackWaitMs` and ends with exactly one outcome; by default it is resent only
   * when it provably never left the client (docs/publishing.md: `retry`, `publishTo()`).
   *
   * @throws {InvalidArgumentError} as the Observable's error on subscribe, before sending, for invalid input.
   * @throws {NoSuchStreamError} / {NoSuchPartitionError} / {ReadonlyPartitionError} / {IncorrectOffsetError} /
   * {MessageTooLargeError} / {TimeoutError} (no ack in time: the outcome is unknown).
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
   * Publishes one message to a NATS subject (enveloped as Liftbridge expects), stored by every
   * stream on that subject. Emits the first stream's ack, or a `SubjectSent` with `'none'`. No
   * partitioning, readonly or pause handling on this path.
   */
  publishToSubject<P extends AckPolicy = 'leader'>(
    subject: string,
    value: Bytes,
    options?: PublishToSubjectOptions & { ackPolicy?: P },
  ): Observable<SubjectOutcome<P>> {
    return publishToSubject(this.#core, subject, value, options);
  }

  /**
   * Reads a stream's partitions from `startAt` (new messages by default) until `stopAt` (forever
   * by default) from their leaders, resubscribing through metadata after failures; unsubscribing
   * cancels the call at once. Completes at the stop position or a readonly partition's end.
   *
   * @throws {NoSuchStreamError} / {NoSuchPartitionError} / {PartitionPausedError} (without `resume: true`) / {ConnectionError}.
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
   * Stores a cursor: the last offset `cursorId` processed on a partition (resume at value + 1, as
   * the server and the Go client read it), at the leader of its `__cursors` partition.
   *
   * @throws {CursorsDisabledError} when the server runs without a cursors stream.
   * @throws {InvalidArgumentError} as the Observable's error on subscribe, before sending, for an empty cursor id or an offset outside -1n..2^63-1.
   */
  setCursor(cursor: CursorPosition, call?: CallOptions): Observable<void> {
    return setCursor(this.#core, cursor, call);
  }

  /**
   * Reads a cursor: the last processed offset stored for `cursorId` on a partition (`-1n`: never set).
   * @throws {CursorsDisabledError} when the server runs without a cursors stream.
   */
  fetchCursor(cursor: CursorKey, call?: CallOptions): Observable<bigint> {
    return fetchCursor(this.#core, cursor, call);
  }

  /**
   * Joins consumer group `groupId` for `streams` and emits each partition assigned to this
   * member as an {@link AssignedPartition}, whose `messages` start after the group's committed
   * position and complete on revocation. Heartbeats, rebalances, epochs, coordinator failover
   * and re-join after expiry are handled (`group` events on `status$`, docs/consumer-groups.md).
   * Unsubscribing revokes every partition (flushing `commit()`s) and leaves the group.
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
    return joinGroup(this.#core, groupId, options);
  }

  /**
   * Consumer lag of this client's live partition subscriptions (plain, `consume()`/`commit()` or
   * a group): per partition, the newest offset minus the last processed (`lag`) and the last
   * committed one (`committedLag`). Looks every `intervalMs` (one FetchMetadata per look, none
   * with `refreshMetadata: false`) and emits the sorted rows when any changed; filter with
   * `stream`, `partition`, `groupId`. Completes when the client closes (docs/observability.md).
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

  /** Diagnostics: connections per broker with their streams, live partition subscriptions with backpressure counters, open Subscribe calls. */
  stats(): ClientStats {
    return clientStats(this.#core);
  }

  /**
   * Closes gracefully: refuses new work, completes live subscriptions, waits up to
   * `closeTimeoutMs` for calls in flight, cancels the rest ({@link ClientClosedError}). Idempotent.
   */
  close(): Promise<void> {
    return this.#core.close();
  }

  /** Closes now: cancels everything in flight (with {@link ClientClosedError}) and closes connections. */
  destroy(): Promise<void> {
    return this.#core.destroy();
  }

  /** `await using lift = connect(...)` closes the client at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
