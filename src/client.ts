/**
 * `connect()` and the {@link LiftbridgeClient} facade.
 */
import { Observable, Subject, defer, firstValueFrom, from, map, merge, race, retry, throwError, timeout, timer, filter, take, of, switchMap, defaultIfEmpty } from 'rxjs';
import { backoffDelay, resolveRetryPolicy } from './retry/retry-policy.js';
import { publish } from './publish/publish.js';
import { publishToSubject, type PublishToSubjectOptions, type SubjectSent } from './publish/publish-to-subject.js';
import type { Ack, AckOf, AckPolicy, Bytes, PublishOptions } from './publish/types.js';
import { toSubscribePlan } from './subscribe/subscribe.js';
import { partitionMessages, type GroupMember, type PartitionStreamContext, type PartitionSubscriptionStats } from './subscribe/partition-stream.js';
import { type AssignedPartition, type GroupOptions, consumerGroup } from './consume/consumer-group.js';
import type { Message, SubscribeOptions } from './subscribe/types.js';
import { type ClientOptions, type ResolvedClientOptions, resolveClientOptions } from './client-options.js';
import { type CreateStreamOptions, toCreateStreamRequest, toPartitionList } from './admin/create-stream-options.js';
import {
  ClientClosedError,
  ConnectionError,
  CursorsDisabledError,
  InternalServerError,
  InvalidArgumentError,
  LiftbridgeError,
  NoSuchPartitionError,
  NoSuchStreamError,
  NotLeaderError,
  PartitionPausedError,
  StreamExistsError,
  TimeoutError,
} from './errors/errors.js';
import { type AttemptOptions, type OperationSpec, type RunnerContext, runOperation } from './internal/operation-runner.js';
import { CURSORS_STREAM, cursorPartition } from './consume/cursor-routing.js';
import { cursorStore } from './consume/position-store.js';
import { StartPosition as WireStartPosition, type SubscribeRequest } from './generated/liftbridge/api.js';
import {
  requireBoolean,
  requireDuration,
  requireInt64,
  requireNonEmptyString,
  requireObject,
  rejectUnknownKeys,
  requirePartition,
  requireStreamName,
  validated,
} from './internal/validate.js';
import { ClusterMetadata, type PartitionInfo, toClusterMetadata, toPartitionInfo } from './metadata/cluster-metadata.js';
import { MetadataService } from './metadata/metadata-service.js';
import { isNotFound, unconfirmedNotFound } from './metadata/confirm-missing.js';
import { BrokerSelector } from './retry/failover.js';
import { type ClientStatus, StatusReporter } from './status.js';
import type { BrokerClient, StreamLease } from './transport/connection-pool.js';
import type { PublishTransport, PublishTransportKind } from './transport/publish-call.js';
import { type AddressStats, Wire } from './transport/wire.js';

/** Options of `pauseStream`. */
export interface PauseStreamOptions {
  /** Partitions to pause; omitted or empty = all. */
  partitions?: readonly number[];
  /** When set, a publish to any partition resumes all partitions of the stream. @defaultValue false */
  resumeAll?: boolean;
}

/** Options of `setStreamReadonly`. */
export interface SetStreamReadonlyOptions {
  /** Partitions to change; omitted or empty = all. */
  partitions?: readonly number[];
  /** `true` makes them readonly, `false` writable again. @defaultValue true */
  readonly?: boolean;
}

/** Per-call overrides accepted by every operation. */
export interface CallOptions {
  /** Total time budget of this call, retries included, in ms. @defaultValue `retry.totalTimeoutMs` */
  timeoutMs?: number;
}

type Tracked = { readonly kind: 'unary' | 'stream'; stop(error?: LiftbridgeError): void };

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
  /** @internal */
  readonly options: ResolvedClientOptions;
  private readonly reporter = new StatusReporter();
  private readonly selector: BrokerSelector;
  private readonly metadata: MetadataService;
  private poolInstance: Wire | undefined;
  private readonly tracked = new Set<Tracked>();
  private readonly partitionStats = new Set<PartitionSubscriptionStats>();
  private openSubscribeCalls = 0;
  private readonly drained = new Subject<void>();
  /** Non-zero while a final write (see finalWork) is being subscribed. */
  private finalWorkDepth = 0;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private closePromise: Promise<void> | undefined;
  /** @internal */
  readonly runner: RunnerContext;

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

  /** @internal use {@link connect}. */
  constructor(options: ClientOptions) {
    this.options = resolveClientOptions(options);
    const o = this.options;
    this.status$ = this.reporter.status$;
    this.selector = new BrokerSelector(o.brokers, o.failover);
    this.runner = {
      policy: o.retry,
      callTimeoutMs: o.callTimeoutMs,
      scheduler: o.scheduler,
      random: o.random,
      logger: o.logger,
      client: (address) => this.pool().unary(address),
      connected: (address) => this.poolInstance?.connected(address) ?? false,
      isClosed: () => this.state === 'closed',
      brokerFailed: (address) => {
        this.selector.failed(address);
      },
      retrying: (e) => {
        o.logger.warn('retrying', { rpc: e.rpc, attempt: e.attempt, delayMs: e.delayMs, error: e.error.message });
        this.reporter.emit({ type: 'reconnecting', ...e });
      },
    };
    this.metadata = new MetadataService(
      () =>
        this.run({
          rpc: 'FetchMetadata',
          route: () => [this.selector.current()],
          call: (client, opts, address) => client.unary('fetchMetadata', { streams: [], groups: [] }, opts).then((res) => toClusterMetadata(res, address)),
          retryable: (e) => isTransient(e),
          serverDeadline: false,
        }),
      o.metadataRefreshMs,
      o.scheduler,
      o.logger,
      (next, previous) => this.onMetadata(next, previous),
      {
        addresses: () => this.selector.addresses(),
        fetchFrom: (address) => {
          const budget = Math.min(o.callTimeoutMs, SURVEY_TIMEOUT_MS);
          return this.run({
            rpc: 'FetchMetadata',
            route: () => [address],
            call: (client, opts) => client.unary('fetchMetadata', { streams: [], groups: [] }, opts).then((res) => toClusterMetadata(res, address)),
            retryable: () => false,
            serverDeadline: false,
            callTimeoutMs: budget,
            policy: { ...o.retry, maxRetries: 0, totalTimeoutMs: budget, onRetry: undefined },
          });
        },
        lagging: (address) => {
          this.selector.failed(address);
        },
      },
    );
    this.metadata$ = this.track(this.metadata.metadata$, 'stream');
  }

  /** Fetches a fresh cluster view now and emits it (also on `metadata$`). */
  refreshMetadata(): Observable<ClusterMetadata> {
    return this.track(this.metadata.refresh(), 'unary');
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
    return validated(() => {
      const request = toCreateStreamRequest(options);
      return this.admin(
        {
          rpc: 'CreateStream',
          stream: request.name,
          call: (client, opts) => client.unary('createStream', request, opts),
          recover: (e, attempt) => (attempt > 0 && e instanceof StreamExistsError ? of(undefined) : undefined),
        },
        call,
      );
    });
  }

  /**
   * Deletes a stream and all its partitions. Emits once and completes.
   * @throws {NoSuchStreamError} when the stream does not exist.
   */
  deleteStream(name: string, call?: CallOptions): Observable<void> {
    return validated(() => {
      const stream = requireStreamName('name', name);
      return this.admin(
        {
          rpc: 'DeleteStream',
          stream,
          call: (client, opts) => client.unary('deleteStream', { name: stream }, opts),
          recover: (e, attempt) => (attempt > 0 && e instanceof NoSuchStreamError ? of(undefined) : undefined),
        },
        call,
      );
    });
  }

  /**
   * Pauses some or all partitions of a stream. A paused partition stops serving until a
   * publish to it (or to any partition, with `resumeAll`) or a subscription with
   * `resume: true` resumes it.
   * @throws {NoSuchStreamError} / {NoSuchPartitionError} for an unknown stream or partition.
   */
  pauseStream(name: string, options: PauseStreamOptions = {}, call?: CallOptions): Observable<void> {
    return validated(() => {
      const stream = requireStreamName('name', name);
      const o = requireObject('options', options);
      rejectUnknownKeys('options', o, ['partitions', 'resumeAll']);
      const partitions = toPartitionList('options.partitions', o.partitions);
      const resumeAll = o.resumeAll === undefined ? false : requireBoolean('options.resumeAll', o.resumeAll);
      return this.admin({ rpc: 'PauseStream', stream, call: (client, opts) => client.unary('pauseStream', { name: stream, partitions, resumeAll }, opts) }, call, partitions);
    });
  }

  /**
   * Makes some or all partitions readonly (or writable again with `readonly: false`).
   * Publishes to a readonly partition fail; subscribers read to its end.
   * @throws {NoSuchStreamError} / {NoSuchPartitionError} for an unknown stream or partition.
   */
  setStreamReadonly(name: string, options: SetStreamReadonlyOptions = {}, call?: CallOptions): Observable<void> {
    return validated(() => {
      const stream = requireStreamName('name', name);
      const o = requireObject('options', options);
      rejectUnknownKeys('options', o, ['partitions', 'readonly']);
      const partitions = toPartitionList('options.partitions', o.partitions);
      const readonly = o.readonly === undefined ? true : requireBoolean('options.readonly', o.readonly);
      return this.admin(
        { rpc: 'SetStreamReadonly', stream, call: (client, opts) => client.unary('setStreamReadonly', { name: stream, partitions, readonly }, opts) },
        call,
        partitions,
      );
    });
  }

  /**
   * Reads one partition's metadata from its leader: exact high watermark and newest
   * offset, ISR, paused/readonly state.
   * @throws {NoSuchStreamError} / {NoSuchPartitionError} when they do not exist.
   * @throws {PartitionPausedError} when the partition is paused (the server answers
   * nothing for paused partitions).
   */
  fetchPartitionMetadata(stream: string, partition: number, call?: CallOptions): Observable<PartitionInfo> {
    return validated(() => {
      const name = requireStreamName('stream', stream);
      const id = requirePartition('partition', partition);
      return this.run(
        {
          rpc: 'FetchPartitionMetadata',
          stream: name,
          partition: id,
          route: (attempt) => this.leaderAddress(name, id, attempt > 0),
          call: (client, opts) =>
            client.unary('fetchPartitionMetadata', { stream: name, partition: id }, opts).then((res) => {
              if (res.metadata === undefined) throw new InternalServerError(`FetchPartitionMetadata stream=${name} partition=${id}: empty answer`);
              return toPartitionInfo(name, res.metadata);
            }),
          retryable: (e) => isTransient(e),
          // The leader of a paused partition answers "not leader": tell the two apart. (The
          // metadata's `paused` flag alone is not enough: v1.9.0 servers keep it set after a
          // resume.) A "not found" answer is final only when the cluster confirms it.
          recover: (e) => {
            if (isNotFound(e)) return this.retryUnlessConfirmed(e, name, [id]);
            if (!(e instanceof NotLeaderError) || e.address === undefined) return undefined;
            const m = this.metadata.latest();
            if (m?.partition(name, id)?.paused === true && m.leaderAddress(name, id) === e.address) {
              return throwError(() => new PartitionPausedError(`FetchPartitionMetadata stream=${name} partition=${id}: the partition is paused`, { rpc: 'FetchPartitionMetadata', address: e.address, cause: e }));
            }
            return undefined;
          },
          policy: this.policyFor(call),
        },
        'unary',
      );
    });
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
    return publish(this, stream, value, options);
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
  ): Observable<[P] extends ['none'] ? SubjectSent : 'none' extends P ? Ack | SubjectSent : Ack> {
    return publishToSubject(this, subject, value, options, () => [this.selector.current()]);
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
  subscribe(stream: string, options: SubscribeOptions = {}, /** @internal */ member?: GroupMember): Observable<Message> {
    return validated(() => {
      const name = requireStreamName('stream', stream);
      const plan = toSubscribePlan(name, options);
      const ctx: PartitionStreamContext = {
        policy: plan.retry === undefined ? this.options.retry : resolveRetryPolicy(plan.retry, 'options.retry', this.options.retry, { unbounded: true }),
        callTimeoutMs: this.options.callTimeoutMs,
        logger: this.options.logger,
        scheduler: this.options.scheduler,
        random: this.options.random,
        address: (s, p, refresh) => (plan.readIsrReplica ? this.replicaAddress(s, p, refresh) : this.leaderAddress(s, p, refresh)),
        acquireStream: (address) => this.acquireStream(address),
        newestOffset: (s, p) => this.fetchPartitionMetadata(s, p).pipe(map((info) => info.newestOffset)),
        partitionPaused: (s, p) => this.metadata.refresh().pipe(map((m) => m.partition(s, p)?.paused === true)),
        brokerFailed: (address) => this.selector.failed(address),
        emitStatus: (status) => this.reporter.emit(status),
        register: (stats) => {
          this.partitionStats.add(stats);
          return () => this.partitionStats.delete(stats);
        },
        confirmNotFound: (e, s, p) => this.retryUnlessConfirmed(e, s, [p]),
        callStarted: () => {
          this.openSubscribeCalls++;
          let ended = false;
          return () => {
            if (!ended) this.openSubscribeCalls--;
            ended = true;
          };
        },
      };
      const partitions$: Observable<readonly number[]> = plan.partitions === 'all' ? this.allPartitions(name) : of(plan.partitions);
      const stored = plan.storedStart;
      const store = stored === undefined ? undefined : 'store' in stored ? stored.store : cursorStore(this, stored.cursorId);
      const one = (base: SubscribeRequest, partition: number): Observable<Message> => {
        const request = { ...base, partition };
        if (store === undefined) return partitionMessages(ctx, request, plan.prefetch, member);
        // Resume after the stored position (the last processed offset), else the fallback start.
        return from(store.load(name, partition)).pipe(
          take(1),
          defaultIfEmpty(undefined),
          switchMap((last) =>
            partitionMessages(
              ctx,
              last === undefined ? request : { ...request, startPosition: WireStartPosition.OFFSET, startOffset: last + 1n },
              plan.prefetch,
              member,
            ),
          ),
        );
      };
      // Relative start positions are resolved now, when the Observable is subscribed (cold).
      const source = partitions$.pipe(
        switchMap((ids) => {
          const base = plan.request(this.options.scheduler.now());
          return merge(...ids.map((id) => one(base, id)));
        }),
      );
      return this.track(source, 'stream');
    });
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
  setCursor(cursor: { stream: string; partition: number; cursorId: string; offset: bigint }, call?: CallOptions): Observable<void> {
    return validated(() => {
      const c = requireObject('cursor', cursor);
      rejectUnknownKeys('cursor', c, ['stream', 'partition', 'cursorId', 'offset']);
      const stream = requireStreamName('cursor.stream', c.stream);
      const partition = requirePartition('cursor.partition', c.partition);
      const cursorId = requireNonEmptyString('cursor.cursorId', c.cursorId);
      // int64 on the wire: a larger value would come back as a server-side serialization error.
      const offset = requireInt64('cursor.offset', c.offset, -1n);
      return this.cursorCall('SetCursor', stream, partition, cursorId, call, (client, opts) =>
        client.unary('setCursor', { stream, partition, cursorId, offset }, opts).then(() => undefined),
      );
    });
  }


  /**
   * Reads a cursor: the last processed offset stored for `cursorId` on a partition, or `-1n`
   * when it was never set.
   *
   * @throws {CursorsDisabledError} when the server runs without a cursors stream.
   */
  fetchCursor(cursor: { stream: string; partition: number; cursorId: string }, call?: CallOptions): Observable<bigint> {
    return validated(() => {
      const c = requireObject('cursor', cursor);
      rejectUnknownKeys('cursor', c, ['stream', 'partition', 'cursorId']);
      const stream = requireStreamName('cursor.stream', c.stream);
      const partition = requirePartition('cursor.partition', c.partition);
      const cursorId = requireNonEmptyString('cursor.cursorId', c.cursorId);
      return this.cursorCall('FetchCursor', stream, partition, cursorId, call, (client, opts) =>
        client.unary('fetchCursor', { stream, partition, cursorId }, opts).then((res) => res.offset),
      );
    });
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
    return validated(() => this.track(consumerGroup(this, groupId, options), 'stream'));
  }

  /** @internal The broker the failover strategy currently points at. */
  anyBroker(): string {
    return this.selector.current();
  }

  /**
   * Diagnostics: open connections per broker and the streams each carries, live partition
   * subscriptions with their backpressure counters, and Subscribe calls still open.
   */
  stats(): {
    closed: boolean;
    /** Connections per broker: grpc-js channels and HTTP/2 PublishAsync sessions (`kind`). */
    connections: AddressStats[];
    subscriptions: PartitionSubscriptionStats[];
    /** Subscribe calls grpc-js has not reported closed yet (a cancelled call counts until it really ended). */
    openSubscribeCalls: number;
  } {
    return {
      openSubscribeCalls: this.openSubscribeCalls,
      closed: this.state !== 'open',
      connections: this.poolInstance?.stats() ?? [],
      subscriptions: [...this.partitionStats].map((s) => ({ ...s })),
    };
  }

  /**
   * Closes the client gracefully: refuses new work, completes live subscriptions, waits
   * up to `closeTimeoutMs` for in-flight calls, cancels what is left (they fail with
   * {@link ClientClosedError}) and closes every connection. Idempotent.
   */
  close(): Promise<void> {
    this.closePromise ??= this.shutdown(false);
    return this.closePromise;
  }

  /** Closes now: cancels everything in flight (with {@link ClientClosedError}) and closes connections. */
  destroy(): Promise<void> {
    if (this.state === 'closed') return this.closePromise ?? Promise.resolve();
    this.closePromise = this.shutdown(true);
    return this.closePromise;
  }

  /** `await using lift = connect(...)` closes the client at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---------------------------------------------------------------------------
  // Internals shared with the publish/subscribe layers.

  /** @internal Runs an operation owned by this client (tracked for close()). */
  run<T>(spec: OperationSpec<T>, kind: 'unary' | 'stream' = 'unary'): Observable<T> {
    return this.track(runOperation(this.runner, spec), kind);
  }

  /**
   * @internal Leader address of a partition. Looks in the latest view and refreshes it
   * when the view has no answer (or when `refresh` asks for a fresh one).
   */
  leaderAddress(stream: string, partition: number, refresh: boolean): Observable<string> {
    const lookup = (m: ClusterMetadata): string => {
      const s = m.stream(stream);
      if (s === undefined) throw new NoSuchStreamError(`No such stream: ${stream}`, { rpc: 'FetchMetadata' });
      const p = s.partitions.find((x) => x.id === partition);
      if (p === undefined) throw new NoSuchPartitionError(`No such partition: stream=${stream} partition=${partition}`, { rpc: 'FetchMetadata' });
      const address = m.leaderAddress(stream, partition);
      if (address === undefined) throw new NotLeaderError(`No known leader for stream=${stream} partition=${partition}`, { rpc: 'FetchMetadata' });
      return address;
    };
    // A fresh view without the stream or partition: final only when the cluster confirms it.
    const confirmed = (m: ClusterMetadata): Observable<string> => {
      try {
        return of(lookup(m));
      } catch (e) {
        if (!(e instanceof LiftbridgeError) || !isNotFound(e)) throw e;
        return this.confirmNotFound(e, stream, [partition]).pipe(map(lookup));
      }
    };
    return defer(() => {
      if (refresh || this.metadata.latest() === undefined) return this.metadata.refresh().pipe(switchMap(confirmed));
      // A cached view without an answer may just be old: look again in a fresh one.
      return this.metadata.get().pipe(
        switchMap((m) => {
          try {
            return of(lookup(m));
          } catch {
            return this.metadata.refresh().pipe(switchMap(confirmed));
          }
        }),
      );
    });
  }

  /**
   * @internal A broker answered "not found" for `stream` (or some of its `partitions`): asks the
   * cluster (see src/metadata/confirm-missing.ts). Emits the view that lists the stream and
   * partitions when it exists after all, yet errors with a routing error (retriable) so that the
   * caller retries; errors with a final NoSuchStreamError / NoSuchPartitionError when the cluster
   * confirms; errors with a retriable routing error when it cannot tell yet. Callers that only
   * need the verdict subscribe for the error; callers that can use the view (lookups) take it.
   */
  confirmNotFound(error: LiftbridgeError, stream: string, partitions: readonly number[] | undefined): Observable<ClusterMetadata> {
    return this.metadata.confirmMissing(stream).pipe(
      switchMap((verdict): Observable<ClusterMetadata> => {
        if (verdict.kind === 'missing') {
          return throwError(() => (error instanceof NoSuchStreamError ? error : new NoSuchStreamError(`${error.message} (the stream does not exist)`, { cause: error, rpc: error.rpc, address: error.address })));
        }
        if (verdict.kind === 'exists') {
          const absent = partitions?.find((p) => verdict.view.partition(stream, p) === undefined);
          if (absent !== undefined) {
            return throwError(() =>
              error instanceof NoSuchPartitionError ? error : new NoSuchPartitionError(`No such partition: stream=${stream} partition=${absent}`, { cause: error, rpc: error.rpc, address: error.address }),
            );
          }
          return of(verdict.view);
        }
        return throwError(() => unconfirmedNotFound(error));
      }),
    );
  }

  /** Partition ids of a stream, for `partitions: 'all'`; a missing stream is confirmed with the cluster. */
  private allPartitions(name: string): Observable<readonly number[]> {
    const policy = this.options.retry;
    const scheduler = this.options.scheduler;
    const ids = (m: ClusterMetadata): number[] | undefined => m.stream(name)?.partitions.map((p) => p.id);
    return defer(() => this.metadata.find(ids)).pipe(
      switchMap((found) => {
        if (found !== undefined) return of(found);
        const error = new NoSuchStreamError(`Subscribe: no such stream: ${name}`, { rpc: 'Subscribe' });
        return this.confirmNotFound(error, name, undefined).pipe(map((m) => ids(m) ?? []));
      }),
      // Unconfirmed "not found" answers are retried within the policy, like any routing error.
      retry({
        delay: (e: unknown, n: number) =>
          e instanceof NotLeaderError && n <= policy.maxRetries ? timer(backoffDelay(policy, n, this.options.random), scheduler) : throwError(() => e),
      }),
      timeout({ first: policy.totalTimeoutMs, scheduler, with: () => throwError(() => new TimeoutError(`Subscribe stream=${name}: no cluster view within the ${policy.totalTimeoutMs} ms budget`, { rpc: 'Subscribe' })) }),
    );
  }

  /**
   * @internal For operations that got a "not found" answer: errors with the final error when the
   * cluster confirms it, else with a retriable routing error (the operation is retried).
   */
  retryUnlessConfirmed(error: LiftbridgeError, stream: string, partitions: readonly number[] | undefined): Observable<never> {
    return this.confirmNotFound(error, stream, partitions).pipe(switchMap(() => throwError(() => unconfirmedNotFound(error))));
  }

  /** @internal Address of an in-sync replica of a partition (any broker, chosen at random). */
  replicaAddress(stream: string, partition: number, refresh: boolean): Observable<string> {
    return (refresh ? this.metadata.refresh() : this.metadata.get()).pipe(
      map((m) => {
        const isr = m.isrAddresses(stream, partition);
        const pick = isr[Math.floor(this.options.random() * isr.length)];
        if (pick === undefined) throw new NotLeaderError(`No in-sync replica known for stream=${stream} partition=${partition}`, { rpc: 'FetchMetadata' });
        return pick;
      }),
    );
  }

  /** @internal */
  metadataService(): MetadataService {
    return this.metadata;
  }

  /** @internal A stream slot on a connection to `address` (caller releases it). */
  acquireStream(address: string): StreamLease {
    return this.pool().acquireStream(address);
  }

  /** @internal What opens PublishAsync calls of that kind (on the wire boundary). */
  publishTransport(kind: PublishTransportKind): PublishTransport {
    return this.pool().publishTransport(kind);
  }

  /** @internal */
  unaryClient(address: string): BrokerClient {
    return this.pool().unary(address);
  }

  /** @internal */
  brokerFailed(address: string): void {
    this.selector.failed(address);
  }

  /** @internal */
  emitStatus(status: ClientStatus): void {
    this.reporter.emit(status);
  }

  /**
   * @internal Marks `source` (unary calls) as a final write: a commit's flush when its stream
   * ended. It is accepted while the client is closing, and close() waits for it (up to
   * `closeTimeoutMs`), so that a flush that has to follow a write still in flight is not lost.
   */
  finalWork<T>(source: Observable<T>): Observable<T> {
    return new Observable<T>((subscriber) => {
      this.finalWorkDepth++;
      try {
        return source.subscribe(subscriber);
      } finally {
        this.finalWorkDepth--;
      }
    });
  }

  /** @internal Ties an Observable's lifetime to the client (close() completes or cancels it). */
  track<T>(source: Observable<T>, kind: 'unary' | 'stream'): Observable<T> {
    return new Observable<T>((subscriber) => {
      if (this.state !== 'open' && !(this.state === 'closing' && kind === 'unary' && this.finalWorkDepth > 0)) {
        subscriber.error(new ClientClosedError());
        return;
      }
      const entry: Tracked = {
        kind,
        stop: (error) => {
          forget();
          inner.unsubscribe();
          if (error === undefined) subscriber.complete();
          else subscriber.error(error);
        },
      };
      const forget = (): void => {
        if (this.tracked.delete(entry) && this.tracked.size === 0) this.drained.next();
      };
      this.tracked.add(entry);
      const inner = source.subscribe({
        next: (v) => subscriber.next(v),
        error: (e: unknown) => {
          forget();
          subscriber.error(e);
        },
        complete: () => {
          forget();
          subscriber.complete();
        },
      });
      return () => {
        forget();
        inner.unsubscribe();
      };
    });
  }

  private cursorCall<T>(
    rpc: 'SetCursor' | 'FetchCursor',
    stream: string,
    partition: number,
    cursorId: string,
    call: CallOptions | undefined,
    send: (client: BrokerClient, opts: AttemptOptions) => Promise<T>,
  ): Observable<T> {
    const route = (refresh: boolean): Observable<string> =>
      (refresh ? this.metadata.refresh() : this.metadata.get()).pipe(
        switchMap((m) => {
          const cursors = m.stream(CURSORS_STREAM);
          if (cursors === undefined || cursors.partitions.length === 0) {
            // Without a cursors stream any broker gives the definitive answer (cursors disabled).
            return of(this.selector.current());
          }
          const target = cursorPartition(cursorId, stream, partition, cursors.partitions.length);
          const address = m.leaderAddress(CURSORS_STREAM, target);
          if (address === undefined) {
            return throwError(() => new NotLeaderError(`${rpc}: no known leader for ${CURSORS_STREAM} partition ${target}`, { rpc }));
          }
          return of(address);
        }),
      );
    return this.run({
      rpc,
      stream,
      partition,
      route: (attempt) => route(attempt > 0),
      call: send,
      retryable: (e) => isTransient(e) && !(e instanceof CursorsDisabledError),
      policy: this.policyFor(call),
    });
  }

  private admin(
    spec: Pick<OperationSpec<unknown>, 'rpc' | 'stream' | 'call' | 'recover'>,
    call: CallOptions | undefined,
    /** Partitions the request names (a "no such partition" answer is checked against them). */
    partitions?: readonly number[],
  ): Observable<void> {
    const stream = spec.stream;
    return this.run({
      ...spec,
      route: () => [this.selector.current()],
      retryable: (e) => isTransient(e),
      // A broker that has not caught up answers "not found": final only when the cluster confirms.
      recover: (e, attempt) =>
        spec.recover?.(e, attempt) ??
        (isNotFound(e) && stream !== undefined ? this.retryUnlessConfirmed(e, stream, partitions) : undefined),
      policy: this.policyFor(call),
    }).pipe(map(() => undefined));
  }

  private policyFor(call: CallOptions | undefined): ResolvedClientOptions['retry'] | undefined {
    if (call?.timeoutMs === undefined) return undefined;
    const o = requireObject('call', call);
    rejectUnknownKeys('call', o, ['timeoutMs']);
    return { ...this.options.retry, totalTimeoutMs: requireDuration('call.timeoutMs', call.timeoutMs, { allowZero: false }) };
  }

  private pool(): Wire {
    if (this.state === 'closed') throw new ClientClosedError();
    this.poolInstance ??= new Wire(this.options.transport, this.options.logger, (event) => this.reporter.emit(event), { connectTimeoutMs: this.options.callTimeoutMs });
    return this.poolInstance;
  }

  private onMetadata(next: ClusterMetadata, previous: ClusterMetadata | undefined): void {
    const brokers = next.brokers.map((b) => b.address);
    this.selector.setCandidates([...this.options.brokers, ...brokers]);
    if (previous === undefined || previous.routingKey() !== next.routingKey()) {
      const changed = diffLeaders(previous, next);
      this.reporter.emit({ type: 'metadata', brokers, changed });
    }
  }

  private async shutdown(immediately: boolean): Promise<void> {
    if (this.state === 'closed') return;
    // Live streams end first, while the client still accepts work: their teardown may start
    // final writes (commit() flushes, a group member leaving), which close() then waits for.
    if (this.state === 'open') {
      for (const t of [...this.tracked]) if (t.kind === 'stream') t.stop(immediately ? new ClientClosedError('The client was destroyed') : undefined);
    }
    this.state = 'closing';
    // From here on new work is refused; unary calls in flight get time to finish.
    // A final write may start when the one before it ends: wait until none is left.
    const deadline = Date.now() + this.options.closeTimeoutMs;
    while (!immediately && [...this.tracked].some((t) => t.kind === 'unary') && Date.now() < deadline) {
      await firstValueFrom(race(this.drained.pipe(filter(() => this.tracked.size === 0), take(1)), timer(deadline - Date.now())), {
        defaultValue: undefined,
      });
    }
    for (const t of [...this.tracked]) t.stop(new ClientClosedError('The client was closed before the call finished'));
    this.state = 'closed';
    this.poolInstance?.close();
    this.metadata.complete();
    this.reporter.close();
  }
}

/** Errors worth retrying for any idempotent call: lost brokers, timeouts, transient Raft trouble. */
function isTransient(e: LiftbridgeError): boolean {
  return e instanceof ConnectionError || e instanceof TimeoutError || e instanceof InternalServerError || e instanceof NotLeaderError;
}

/** Bound of one broker's answer when the client asks every broker to confirm a "not found". */
const SURVEY_TIMEOUT_MS = 5_000;

function diffLeaders(previous: ClusterMetadata | undefined, next: ClusterMetadata): string[] {
  const changed: string[] = [];
  for (const s of next.streams) {
    for (const p of s.partitions) {
      const before = previous?.partition(s.name, p.id);
      if (before !== undefined && before.leader !== p.leader) changed.push(`${s.name}/${p.id}`);
    }
  }
  return changed;
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
