/**
 * Publishing from the web client: one unary `Publish` call per message, its answer turned into
 * the Node client's {@link Ack} shape.
 */
import { Observable } from 'rxjs';
import { Metadata } from 'nice-grpc-common';
import { ClientClosedError, ConnectionError, LiftbridgeError, UnknownServerError } from '../errors/errors.js';
import { mapAckError } from '../errors/map-error.js';
import { AckPolicy as WireAckPolicy, type Ack as WireAck } from '../generated/liftbridge/api.js';
import type { PreparedMessage } from '../publish/publish-message.js';
import type { Ack, AckJSON, Sent } from '../publish/types.js';
import type { WebCallHost } from './web-types.js';
import { mapWebError } from './web-wire.js';

const WIRE_ACK: Readonly<Record<string, WireAckPolicy>> = { leader: WireAckPolicy.LEADER, all: WireAckPolicy.ALL, none: WireAckPolicy.NONE };

let correlationCounter = 0;
const newCorrelationId = (): string =>
  typeof globalThis.crypto?.randomUUID === 'function'
    ? globalThis.crypto.randomUUID()
    : `web-${Date.now().toString(36)}-${(correlationCounter++).toString(36)}`;

function toAck(a: WireAck): Ack {
  const data = {
    stream: a.stream,
    partition: 0,
    offset: a.offset,
    partitionSubject: a.partitionSubject,
    msgSubject: a.msgSubject,
    correlationId: a.correlationId,
    ackPolicy: (a.ackPolicy === WireAckPolicy.ALL ? 'all' : 'leader') as 'leader' | 'all',
    receptionTimestampNs: a.receptionTimestamp,
    commitTimestampNs: a.commitTimestamp,
  };
  return {
    ...data,
    toJSON: (): AckJSON => ({
      ...data,
      offset: data.offset.toString(),
      receptionTimestampNs: data.receptionTimestampNs.toString(),
      commitTimestampNs: data.commitTimestampNs.toString(),
    }),
  };
}

function withJson(ack: Ack, partition: number): Ack {
  const data = { ...ack, partition };
  return { ...data, toJSON: (): AckJSON => ({ ...ack.toJSON(), partition }) };
}

/**
 * One message over a unary `Publish` call (gRPC-web has no PublishAsync), within the wire's
 * `maxPublishInFlight` slots: emits its Ack (or Sent) and completes; unsubscribing aborts the call.
 */
export function publishUnary(host: WebCallHost, stream: string, m: PreparedMessage, ackPolicy: 'leader' | 'all' | 'none'): Observable<Ack | Sent> {
  if (host.wire.isClosed) throw new ClientClosedError();
  const correlationId = m.correlationId ?? newCorrelationId();
  const partition = m.partition ?? 0;
  // No prototype: a header named `__proto__` (or `length` after it) is a header like any other.
  const headers = Object.create(null) as Record<string, Uint8Array>;
  for (const [k, v] of m.headers) headers[k] = v;
  const request = {
    stream,
    partition,
    key: m.key,
    value: m.value,
    headers,
    correlationId,
    ackPolicy: WIRE_ACK[ackPolicy] as WireAckPolicy,
    expectedOffset: m.expectedOffset,
    ackInbox: '',
  };
  return new Observable<Ack | Sent>((subscriber) => {
    const c = host.wire.open();
    let active = true;
    void (async () => {
      const release = await host.wire.publishSlot(c.signal);
      try {
        const res = await host.wire.unary({ rpc: 'Publish', stream, partition }, (client, signal) =>
          // The broker's unary Publish waits for the ack only when the call has a deadline.
          client.publish(request, {
            signal: AbortSignal.any([signal, c.signal]),
            metadata: Metadata({ 'grpc-timeout': `${host.wire.settings.callTimeoutMs}m` }),
          }),
        );
        if (!active) return;
        host.report({ type: 'connected', url: host.url });
        if (ackPolicy === 'none' || res.ack === undefined) {
          if (ackPolicy !== 'none')
            throw new UnknownServerError(`Publish stream=${stream} partition=${partition}: the broker answered without an ack`, {
              rpc: 'Publish',
              correlationId,
            });
          subscriber.next({ type: 'sent', stream, partition, correlationId });
        } else {
          const ackError = mapAckError(res.ack.ackError, { rpc: 'Publish', stream, partition, correlationId });
          if (ackError !== undefined) throw ackError;
          subscriber.next(withJson(toAck(res.ack), partition));
        }
        subscriber.complete();
      } finally {
        release();
      }
    })()
      .catch((err: unknown) => {
        if (!active) return;
        const e = err instanceof LiftbridgeError ? err : mapWebError(err, { rpc: 'Publish', stream, partition }, host.url);
        if (e instanceof ConnectionError) host.report({ type: 'disconnected', url: host.url, error: e });
        subscriber.error(e);
      })
      .finally(() => c.done());
    return () => {
      active = false;
      c.abort();
    };
  });
}
