/**
 * `publishToSubject`: publishes one enveloped message to a NATS subject through a broker (the
 * low-level PublishToSubject RPC). Zero, one or several streams may listen on the subject; there
 * is no partitioning, and the broker returns the first ack. Always with a deadline (`ackWaitMs`),
 * never retried (a resend could store the message twice).
 */
import { type Observable, catchError, map, throwError } from 'rxjs';
import type { ClientRef } from '../core/client-ref.js';
import { coreOf } from '../core/internal-access.js';
import { AckTimeoutError, InternalServerError, LiftbridgeError, TimeoutError } from '../errors/errors.js';
import { mapAckError } from '../errors/map-error.js';
import { AckPolicy as WireAckPolicy } from '../generated/liftbridge/api.js';
import { rejectUnknownKeys, requireDuration, requireObject, requireOneOf, requireSubject, validated } from '../internal/validate.js';
import { nextCorrelationId } from './correlation-id.js';
import { DEFAULT_PUBLISH_OPTIONS } from './publish-options.js';
import { prepareFields } from './publish-message.js';
import type { PublisherHost } from './publisher-host.js';
import { ackOf, partitionOfSubjects } from './to-ack.js';
import { withCorrelationId } from './with-correlation-id.js';
import type { Ack, AckPolicy, Bytes } from './types.js';

/** Options of {@link publishToSubject}. */
export interface PublishToSubjectOptions {
  key?: Bytes;
  headers?: Readonly<Record<string, Bytes>>;
  /** @defaultValue 'leader' */
  ackPolicy?: AckPolicy;
  /** How long to wait for the first ack, in ms (the call's deadline). @defaultValue 5000 */
  ackWaitMs?: number;
  /** @defaultValue a generated unique id */
  correlationId?: string;
}

/** The outcome of a `publishToSubject` with `ackPolicy: 'none'`: the broker took the message. */
export interface SubjectSent {
  readonly type: 'sent';
  readonly subject: string;
  readonly correlationId: string;
}

/** What `publishToSubject()` emits for ack policy `P`: a {@link SubjectSent} receipt for `'none'`, else the first stream's {@link Ack}. */
export type SubjectOutcome<P extends AckPolicy> = [P] extends ['none'] ? SubjectSent : 'none' extends P ? Ack | SubjectSent : Ack;

const KEYS = ['key', 'headers', 'ackPolicy', 'ackWaitMs', 'correlationId'] as const;
const WIRE: Readonly<Record<AckPolicy, WireAckPolicy>> = { leader: WireAckPolicy.LEADER, all: WireAckPolicy.ALL, none: WireAckPolicy.NONE };

/**
 * Publishes `value` to the NATS `subject` through a broker and emits the first stream's {@link Ack}
 * (or a {@link SubjectSent} receipt with `ackPolicy: 'none'`).
 *
 * @throws {InvalidArgumentError} as the Observable's error on subscribe (never thrown), for invalid input (the field is named).
 * Emits as error: {AckTimeoutError} when no stream acknowledged within `ackWaitMs` (no stream
 * listens on the subject, or it is paused), {PermissionDeniedError}, {ConnectionError}.
 * @example
 * ```ts
 * const ack = await firstValueFrom(publishToSubject(lift, 'orders.eu', 'hello', { key: 'k' }));
 * ```
 */
export function publishToSubject<P extends AckPolicy = 'leader'>(
  client: ClientRef,
  subject: string,
  value: Bytes,
  options?: PublishToSubjectOptions & { ackPolicy?: P },
): Observable<SubjectOutcome<P>> {
  return validated(() => publishToSubjectNow<P>(client, subject, value, options));
}

function publishToSubjectNow<P extends AckPolicy = 'leader'>(
  client: ClientRef,
  subject: string,
  value: Bytes,
  options?: PublishToSubjectOptions & { ackPolicy?: P },
): Observable<SubjectOutcome<P>> {
  const core = coreOf(client);
  const host: PublisherHost = core;
  const subj = requireSubject('subject', subject);
  const o = options === undefined ? {} : requireObject('options', options);
  rejectUnknownKeys('options', o, KEYS);
  const msg = prepareFields(
    { value, key: o.key as Bytes | undefined, headers: o.headers as Record<string, Bytes> | undefined, correlationId: o.correlationId as string | undefined },
    'options',
    Number.MAX_SAFE_INTEGER,
  );
  const ackPolicy = o.ackPolicy === undefined ? 'leader' : requireOneOf('options.ackPolicy', o.ackPolicy, ['leader', 'all', 'none'] as const);
  const ackWaitMs = o.ackWaitMs === undefined ? DEFAULT_PUBLISH_OPTIONS.ackWaitMs : requireDuration('options.ackWaitMs', o.ackWaitMs, { allowZero: false });
  const correlationId = msg.correlationId ?? nextCorrelationId();
  const request = {
    key: msg.key,
    value: msg.value,
    subject: subj,
    headers: Object.fromEntries(msg.headers),
    ackInbox: '',
    correlationId,
    ackPolicy: WIRE[ackPolicy],
  };
  // The broker the failover strategy points at (the same choice as the admin calls).
  const pick = (): string[] => [core.routing.anyBroker()];
  const ctx = { rpc: 'PublishToSubject', correlationId };
  return host
    .run({
      rpc: 'PublishToSubject',
      route: pick,
      callTimeoutMs: ackWaitMs,
      call: (c, opts, address) => c.unary('publishToSubject', request, opts).then((res) => ({ res, address })),
      retryable: () => false,
    })
    .pipe(
      catchError((error: unknown) => {
        if (error instanceof TimeoutError && error.correlationId === undefined) {
          return throwError(
            () =>
              new AckTimeoutError(`PublishToSubject subject=${subj}: no ack within ${ackWaitMs} ms (does a stream listen on this subject?)`, {
                rpc: 'PublishToSubject',
                address: error.address,
                cause: error,
                correlationId,
              }),
          );
        }
        return throwError(() => (error instanceof LiftbridgeError ? withCorrelationId(error, correlationId) : error));
      }),
      map(({ res, address }) => {
        if (ackPolicy === 'none') return { type: 'sent', subject: subj, correlationId } as SubjectOutcome<P>;
        const a = res.ack;
        if (a === undefined) throw new InternalServerError(`PublishToSubject subject=${subj}: the broker answered without an ack`, { ...ctx, address });
        const failure = mapAckError(a.ackError, { ...ctx, address });
        if (failure !== undefined) throw failure;
        const ack: Ack = ackOf({
          stream: a.stream,
          partition: partitionOfSubjects(a.partitionSubject, a.msgSubject),
          offset: a.offset,
          partitionSubject: a.partitionSubject,
          msgSubject: a.msgSubject,
          correlationId: a.correlationId === '' ? correlationId : a.correlationId,
          ackPolicy: a.ackPolicy === WireAckPolicy.ALL ? 'all' : 'leader',
          receptionTimestampNs: a.receptionTimestamp,
          commitTimestampNs: a.commitTimestamp,
        });
        return ack as SubjectOutcome<P>;
      }),
    );
}
