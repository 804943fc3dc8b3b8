/**
 * One partition's Subscribe call as a cold Observable.
 *
 * @internal
 */
import { Observable } from 'rxjs';
import {
  StartPosition as WireStart,
  StopPosition as WireStop,
  type Message as WireMessage,
  type SubscribeRequest,
} from '../generated/liftbridge/api.js';
import { InvalidArgumentError } from '../errors/errors.js';
import { isServiceError, mapError } from '../errors/map-error.js';
import { describe, rejectUnknownKeys, requireBoolean, requireDuration, requireObject, requirePartition, requireStreamName } from '../internal/validate.js';
import type { BrokerClient, StreamLease } from '../transport/connection-pool.js';
import type { Message, StartPosition, StopPosition, SubscribeOptions } from './types.js';

const KEYS = ['partition', 'startAt', 'stopAt', 'readIsrReplica', 'resume'] as const;

function offsetOf(field: string, value: unknown): bigint {
  if (typeof value !== 'bigint' || value < 0n) throw new InvalidArgumentError(field, `expected a bigint offset >= 0n, got ${describe(value)}`);
  return value;
}

/** Validates subscribe options and builds the request. @internal */
export function toSubscribeRequest(stream: string, options: SubscribeOptions, now: () => number = Date.now): SubscribeRequest {
  const name = requireStreamName('stream', stream);
  const o = requireObject('options', options);
  rejectUnknownKeys('options', o, KEYS);
  const req: SubscribeRequest = {
    stream: name,
    partition: o.partition === undefined ? 0 : requirePartition('options.partition', o.partition),
    startPosition: WireStart.NEW_ONLY,
    startOffset: 0n,
    startTimestamp: 0n,
    readISRReplica: o.readIsrReplica === undefined ? false : requireBoolean('options.readIsrReplica', o.readIsrReplica),
    resume: o.resume === undefined ? false : requireBoolean('options.resume', o.resume),
    stopPosition: WireStop.STOP_ON_CANCEL,
    stopOffset: 0n,
    stopTimestamp: 0n,
    reverse: false,
  };
  if (o.startAt !== undefined) {
    const s = requireObject('options.startAt', o.startAt) as unknown as StartPosition;
    switch (s.type) {
      case 'new-only':
        break;
      case 'earliest':
        req.startPosition = WireStart.EARLIEST;
        break;
      case 'latest':
        req.startPosition = WireStart.LATEST;
        break;
      case 'offset':
        req.startPosition = WireStart.OFFSET;
        req.startOffset = offsetOf('options.startAt.offset', s.offset);
        break;
      case 'time':
        req.startPosition = WireStart.TIMESTAMP;
        req.startTimestamp = offsetOf('options.startAt.timestampNs', s.timestampNs);
        break;
      case 'ago':
        req.startPosition = WireStart.TIMESTAMP;
        req.startTimestamp = BigInt(Math.round(now() - requireDuration('options.startAt.ms', s.ms))) * 1_000_000n;
        break;
      default:
        throw new InvalidArgumentError('options.startAt', `unknown start position ${describe((s as { type?: unknown }).type)}; use StartAt.*`);
    }
  }
  if (o.stopAt !== undefined) {
    const s = requireObject('options.stopAt', o.stopAt) as unknown as StopPosition;
    switch (s.type) {
      case 'offset':
        req.stopPosition = WireStop.STOP_OFFSET;
        req.stopOffset = offsetOf('options.stopAt.offset', s.offset);
        break;
      case 'latest':
        req.stopPosition = WireStop.STOP_LATEST;
        break;
      case 'time':
        req.stopPosition = WireStop.STOP_TIMESTAMP;
        req.stopTimestamp = offsetOf('options.stopAt.timestampNs', s.timestampNs);
        break;
      default:
        throw new InvalidArgumentError('options.stopAt', `unknown stop position ${describe((s as { type?: unknown }).type)}; use StopAt.*`);
    }
  }
  return req;
}

/** Maps a delivered message. @internal */
export function toMessage(m: WireMessage): Message {
  return {
    stream: m.stream,
    partition: m.partition,
    offset: m.offset,
    timestampNs: m.timestamp,
    timestamp: new Date(Number(m.timestamp / 1_000_000n)),
    key: m.key,
    value: m.value,
    headers: m.headers,
    subject: m.subject,
    replySubject: m.replySubject,
  };
}

/** Status texts that end a subscription normally. */
const COMPLETIONS = /Stop offset reached|End of readonly partition|Stream is empty/i;

/**
 * Opens the Subscribe call on `lease` and mirrors it: drops the handshake, completes on
 * the stop/readonly end, maps every other failure. Unsubscribing cancels the call.
 * `onHandshake` fires once the server accepted the subscription.
 */
export function openSubscription(
  lease: StreamLease & { client: BrokerClient },
  request: SubscribeRequest,
  address: string,
  onHandshake: () => void,
): Observable<Message> {
  return new Observable<Message>((subscriber) => {
    const call = lease.client.subscribe(request);
    let handshake = false;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      lease.release();
    };
    call.on('data', (m: WireMessage) => {
      if (!handshake) {
        handshake = true;
        onHandshake();
        return;
      }
      subscriber.next(toMessage(m));
    });
    call.on('error', (error: unknown) => {
      finish();
      if (isServiceError(error) && COMPLETIONS.test(error.details)) {
        subscriber.complete();
        return;
      }
      subscriber.error(mapError(error, { rpc: 'Subscribe', address, stream: request.stream, partition: request.partition }));
    });
    call.on('end', () => {
      finish();
      subscriber.complete();
    });
    return () => {
      if (!done) {
        call.cancel();
        finish();
      }
    };
  });
}
