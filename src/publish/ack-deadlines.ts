/**
 * Ack deadlines of a publish pipeline's in-flight table: each send's deadline starts when its
 * bytes reach the socket (once per send generation), in one FIFO ({@link TimeoutQueue}) swept by
 * one timer on the client's scheduler.
 *
 * Internal (not exported from the package root).
 */
import type { SchedulerLike, Subscription } from 'rxjs';
import type { Entry } from './in-flight-entry.js';
import { TimeoutQueue } from './timeout-queue.js';

export class AckDeadlines {
  private readonly queue = new TimeoutQueue<Entry>();
  private timer: Subscription | undefined;
  private stopped = false;

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly ackWaitMs: number,
    /** Entries whose current send got no response in time (in send order). */
    private readonly onExpired: (expired: Entry[]) => void,
  ) {}

  /** The ack deadline of `e`'s current send starts at `now` (once per send). */
  start(e: Entry, now: number): void {
    if (e.deadlineGen === e.gen) return;
    e.deadlineGen = e.gen;
    this.queue.push(e, e.gen, now + this.ackWaitMs);
    this.arm();
  }

  /** Drops settled or resent entries at the head (after a settle). */
  trim(): void {
    this.queue.trim();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.unsubscribe();
    this.timer = undefined;
    this.queue.clear();
  }

  private arm(): void {
    if (this.timer !== undefined || this.stopped) return;
    const next = this.queue.nextDeadline();
    if (next === undefined) return;
    const delayMs = Math.max(0, next - this.scheduler.now());
    this.timer = this.scheduler.schedule(() => {
      this.timer = undefined;
      if (this.stopped) return;
      this.onExpired(this.queue.expire(this.scheduler.now()));
      this.arm();
    }, delayMs);
  }
}
