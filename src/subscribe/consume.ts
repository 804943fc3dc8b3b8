/**
 * `consume(handler, { concurrency })`: processes messages with settlement, so that a slow
 * handler holds back only its own partition.
 */
import { EMPTY, Observable, type ObservableInput, type OperatorFunction, defer, from, groupBy, map, mergeMap } from 'rxjs';
import { requireInteger, requireObject, rejectUnknownKeys, requireFunction } from '../internal/validate.js';
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
export type MessageHandler = (message: Message) => ObservableInput<unknown> | void;

/**
 * Runs `handler` for each message and settles the message when the handler's Promise
 * resolves or its Observable completes; emits the message then, so `commit()` can follow
 * (which then holds the message until the contiguous processed prefix passes it).
 * Each partition has its own `concurrency` slots, and its subscription reads no further than
 * `prefetch` unsettled messages: a blocked handler stops its partition, not the others.
 * A handler error ends the pipeline with that error (the message is not emitted).
 *
 * @example
 * ```ts
 * lift.subscribe('orders', { partitions: 'all', startAt: StartAt.earliest() })
 *   .pipe(consume((m) => index(m), { concurrency: 8 }))
 *   .subscribe();
 * ```
 */
export function consume(handler: MessageHandler, options: ConsumeOptions = {}): OperatorFunction<Message, Message> {
  requireFunction('handler', handler);
  const o = requireObject('options', options);
  rejectUnknownKeys('options', o, ['concurrency']);
  const concurrency = o.concurrency === undefined ? 1 : requireInteger('options.concurrency', o.concurrency, 1, 100_000);
  return (source: Observable<Message>) =>
    defer(() =>
      source.pipe(
        // Claim during delivery: the subscription then waits for our settle().
        map((message) => ({ message, settle: ReceivedMessage.claim(message) })),
        groupBy(({ message }) => `${message.partition}\u0000${message.stream}`),
        mergeMap((partition) =>
          partition.pipe(
            mergeMap(
              ({ message, settle }) =>
                new Observable<Message>((out) => {
                  let done = false;
                  const sub = defer(() => {
                    const result = handler(message);
                    return result === undefined || result === null ? EMPTY : from(result);
                  }).subscribe({
                    error: (e: unknown) => {
                      done = true;
                      settle();
                      out.error(e);
                    },
                    complete: () => {
                      done = true;
                      // Processed: pass it on. A downstream commit() takes over its settlement.
                      ReceivedMessage.handOff(message, (m) => out.next(m));
                      out.complete();
                    },
                  });
                  return () => {
                    sub.unsubscribe();
                    if (!done) settle();
                  };
                }),
              concurrency,
            ),
          ),
        ),
      ),
    );
}
