/**
 * When a publish pipeline resends: the retry policy applied to its messages. One timer for the
 * whole pipeline ("a round"): failures arm it with the policy's backoff (counted in consecutive
 * failures, reset by any ack), report each attempt (`retry.onRetry`, a `reconnecting` status), and
 * messages that wait for a round join the pending one. `allows` says whether a message may be
 * sent again at all (resends on, attempts and total time left).
 *
 * The only place in src/publish/ that schedules retries: adopting the client's shared retry
 * scheduler means replacing this file's internals.
 *
 * Internal (not exported from the package root).
 */
import type { SchedulerLike, Subscription } from 'rxjs';
import type { LiftbridgeError } from '../errors/errors.js';
import { type RetryPolicy, backoffDelay } from '../retry/retry-policy.js';
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
  private consecutiveFailures = 0;
  private timer: Subscription | undefined;
  private roundAfterFailure = false;
  private stopped = false;

  constructor(
    private readonly policy: RetryPolicy,
    /** Whether messages that may have reached a broker are resent (`retry` not `false`). */
    private readonly resend: boolean,
    private readonly host: ResendTimerHost,
  ) {}

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
    return failures <= this.policy.maxRetries && this.host.scheduler.now() - startedAt < this.policy.totalTimeoutMs;
  }

  /** Whether a message that failed to be routed for the `failures`-th time may be tried again. */
  withinBudget(failures: number, startedAt: number): boolean {
    return failures <= this.policy.maxRetries && this.host.scheduler.now() - startedAt < this.policy.totalTimeoutMs;
  }

  /** An ack (or a written fire-and-forget message): the next failure starts the backoff afresh. */
  succeeded(): void {
    this.consecutiveFailures = 0;
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
      this.consecutiveFailures++;
      delayMs = backoffDelay(this.policy, this.consecutiveFailures, this.host.random);
      if (error !== undefined) {
        const onRetry = this.policy.onRetry;
        if (onRetry !== undefined) {
          // A user callback, called from transport events and timers: it must not break the pipeline.
          try {
            onRetry(error, this.consecutiveFailures, delayMs);
          } catch (callbackError) {
            this.host.logError('retry.onRetry threw; ignored', { error: callbackError, rpc: RPC, attempt: this.consecutiveFailures });
          }
        }
        this.host.emitStatus({ type: 'reconnecting', rpc: RPC, attempt: this.consecutiveFailures, delayMs, error, address });
      }
    }
    this.roundAfterFailure = failure;
    this.timer = this.host.scheduler.schedule(() => {
      this.timer = undefined;
      this.host.onRound(this.roundAfterFailure);
    }, delayMs);
  }

  /** Cancels the pending round for good. */
  stop(): void {
    this.stopped = true;
    this.timer?.unsubscribe();
    this.timer = undefined;
  }
}
