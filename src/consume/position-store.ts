/**
 * Where consumers keep their positions. `commit()` writes to a {@link PositionStore};
 * `StartAt.stored(store)` resumes from one. The default store is Liftbridge cursors
 * ({@link cursorStore}); an application can keep positions anywhere else (its own
 * database, next to the data it derives), as Liiklus allows.
 */
import { type ObservableInput, map } from 'rxjs';
import type { ClientRef } from '../core/client-ref.js';
import { coreOf } from '../core/internal-access.js';
import type { Logger } from '../internal/logger.js';
import type { OffsetLedger } from '../subscribe/offset-ledger.js';
import { requireNonEmptyString } from '../internal/validate.js';
import { fetchCursor, setCursor } from './cursors.js';

/**
 * A place to keep the last processed offset per stream partition.
 * Offsets are the *last processed* offset; consumption resumes at offset + 1.
 */
export interface PositionStore {
  /**
   * The last processed offset, or undefined when nothing is stored. Only the first value
   * counts; completing without a value also means "nothing stored" (the subscription then
   * starts at its fallback position). An error fails the subscription.
   */
  load(stream: string, partition: number): ObservableInput<bigint | undefined>;
  /**
   * Stores the last processed offset; the write counts as done when the returned input
   * completes (its values are ignored), as failed when it errors. `commit()` never calls it
   * with a smaller offset than before, and one write at a time per partition.
   */
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
export function cursorStore(client: ClientRef, cursorId: string): PositionStore {
  requireNonEmptyString('cursorId', cursorId);
  const core = coreOf(client);
  return {
    description: `cursor '${cursorId}'`,
    load: (stream, partition) => fetchCursor(core, { stream, partition, cursorId }).pipe(map((offset) => (offset < 0n ? undefined : offset))),
    // A final flush may follow a write in flight while the client closes: see finalWork.
    save: (stream, partition, offset) => core.finalWork(setCursor(core, { stream, partition, cursorId, offset })),
  };
}

/**
 * Key of the hook by which a store owns the lifecycle of the `commit()`s writing to it (a group
 * assignment does: on revocation it waits for their final writes before fencing).
 * `Symbol.for`, so that the ESM and CJS copies of the SDK agree.
 * @internal
 */
export const COMMIT_LIFECYCLE: unique symbol = Symbol.for('rx-liftbridge.commit-lifecycle');

/** @internal See {@link COMMIT_LIFECYCLE}. */
export interface CommitLifecycle {
  /**
   * A `commit()` started writing to the store; it calls the result once its last write ended.
   * `onLedger` receives the ledger of every subscription of the store's partition (the current
   * one at once), so that commit() follows it even when no message reaches commit().
   */
  attach(onLedger?: (ledger: OffsetLedger) => void): () => void;
  /** Where `commit()` logs what user callbacks throw. */
  readonly logger?: Logger;
  /**
   * Whether the store's partition was handed over: revoked, or its intake ended by itself (a
   * newer-epoch member replaced the subscription). `commit({ emit: 'committed' })`
   * then writes nothing more and lets no held message out: a new owner may already have loaded
   * the older position, so only it may process them (at-most-once across owners).
   */
  readonly revoked?: boolean;
}
