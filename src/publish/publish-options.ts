/**
 * Defaults and validation of the publishing options. Everything is checked when `publish`,
 * `publishTo` or `publishBulk` is called, before anything is sent.
 *
 * Internal (not exported from the package root).
 */
import { InvalidArgumentError } from '../errors/errors.js';
import { describe, rejectUnknownKeys, requireBoolean, requireDuration, requireInteger, requireObject, requireOneOf } from '../internal/validate.js';
import { type RetryOptions, type RetryPolicy, resolveRetryPolicy } from '../retry/retry-policy.js';
import { byKey, resolvePartitioner } from './partitioner.js';
import type { PublishTransportKind } from '../transport/settings.js';
import type { AckPolicy, PartitionerFunction } from './types.js';

/** Defaults of the publishing options. */
export const DEFAULT_PUBLISH_OPTIONS = Object.freeze({
  maxInFlight: 1024,
  maxBuffered: 8192,
  ackWaitMs: 5_000,
  ordered: true,
  failFast: true,
  ackPolicy: 'leader' as AckPolicy,
  /** NATS `max_payload` and `clustering.replication.max.bytes` default to 1 MiB. */
  maxMessageBytes: 1024 * 1024,
  wait: true,
  transport: 'http2' as PublishTransportKind,
  /** Bytes sent and not yet handed to the socket, per publisher (the source waits above it). */
  maxQueuedBytes: 4 * 1024 * 1024,
});

/** Wire values of the ack policies. */
export const WIRE_ACK_POLICY: Readonly<Record<AckPolicy, number>> = Object.freeze({ leader: 0, all: 1, none: 2 });

/** Resolved options of one publisher. */
export interface ResolvedPublishOptions {
  readonly maxInFlight: number;
  readonly maxBuffered: number;
  readonly ackWaitMs: number;
  readonly ordered: boolean;
  readonly failFast: boolean;
  readonly ackPolicy: AckPolicy;
  /** Chooses the partition of messages without one (default: by key). */
  readonly partitioner: PartitionerFunction | undefined;
  /** Policy for routing retries and resends. */
  readonly policy: RetryPolicy;
  /** Whether a message that was sent may be sent again. */
  readonly resend: boolean;
  readonly maxMessageBytes: number;
  readonly wait: boolean;
  readonly transport: PublishTransportKind;
  /** Bytes sent and still queued locally (not yet on the socket) above which no input is taken. */
  readonly maxQueuedBytes: number;
}

const COMMON = ['ackWaitMs', 'partitioner', 'ackPolicy', 'retry', 'maxMessageBytes', 'transport'] as const;
/** Keys of PublishToOptions. */
export const PUBLISH_TO_KEYS = [...COMMON, 'maxInFlight', 'maxBuffered', 'ordered', 'failFast', 'maxQueuedBytes'] as const;
/** Keys of PublishBulkOptions. */
export const PUBLISH_BULK_KEYS = [...PUBLISH_TO_KEYS, 'stream', 'wait'] as const;

/**
 * Validates publishing options. `known` lists the keys allowed for the entry point; `owner` holds
 * round-robin counters; `clientPolicy` is the client's retry policy.
 */
export function resolvePublishOptions(
  field: string,
  options: unknown,
  known: readonly string[],
  owner: object,
  clientPolicy: RetryPolicy,
  /** Whether a message may be sent again when `retry` is not given (publishers: yes; `publish()`: no). */
  resendByDefault = true,
): ResolvedPublishOptions {
  const o = options === undefined ? {} : requireObject(field, options);
  rejectUnknownKeys(field, o, known);
  const d = DEFAULT_PUBLISH_OPTIONS;
  const maxInFlight = o.maxInFlight === undefined ? d.maxInFlight : requireInteger(`${field}.maxInFlight`, o.maxInFlight, 1, 1_000_000);
  const maxBuffered = o.maxBuffered === undefined ? d.maxBuffered : requireInteger(`${field}.maxBuffered`, o.maxBuffered, 0, 100_000_000);
  const ackWaitMs = o.ackWaitMs === undefined ? d.ackWaitMs : requireDuration(`${field}.ackWaitMs`, o.ackWaitMs, { allowZero: false, max: 2_147_483_647 });
  const ordered = o.ordered === undefined ? d.ordered : requireBoolean(`${field}.ordered`, o.ordered);
  const failFast = o.failFast === undefined ? d.failFast : requireBoolean(`${field}.failFast`, o.failFast);
  const wait = o.wait === undefined ? d.wait : requireBoolean(`${field}.wait`, o.wait);
  const ackPolicy = o.ackPolicy === undefined ? d.ackPolicy : requireOneOf(`${field}.ackPolicy`, o.ackPolicy, ['leader', 'all', 'none'] as const);
  // Default 'key': a keyed message goes where go-liftbridge's PartitionByKey puts it (Go and Node
  // producers agree on a key's partition); a keyless one to 0, as go-liftbridge does by default.
  const partitioner = resolvePartitioner(`${field}.partitioner`, o.partitioner, owner) ?? byKey;
  const maxMessageBytes = o.maxMessageBytes === undefined ? d.maxMessageBytes : requireInteger(`${field}.maxMessageBytes`, o.maxMessageBytes, 1, 2 ** 31 - 1);
  const maxQueuedBytes = o.maxQueuedBytes === undefined ? d.maxQueuedBytes : requireInteger(`${field}.maxQueuedBytes`, o.maxQueuedBytes, 1, 2 ** 31 - 1);
  const transport = o.transport === undefined ? d.transport : requireOneOf(`${field}.transport`, o.transport, ['http2', 'grpc-js'] as const);
  let policy = clientPolicy;
  let resend = resendByDefault;
  if (o.retry === false) resend = false;
  else if (o.retry !== undefined) {
    if (typeof o.retry !== 'object' || o.retry === null) {
      throw new InvalidArgumentError(`${field}.retry`, `expected retry options or false, got ${describe(o.retry)}`);
    }
    policy = resolveRetryPolicy(o.retry as RetryOptions, `${field}.retry`, clientPolicy);
    resend = true;
  }
  return { maxInFlight, maxBuffered, ackWaitMs, ordered, failFast, ackPolicy, partitioner, policy, resend, maxMessageBytes, wait, transport, maxQueuedBytes };
}
