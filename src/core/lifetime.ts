/**
 * What `close()` relies on: every Observable the client runs is tracked here, so that closing
 * can complete live streams, wait for unary calls (and final writes) and cancel what is left.
 *
 * Internal: not exported from the package root.
 */
import { Observable, Subject, filter, firstValueFrom, race, take, timer } from 'rxjs';
import { ClientClosedError, type LiftbridgeError } from '../errors/errors.js';

/** How a tracked Observable is ended by `close()`: `stream`s first, `unary` calls waited for. */
export type TrackedKind = 'unary' | 'stream';

type Tracked = { readonly kind: TrackedKind; stop(error?: LiftbridgeError): void };

/** Open → closing (only final writes accepted) → closed. */
export type LifetimeState = 'open' | 'closing' | 'closed';

export class Lifetime {
  private readonly tracked = new Set<Tracked>();
  private readonly drained = new Subject<void>();
  /** Non-zero while a final write (see finalWork) is being subscribed. */
  private finalWorkDepth = 0;
  private stateValue: LifetimeState = 'open';

  get state(): LifetimeState {
    return this.stateValue;
  }

  /**
   * Marks `source` (unary calls) as a final write: a commit's flush when its stream ended. It is
   * accepted while the client is closing, and close() waits for it (up to `closeTimeoutMs`), so
   * that a flush that has to follow a write still in flight is not lost.
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

  /** Ties an Observable's lifetime to the client (close() completes or cancels it). */
  track<T>(source: Observable<T>, kind: TrackedKind): Observable<T> {
    return new Observable<T>((subscriber) => {
      const state = this.stateValue;
      if (state !== 'open' && !(state === 'closing' && kind === 'unary' && this.finalWorkDepth > 0)) {
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

  /**
   * Ends everything tracked: live streams first (completed, or errored when `immediately`), while
   * work is still accepted (their teardown may start final writes); then refuses new work, waits
   * up to `closeTimeoutMs` for unary calls, and cancels what is left. Leaves the state `closed`.
   */
  async shutdown(immediately: boolean, closeTimeoutMs: number): Promise<void> {
    if (this.stateValue === 'closed') return;
    if (this.stateValue === 'open') {
      for (const t of [...this.tracked]) if (t.kind === 'stream') t.stop(immediately ? new ClientClosedError('The client was destroyed') : undefined);
    }
    this.stateValue = 'closing';
    // A final write may start when the one before it ends: wait until none is left.
    const deadline = Date.now() + closeTimeoutMs;
    while (!immediately && [...this.tracked].some((t) => t.kind === 'unary') && Date.now() < deadline) {
      await firstValueFrom(
        race(
          this.drained.pipe(
            filter(() => this.tracked.size === 0),
            take(1),
          ),
          timer(deadline - Date.now()),
        ),
        {
          defaultValue: undefined,
        },
      );
    }
    for (const t of [...this.tracked]) t.stop(new ClientClosedError('The client was closed before the call finished'));
    this.stateValue = 'closed';
  }
}
