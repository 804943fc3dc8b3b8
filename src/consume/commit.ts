/**
 * `commit()`: stores consumer positions as an RxJS operator, the Liiklus recipe done once.
 *
 * Per partition it keeps the highest *contiguous* processed offset (messages may finish out of
 * order under `consume(..., { concurrency })`; a later offset never hides an earlier one still
 * in flight), and writes it to a {@link PositionStore}: every `count` messages (windowed) and
 * every `timeMs` (sampled), one write in flight per partition, the latest value winning, never
 * backwards. It flushes when its source completes or errors, when it is unsubscribed, and — in
 * a consumer group — when a partition is revoked.
 */
import {
  Observable,
  type OperatorFunction,
  type SchedulerLike,
  asyncScheduler,
  from,
  interval,
} from 'rxjs';
import type { LiftbridgeClient } from '../client.js';
import { InvalidArgumentError } from '../errors/errors.js';
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
import { ReceivedMessage } from '../subscribe/received-message.js';
import type { Message } from '../subscribe/types.js';
import { type PositionStore, cursorStore } from './position-store.js';

/** Options of {@link commit}. */
export interface CommitOptions {
  /** Write the position after this many newly processed messages (per partition). @defaultValue 1000 */
  count?: number;
  /** Write the position at least this often while it changed, in ms; 0 disables. @defaultValue 5000 */
  timeMs?: number;
  /**
   * When messages leave the operator: `'processed'` as soon as they are part of the
   * contiguous prefix (use after processing: at-least-once), or `'committed'` only once a
   * stored position covers them (use before processing: at-most-once).
   * @defaultValue 'processed'
   */
  emit?: 'processed' | 'committed';
  /** Timer scheduler (tests). @defaultValue asyncScheduler */
  scheduler?: SchedulerLike;
  /** Called after each successful write. */
  onCommit?: (position: { stream: string; partition: number; offset: bigint }) => void;
}

interface PartitionState {
  readonly stream: string;
  readonly partition: number;
  /** Last offset of the contiguous processed prefix. */
  head: bigint | undefined;
  /** Processed messages waiting for an earlier one, by the offset delivered before them. */
  readonly waiting: Map<bigint | 'first', Message>;
  /** Contiguous messages not yet emitted ('committed' mode). */
  readonly held: Message[];
  sinceWrite: number;
  committed: bigint | undefined;
  writing: boolean;
  dirty: boolean;
}

/**
 * Commits the contiguous processed prefix of each partition to a position store.
 *
 * `target` is a {@link PositionStore}, or a client plus a cursor id (Liftbridge cursors), or a
 * consumer-group assignment (which fences writes by group epoch).
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
export function commit(client: LiftbridgeClient, cursorId: string, options?: CommitOptions): OperatorFunction<Message, Message>;
export function commit(
  target: PositionStore | LiftbridgeClient,
  cursorIdOrOptions?: string | CommitOptions,
  maybeOptions?: CommitOptions,
): OperatorFunction<Message, Message> {
  return validatedOperator(() => commitNow(target, cursorIdOrOptions, maybeOptions));
}

function commitNow(
  target: PositionStore | LiftbridgeClient,
  cursorIdOrOptions?: string | CommitOptions,
  maybeOptions?: CommitOptions,
): OperatorFunction<Message, Message> {
  const store: PositionStore =
    typeof cursorIdOrOptions === 'string' ? cursorStore(target as LiftbridgeClient, cursorIdOrOptions) : (target as PositionStore);
  if (typeof store?.save !== 'function' || typeof store.load !== 'function') {
    throw new InvalidArgumentError('target', 'expected a PositionStore, or a client and a cursor id');
  }
  const o = requireObject('options', (typeof cursorIdOrOptions === 'string' ? maybeOptions : cursorIdOrOptions) ?? {});
  rejectUnknownKeys('options', o, ['count', 'timeMs', 'emit', 'scheduler', 'onCommit']);
  const count = o.count === undefined ? 1000 : requireInteger('options.count', o.count, 1);
  const timeMs = o.timeMs === undefined ? 5000 : requireDuration('options.timeMs', o.timeMs);
  const emitMode = o.emit === undefined ? 'processed' : requireOneOf('options.emit', o.emit, ['processed', 'committed'] as const);
  if (o.scheduler !== undefined) requireScheduler('options.scheduler', o.scheduler);
  const scheduler = (o.scheduler as SchedulerLike | undefined) ?? asyncScheduler;
  if (o.onCommit !== undefined) requireFunction('options.onCommit', o.onCommit);
  const onCommit = o.onCommit as CommitOptions['onCommit'];

  return (source) =>
    new Observable<Message>((out) => {
      const parts = new PerPartition<PartitionState>((stream, partition) => ({
        stream,
        partition,
        head: undefined,
        waiting: new Map(),
        held: [],
        sinceWrite: 0,
        committed: undefined,
        writing: false,
        dirty: false,
      }));
      let sourceDone = false;
      let failed = false;

      const release = (m: Message): void => ReceivedMessage.handOff(m, (x) => out.next(x));

      const maybeComplete = (): void => {
        if (!sourceDone || failed) return;
        for (const p of parts.values()) if (p.writing || p.dirty) return;
        out.complete();
      };

      const write = (p: PartitionState): void => {
        if (p.head === undefined || (p.committed !== undefined && p.head <= p.committed)) {
          p.dirty = false;
          maybeComplete();
          return;
        }
        if (p.writing) {
          p.dirty = true;
          return;
        }
        const offset = p.head;
        p.writing = true;
        p.dirty = false;
        p.sinceWrite = 0;
        // Writes are never cancelled, not even on unsubscribe: a position must not be lost.
        from(store.save(p.stream, p.partition, offset)).subscribe({
          error: (e: unknown) => {
            p.writing = false;
            if (!failed) {
              failed = true;
              out.error(e);
            }
          },
          complete: () => {
            p.writing = false;
            p.committed = offset;
            onCommit?.({ stream: p.stream, partition: p.partition, offset });
            if (emitMode === 'committed') {
              while (p.held.length > 0 && (p.held[0] as Message).offset <= offset) release(p.held.shift() as Message);
            }
            if (p.dirty) write(p);
            else maybeComplete();
          },
        });
      };

      const advance = (p: PartitionState, m: Message): void => {
        p.head = m.offset;
        p.sinceWrite++;
        if (emitMode === 'processed') release(m);
        else p.held.push(m);
        if (p.sinceWrite >= count) write(p);
      };

      const timer =
        timeMs > 0
          ? interval(timeMs, scheduler).subscribe(() => {
              for (const p of parts.values()) if (p.sinceWrite > 0) write(p);
            })
          : undefined;

      const upstream = source.subscribe({
        next: (m) => {
          ReceivedMessage.claim(m); // held here until the prefix passes it
          const p = parts.get(m.stream, m.partition);
          const previous = m instanceof ReceivedMessage ? m.previousOffset : p.head;
          const contiguous = previous === undefined ? p.head === undefined : previous === p.head;
          if (!contiguous) {
            p.waiting.set(previous ?? 'first', m);
            return;
          }
          advance(p, m);
          for (let next = p.waiting.get(p.head as bigint); next !== undefined; next = p.waiting.get(p.head as bigint)) {
            p.waiting.delete(p.head as bigint);
            advance(p, next);
          }
        },
        error: (e: unknown) => {
          // Keep what was processed, then fail.
          for (const p of parts.values()) write(p);
          failed = true;
          out.error(e);
        },
        complete: () => {
          sourceDone = true;
          for (const p of parts.values()) write(p);
          maybeComplete();
        },
      });

      return () => {
        upstream.unsubscribe();
        timer?.unsubscribe();
        // Flush on unsubscribe: the writes go on (the client's close() waits for them).
        if (!sourceDone && !failed) {
          for (const p of parts.values()) {
            if (p.writing) p.dirty = true;
            else write(p);
          }
        }
        for (const p of parts.values()) {
          for (const m of p.waiting.values()) (m as ReceivedMessage).settle?.();
          for (const m of p.held) (m as ReceivedMessage).settle?.();
        }
      };
    });
}
