/**
 * One shared metadata stream per client. `metadata$` replays the latest cluster view;
 * `refresh()` fetches a new one (concurrent requests share one fetch); a timer refreshes
 * it while anyone listens; operations that meet a routing error refresh it before they
 * retry. No other component keeps its own copy of who leads what.
 *
 * Internal: not exported from the package root.
 */
import {
  BehaviorSubject,
  EMPTY,
  type Observable,
  ReplaySubject,
  type SchedulerLike,
  catchError,
  defer,
  forkJoin,
  switchMap,
  timer,
  distinctUntilChanged,
  exhaustMap,
  filter,
  finalize,
  ignoreElements,
  interval,
  map,
  merge,
  mergeMap,
  Subject,
  throwError,
  of,
  share,
  take,
  tap,
} from 'rxjs';
import type { ClusterMetadata } from './cluster-metadata.js';
import type { Logger } from '../internal/logger.js';
import { EMPTY_CLUSTER_RECHECK_MS, type MissingVerdict, judgeMissing } from './confirm-missing.js';

/** How the service asks every broker for its view (to confirm "not found" answers). */
export interface MetadataSurvey {
  /** Every broker address the client knows (bootstrap and discovered). */
  addresses(): readonly string[];
  /** One broker's view: a single attempt, bounded in time; undefined when it does not answer. */
  fetchFrom(address: string): Observable<ClusterMetadata | undefined>;
  /** A broker whose view lacks what others list (it has not caught up): route elsewhere. */
  lagging(address: string): void;
}

export class MetadataService {
  private readonly current = new BehaviorSubject<ClusterMetadata | undefined>(undefined);
  private inflight: Observable<ClusterMetadata> | undefined;
  private readonly confirming = new Map<string, Observable<MissingVerdict>>();
  /** Refreshes that failed after the retry policy (no broker answered within the budget). */
  private readonly failures = new Subject<unknown>();

  /** Latest view, refreshed on demand and every `refreshIntervalMs` while subscribed. */
  readonly metadata$: Observable<ClusterMetadata>;

  constructor(
    private readonly fetchOnce: () => Observable<ClusterMetadata>,
    refreshIntervalMs: number,
    private readonly scheduler: SchedulerLike,
    private readonly logger: Logger,
    private readonly onUpdate: (next: ClusterMetadata, previous: ClusterMetadata | undefined) => void,
    private readonly survey?: MetadataSurvey,
  ) {
    const periodic =
      refreshIntervalMs > 0
        ? interval(refreshIntervalMs, this.scheduler).pipe(
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
        // Any refresh (periodic, on demand or for routing) that no broker answered within the
        // retry policy ends metadata$ with its error: the view can no longer be kept current.
        this.failures.pipe(mergeMap((error) => throwError(() => error))),
      ),
    ).pipe(distinctUntilChanged(), share({ connector: () => new ReplaySubject(1), resetOnError: true, resetOnComplete: true, resetOnRefCountZero: true }));
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
      tap({
        next: (next) => {
          const previous = this.current.value;
          this.current.next(next);
          this.onUpdate(next, previous);
        },
        error: (error: unknown) => this.failures.next(error),
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

  /**
   * Asks every known broker whether `stream` (or its `partition`) exists, after some broker
   * answered "not found" (see confirm-missing.ts for the rule). Concurrent questions about the
   * same partition share one survey. When another broker lists it, its view becomes the latest
   * (so routing can use it) and the brokers that did not list it are reported as lagging.
   */
  confirmMissing(stream: string, partition?: number): Observable<MissingVerdict> {
    const key = partition === undefined ? stream : `${stream}\u0000${partition}`;
    let shared = this.confirming.get(key);
    if (shared === undefined) {
      shared = this.surveyOnce(stream, partition).pipe(
        switchMap((verdict) =>
          // Every answering broker listed nothing at all: the whole cluster may be catching up
          // (or be empty). The same answer once more, a little later, confirms it.
          verdict.kind === 'unconfirmed' && verdict.empty
            ? timer(EMPTY_CLUSTER_RECHECK_MS, this.scheduler).pipe(
                switchMap(() => this.surveyOnce(stream, partition)),
                map((again): MissingVerdict => (again.kind === 'unconfirmed' && again.empty ? { kind: 'missing', what: 'stream' } : again)),
              )
            : of(verdict),
        ),
        finalize(() => this.confirming.delete(key)),
        share({ connector: () => new ReplaySubject<MissingVerdict>(1), resetOnError: true, resetOnComplete: true, resetOnRefCountZero: true }),
      );
      this.confirming.set(key, shared);
    }
    return shared;
  }

  private surveyOnce(stream: string, partition: number | undefined): Observable<MissingVerdict> {
    return defer(() => {
      const survey = this.survey;
      if (survey === undefined) return this.refresh().pipe(map((m) => judgeMissing([m], 1, stream, partition)));
      const addresses = [...new Set(survey.addresses())];
      return forkJoin(addresses.map((a) => survey.fetchFrom(a).pipe(catchError(() => of(undefined))))).pipe(
        map((answers) => {
          const views = answers.filter((v): v is ClusterMetadata => v !== undefined);
          const known = new Set([...addresses, ...views.flatMap((v) => v.brokers.map((b) => b.address))]).size;
          const verdict = judgeMissing(views, known, stream, partition);
          if (verdict.kind === 'exists') {
            for (const v of views) if (v.stream(stream) === undefined) survey.lagging(v.source);
            this.adopt(verdict.view);
          }
          this.logger.debug('confirmed a not-found answer with the cluster', { stream, partition, verdict: verdict.kind, answered: views.length, known });
          return verdict;
        }),
      );
    });
  }

  /** Makes `view` the latest (it is at least as complete as what routing had). */
  private adopt(view: ClusterMetadata): void {
    const previous = this.current.value;
    if (previous === view || this.current.isStopped) return;
    this.current.next(view);
    this.onUpdate(view, previous);
  }

  complete(): void {
    this.current.complete();
    this.failures.complete();
  }
}
