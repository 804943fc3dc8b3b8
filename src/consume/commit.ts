/**
 * `commit()`: stores consumer positions as an RxJS operator, the Liiklus recipe done once.
 *
 * Per partition it follows the subscription's {@link OffsetLedger} and stores its contiguous
 * *settled* prefix: every delivered offset up to it is settled (processed, or dropped on purpose
 * by an operator such as `filter`), whatever order handlers finished in. It never holds messages
 * to learn that prefix, so operators between `subscribe()` and `commit()` may drop messages.
 * Writes go to a {@link PositionStore} every `count` settled offsets and every `timeMs`, one
 * write in flight per partition, the latest value winning, never backwards; only writes the store
 * confirmed are reported (`onCommit`, emitted messages in `'committed'` mode). It flushes when
 * its source completes or errors and when it is unsubscribed. In a consumer group the
 * assignment owns its lifecycle: on revocation the partition's intake stops, this flush is
 * written, and only then are further writes fenced off.
 */
import { Observable, type OperatorFunction, type SchedulerLike, asyncScheduler, from, interval } from 'rxjs';
import type { ClientRef } from '../core/client-ref.js';
import { coreOf } from '../core/internal-access.js';
import { InvalidArgumentError } from '../errors/errors.js';
import { type Logger, silentLogger } from '../internal/logger.js';
import { PerPartition } from '../internal/per-partition.js';
import {
  rejectUnknownKeys,
  requireDuration,
  requireFunction,
  requireInteger,
  requireObject,
  requireOneOf,
  requireScheduler,
  validatedOperator,
} from '../internal/validate.js';
import type { OffsetLedger } from '../subscribe/offset-ledger.js';
import { ReceivedMessage } from '../subscribe/received-message.js';
import type { Message } from '../subscribe/types.js';
import { COMMIT_LIFECYCLE, type CommitLifecycle, type PositionStore, cursorStore } from './position-store.js';

/** Default of `CommitOptions.count`. */
export const DEFAULT_COMMIT_COUNT = 1000;
/** Default of `CommitOptions.timeMs`. */
export const DEFAULT_COMMIT_TIME_MS = 5000;

/** Options of {@link commit}. */
export interface CommitOptions {
  /**
   * Write the position after this many newly settled offsets (per partition). With
   * `emit: 'committed'` messages wait in `commit()` until their position is written, so `count`
   * must be at most the subscription's `prefetch` (otherwise the partition would stop reading
   * before the write is due: the operator fails with {@link InvalidArgumentError} naming
   * `options.count` on the first message); left out, it becomes `min(1000, prefetch / 2)` there.
   * @defaultValue 1000 (`'committed'`: min(1000, prefetch / 2))
   */
  count?: number;
  /** Write the position at least this often while it changed, in ms; 0 disables. @defaultValue 5000 */
  timeMs?: number;
  /**
   * When messages leave the operator: `'processed'` at once, as they arrive (use after
   * processing: at-least-once; the stored position follows the settled prefix), or
   * `'committed'` only once a stored position covers them (use before processing:
   * at-most-once). With a group assignment as target, nothing more is written or let out once
   * the partition is handed over (revoked, or its subscription replaced by a newer epoch).
   * @defaultValue 'processed'
   */
  emit?: 'processed' | 'committed';
  /** Timer scheduler (tests). @defaultValue asyncScheduler */
  scheduler?: SchedulerLike;
  /** Called after each write the store confirmed (never for a failed or fenced write). */
  onCommit?: (position: { stream: string; partition: number; offset: bigint }) => void;
  /**
   * Where an exception thrown by `onCommit` is logged (it never breaks the operator).
   * @defaultValue the client's logger for a client or group target, else silent
   */
  logger?: Logger;
}

/** What commit() knows of one partition. */
interface PartitionCommit {
  readonly stream: string;
  readonly partition: number;
  /** The ledger followed (the latest subscription's). */
  ledger: OffsetLedger | undefined;
  unwatch: (() => void) | undefined;
  /** The ledger's prefix count at the last look. */
  seen: number;
  /** Write after this many settled offsets. */
  count: number;
  /** Highest offset that may be stored (settled prefix; never decreases). */
  target: bigint | undefined;
  /** Highest offset the store confirmed. */
  committed: bigint | undefined;
  sinceWrite: number;
  writing: boolean;
  /** A write was asked for while one was in flight. */
  dirty: boolean;
  /** A write failed: no more writes for this partition. */
  broken: boolean;
  /** `'committed'` mode: messages waiting for a stored position to cover them. */
  readonly held: Message[];
}

/**
 * Commits the contiguous settled prefix of each partition to a position store.
 *
 * `target` is a {@link PositionStore}, or a client plus a cursor id (Liftbridge cursors), or a
 * consumer-group assignment (which fences writes by revocation, after this operator's final
 * write). What settles a message: a subscriber or operator returning from `next` without
 * claiming it (so `filter` settles what it drops), or `consume()` finishing its handler. A
 * failed handler or an unsubscribe abandons a message: no stored position covers it.
 *
 * Ends with the store's error when a write fails (the failed write is not reported), with
 * {@link InvalidArgumentError} for options that cannot work together.
 *
 * Invalid arguments never throw: the piped Observable errors with {@link InvalidArgumentError} on
 * subscribe (`target`, `cursorId`, `options.count`, `options.scheduler`...), without subscribing
 * the source.
 *
 * @example
 * ```ts
 * lift.subscribe('orders', { partitions: 'all', startAt: StartAt.cursor('indexer') })
 *   .pipe(consume(index, { concurrency: 8 }), commit(lift, 'indexer', { count: 1000, timeMs: 5000 }))
 *   .subscribe();
 * ```
 */
export function commit(store: PositionStore, options?: CommitOptions): OperatorFunction<Message, Message>;
export function commit(client: ClientRef, cursorId: string, options?: CommitOptions): OperatorFunction<Message, Message>;
export function commit(
  target: PositionStore | ClientRef,
  cursorIdOrOptions?: string | CommitOptions,
  maybeOptions?: CommitOptions,
): OperatorFunction<Message, Message> {
  return validatedOperator(() => commitNow(target, cursorIdOrOptions, maybeOptions));
}

function commitNow(
  target: PositionStore | ClientRef,
  cursorIdOrOptions?: string | CommitOptions,
  maybeOptions?: CommitOptions,
): OperatorFunction<Message, Message> {
  const viaClient = typeof cursorIdOrOptions === 'string';
  const store: PositionStore = viaClient ? cursorStore(target as ClientRef, cursorIdOrOptions) : (target as PositionStore);
  if (typeof store?.save !== 'function' || typeof store.load !== 'function') {
    throw new InvalidArgumentError('target', 'expected a PositionStore, or a client and a cursor id');
  }
  const o = requireObject('options', (viaClient ? maybeOptions : cursorIdOrOptions) ?? {});
  rejectUnknownKeys('options', o, ['count', 'timeMs', 'emit', 'scheduler', 'onCommit', 'logger']);
  const countGiven = o.count !== undefined;
  const count = countGiven ? requireInteger('options.count', o.count, 1) : DEFAULT_COMMIT_COUNT;
  const timeMs = o.timeMs === undefined ? DEFAULT_COMMIT_TIME_MS : requireDuration('options.timeMs', o.timeMs);
  const emitMode = o.emit === undefined ? 'processed' : requireOneOf('options.emit', o.emit, ['processed', 'committed'] as const);
  if (o.scheduler !== undefined) requireScheduler('options.scheduler', o.scheduler);
  const scheduler = (o.scheduler as SchedulerLike | undefined) ?? asyncScheduler;
  if (o.onCommit !== undefined) requireFunction('options.onCommit', o.onCommit);
  const onCommit = o.onCommit as CommitOptions['onCommit'];
  const lifecycle = (store as { [COMMIT_LIFECYCLE]?: CommitLifecycle })[COMMIT_LIFECYCLE];
  const logger: Logger = (o.logger as Logger | undefined) ?? lifecycle?.logger ?? (viaClient ? coreOf(target).options.logger : silentLogger);
  const committedMode = emitMode === 'committed';

  return (source) =>
    new Observable<Message>((out) => {
      // The assignment (if any) waits for this operator's last write before fencing, and hands
      // over its partition's ledger (so it is followed even if every message is dropped before).
      let detach: (() => void) | undefined;
      const parts = new PerPartition<PartitionCommit>((stream, partition) => ({
        stream,
        partition,
        ledger: undefined,
        unwatch: undefined,
        seen: 0,
        count,
        target: undefined,
        committed: undefined,
        sinceWrite: 0,
        writing: false,
        dirty: false,
        broken: false,
        held: [],
      }));
      /** 'running' → 'ending' (source done, failed or unsubscribed: final writes) → 'finished'. */
      let phase: 'running' | 'ending' | 'finished' = 'running';
      /** Whether `out` was ended (error) or unsubscribed: nothing more goes downstream. */
      let outClosed = false;
      let sourceCompleted = false;

      const fail = (e: unknown): void => {
        if (outClosed) return;
        outClosed = true;
        out.error(e);
      };

      const release = (m: Message): void => ReceivedMessage.handOff(m, (x) => out.next(x));

      // At-most-once across owners: once the partition is revoked, a new owner may have loaded the
      // older position, so held messages are not let out and no further position is written.
      const handedOver = (): boolean => committedMode && lifecycle?.revoked === true;

      const needsWrite = (p: PartitionCommit): boolean =>
        !p.broken && !handedOver() && p.target !== undefined && (p.committed === undefined || p.target > p.committed);

      const maybeFinish = (): void => {
        if (phase !== 'ending') return;
        for (const p of parts.values()) if (p.writing || needsWrite(p)) return;
        phase = 'finished';
        for (const p of parts.values()) for (const m of p.held.splice(0)) ReceivedMessage.abandon(m);
        detach?.();
        if (sourceCompleted && !outClosed) {
          outClosed = true;
          out.complete();
        }
      };

      const written = (p: PartitionCommit, offset: bigint): void => {
        p.writing = false;
        p.committed = offset;
        // lag$ reads the committed position from the subscription's ledger.
        if (p.ledger !== undefined && (p.ledger.committed === undefined || offset > p.ledger.committed)) p.ledger.committed = offset;
        try {
          onCommit?.({ stream: p.stream, partition: p.partition, offset });
        } catch (e) {
          logger.error('commit(): onCommit threw', { stream: p.stream, partition: p.partition, offset: String(offset), error: String(e) });
        }
        if (committedMode && p.held.length > 0) {
          // Messages may have arrived out of offset order (an upstream operator reordered them):
          // let out every one the stored position covers, in arrival order.
          const covered = p.held.filter((m) => m.offset <= offset);
          if (covered.length > 0) {
            const rest = p.held.filter((m) => m.offset > offset);
            p.held.splice(0, p.held.length, ...rest);
            for (const m of covered) {
              if (outClosed || handedOver()) ReceivedMessage.abandon(m);
              else release(m);
            }
          }
        }
        if (p.dirty || (phase !== 'running' && needsWrite(p))) write(p);
        else maybeFinish();
      };

      const writeFailed = (p: PartitionCommit, e: unknown): void => {
        p.writing = false;
        p.broken = true;
        fail(e);
        maybeFinish();
      };

      const write = (p: PartitionCommit): void => {
        if (p.writing) {
          p.dirty = true;
          return;
        }
        p.dirty = false;
        if (!needsWrite(p)) {
          maybeFinish();
          return;
        }
        const offset = p.target as bigint;
        p.writing = true;
        p.sinceWrite = 0;
        // Writes are never cancelled, not even on unsubscribe: a position must not be lost.
        let save: Observable<unknown>;
        try {
          save = from(store.save(p.stream, p.partition, offset));
        } catch (e) {
          writeFailed(p, e);
          return;
        }
        save.subscribe({ error: (e: unknown) => writeFailed(p, e), complete: () => written(p, offset) });
      };

      /** Takes in what the ledger's prefix passed since the last look. */
      const follow = (p: PartitionCommit, ledger: OffsetLedger): void => {
        if (phase !== 'running' || p.ledger !== ledger) return;
        const prefix = committedMode ? ledger.reachedThrough : ledger.settledThrough;
        const n = committedMode ? ledger.reachedCount : ledger.settledCount;
        p.sinceWrite += n - p.seen;
        p.seen = n;
        if (prefix !== undefined && (p.target === undefined || prefix > p.target)) p.target = prefix;
        if (p.sinceWrite >= p.count) write(p);
      };

      /** Starts following a partition subscription's ledger; false when it cannot be committed. */
      const adopt = (p: PartitionCommit, ledger: OffsetLedger): boolean => {
        if (ledger.reverse) {
          fail(new InvalidArgumentError('options.reverse', 'commit() cannot store positions of a reverse subscription'));
          return false;
        }
        if (committedMode) {
          if (countGiven && count > ledger.prefetch) {
            fail(
              new InvalidArgumentError(
                'options.count',
                `${count} is more than the subscription's prefetch (${ledger.prefetch}): with emit 'committed' messages wait in commit() until their position is written, and the partition stops reading at prefetch; use count <= prefetch or a larger prefetch`,
              ),
            );
            return false;
          }
          p.count = countGiven ? count : Math.min(count, Math.max(1, Math.floor(ledger.prefetch / 2)));
        }
        p.unwatch?.();
        p.ledger = ledger;
        p.seen = 0;
        p.unwatch = ledger.watch(() => follow(p, ledger));
        follow(p, ledger);
        return true;
      };

      /** Ends intake from upstream: final writes, then finish. */
      const end = (): void => {
        if (phase !== 'running') return;
        // One last look at each ledger: it calls its watchers in turn, and an earlier one (the
        // subscription's, at its stop position) may end this pipeline before ours hears of the
        // settlement that let it stop.
        for (const p of parts.values()) if (p.ledger !== undefined) follow(p, p.ledger);
        phase = 'ending';
        timer?.unsubscribe();
        for (const p of parts.values()) {
          p.unwatch?.();
          p.unwatch = undefined;
          write(p);
        }
        maybeFinish();
      };

      const timer =
        timeMs > 0
          ? interval(timeMs, scheduler).subscribe(() => {
              for (const p of parts.values()) if (p.sinceWrite > 0) write(p);
            })
          : undefined;

      detach = lifecycle?.attach((ledger) => {
        if (phase !== 'running') return;
        const p = parts.get(ledger.stream, ledger.partition);
        if (p.ledger !== ledger) adopt(p, ledger);
      });
      if (outClosed) {
        // The ledger handed over at attach was refused (options that cannot work): no intake.
        end();
        return undefined;
      }

      const upstream = source.subscribe({
        next: (m) => {
          if (phase !== 'running') return;
          const p = parts.get(m.stream, m.partition);
          const ledger = ReceivedMessage.ledgerOf(m);
          if (ledger === undefined) {
            // Not from a subscription: taken as settled when it arrives, in arrival order.
            if (committedMode) p.held.push(m);
            else out.next(m);
            if (p.target === undefined || m.offset > p.target) p.target = m.offset;
            if (++p.sinceWrite >= p.count) write(p);
            return;
          }
          if (ledger !== p.ledger && !adopt(p, ledger)) return;
          if (committedMode) {
            ReceivedMessage.claim(m); // held here until a stored position covers it
            p.held.push(m);
            ReceivedMessage.mark(m);
          } else {
            out.next(m); // settled by its deliverer when this returns, unless claimed downstream
          }
        },
        error: (e: unknown) => {
          // Keep what was settled, then fail.
          end();
          fail(e);
        },
        complete: () => {
          sourceCompleted = true;
          end();
        },
      });

      return () => {
        outClosed = true;
        upstream.unsubscribe();
        timer?.unsubscribe();
        // Flush on unsubscribe: the writes go on (the client's close() waits for them).
        end();
        for (const p of parts.values()) for (const m of p.held.splice(0)) ReceivedMessage.abandon(m);
      };
    });
}
