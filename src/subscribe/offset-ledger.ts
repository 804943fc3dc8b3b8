/**
 * The offset ledger of one partition subscription: every delivered offset, in delivery order,
 * until the settled prefix passes it.
 *
 * A delivered message is *settled* when whoever handles it is done with it: a plain subscriber
 * (or an operator that drops it, such as `filter`) when its `next` returns; `consume()` when the
 * handler finishes. The ledger keeps two contiguous prefixes:
 *
 * - `settledThrough`: the last offset up to which every delivered message is settled. `commit()`
 *   (after processing, at-least-once) stores this.
 * - `reachedThrough`: the same, counting also messages `commit({ emit: 'committed' })` has
 *   taken in before processing (marked). The at-most-once mode stores this.
 *
 * A message whose processing was given up (handler error, unsubscribe) is *abandoned*: it leaves
 * nobody waiting, but neither prefix ever passes it, so no position can cover it.
 *
 * The window (`size`) is what the subscription's `prefetch` bounds: delivered offsets not yet
 * passed by the settled prefix. A message stuck in a handler therefore holds its partition at
 * `prefetch`, however many later messages finished.
 *
 * @internal
 */

const MARKED = 1;
const SETTLED = 2;
const ABANDONED = 4;

/** One delivered offset. @internal */
export interface LedgerEntry {
  readonly offset: bigint;
  /** Bit set of MARKED / SETTLED / ABANDONED. */
  state: number;
}

/** Called after either prefix moved or the window shrank. */
export type LedgerListener = () => void;

export class OffsetLedger {
  /** Entries from `head` on are in the window; earlier slots are garbage waiting for compaction. */
  private entries: LedgerEntry[] = [];
  private head = 0;
  /** Entries removed from the front of `entries` by compaction. */
  private base = 0;
  /** Absolute index of the first entry that is neither settled nor marked. */
  private reach = 0;
  private readonly listeners = new Set<LedgerListener>();
  private settled_: bigint | undefined;
  private reached_: bigint | undefined;
  private settledCount_ = 0;

  constructor(
    readonly stream: string,
    readonly partition: number,
    /** The subscription's bound on `size`. */
    readonly prefetch: number,
    /** Whether offsets are delivered newest first (then no prefix is a position). */
    readonly reverse = false,
  ) {}

  /** Highest offset a `commit()` following this ledger had stored (for `lag$`); undefined before. */
  committed: bigint | undefined = undefined;

  /**
   * The last processed offset for `lag$`: the settled prefix, or the offset before the first
   * unsettled delivered one; undefined before the first delivery.
   */
  get processedThrough(): bigint | undefined {
    if (this.settled_ !== undefined) return this.settled_;
    const first = this.entries[this.head];
    return first === undefined ? undefined : first.offset - 1n;
  }

  /** Last offset of the contiguous settled prefix (undefined before the first). */
  get settledThrough(): bigint | undefined {
    return this.settled_;
  }

  /** Last offset of the contiguous prefix that is settled or marked. */
  get reachedThrough(): bigint | undefined {
    return this.reached_;
  }

  /** How many offsets the settled prefix has passed so far. */
  get settledCount(): number {
    return this.settledCount_;
  }

  /** How many offsets the reached prefix has passed so far. */
  get reachedCount(): number {
    return this.reach;
  }

  /** Delivered offsets the settled prefix has not passed yet. */
  get size(): number {
    return this.entries.length - this.head;
  }

  /** Records a delivered offset (in delivery order). */
  deliver(offset: bigint): LedgerEntry {
    const entry: LedgerEntry = { offset, state: 0 };
    this.entries.push(entry);
    return entry;
  }

  /** The message is done with (processed or deliberately skipped). Idempotent; no-op once abandoned. */
  settle(entry: LedgerEntry): void {
    if ((entry.state & (SETTLED | ABANDONED)) !== 0) return;
    entry.state |= SETTLED;
    this.advance();
  }

  /** `commit({ emit: 'committed' })` took the message in: its position may be stored before processing. */
  mark(entry: LedgerEntry): void {
    if ((entry.state & (MARKED | ABANDONED)) !== 0) return;
    entry.state |= MARKED;
    this.advance();
  }

  /** Processing was given up: no prefix will pass this offset. No-op once settled. */
  abandon(entry: LedgerEntry): void {
    if ((entry.state & SETTLED) !== 0) return;
    entry.state |= ABANDONED;
  }

  /** Calls `listener` after every change of a prefix or the window. Returns the unsubscribe. */
  watch(listener: LedgerListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private advance(): void {
    let changed = false;
    const total = this.base + this.entries.length;
    while (this.reach < total) {
      const e = this.entries[this.reach - this.base] as LedgerEntry;
      if ((e.state & ABANDONED) !== 0 || (e.state & (SETTLED | MARKED)) === 0) break;
      this.reached_ = e.offset;
      this.reach++;
      changed = true;
    }
    while (this.head < this.entries.length) {
      const e = this.entries[this.head] as LedgerEntry;
      if ((e.state & SETTLED) === 0) break;
      this.settled_ = e.offset;
      this.settledCount_++;
      this.head++;
      changed = true;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.base += this.head;
      this.head = 0;
    }
    if (changed) for (const l of [...this.listeners]) l();
  }
}
