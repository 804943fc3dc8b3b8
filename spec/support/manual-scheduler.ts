/**
 * A scheduler for unit specs whose clock moves only when the spec says so: `schedule()` queues
 * work at `now() + delay`, `advance(ms)` runs what falls due in time order (ties in the order
 * scheduled). The SDK's injected `scheduler` option only needs `now()` and `schedule()`.
 */
import { Subscription } from 'rxjs';

export class ManualScheduler {
  private t = 0;
  private queue: { at: number; seq: number; work: () => void; sub: Subscription }[] = [];
  private seq = 0;
  /** How many actions were ever scheduled. */
  scheduled = 0;
  now(): number {
    return this.t;
  }
  schedule(work: () => void, delay = 0): Subscription {
    this.scheduled++;
    const sub = new Subscription();
    this.queue.push({ at: this.t + delay, seq: this.seq++, work, sub });
    return sub;
  }
  /** Moves the clock forward, running due actions in time order. */
  advance(ms: number): void {
    const until = this.t + ms;
    for (;;) {
      this.queue = this.queue.filter((a) => !a.sub.closed);
      this.queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.queue[0];
      if (next === undefined || next.at > until) break;
      this.queue.shift();
      this.t = next.at;
      next.sub.unsubscribe();
      next.work();
    }
    this.t = until;
  }
  /** Actions scheduled and not yet run or cancelled. */
  get pending(): number {
    return this.queue.filter((a) => !a.sub.closed).length;
  }
}
