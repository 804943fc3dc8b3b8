/**
 * `publishBulk`: gufo's `publish_bulk` as an Observable. Publishes an array or (async) iterable of
 * messages, possibly to several streams, with request generation, sending and acknowledgement
 * separated (not limited by the round-trip time), and emits the outcomes.
 */
import type { Observable } from 'rxjs';
import type { ClientRef } from '../core/client-ref.js';
import { coreOf } from '../core/internal-access.js';
import { requireStreamName, validated } from '../internal/validate.js';
import { PUBLISH_BULK_KEYS, resolvePublishOptions } from './publish-options.js';
import type { PublishSource } from './types.js';
import { runPipeline } from './publish-to.js';
import type { PublisherHost } from './publisher-host.js';
import type { AckPolicy, Outcome, PublishBulkOptions } from './types.js';

/**
 * Publishes every message of `inputs` (each to its own `stream`, or to `options.stream`) with up
 * to `maxInFlight` unacknowledged, and emits one outcome per message (see `publishTo`).
 *
 * `wait: true` (the default) completes once every message has its outcome. `wait: false`
 * completes as soon as the last message was sent: acks that arrived by then are emitted, the
 * rest are not awaited (fire-and-forget for the tail, like gufo's `wait=False`).
 *
 * @throws {InvalidArgumentError} as the Observable's error on subscribe (never thrown), for invalid options.
 * @example
 * ```ts
 * const bulk = Array.from({ length: 10 }, (_, i) => ({ value: `msg${i}`, stream: 'test', partition: 0 }));
 * publishBulk(lift, bulk, { wait: true }).subscribe((ack) => console.log(ack.offset));
 * ```
 */
export function publishBulk<P extends AckPolicy = 'leader', F extends boolean = true>(
  client: ClientRef,
  inputs: PublishSource,
  options?: PublishBulkOptions & { ackPolicy?: P; failFast?: F },
): Observable<Outcome<P, F>> {
  return validated(() => publishBulkNow<P, F>(client, inputs, options));
}

function publishBulkNow<P extends AckPolicy = 'leader', F extends boolean = true>(
  client: ClientRef,
  inputs: PublishSource,
  options?: PublishBulkOptions & { ackPolicy?: P; failFast?: F },
): Observable<Outcome<P, F>> {
  const host: PublisherHost = coreOf(client);
  const config = resolvePublishOptions('options', options, PUBLISH_BULK_KEYS, host, host.options.retry);
  const streamOption = (options as PublishBulkOptions | undefined)?.stream;
  const stream = streamOption === undefined ? undefined : requireStreamName('options.stream', streamOption);
  return runPipeline<Outcome<P, F>>(host, config, stream, inputs);
}
