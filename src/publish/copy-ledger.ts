/**
 * Which copies of a resent message may still answer. A PublishAsync answer carries only the
 * correlation id, so when a message was sent again after its ack deadline passed, an answer cannot
 * say which copy it is for. The ledger counts, per message, the copies still out on each call
 * (lane): a copy starts to count when its deadline passes while its call is alive (it may answer
 * late), and every later copy of that message counts from its send. A copy stops counting when it
 * is answered, when it provably never left, or when its call ends. Messages whose deadline never
 * passed are not tracked at all: sending and answering them costs one failed map lookup.
 *
 * The rule the lanes build on it: a retriable error answer while another copy is still out may be
 * an older copy's, and is not acted on (src/publish/publish-lanes.ts).
 *
 * Internal (not exported from the package root).
 */
export class CopyLedger<E extends object, L extends object> {
  /** Per tracked message: its copies not yet answered, per call that is still alive. */
  private readonly out = new Map<E, Map<L, number>>();

  /** The deadline of `entry`'s copy on `lane` (alive) passed: that copy may still answer. */
  timedOut(entry: E, lane: L): void {
    if (!this.out.has(entry)) this.out.set(entry, new Map([[lane, 1]]));
  }

  /** A copy of `entry` was sent on `lane`. */
  sent(entry: E, lane: L): void {
    const perLane = this.out.get(entry);
    if (perLane !== undefined) perLane.set(lane, (perLane.get(lane) ?? 0) + 1);
  }

  /** A copy of `entry` on `lane` provably never left the client (it cannot answer). */
  unsent(entry: E, lane: L): void {
    this.decrement(entry, lane);
  }

  /** A copy of `entry` on `lane` was answered. Returns how many of its copies are still out. */
  answered(entry: E, lane: L): number {
    this.decrement(entry, lane);
    let n = 0;
    for (const c of this.out.get(entry)?.values() ?? []) n += c;
    return n;
  }

  /** `lane`'s call ended: none of its copies will answer. */
  laneGone(lane: L): void {
    for (const perLane of this.out.values()) perLane.delete(lane);
  }

  /** `entry` has its outcome (or is dropped): forget its copies. */
  drop(entry: E): void {
    this.out.delete(entry);
  }

  clear(): void {
    this.out.clear();
  }

  /** Messages tracked (for tests and diagnostics). */
  get tracked(): number {
    return this.out.size;
  }

  private decrement(entry: E, lane: L): void {
    const perLane = this.out.get(entry);
    const n = perLane?.get(lane);
    if (perLane === undefined || n === undefined) return;
    if (n > 1) perLane.set(lane, n - 1);
    else perLane.delete(lane);
  }
}
