/**
 * `publish()`: one message, one outcome. A window of one over the client's shared PublishAsync
 * streams (one per broker, opened on first use), so a synchronous publish costs one round trip and
 * no stream setup. Always with a deadline (`ackWaitMs`): there is no fire-and-forget path; with
 * `ackPolicy: 'none'` the outcome is a {@link Sent} receipt once the message was written.
 */
import { Observable, throwError } from 'rxjs';
import type { ClientRef } from '../core/client-ref.js';
import { coreOf } from '../core/internal-access.js';
import { MessageTooLargeError } from '../errors/errors.js';
import { requireObject, rejectUnknownKeys, requireStreamName, validated } from '../internal/validate.js';
import { PublishLanes } from './publish-lanes.js';
import type { PublishTransportKind } from '../transport/publish-call.js';
import { transportFor } from './publish-transport.js';
import { prepareFields } from './publish-message.js';
import { type ResolvedPublishOptions, resolvePublishOptions } from './publish-options.js';
import { PublishPipeline } from './publish-pipeline.js';
import { instrumentationOf } from '../observability/instrumentation.js';
import type { PublisherHost } from './publisher-host.js';
import type { AckOf, AckPolicy, Bytes, Partitioner, PublishMessage, PublishOptions } from './types.js';

const MESSAGE_KEYS = ['key', 'headers', 'partition', 'correlationId', 'expectedOffset'] as const;
const OPTION_KEYS = ['partitioner', 'ackPolicy', 'ackWaitMs', 'retry', 'maxMessageBytes', 'transport'] as const;
const KEYS = [...MESSAGE_KEYS, ...OPTION_KEYS];

/** Shared lanes unused for a whole period of this length are half-closed (ms). */
const SHARED_IDLE_MS = 10_000;
const shared = new WeakMap<object, Map<PublishTransportKind, PublishLanes>>();

/**
 * The client's PublishAsync calls for single publishes, one per broker and transport, shared by
 * every `publish()`; closed when idle for 10 s and when the client closes. @internal
 */
export function sharedLanes(host: PublisherHost, kind: PublishTransportKind): PublishLanes {
  let map = shared.get(host);
  if (map === undefined) {
    map = new Map();
    shared.set(host, map);
  }
  let lanes = map.get(kind);
  if (lanes === undefined) {
    const created = new PublishLanes(transportFor(host, kind), host.options.logger);
    const sweeper = setInterval(() => created.closeIdle(), SHARED_IDLE_MS);
    sweeper.unref();
    host.status$.subscribe({
      complete: () => {
        clearInterval(sweeper);
        created.close(false);
      },
    });
    map.set(kind, created);
    lanes = created;
  }
  return lanes;
}

/**
 * Publishes one message to `stream` and emits its {@link Ack} once the broker stored it (the
 * partition leader, or every in-sync replica with `ackPolicy: 'all'`), then completes. With
 * `ackPolicy: 'none'` it emits a {@link Sent} receipt once the message was written to the
 * connection. Nothing is sent until you subscribe.
 *
 * Without `partition`, a `key` picks the partition: `crc32(key) mod partitions`, where
 * go-liftbridge's `PartitionByKey()` puts it; no key means partition 0 (see {@link Partitioner}).
 *
 * A message that may have reached a broker is not sent again unless `retry` options ask for it
 * (then at-least-once: a broken connection, a leader change or an ack timeout lead to resends).
 * Finding the leader, and a message that provably never left the client, are retried either way.
 *
 * @throws {InvalidArgumentError} as the Observable's error on subscribe (never thrown), before anything is sent, for invalid input (the field is named).
 * Emits as error: {NoSuchStreamError} / {NoSuchPartitionError} / {ReadonlyPartitionError} /
 * {IncorrectOffsetError} / {MessageTooLargeError} / {PermissionDeniedError} / {AckTimeoutError}
 * (no ack in time, the outcome is unknown) / {ConnectionError}; each carries the correlation id.
 * @example
 * ```ts
 * const ack = await firstValueFrom(publish(lift, 'orders', JSON.stringify(order), { key: order.id, ackPolicy: 'all' }));
 * console.log(ack.offset);
 * ```
 */
export function publish<P extends AckPolicy = 'leader'>(
  client: ClientRef,
  stream: string,
  value: Bytes,
  options?: PublishOptions & { ackPolicy?: P },
): Observable<AckOf<P>> {
  return validated(() => publishNow<P>(client, stream, value, options));
}

function publishNow<P extends AckPolicy = 'leader'>(
  client: ClientRef,
  stream: string,
  value: Bytes,
  options?: PublishOptions & { ackPolicy?: P },
): Observable<AckOf<P>> {
  const host: PublisherHost = coreOf(client);
  const name = requireStreamName('stream', stream);
  const o = options === undefined ? {} : requireObject('options', options);
  rejectUnknownKeys('options', o, KEYS);
  const message: PublishMessage = { value, stream: name };
  for (const k of MESSAGE_KEYS) if (o[k] !== undefined) (message as unknown as Record<string, unknown>)[k] = o[k];
  const settings: Record<string, unknown> = {};
  for (const k of OPTION_KEYS) if (o[k] !== undefined) settings[k] = o[k];
  // A single publish is not sent twice unless asked to (`retry: {...}`): see docs/publishing.md.
  const resolved = resolvePublishOptions('options', settings, OPTION_KEYS, host, host.options.retry, false);
  const config: ResolvedPublishOptions = { ...resolved, maxInFlight: 1, maxBuffered: 0, ordered: true, failFast: true, wait: true };
  try {
    prepareFields(message, 'options', config.maxMessageBytes);
  } catch (error) {
    if (error instanceof MessageTooLargeError) return throwError(() => error);
    throw error;
  }
  const core = coreOf(client);
  return host.track(
    new Observable<AckOf<P>>((subscriber) => {
      // An instrumented client (setInstrumentation) sees the publish from here to its outcome.
      const hooks = instrumentationOf(core);
      const pipeline = new PublishPipeline(host, config, name, subscriber as never, { lanes: sharedLanes(host, config.transport), owned: false });
      if (hooks !== undefined) pipeline.instrument(hooks);
      pipeline.start([message]);
      return () => pipeline.stop();
    }),
    'unary',
  );
}
