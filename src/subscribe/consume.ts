/**
 * `consume(handler, { concurrency })`: processes messages with settlement, so that a slow
 * handler holds back only its own partition.
 */
import { Observable, type ObservableInput, type OperatorFunction, type Subscription, from } from 'rxjs';
import { instrumentationActive, runInstrumented } from '../observability/consume-hooks.js';
import { PerPartition } from '../internal/per-partition.js';
import { rejectUnknownKeys, requireFunction, requireInteger, requireObject, validatedOperator } from '../internal/validate.js';
import { ReceivedMessage } from './received-message.js';
import type { Message } from './types.js';

/** Options of {@link consume}. */
export interface ConsumeOptions {
  /**
   * Messages processed at once per partition. Order of completion within a partition is
   * only guaranteed with 1; `commit()` copes with any order.
   * @defaultValue 1
   */
  concurrency?: number;
}

/** A handler: return a Promise or an Observable to be waited for, or nothing. */
// biome-ignore lint/suspicious/noConfusingVoidType: a handler that returns nothing (a plain `(m) => void` function) is the common case, and `undefined` would reject it
export type MessageHandler = (message: Message) => ObservableInput<unknown> | void;

interface Lane {
  active: number;
  /** Claimed messages waiting for a slot; bounded by the subscription's prefetch. */
  readonly waiting: Message[];
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/**
 * Runs `handler` for each message and settles the message when the handler returns (nothing),
 * its Promise resolves or its Observable completes: it emits the message then, and the message is
 * settled once that emission returns (unless a later operator claims it in turn). A downstream
 * `commit()` stores the contiguous settled prefix of each partition, so operators between
 * `consume()` and `commit()` may drop messages freely. A message whose handler failed, or that
 * was in a handler or waiting when the pipeline was unsubscribed, is abandoned: no stored
 * position covers it.
 * Each partition has its own `concurrency` slots, and its subscription reads no further than
 * `prefetch` unsettled messages: a blocked handler stops its partition, not the others.
 * A handler error ends the pipeline with that error (the message is not emitted).
 * Invalid arguments never throw: the piped Observable errors with {@link InvalidArgumentError}
 * on subscribe (`handler`, `options.concurrency`...), without subscribing the source.
 *
 * @example
 * ```ts
 * lift.subscribe('orders', { partitions: 'all', startAt: StartAt.earliest() })
 *   .pipe(consume((m) => index(m), { concurrency: 8 }))
 *   .subscribe();
 * ```
 */
export function consume(handler: MessageHandler, options: ConsumeOptions = {}): OperatorFunction<Message, Message> {
  return validatedOperator(() => consumeNow(handler, options));
}

function consumeNow(handler: MessageHandler, options: ConsumeOptions = {}): OperatorFunction<Message, Message> {
  requireFunction('handler', handler);
  const o = requireObject('options', options);
  rejectUnknownKeys('options', o, ['concurrency']);
  const concurrency = o.concurrency === undefined ? 1 : requireInteger('options.concurrency', o.concurrency, 1, 100_000);

  return (source) =>
    new Observable<Message>((out) => {
      const lanes = new PerPartition<Lane>(() => ({ active: 0, waiting: [] }));
      const running = new Set<Subscription>();
      const inFlight = new Set<Message>();
      /** Open instrumentation scopes of running handlers (only when instrumented). */
      const scopes = new Set<(error?: unknown) => void>();
      let failed = false;
      let sourceDone = false;

      const maybeComplete = (): void => {
        if (!sourceDone || failed) return;
        for (const lane of lanes.values()) if (lane.active > 0 || lane.waiting.length > 0) return;
        out.complete();
      };

      const fail = (lane: Lane, m: Message, error: unknown): void => {
        lane.active--;
        inFlight.delete(m);
        // Not processed: released, but no stored position may cover it.
        ReceivedMessage.abandon(m);
        if (failed) return;
        failed = true;
        out.error(error);
      };

      const finish = (lane: Lane, m: Message): void => {
        lane.active--;
        inFlight.delete(m);
        if (failed) {
          // Processed, but the pipeline already failed: nobody downstream will see it.
          ReceivedMessage.abandon(m);
          return;
        }
        // Processed: pass it on; settled when the emission returns unless a later operator claims it.
        ReceivedMessage.handOff(m, (x) => out.next(x));
        const next = lane.waiting.shift();
        if (next !== undefined) run(lane, next);
        else maybeComplete();
      };

      const run = (lane: Lane, m: Message): void => {
        lane.active++;
        inFlight.add(m);
        let result: ReturnType<MessageHandler>;
        // Instrumented clients (setInstrumentation) wrap the handler; `end` closes their scope.
        let end: ((error?: unknown) => void) | undefined;
        try {
          if (!instrumentationActive()) result = handler(m);
          else {
            const r = runInstrumented(m, () => handler(m));
            result = r.result;
            if (r.end !== undefined) {
              const close = r.end;
              scopes.add(close);
              end = (e?: unknown) => {
                scopes.delete(close);
                close(e);
              };
            }
          }
        } catch (e) {
          fail(lane, m, e);
          return;
        }
        if (result === undefined || result === null) {
          end?.();
          finish(lane, m);
        } else if (isPromiseLike(result)) {
          result.then(
            () => {
              end?.();
              finish(lane, m);
            },
            (e: unknown) => {
              end?.(e);
              fail(lane, m, e);
            },
          );
        } else {
          let done = false;
          const sub: Subscription = from(result).subscribe({
            error: (e: unknown) => {
              done = true;
              running.delete(sub);
              end?.(e);
              fail(lane, m, e);
            },
            complete: () => {
              done = true;
              running.delete(sub);
              end?.();
              finish(lane, m);
            },
          });
          if (!done) running.add(sub);
        }
      };

      const upstream = source.subscribe({
        next: (m) => {
          ReceivedMessage.claim(m); // the subscription now waits for our settle
          const lane = lanes.get(m.stream, m.partition);
          if (lane.active < concurrency) run(lane, m);
          else lane.waiting.push(m);
        },
        error: (e: unknown) => {
          failed = true;
          out.error(e);
        },
        complete: () => {
          // Complete once every started handler has finished.
          sourceDone = true;
          maybeComplete();
        },
      });

      return () => {
        upstream.unsubscribe();
        for (const sub of running) sub.unsubscribe();
        running.clear();
        // Unsubscribed: messages in a handler or waiting for a slot were not processed.
        for (const close of scopes) close(new Error('consume() was unsubscribed before the handler finished'));
        scopes.clear();
        for (const m of inFlight) ReceivedMessage.abandon(m);
        inFlight.clear();
        for (const lane of lanes.values()) for (const m of lane.waiting.splice(0)) ReceivedMessage.abandon(m);
      };
    });
}
