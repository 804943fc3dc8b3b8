/**
 * When a publish pipeline resends: the retry policy applied to its messages. One timer for the
 * whole pipeline ("a round"): failures arm it with the policy's backoff (counted in consecutive
 * failures, reset by any ack), report each attempt (`retry.onRetry`, a `reconnecting` status), and
 * messages that wait for a round join the pending one. `allows` says whether a message may be
 * sent again at all (resends on, attempts and total time left).
 *
 * The decisions, the `onRetry` call, the status report and the wait all come from the core retry
 * scheduler (src/core/retry-scheduler.ts), the one unary operations, the partition stream and the
 * group loop use. Its outage is the run of consecutive failures (an ack ends it); the outage itself
 * has no budget here, since each message carries its own (`allows`, `withinBudget`).
 *
 * Internal (not exported from the package root).
 */
import type { SchedulerLike, Subscription } from 'rxjs';
import { type RetrySchedule, retrySchedule } from '../core/retry-scheduler.js';
import type { LiftbridgeError } from '../errors/errors.js';
import type { RetryPolicy } from '../retry/retry-policy.js';
import type { ClientStatus } from '../status.js';

const RPC = 'PublishAsync';

/** What the timer needs around it. */
export interface ResendTimerHost {
  readonly scheduler: SchedulerLike;
  readonly random: () => number;
  emitStatus(status: ClientStatus): void;
  logError(message: string, fields: Record<string, unknown>): void;
  /** The round is due. `afterFailure`: some failure armed it (then a metadata refresh is started). */
  onRound(afterFailure: boolean): void;
}

export class ResendTimer {
  private readonly schedule: RetrySchedule;
  private timer: Subscription | undefined;
  private roundAfterFailure = false;
  private stopped = false;
  /** The broker the failure that is being reported came from (for the status event). */
  private address: string | undefined;

  constructor(
    private readonly policy: RetryPolicy,
    /** Whether messages that may have reached a broker are resent (`retry` not `false`). */
    private readonly resend: boolean,
    private readonly host: ResendTimerHost,
  ) {
    this.schedule = retrySchedule({
      // Messages carry their own budgets (allows / withinBudget): the pipeline's rounds never run out.
      policy: { ...policy, maxRetries: Infinity, totalTimeoutMs: Infinity },
      scheduler: host.scheduler,
      random: host.random,
      // A user callback, called from transport events and timers: it must not break the pipeline.
      logger: { warn: (message, fields) => host.logError(message, { ...fields, rpc: RPC }) },
      report: (e) => host.emitStatus({ type: 'reconnecting', rpc: RPC, attempt: e.attempt, delayMs: e.delayMs, error: e.error, address: this.address }),
    });
  }

  /** A round is due: new messages join it, so that messages go out in input order. */
  get pending(): boolean {
    return this.timer !== undefined;
  }

  /**
   * Whether a message that failed for the `failures`-th time may be sent again. One that provably
   * never left the client is sent again even when resends are off: that cannot duplicate it.
   */
  allows(failures: number, startedAt: number, neverSent: boolean): boolean {
    if (!this.resend && !neverSent) return false;
    return this.withinBudget(failures, startedAt);
  }

  /** Whether a message that failed to be routed for the `failures`-th time may be tried again. */
  withinBudget(failures: number, startedAt: number): boolean {
    return failures <= this.policy.maxRetries && this.host.scheduler.now() - startedAt < this.policy.totalTimeoutMs;
  }

  /** An ack (or a written fire-and-forget message): the next failure starts the backoff afresh. */
  succeeded(): void {
    this.schedule.recovered();
  }

  /** Arms a round (unless one is pending); `failure`: after the policy's backoff, reported. */
  arm(error: LiftbridgeError | undefined, address: string | undefined, failure: boolean): void {
    if (this.stopped) return;
    if (this.timer !== undefined) {
      this.roundAfterFailure ||= failure;
      return;
    }
    let delayMs = 0;
    if (failure) {
      this.address = address;
      const next = error === undefined ? this.schedule.failed() : this.schedule.next(error);
      // Unlimited retries and budget: the decision is always a retry.
      if (next.kind === 'retry') delayMs = next.delayMs;
    }
    this.roundAfterFailure = failure;
    this.timer = this.schedule.delay(delayMs).subscribe(() => {
      this.timer = undefined;
      this.host.onRound(this.roundAfterFailure);
    });
  }

  /** Cancels the pending round for good. */
  stop(): void {
    this.stopped = true;
    this.timer?.unsubscribe();
    this.timer = undefined;
  }
}
