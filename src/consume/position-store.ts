/**
 * Where consumers keep their positions. `commit()` writes to a {@link PositionStore};
 * `StartAt.stored(store)` resumes from one. The default store is Liftbridge cursors
 * ({@link cursorStore}); an application can keep positions anywhere else (its own
 * database, next to the data it derives), as Liiklus allows.
 */
import { type ObservableInput, map } from 'rxjs';
import type { LiftbridgeClient } from '../client.js';
import { requireNonEmptyString } from '../internal/validate.js';

/**
 * A place to keep the last processed offset per stream partition.
 * Offsets are the *last processed* offset; consumption resumes at offset + 1.
 */
export interface PositionStore {
  /** The last processed offset, or undefined when nothing is stored. */
  load(stream: string, partition: number): ObservableInput<bigint | undefined>;
  /** Stores the last processed offset. `commit()` never calls it with a smaller offset than before. */
  save(stream: string, partition: number, offset: bigint): ObservableInput<unknown>;
  /** A short description for errors and logs. */
  readonly description?: string;
}

/**
 * The default position store: Liftbridge cursors named `cursorId` (`-1`, the server's "never
 * set", reads as undefined).
 *
 * @example
 * ```ts
 * const store = cursorStore(lift, 'indexer');
 * lift.subscribe('orders', { partitions: 'all', startAt: StartAt.stored(store) })
 *   .pipe(consume(index), commit(store, { count: 1000, timeMs: 5000 }));
 * ```
 */
export function cursorStore(client: LiftbridgeClient, cursorId: string): PositionStore {
  requireNonEmptyString('cursorId', cursorId);
  return {
    description: `cursor '${cursorId}'`,
    load: (stream, partition) =>
      client.fetchCursor({ stream, partition, cursorId }).pipe(map((offset) => (offset < 0n ? undefined : offset))),
    save: (stream, partition, offset) => client.setCursor({ stream, partition, cursorId, offset }),
  };
}
