/**
 * Ordered emission of a publish pipeline (`ordered: true`): outcomes leave in input order, each
 * once its input and every input before it settled. Re-entrant calls (an emission that settles
 * more) return at once; the outer loop continues.
 *
 * @internal
 */
export class OrderedEmission<T> {
  private readonly order: Array<T | undefined> = [];
  private head = 0;
  /** Inside flush(): emissions now run on the subscriber's stack. */
  flushing = false;

  constructor(
    private readonly isSettled: (item: T) => boolean,
    private readonly emit: (item: T) => void,
    private readonly isStopped: () => boolean,
  ) {}

  /** An input was taken: its outcome comes after those of the inputs before it. */
  add(item: T): void {
    this.order.push(item);
  }

  /** Emits the settled prefix. */
  flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (!this.isStopped() && this.head < this.order.length) {
        const item = this.order[this.head] as T;
        if (!this.isSettled(item)) break;
        this.order[this.head++] = undefined;
        this.emit(item);
      }
      if (this.head === this.order.length) {
        this.order.length = 0;
        this.head = 0;
      } else if (this.head > 4096 && this.head * 2 > this.order.length) {
        this.order.splice(0, this.head);
        this.head = 0;
      }
    } finally {
      this.flushing = false;
    }
  }
}
