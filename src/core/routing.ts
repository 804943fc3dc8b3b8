/**
 * Routing: which broker an operation goes to (a partition's leader, an in-sync replica, any
 * broker), and the cluster's verdict on a "not found" answer.
 *
 * Internal: not exported from the package root.
 */
import { type Observable, defer, map, of, retry, switchMap, throwError, timeout, timer } from 'rxjs';
import type { ResolvedClientOptions } from '../client-options.js';
import { LiftbridgeError, NoSuchPartitionError, NoSuchStreamError, NotLeaderError, TimeoutError } from '../errors/errors.js';
import type { ClusterMetadata } from '../metadata/cluster-metadata.js';
import { isNotFound, unconfirmedNotFound } from '../metadata/confirm-missing.js';
import type { MetadataService } from '../metadata/metadata-service.js';
import type { BrokerSelector } from './broker-selector.js';
import { backoffDelay } from '../retry/retry-policy.js';

export class Routing {
  constructor(
    private readonly metadata: MetadataService,
    private readonly selector: BrokerSelector,
    private readonly options: Pick<ResolvedClientOptions, 'retry' | 'scheduler' | 'random'>,
  ) {}

  /** The broker the failover strategy currently points at. */
  anyBroker(): string {
    return this.selector.current();
  }

  /**
   * Leader address of a partition. Looks in the latest view and refreshes it when the view has
   * no answer (or when `refresh` asks for a fresh one).
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

  /** Address of an in-sync replica of a partition (any broker, chosen at random). */
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

  /**
   * A broker answered "not found" for `stream` (or some of its `partitions`): asks the cluster
   * (see src/metadata/confirm-missing.ts). Emits the view that lists the stream and partitions
   * when it exists after all; errors with a final NoSuchStreamError / NoSuchPartitionError when
   * the cluster confirms; errors with a retriable routing error when it cannot tell yet.
   */
  confirmNotFound(error: LiftbridgeError, stream: string, partitions: readonly number[] | undefined): Observable<ClusterMetadata> {
    return this.metadata.confirmMissing(stream).pipe(
      switchMap((verdict): Observable<ClusterMetadata> => {
        if (verdict.kind === 'missing') {
          return throwError(() =>
            error instanceof NoSuchStreamError
              ? error
              : new NoSuchStreamError(`${error.message} (the stream does not exist)`, { cause: error, rpc: error.rpc, address: error.address }),
          );
        }
        if (verdict.kind === 'exists') {
          const absent = partitions?.find((p) => verdict.view.partition(stream, p) === undefined);
          if (absent !== undefined) {
            return throwError(() =>
              error instanceof NoSuchPartitionError
                ? error
                : new NoSuchPartitionError(`No such partition: stream=${stream} partition=${absent}`, { cause: error, rpc: error.rpc, address: error.address }),
            );
          }
          return of(verdict.view);
        }
        return throwError(() => unconfirmedNotFound(error));
      }),
    );
  }

  /**
   * For operations that got a "not found" answer: errors with the final error when the cluster
   * confirms it, else with a retriable routing error (the operation is retried).
   */
  retryUnlessConfirmed(error: LiftbridgeError, stream: string, partitions: readonly number[] | undefined): Observable<never> {
    return this.confirmNotFound(error, stream, partitions).pipe(switchMap(() => throwError(() => unconfirmedNotFound(error))));
  }

  /** Partition ids of a stream, for `partitions: 'all'`; a missing stream is confirmed with the cluster. */
  allPartitions(name: string): Observable<readonly number[]> {
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
      timeout({
        first: policy.totalTimeoutMs,
        scheduler,
        with: () =>
          throwError(() => new TimeoutError(`Subscribe stream=${name}: no cluster view within the ${policy.totalTimeoutMs} ms budget`, { rpc: 'Subscribe' })),
      }),
    );
  }
}
