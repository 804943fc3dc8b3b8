/**
 * Ack deadlines of a publisher as one FIFO swept by one timer (not a timer per message). Every
 * send of a pipeline has the same `ackWaitMs`, so send order is deadline order: the head is always
 * the next to expire. Settled or resent items are dropped lazily when they reach the head, and
 * eagerly after each settle ({@link trim}), so the queue holds about as many items as are in flight.
 *
 * @internal
 */

/** An item whose deadline may be obsolete: `current(generation)` says whether it still counts. */
export interface Expirable {
  /** Whether the send numbered `generation` is still waiting for its response. */
  isWaiting(generation: number): boolean;
}

export class TimeoutQueue<T extends Expirable> {
  private items: Array<T | undefined> = [];
  private gens: number[] = [];
  private deadlines: number[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  /** Deadline of the head, or undefined when empty. */
  nextDeadline(): number | undefined {
    return this.head < this.items.length ? this.deadlines[this.head] : undefined;
  }

  push(item: T, generation: number, deadline: number): void {
    this.items.push(item);
    this.gens.push(generation);
    this.deadlines.push(deadline);
  }

  /** Drops obsolete items at the head. */
  trim(): void {
    while (this.head < this.items.length) {
      const item = this.items[this.head] as T;
      if (item.isWaiting(this.gens[this.head] as number)) break;
      this.items[this.head] = undefined;
      this.head++;
    }
    this.compact();
  }

  /** Removes and returns every still-waiting item whose deadline is <= now (in order). */
  expire(now: number): T[] {
    const out: T[] = [];
    while (this.head < this.items.length && (this.deadlines[this.head] as number) <= now) {
      const item = this.items[this.head] as T;
      const gen = this.gens[this.head] as number;
      this.items[this.head] = undefined;
      this.head++;
      if (item.isWaiting(gen)) out.push(item);
    }
    this.trim();
    return out;
  }

  clear(): void {
    this.items = [];
    this.gens = [];
    this.deadlines = [];
    this.head = 0;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.gens.length = 0;
      this.deadlines.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.gens = this.gens.slice(this.head);
      this.deadlines = this.deadlines.slice(this.head);
      this.head = 0;
    }
  }
}
