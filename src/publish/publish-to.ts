/**
 * `publishTo`: pipelined publishing over PublishAsync, as an operator.
 */
import { Observable } from 'rxjs';
import type { ClientRef } from '../core/client-ref.js';
import { coreOf } from '../core/internal-access.js';
import { requireStreamName, validatedOperator } from '../internal/validate.js';
import { PUBLISH_TO_KEYS, type ResolvedPublishOptions, resolvePublishOptions } from './publish-options.js';
import { PublishPipeline } from './publish-pipeline.js';
import { instrumentationOf } from '../observability/instrumentation.js';
import type { PublishSource } from './types.js';
import type { PublisherHost } from './publisher-host.js';
import type { AckPolicy, Outcome, PublishToOptions } from './types.js';

/**
 * Turns a source of messages into their outcomes. Accepts an Observable (so it works in `pipe`),
 * or an Iterable / AsyncIterable (pulled on demand, the cheapest way to backpressure a producer).
 */
export type PublishOperator<R> = (source: PublishSource) => Observable<R>;

/**
 * Publishes every input of the source to `stream` over PublishAsync (one stream per partition
 * leader's broker), with at most `maxInFlight` unsettled messages; emits one outcome per input,
 * in input order by default.
 *
 * Outcomes: with `failFast: true` (the default) each input's {@link Ack} ({@link Sent} for
 * `ackPolicy: 'none'`), and the first failure ends the Observable with its typed error; with
 * `failFast: false` a {@link PublishResult} per input and the rest goes on. Errors carry the
 * input's `correlationId`.
 *
 * Broken connections, leader changes and ack timeouts lead to resends within the retry policy
 * (at-least-once: a resend can store a message twice); `retry: false` sends each message once.
 *
 * Inputs without `partition` go to the partition of their key (go-liftbridge's `PartitionByKey`;
 * no key: partition 0) unless `partitioner` says otherwise. Iterables and AsyncIterables are pulled
 * on demand; an Observable that pushes faster than `maxInFlight` allows is queued up to
 * `maxBuffered`, then the pipeline ends with a `BufferOverflowError` (a synchronous `range()` or
 * `from(array)` of more than `maxInFlight + maxBuffered` inputs does at once: pass the iterable).
 * A source error ends the pipeline after every input taken has its outcome.
 *
 * @throws {InvalidArgumentError} as the piped Observable's error on subscribe (the operator never throws; the source is not subscribed), for invalid options (the field is named).
 * @example
 * ```ts
 * orders$.pipe(publishTo(lift, 'orders', { maxInFlight: 256, partitioner: 'key' }))
 *   .subscribe((ack) => console.log(ack.partition, ack.offset));
 * ```
 */
export function publishTo<P extends AckPolicy = 'leader', F extends boolean = true>(
  client: ClientRef,
  stream: string,
  options?: PublishToOptions & { ackPolicy?: P; failFast?: F },
): PublishOperator<Outcome<P, F>> {
  return validatedOperator(() => publishToNow<P, F>(client, stream, options));
}

function publishToNow<P extends AckPolicy = 'leader', F extends boolean = true>(
  client: ClientRef,
  stream: string,
  options?: PublishToOptions & { ackPolicy?: P; failFast?: F },
): PublishOperator<Outcome<P, F>> {
  const host: PublisherHost = coreOf(client);
  const name = requireStreamName('stream', stream);
  const config = resolvePublishOptions('options', options, PUBLISH_TO_KEYS, host, host.options.retry);
  return (source) => runPipeline<Outcome<P, F>>(host, config, name, source);
}

/** Runs one pipeline per subscription, tracked by the client (close() waits for it). @internal */
export function runPipeline<R>(host: PublisherHost, config: ResolvedPublishOptions, stream: string | undefined, source: PublishSource): Observable<R> {
  return host.track(
    new Observable<R>((subscriber) => {
      const pipeline = new PublishPipeline(host, config, stream, subscriber as never);
      // An instrumented client (setInstrumentation) sees each input from acceptance to its outcome.
      const hooks = instrumentationOf(host);
      if (hooks !== undefined) pipeline.instrument(hooks);
      pipeline.start(source);
      return () => pipeline.stop();
    }),
    'unary',
  );
}
