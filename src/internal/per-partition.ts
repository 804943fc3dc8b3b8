/**
 * State kept per stream partition by the message operators (`consume()`, `commit()`), looked up
 * on every message without building a key string.
 *
 * @internal
 */
export class PerPartition<T> {
  private readonly byStream = new Map<string, Map<number, T>>();
  private readonly all: T[] = [];

  constructor(private readonly create: (stream: string, partition: number) => T) {}

  /** The state of `stream`/`partition`, created on first use. */
  get(stream: string, partition: number): T {
    let states = this.byStream.get(stream);
    if (states === undefined) {
      states = new Map();
      this.byStream.set(stream, states);
    }
    let state = states.get(partition);
    if (state === undefined) {
      state = this.create(stream, partition);
      states.set(partition, state);
      this.all.push(state);
    }
    return state;
  }

  /** Every state created so far. */
  values(): readonly T[] {
    return this.all;
  }
}
