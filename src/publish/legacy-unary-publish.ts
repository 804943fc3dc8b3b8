/**
 * The unary Publish path `client.publish` used before PublishAsync (always with a deadline, never
 * retried). Kept only until src/client.ts delegates to `publish()`.
 *
 * @internal
 * @deprecated
 */

import { randomUUID } from 'node:crypto';
import { AckPolicy as WireAckPolicy, type PublishRequest } from '../generated/liftbridge/api.js';
import { ConnectionError, InternalServerError, InvalidArgumentError, type LiftbridgeError } from '../errors/errors.js';
import { mapAckError } from '../errors/map-error.js';
import type { OperationSpec } from '../internal/operation-runner.js';
import {
  describe,
  rejectUnknownKeys,
  requireDuration,
  requireNonEmptyString,
  requireObject,
  requireOneOf,
  requirePartition,
  requireStreamName,
} from '../internal/validate.js';
import { toBytes } from './publish-message.js';
import type { Ack, Bytes, PublishOptions } from './types.js';

const LEGACY_KEYS = ['key', 'headers', 'partition', 'ackPolicy', 'ackWaitMs', 'correlationId', 'expectedOffset'] as const;

/** @deprecated internal: the unary path `client.publish` used before PublishAsync. */
export function toPublishRequest(stream: string, value: Bytes, options: PublishOptions): { request: PublishRequest; ackWaitMs: number } {
  const name = requireStreamName('stream', stream);
  const o = requireObject('options', options);
  rejectUnknownKeys('options', o, LEGACY_KEYS);
  const headers: Record<string, Uint8Array> = {};
  if (o.headers !== undefined) {
    for (const [k, v] of Object.entries(requireObject('options.headers', o.headers))) headers[k] = toBytes(`options.headers.${k}`, v);
  }
  const ackPolicy = o.ackPolicy === undefined ? 'leader' : requireOneOf('options.ackPolicy', o.ackPolicy, ['leader', 'all'] as const);
  if (o.expectedOffset !== undefined && (typeof o.expectedOffset !== 'bigint' || o.expectedOffset < -1n)) {
    throw new InvalidArgumentError('options.expectedOffset', `expected a bigint >= 0 (or -1n for no check), got ${describe(o.expectedOffset)}`);
  }
  return {
    request: {
      key: o.key === undefined ? new Uint8Array(0) : toBytes('options.key', o.key),
      value: toBytes('value', value),
      stream: name,
      partition: o.partition === undefined ? 0 : requirePartition('options.partition', o.partition),
      headers,
      ackInbox: '',
      correlationId: o.correlationId === undefined ? randomUUID() : requireNonEmptyString('options.correlationId', o.correlationId),
      ackPolicy: ackPolicy === 'all' ? WireAckPolicy.ALL : WireAckPolicy.LEADER,
      expectedOffset: (o.expectedOffset as bigint | undefined) ?? -1n,
    },
    ackWaitMs: o.ackWaitMs === undefined ? 5_000 : requireDuration('options.ackWaitMs', o.ackWaitMs, { allowZero: false }),
  };
}

/** @deprecated internal: the unary path `client.publish` used before PublishAsync. */
export function publishOperation(request: PublishRequest, ackWaitMs: number, route: () => string[]): OperationSpec<Ack> {
  return {
    rpc: 'Publish',
    stream: request.stream,
    partition: request.partition,
    route,
    callTimeoutMs: ackWaitMs,
    call: async (client, opts, address) => {
      const res = await client.unary('publish', request, opts);
      const ack = res.ack;
      if (ack === undefined) {
        throw new InternalServerError(`Publish stream=${request.stream}: the broker answered without an ack`, { rpc: 'Publish', address });
      }
      const failure: LiftbridgeError | undefined = mapAckError(ack.ackError, { rpc: 'Publish', address, stream: request.stream, partition: request.partition });
      if (failure !== undefined) throw failure;
      return {
        stream: ack.stream,
        partition: request.partition,
        offset: ack.offset,
        partitionSubject: ack.partitionSubject,
        msgSubject: ack.msgSubject,
        correlationId: ack.correlationId,
        ackPolicy: ack.ackPolicy === WireAckPolicy.ALL ? 'all' : 'leader',
        receptionTimestampNs: ack.receptionTimestamp,
        commitTimestampNs: ack.commitTimestamp,
      };
    },
    // A resend could duplicate; only a publish that provably never left the client is retried.
    retryable: (e) => e instanceof ConnectionError && e.neverSent,
  };
}
