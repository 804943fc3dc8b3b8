/**
 * The engine behind a client: options, connection pool, broker selector, metadata service,
 * routing, operation runner, status reporter and lifetime tracking. Feature folders (admin/,
 * publish/, subscribe/, consume/) receive this object; the public facade (client.ts) composes it.
 *
 * Internal: not exported from the package root.
 */
import type { Observable } from 'rxjs';
import { type ClientOptions, type ResolvedClientOptions, resolveClientOptions } from '../client-options.js';
import { ClientClosedError } from '../errors/errors.js';
import { type OperationSpec, type RunnerContext, SERVER_SURVEY_WAIT_MS, runOperation } from '../internal/operation-runner.js';
import { type ClusterMetadata, toClusterMetadata } from '../metadata/cluster-metadata.js';
import { MetadataService } from '../metadata/metadata-service.js';
import { BrokerSelector } from './broker-selector.js';
import { type ClientStatus, StatusReporter } from '../status.js';
import type { BrokerClient, StreamLease } from '../transport/connection-pool.js';
import type { PublishTransport, PublishTransportKind } from '../transport/publish-call.js';
import type { SubscribeTransport, SubscribeTransportKind } from '../transport/subscribe-call.js';
import { type AddressStats, Wire } from '../transport/wire.js';
import { BrokerHealth } from './broker-health.js';
import { Lifetime, type TrackedKind } from './lifetime.js';
import { Routing } from './routing.js';
import { isTransient } from './transient.js';

/** Bound of one broker's answer when the client asks every broker to confirm a "not found". */
const SURVEY_TIMEOUT_MS = 5_000;

/** Live counters a partition subscription registers for `stats()` (structural, see partition-stream.ts). */
export type RegisteredStats = object;

export class ClientCore {
  readonly options: ResolvedClientOptions;
  readonly status$: Observable<ClientStatus>;
  readonly runner: RunnerContext;
  readonly routing: Routing;
  readonly lifetime = new Lifetime();
  readonly metadata: MetadataService;
  /** Live partition subscriptions, for `stats()`. */
  readonly partitionStats = new Set<RegisteredStats>();
  /** Which brokers' PublishAsync calls failed recently (publishers skip them); one per client. */
  readonly health = new BrokerHealth();
  private readonly reporter = new StatusReporter();
  private readonly selector: BrokerSelector;
  private poolInstance: Wire | undefined;
  private openSubscribeCallsCount = 0;
  private closing: Promise<void> | undefined;

  constructor(options: ClientOptions) {
    this.options = resolveClientOptions(options);
    const o = this.options;
    this.status$ = this.reporter.status$;
    this.selector = new BrokerSelector(o.brokers, o.failover, this.health, () => o.scheduler.now());
    this.runner = {
      policy: o.retry,
      callTimeoutMs: o.callTimeoutMs,
      scheduler: o.scheduler,
      random: o.random,
      logger: o.logger,
      client: (address) => this.pool().unary(address),
      connected: (address) => this.poolInstance?.connected(address) ?? false,
      isClosed: () => this.lifetime.state === 'closed',
      brokerFailed: (address) => {
        this.brokerFailed(address);
      },
      retrying: (e) => {
        o.logger.warn('retrying', { rpc: e.rpc, broker: e.address, attempt: e.attempt, delayMs: e.delayMs, error: e.error.message });
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
          // Long enough for a broker that surveys a frozen peer (see SERVER_SURVEY_WAIT_MS).
          const budget = Math.max(Math.min(o.callTimeoutMs, SURVEY_TIMEOUT_MS), SERVER_SURVEY_WAIT_MS);
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
    this.routing = new Routing(this.metadata, this.selector, o);
  }

  /** Runs an operation owned by this client (tracked for close()). */
  run<T>(spec: OperationSpec<T>, kind: TrackedKind = 'unary'): Observable<T> {
    return this.track(runOperation(this.runner, spec), kind);
  }

  /** Ties an Observable's lifetime to the client (close() completes or cancels it). */
  track<T>(source: Observable<T>, kind: TrackedKind): Observable<T> {
    return this.lifetime.track(source, kind);
  }

  /** See {@link Lifetime.finalWork}. */
  finalWork<T>(source: Observable<T>): Observable<T> {
    return this.lifetime.finalWork(source);
  }

  /** The metadata service (publish layer). */
  metadataService(): MetadataService {
    return this.metadata;
  }

  /** Fetches a fresh cluster view, tracked. */
  refreshMetadata(): Observable<ClusterMetadata> {
    return this.track(this.metadata.refresh(), 'unary');
  }

  /** A stream slot on a connection to `address` (caller releases it). */
  acquireStream(address: string): StreamLease {
    return this.pool().acquireStream(address);
  }

  /** What opens PublishAsync calls of that kind, on the client's wire boundary (src/transport/wire.ts). */
  publishTransport(kind: PublishTransportKind): PublishTransport {
    return this.pool().publishTransport(kind);
  }

  /** What opens Subscribe calls of that kind, on the client's wire boundary. */
  subscribeTransport(kind: SubscribeTransportKind): SubscribeTransport {
    return this.pool().subscribeTransport(kind);
  }

  /** The unary client of `address`. */
  unaryClient(address: string): BrokerClient {
    return this.pool().unary(address);
  }

  /**
   * A broker failed (could not connect, timed out, its call broke): the selector moves off it.
   * (Publishers quarantine a broker in {@link health} only for their own PublishAsync failures: a
   * unary failure quarantining it too made publishing skip a broker without reporting why. The
   * selector reads the same {@link health}: when it moves, it passes over quarantined brokers.)
   */
  brokerFailed(address: string): void {
    this.selector.failed(address);
  }

  /** Emits a status event on `status$`. */
  emitStatus(status: ClientStatus): void {
    this.reporter.emit(status);
  }

  /** Counts a Subscribe call until the returned function is called (idempotent). */
  subscribeCallStarted(): () => void {
    this.openSubscribeCallsCount++;
    let ended = false;
    return () => {
      if (!ended) this.openSubscribeCallsCount--;
      ended = true;
    };
  }

  /** Subscribe calls grpc-js has not reported closed yet. */
  openSubscribeCalls(): number {
    return this.openSubscribeCallsCount;
  }

  /** Connection statistics (empty before the first connection). */
  /** grpc-js channels and HTTP/2 PublishAsync sessions per broker (`kind`). */
  connectionStats(): AddressStats[] {
    return this.poolInstance?.stats() ?? [];
  }

  /** `close()`: graceful, idempotent (every call gets the same promise). */
  close(): Promise<void> {
    this.closing ??= this.shutdown(false);
    return this.closing;
  }

  /** `destroy()`: cancels what `close()` would still wait for; a no-op once closed. */
  destroy(): Promise<void> {
    if (this.lifetime.state === 'closed') return this.closing ?? Promise.resolve();
    this.closing = this.shutdown(true);
    return this.closing;
  }

  /** Ends everything (see {@link Lifetime.shutdown}), then closes connections, metadata and status. */
  private async shutdown(immediately: boolean): Promise<void> {
    if (this.lifetime.state === 'closed') return;
    await this.lifetime.shutdown(immediately, this.options.closeTimeoutMs);
    this.poolInstance?.close();
    this.metadata.complete();
    this.reporter.close();
  }

  private pool(): Wire {
    if (this.lifetime.state === 'closed') throw new ClientClosedError();
    this.poolInstance ??= new Wire(this.options.transport, this.options.logger, (event) => this.reporter.emit(event), {
      connectTimeoutMs: this.options.callTimeoutMs,
    });
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
}

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
