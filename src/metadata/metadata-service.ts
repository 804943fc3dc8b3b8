/**
 * One shared metadata stream per client. `metadata$` replays the latest cluster view;
 * `refresh()` fetches a new one (concurrent requests share one fetch); a timer refreshes
 * it while anyone listens; operations that meet a routing error refresh it before they
 * retry. No other component keeps its own copy of who leads what.
 *
 * @internal
 */
import {
  BehaviorSubject,
  EMPTY,
  type Observable,
  ReplaySubject,
  type SchedulerLike,
  catchError,
  defer,
  distinctUntilChanged,
  exhaustMap,
  filter,
  finalize,
  ignoreElements,
  interval,
  map,
  merge,
  of,
  share,
  take,
  tap,
} from 'rxjs';
import type { ClusterMetadata } from './cluster-metadata.js';
import type { Logger } from '../internal/logger.js';

export class MetadataService {
  private readonly current = new BehaviorSubject<ClusterMetadata | undefined>(undefined);
  private inflight: Observable<ClusterMetadata> | undefined;

  /** Latest view, refreshed on demand and every `refreshIntervalMs` while subscribed. */
  readonly metadata$: Observable<ClusterMetadata>;

  constructor(
    private readonly fetchOnce: () => Observable<ClusterMetadata>,
    refreshIntervalMs: number,
    scheduler: SchedulerLike,
    private readonly logger: Logger,
    private readonly onUpdate: (next: ClusterMetadata, previous: ClusterMetadata | undefined) => void,
  ) {
    const periodic =
      refreshIntervalMs > 0
        ? interval(refreshIntervalMs, scheduler).pipe(
            exhaustMap(() =>
              this.refresh().pipe(
                catchError((error: unknown) => {
                  this.logger.warn('periodic metadata refresh failed', { error });
                  return EMPTY;
                }),
              ),
            ),
            ignoreElements(),
          )
        : EMPTY;
    this.metadata$ = defer(() =>
      merge(
        this.current.pipe(filter((m): m is ClusterMetadata => m !== undefined)),
        this.current.value === undefined ? this.refresh().pipe(ignoreElements()) : EMPTY,
        periodic,
      ),
    ).pipe(
      distinctUntilChanged(),
      share({ connector: () => new ReplaySubject(1), resetOnError: true, resetOnComplete: true, resetOnRefCountZero: true }),
    );
  }

  /** The latest view without I/O, if any. */
  latest(): ClusterMetadata | undefined {
    return this.current.value;
  }

  /** The latest view, fetching one first if there is none yet. */
  get(): Observable<ClusterMetadata> {
    const latest = this.current.value;
    return latest !== undefined ? of(latest) : this.refresh();
  }

  /** Fetches a fresh view; concurrent callers share one in-flight fetch. Emits it once. */
  refresh(): Observable<ClusterMetadata> {
    this.inflight ??= defer(() => this.fetchOnce()).pipe(
      tap((next) => {
        const previous = this.current.value;
        this.current.next(next);
        this.onUpdate(next, previous);
      }),
      take(1),
      finalize(() => {
        this.inflight = undefined;
      }),
      // Replay: a caller that joins while the view is being delivered still gets it.
      share({ connector: () => new ReplaySubject<ClusterMetadata>(1), resetOnError: true, resetOnComplete: true, resetOnRefCountZero: true }),
    );
    return this.inflight;
  }

  /** Waits for a view in which `select` finds something, refreshing once if the latest has nothing. */
  find<T>(select: (m: ClusterMetadata) => T | undefined): Observable<T | undefined> {
    return defer(() => {
      const latest = this.current.value;
      const hit = latest === undefined ? undefined : select(latest);
      if (hit !== undefined) return of(hit);
      return this.refresh().pipe(map(select));
    });
  }

  complete(): void {
    this.current.complete();
  }
}
