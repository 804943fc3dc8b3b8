/**
 * Consumer lag: per live partition subscription of a client, the newest offset the broker
 * reports minus the position processed and the position committed. Reads what the client
 * already has (the cluster view, each subscription's offset ledger); no RPC per message.
 *
 * Internal: the public entry point is `LiftbridgeClient.lag$()`.
 */
import { type Observable, catchError, distinctUntilChanged, exhaustMap, map, of, timer } from 'rxjs';
import type { ClientCore } from '../core/client-core.js';
import { rejectUnknownKeys, requireBoolean, requireDuration, requireNonEmptyString, requireObject, requirePartition, validated } from '../internal/validate.js';
import type { ClusterMetadata } from '../metadata/cluster-metadata.js';
import { lagSourceOf } from '../subscribe/lag-source.js';
import type { PartitionSubscriptionStats } from '../subscribe/subscription-stats.js';

/** Default of `LagOptions.intervalMs`. */
export const DEFAULT_LAG_INTERVAL_MS = 5000;

/** Options of `lag$()`: which subscriptions to report, and how often. */
export interface LagOptions {
  /** Only subscriptions of this stream. */
  stream?: string;
  /** Only this partition (with or without `stream`). */
  partition?: number;
  /** Only partitions this client consumes as a member of this consumer group. */
  groupId?: string;
  /**
   * Look at most this often (ms); an emission happens only when a row changed.
   * @defaultValue 5000
   */
  intervalMs?: number;
  /**
   * Fetch the cluster view (one FetchMetadata) at each look while the client has a live
   * subscription, so that the newest offsets are fresh; with `false` the view the client refreshes anyway (`metadataRefreshMs`, routing) is
   * used, and no call is made.
   * @defaultValue true
   */
  refreshMetadata?: boolean;
}

/** The lag of one live (forward) partition subscription. */
export interface PartitionLag {
  readonly stream: string;
  readonly partition: number;
  /** The consumer group when the subscription belongs to a group member, else undefined. */
  readonly groupId: string | undefined;
  /**
   * The newest offset in the partition (-1n when empty): the cluster view's (as reported by the
   * broker that answered FetchMetadata), or the last delivered offset when that is higher.
   */
  readonly newestOffset: bigint;
  /** The partition's high watermark in the cluster view (-1n when empty or unknown). */
  readonly highWatermark: bigint;
  /**
   * The last processed offset: every offset up to it was settled (processed, or dropped on
   * purpose). Undefined before the first message was delivered.
   */
  readonly processedOffset: bigint | undefined;
  /** The last offset a `commit()` of this subscription stored; undefined before its first write. */
  readonly committedOffset: bigint | undefined;
  /** Messages not yet processed: `newestOffset - processedOffset` (at least 0); undefined with `processedOffset`. */
  readonly lag: bigint | undefined;
  /** Messages not yet covered by a stored position: `newestOffset - committedOffset` (at least 0). */
  readonly committedLag: bigint | undefined;
}

interface Filter {
  readonly stream: string | undefined;
  readonly partition: number | undefined;
  readonly groupId: string | undefined;
}

const nonNegative = (n: bigint): bigint => (n < 0n ? 0n : n);

/** The lag rows of a client's live subscriptions now, against `view`. @internal */
export function lagSnapshot(
  core: ClientCore,
  view: ClusterMetadata | undefined,
  filter: Filter = { stream: undefined, partition: undefined, groupId: undefined },
): PartitionLag[] {
  const rows: PartitionLag[] = [];
  for (const registered of core.partitionStats) {
    const stats = registered as PartitionSubscriptionStats;
    const source = lagSourceOf(stats);
    if (source === undefined) continue;
    if (filter.stream !== undefined && stats.stream !== filter.stream) continue;
    if (filter.partition !== undefined && stats.partition !== filter.partition) continue;
    if (filter.groupId !== undefined && source.groupId !== filter.groupId) continue;
    const info = view?.partition(stats.stream, stats.partition);
    const reported = info?.newestOffset ?? -1n;
    const delivered = stats.lastOffset ?? -1n;
    const newestOffset = delivered > reported ? delivered : reported;
    const processedOffset = source.ledger.processedThrough;
    const committedOffset = source.ledger.committed;
    rows.push({
      stream: stats.stream,
      partition: stats.partition,
      groupId: source.groupId,
      newestOffset,
      highWatermark: info?.highWatermark ?? -1n,
      processedOffset,
      committedOffset,
      lag: processedOffset === undefined ? undefined : nonNegative(newestOffset - processedOffset),
      committedLag: committedOffset === undefined ? undefined : nonNegative(newestOffset - committedOffset),
    });
  }
  rows.sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : a.partition - b.partition));
  return rows;
}

function sameRows(a: readonly PartitionLag[], b: readonly PartitionLag[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i] as PartitionLag;
    return (
      x.stream === y.stream &&
      x.partition === y.partition &&
      x.groupId === y.groupId &&
      x.newestOffset === y.newestOffset &&
      x.highWatermark === y.highWatermark &&
      x.processedOffset === y.processedOffset &&
      x.committedOffset === y.committedOffset
    );
  });
}

/** `lag$()`: validated on call, cold, one look per `intervalMs`, emitting changes. @internal */
export function lagStream(core: ClientCore, options: LagOptions = {}): Observable<readonly PartitionLag[]> {
  return validated(() => {
    const o = requireObject('options', options);
    rejectUnknownKeys('options', o, ['stream', 'partition', 'groupId', 'intervalMs', 'refreshMetadata']);
    const filter: Filter = {
      stream: o.stream === undefined ? undefined : requireNonEmptyString('options.stream', o.stream),
      partition: o.partition === undefined ? undefined : requirePartition('options.partition', o.partition),
      groupId: o.groupId === undefined ? undefined : requireNonEmptyString('options.groupId', o.groupId),
    };
    const intervalMs = o.intervalMs === undefined ? DEFAULT_LAG_INTERVAL_MS : requireDuration('options.intervalMs', o.intervalMs);
    const refresh = o.refreshMetadata === undefined ? true : requireBoolean('options.refreshMetadata', o.refreshMetadata);
    // No live subscription, nothing to report: no call either (a producer-only client stays quiet).
    const view = (): Observable<ClusterMetadata | undefined> =>
      refresh && core.partitionStats.size > 0
        ? core.metadata.refresh().pipe(
            catchError((error: unknown) => {
              core.options.logger.debug('lag$: metadata refresh failed; using the latest view', { rpc: 'FetchMetadata', error: String(error) });
              return of(core.metadata.latest());
            }),
          )
        : of(core.metadata.latest());
    const source = timer(0, intervalMs, core.options.scheduler).pipe(
      exhaustMap(() => view()),
      map((m) => lagSnapshot(core, m, filter)),
      distinctUntilChanged(sameRows),
    );
    return core.track(source, 'stream');
  });
}
