/**
 * `publish()`: one message, one outcome. A window of one over the client's shared PublishAsync
 * streams (one per broker, opened on first use), so a synchronous publish costs one round trip and
 * no stream setup. Always with a deadline (`ackWaitMs`): there is no fire-and-forget path; with
 * `ackPolicy: 'none'` the outcome is a {@link Sent} receipt once the message was written.
 */
import { Observable, throwError } from 'rxjs';
import type { LiftbridgeClient } from '../client.js';
import { MessageTooLargeError } from '../errors/errors.js';
import { requireObject, rejectUnknownKeys, requireStreamName } from '../internal/validate.js';
import { PublishLanes } from './publish-lanes.js';
import { prepareFields } from './publish-message.js';
import { type ResolvedPublishOptions, resolvePublishOptions } from './publish-options.js';
import { PublishPipeline } from './publish-pipeline.js';
import type { PublisherHost } from './publisher-host.js';
import type { AckOf, AckPolicyOf, Bytes, PublishMessage, PublishOptions } from './types.js';

const MESSAGE_KEYS = ['key', 'headers', 'partition', 'correlationId', 'expectedOffset'] as const;
const OPTION_KEYS = ['partitioner', 'ackPolicy', 'ackWaitMs', 'retry', 'maxMessageBytes'] as const;
const KEYS = [...MESSAGE_KEYS, ...OPTION_KEYS];

const shared = new WeakMap<object, PublishLanes>();

/** The client's PublishAsync streams for single publishes. @internal */
export function sharedLanes(host: PublisherHost): PublishLanes {
  let lanes = shared.get(host);
  if (lanes === undefined) {
    lanes = new PublishLanes((address) => host.acquireStream(address), host.options.logger);
    shared.set(host, lanes);
  }
  return lanes;
}

/**
 * Publishes one message to `stream` and emits its {@link Ack} once the broker stored it (the
 * partition leader, or every in-sync replica with `ackPolicy: 'all'`), then completes. With
 * `ackPolicy: 'none'` it emits a {@link Sent} receipt once the message was written to the
 * connection. Nothing is sent until you subscribe.
 *
 * A broken connection, a leader change or an ack timeout lead to resends within the retry policy
 * (at-least-once); `retry: false` sends once.
 *
 * @throws {InvalidArgumentError} at once, before anything is sent, for invalid input (the field is named).
 * Emits as error: {NoSuchStreamError} / {NoSuchPartitionError} / {ReadonlyPartitionError} /
 * {IncorrectOffsetError} / {MessageTooLargeError} / {PermissionDeniedError} / {AckTimeoutError}
 * (no ack in time, the outcome is unknown) / {ConnectionError}; each carries the correlation id.
 * @example
 * ```ts
 * const ack = await firstValueFrom(publish(lift, 'orders', JSON.stringify(order), { key: order.id, ackPolicy: 'all' }));
 * console.log(ack.offset);
 * ```
 */
export function publish<const O extends PublishOptions = Record<never, never>>(
  client: LiftbridgeClient,
  stream: string,
  value: Bytes,
  options?: O,
): Observable<AckOf<AckPolicyOf<O>>> {
  const host = client as unknown as PublisherHost;
  const name = requireStreamName('stream', stream);
  const o = options === undefined ? {} : requireObject('options', options);
  rejectUnknownKeys('options', o, KEYS);
  const message: PublishMessage = { value, stream: name };
  for (const k of MESSAGE_KEYS) if (o[k] !== undefined) (message as unknown as Record<string, unknown>)[k] = o[k];
  const settings: Record<string, unknown> = {};
  for (const k of OPTION_KEYS) if (o[k] !== undefined) settings[k] = o[k];
  const resolved = resolvePublishOptions('options', settings, OPTION_KEYS, host, host.options.retry);
  const config: ResolvedPublishOptions = { ...resolved, maxInFlight: 1, maxBuffered: 0, ordered: true, failFast: true, wait: true };
  try {
    prepareFields(message, 'options', config.maxMessageBytes);
  } catch (error) {
    if (error instanceof MessageTooLargeError) return throwError(() => error);
    throw error;
  }
  return host.track(
    new Observable<AckOf<AckPolicyOf<O>>>((subscriber) => {
      const pipeline = new PublishPipeline(host, config, name, subscriber as never, sharedLanes(host));
      pipeline.start([message]);
      return () => pipeline.stop();
    }),
    'unary',
  );
}

// Legacy unary publish, still imported by src/client.ts until `client.publish` delegates to
// `publish()` above. Delete legacy-unary-publish.ts and this line then.
export { publishOperation, toPublishRequest } from './legacy-unary-publish.js';
