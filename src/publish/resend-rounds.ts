/**
 * Resend rounds of a publish pipeline: what happens to a message between two sends. A message that
 * failed in a way a resend may cure waits for the next round (armed by the {@link ResendTimer}
 * with the policy's backoff); one that cannot be routed yet waits for a metadata refresh; a "not
 * found" answer waits for the cluster's verdict. Each ends routed again or settled with its final
 * error, within the retry policy.
 *
 * Internal (not exported from the package root).
 */
import type { Subscription } from 'rxjs';
import { LiftbridgeError, NoSuchPartitionError, NoSuchStreamError } from '../errors/errors.js';
import { mapError } from '../errors/map-error.js';
import { unconfirmedNotFound } from '../metadata/confirm-missing.js';
import type { MetadataService } from '../metadata/metadata-service.js';
import { type Entry, RETRY, SENT } from './in-flight-entry.js';
import type { ResendTimer } from './resend-timer.js';

const RPC = 'PublishAsync';

/** What the rounds need of their pipeline. */
export interface RoundsOwner {
  isStopped(): boolean;
  /** Routes (and sends) `e`; `fresh`: the view was just refreshed, so what is missing counts. */
  route(e: Entry, fresh: boolean): void;
  /** `e` is no longer waited for on its lane, and its copy no longer counts as queued. */
  release(e: Entry): void;
  /** `e` is no longer waited for on its lane. */
  forget(e: Entry): void;
  /** Settles `e` with `error` (its final outcome). */
  settleError(e: Entry, error: LiftbridgeError): void;
  /** Settles `e`, which may never have been sent, with `error` (its final outcome). */
  giveUp(e: Entry, error: LiftbridgeError): void;
  finalError(e: Entry, error: LiftbridgeError, address: string | undefined): LiftbridgeError;
  /** The pipeline may be done. */
  check(): void;
}

export class ResendRounds {
  private retryQueue: Entry[] = [];
  /** Messages waiting for the metadata refresh in flight (or about to start). */
  private awaitingRefresh: Entry[] = [];
  private refreshSub: Subscription | undefined;
  /** Surveys of the cluster confirming "not found" answers (cancelled on teardown). */
  private readonly confirming = new Set<Subscription>();

  constructor(
    private readonly owner: RoundsOwner,
    private readonly resends: ResendTimer,
    private readonly metadata: () => MetadataService,
  ) {}

  /** A new message joins the pending round, so that messages go out in input order. */
  join(e: Entry): void {
    e.state = RETRY;
    this.retryQueue.push(e);
  }

  /** Cancels the refresh and the surveys under way. */
  stop(): void {
    this.refreshSub?.unsubscribe();
    this.refreshSub = undefined;
    for (const sub of this.confirming) sub.unsubscribe();
    this.confirming.clear();
  }

  /** Routing needs a (fresher) metadata view: wait for the next refresh (started if none runs). */
  awaitMetadata(e: Entry, fresh: boolean, error: LiftbridgeError | undefined, reason: 'init' | 'miss' | 'failure'): void {
    if (fresh) {
      this.defer(e, error, reason);
      return;
    }
    e.state = RETRY;
    e.needsFresh = false;
    this.awaitingRefresh.push(e);
    this.requestRefresh();
  }

  /**
   * A sent message failed in a way a resend may cure: resend later, within the policy. A message
   * that provably never left the client (`neverSent`: no connection was ever established) is sent
   * again even when resends are off: that cannot duplicate it.
   */
  retryLater(e: Entry, error: LiftbridgeError, address: string | undefined, neverSent = false): void {
    this.owner.release(e);
    e.state = RETRY;
    e.failures++;
    if (!this.resends.allows(e.failures, e.startedAt, neverSent)) {
      this.owner.settleError(e, this.owner.finalError(e, error, address));
      return;
    }
    this.retryQueue.push(e);
    this.resends.arm(error, address, true);
  }

  /** Routing found nothing (yet): look again after a metadata refresh. */
  private defer(e: Entry, error: LiftbridgeError | undefined, reason: 'init' | 'miss' | 'failure'): void {
    e.state = RETRY;
    e.needsFresh = reason !== 'failure';
    let failure = false;
    if (reason === 'miss' && error !== undefined) {
      // A fresh view without the stream or partition: a broker that has just restarted (or a new
      // stream reaching a lagging broker late). Final only when the cluster confirms it.
      this.confirmNotFound(e, error, undefined);
      return;
    } else if (reason === 'failure') {
      e.failures++;
      if (!this.resends.withinBudget(e.failures, e.startedAt)) {
        this.owner.giveUp(e, this.owner.finalError(e, error as LiftbridgeError, undefined));
        return;
      }
      failure = true;
    }
    this.retryQueue.push(e);
    this.resends.arm(error, undefined, failure);
  }

  /**
   * A "not found" answer (from the broker, or a fresh metadata view) is final only when the
   * cluster confirms it (src/metadata/confirm-missing.ts); otherwise the message is retried within
   * the policy like after any failure. A NOT_FOUND answer means the message was not stored, so
   * sending it again cannot duplicate it.
   */
  confirmNotFound(e: Entry, error: LiftbridgeError, address: string | undefined): void {
    const sent = e.state === SENT;
    if (sent) this.owner.forget(e);
    e.state = RETRY;
    let done = false;
    let sub: Subscription | undefined;
    const finish = (final: LiftbridgeError | undefined): void => {
      if (done) return;
      done = true;
      if (sub !== undefined) this.confirming.delete(sub);
      if (this.owner.isStopped() || e.state !== RETRY) return;
      if (final !== undefined) {
        this.owner.giveUp(e, final);
      } else if (sent) {
        this.retryLater(e, unconfirmedNotFound(error), address, true);
      } else {
        this.defer(e, unconfirmedNotFound(error), 'failure');
      }
      this.owner.check();
    };
    sub = this.metadata()
      .confirmMissing(e.stream)
      .subscribe({
        next: (verdict) => {
          if (verdict.kind === 'missing')
            finish(
              error instanceof NoSuchStreamError
                ? error
                : new NoSuchStreamError(`${RPC} stream=${e.stream}: no such stream`, { rpc: RPC, correlationId: e.correlationId }),
            );
          else if (verdict.kind === 'exists' && e.partition >= 0 && verdict.view.partition(e.stream, e.partition) === undefined) {
            finish(
              error instanceof NoSuchPartitionError
                ? error
                : new NoSuchPartitionError(`${RPC} stream=${e.stream} partition=${e.partition}: no such partition`, {
                    rpc: RPC,
                    correlationId: e.correlationId,
                  }),
            );
          } else finish(undefined);
        },
        error: () => finish(undefined),
      });
    if (!done) this.confirming.add(sub);
  }

  /**
   * One retry round, after the backoff: route what the latest view can route (to the leader, or
   * through a live broker); what needs a fresher view waits for a metadata refresh. After a
   * failure a refresh is started anyway, so that later messages find a new leader. Nothing waits
   * for a refresh that it does not need.
   */
  round(afterFailure: boolean): void {
    if (this.owner.isStopped()) return;
    for (const e of this.takeRetryQueue()) {
      if (this.owner.isStopped()) return;
      if (e.state !== RETRY) continue;
      if (e.needsFresh) {
        e.needsFresh = false;
        this.awaitingRefresh.push(e);
      } else this.owner.route(e, false);
    }
    if (afterFailure || this.awaitingRefresh.length > 0) this.requestRefresh();
    this.owner.check();
  }

  /** Starts a metadata refresh unless one runs; when it ends, routes what waited for it. */
  private requestRefresh(): void {
    if (this.owner.isStopped() || this.refreshSub !== undefined) return;
    let done = false;
    const sub = this.metadata()
      .refresh()
      .subscribe({
        error: (error: unknown) => {
          done = true;
          this.refreshSub = undefined;
          const e = error instanceof LiftbridgeError ? error : mapError(error, { rpc: 'FetchMetadata' });
          // No view within the client's policy: what needed one ends with this error.
          for (const entry of this.takeAwaiting()) {
            if (entry.state !== RETRY) continue;
            this.owner.giveUp(entry, this.owner.finalError(entry, e, e.address));
          }
          this.owner.check();
        },
        complete: () => {
          done = true;
          this.refreshSub = undefined;
          for (const entry of this.takeAwaiting()) {
            if (this.owner.isStopped()) return;
            if (entry.state === RETRY) this.owner.route(entry, true);
          }
          this.owner.check();
        },
      });
    if (!done) this.refreshSub = sub;
  }

  private takeAwaiting(): Entry[] {
    const batch = this.awaitingRefresh;
    this.awaitingRefresh = [];
    batch.sort((a, b) => a.seq - b.seq);
    return batch;
  }

  private takeRetryQueue(): Entry[] {
    const batch = this.retryQueue;
    this.retryQueue = [];
    batch.sort((a, b) => a.seq - b.seq);
    return batch;
  }
}
