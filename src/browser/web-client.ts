/**
 * `LiftbridgeWebClient`: the SDK's Observables in a browser, through a gRPC-web proxy in front of
 * Liftbridge (see docs/angular.md). Same names and shapes as the Node client where gRPC-web can
 * carry them: `metadata$`, `fetchMetadata`, `createStream`, `deleteStream`, `publish`, `publishTo`,
 * `subscribe` (with `prefetch` backpressure and `consume()`), `status$`, `stats()`, `close()`.
 */
import {
  BehaviorSubject,
  Observable,
  type OperatorFunction,
  defer,
  distinctUntilChanged,
  from,
  map,
  merge,
  mergeMap,
  repeat,
  share,
  ReplaySubject,
  timer,
} from 'rxjs';
import { ClientError, Metadata, Status } from 'nice-grpc-common';
import type { Transport } from 'nice-grpc-web/lib/client/Transport.js';
import { type CreateStreamOptions, toCreateStreamRequest } from '../admin/create-stream-options.js';
import { ClientClosedError, ConnectionError, InvalidArgumentError, LiftbridgeError, UnknownServerError } from '../errors/errors.js';
import { mapAckError } from '../errors/map-error.js';
import { AckPolicy as WireAckPolicy, type Ack as WireAck, type Message as WireMessage } from '../generated/liftbridge/api.js';
import { type Logger, silentLogger } from '../internal/logger.js';
import {
  describe,
  rejectUnknownKeys,
  requireDuration,
  requireInteger,
  requireObject,
  requireOneOf,
  requireStreamName,
  validated,
  validatedOperator,
} from '../internal/validate.js';
import { type ClusterMetadata, toClusterMetadata } from '../metadata/cluster-metadata.js';
import { prepareFields, prepareMessage, type PreparedMessage } from '../publish/publish-message.js';
import type { Ack, AckJSON, Bytes, PublishInput, PublishMessage, Sent } from '../publish/types.js';
import { OffsetLedger } from '../subscribe/offset-ledger.js';
import { ReceivedMessage } from '../subscribe/received-message.js';
import { toSubscribePlan } from '../subscribe/subscribe.js';
import type { Message, SubscribeOptions } from '../subscribe/types.js';
import { WebWire, mapWebError } from './web-wire.js';

/** Options of {@link connectWeb}. */
export interface WebClientOptions {
  /** URL of the gRPC-web proxy in front of the broker, e.g. `https://liftbridge.example.com` or `http://localhost:8080`. */
  readonly url: string;
  /** Deadline of each unary call (metadata, admin, Publish), in ms. @defaultValue 10000 */
  readonly callTimeoutMs?: number;
  /** Unary Publish calls in flight at once (gRPC-web has no PublishAsync). @defaultValue 16 */
  readonly maxPublishInFlight?: number;
  /** Publishes waiting for an in-flight slot before `publish` fails with BufferOverflowError. @defaultValue 1024 */
  readonly maxQueuedPublishes?: number;
  /** How often `metadata$` refreshes while subscribed, in ms. @defaultValue 30000 */
  readonly metadataRefreshMs?: number;
  /** A nice-grpc-web transport (default: its `fetch` transport). */
  readonly transport?: Transport;
  /** Where the client logs (user callbacks that throw, for instance). @defaultValue silent */
  readonly logger?: Logger;
}

/** Options of the web client's `publish`. */
export interface WebPublishOptions {
  readonly key?: Bytes;
  readonly headers?: Readonly<Record<string, Bytes>>;
  /** Target partition. @defaultValue 0 */
  readonly partition?: number;
  readonly correlationId?: string;
  readonly expectedOffset?: bigint;
  /** `'leader'` (default), `'all'`, or `'none'` (emits a {@link Sent}). */
  readonly ackPolicy?: 'leader' | 'all' | 'none';
}

/** Options of the web client's `publishTo`. */
export interface WebPublishToOptions {
  /** @defaultValue 'leader' */
  readonly ackPolicy?: 'leader' | 'all';
}

/** Events of the web client's `status$`. */
export type WebClientStatus =
  | { readonly type: 'connecting'; readonly url: string }
  | { readonly type: 'connected'; readonly url: string }
  | { readonly type: 'disconnected'; readonly url: string; readonly error: LiftbridgeError }
  | { readonly type: 'closed'; readonly url: string };

/** One live partition subscription in {@link LiftbridgeWebClient.stats}. */
export interface WebSubscriptionStats {
  readonly stream: string;
  readonly partition: number;
  readonly prefetch: number;
  /** Messages read from the response body (the handshake not counted). */
  readonly read: number;
  /** Delivered messages the settled prefix has not passed (bounded by `prefetch`). */
  readonly unsettled: number;
  readonly maxUnsettled: number;
  /** Whether reading waits for settlement (the window is full). */
  readonly paused: boolean;
}

/** What {@link LiftbridgeWebClient.stats} returns. */
export interface WebClientStats {
  readonly publish: { readonly inFlight: number; readonly queued: number };
  readonly subscriptions: WebSubscriptionStats[];
}

/** The defaults of {@link WebClientOptions}. */
export const DEFAULT_WEB_CLIENT_OPTIONS = Object.freeze({
  callTimeoutMs: 10_000,
  maxPublishInFlight: 16,
  maxQueuedPublishes: 1024,
  metadataRefreshMs: 30_000,
});

const OPTION_KEYS = ['url', 'callTimeoutMs', 'maxPublishInFlight', 'maxQueuedPublishes', 'metadataRefreshMs', 'transport', 'logger'] as const;
const PUBLISH_KEYS = ['key', 'headers', 'partition', 'correlationId', 'expectedOffset', 'ackPolicy'] as const;
const MAX_MESSAGE_BYTES = 1024 * 1024;
/** Status texts (RESOURCE_EXHAUSTED) with which the broker ends a subscription normally. */
const COMPLETION = /Stop offset reached|End of readonly partition|Stream is empty/i;
const WIRE_ACK: Readonly<Record<string, WireAckPolicy>> = { leader: WireAckPolicy.LEADER, all: WireAckPolicy.ALL, none: WireAckPolicy.NONE };

let correlationCounter = 0;
const newCorrelationId = (): string =>
  typeof globalThis.crypto?.randomUUID === 'function'
    ? globalThis.crypto.randomUUID()
    : `web-${Date.now().toString(36)}-${(correlationCounter++).toString(36)}`;

const base64 = (bytes: Uint8Array): string => {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
};

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

/** A message of a web subscription: the Node SDK's message, whose `toJSON` encodes bytes without Buffer. */
class WebMessage extends ReceivedMessage {
  protected override get base64(): (bytes: Uint8Array) => string {
    return base64;
  }
}

/**
 * A Liftbridge client for browsers (and any runtime with `fetch` and web streams) that talks
 * gRPC-web to a proxy in front of one broker. Create it with {@link connectWeb}; in Angular use
 * `provideLiftbridge()` from `rx-liftbridge/angular`.
 *
 * Every method returns a cold Observable: nothing is sent until you subscribe, and unsubscribing
 * aborts the call's `fetch`.
 */
export class LiftbridgeWebClient {
  /** Connection events: `connected` after a call succeeds, `disconnected` when the proxy or broker cannot be reached, `closed`. */
  readonly status$: Observable<WebClientStatus>;
  /**
   * Cluster metadata, fetched when first subscribed and every `metadataRefreshMs` while someone
   * is subscribed (shared; the last value is replayed to late subscribers).
   */
  readonly metadata$: Observable<ClusterMetadata>;
  readonly url: string;
  private readonly wire: WebWire;
  private readonly logger: Logger;
  private readonly status: BehaviorSubject<WebClientStatus>;
  private readonly subscriptions = new Set<{ stats(): WebSubscriptionStats }>();

  /** @internal Use {@link connectWeb}. */
  constructor(options: WebClientOptions) {
    const o = requireObject('options', options);
    rejectUnknownKeys('options', o, OPTION_KEYS);
    if (typeof o.url !== 'string' || !/^https?:\/\/[^/]+/.test(o.url)) {
      throw new InvalidArgumentError('options.url', `expected the proxy's http:// or https:// URL, got ${describe(o.url)}`);
    }
    const d = DEFAULT_WEB_CLIENT_OPTIONS;
    const callTimeoutMs = o.callTimeoutMs === undefined ? d.callTimeoutMs : requireDuration('options.callTimeoutMs', o.callTimeoutMs);
    const maxPublishInFlight =
      o.maxPublishInFlight === undefined ? d.maxPublishInFlight : requireInteger('options.maxPublishInFlight', o.maxPublishInFlight, 1, 10_000);
    const maxQueuedPublishes =
      o.maxQueuedPublishes === undefined ? d.maxQueuedPublishes : requireInteger('options.maxQueuedPublishes', o.maxQueuedPublishes, 0, 1_000_000);
    const metadataRefreshMs = o.metadataRefreshMs === undefined ? d.metadataRefreshMs : requireDuration('options.metadataRefreshMs', o.metadataRefreshMs);
    if (o.logger !== undefined && (typeof o.logger !== 'object' || o.logger === null))
      throw new InvalidArgumentError('options.logger', `expected a logger object, got ${describe(o.logger)}`);
    this.url = (o.url as string).replace(/\/+$/, '');
    this.logger = (o.logger as Logger | undefined) ?? silentLogger;
    this.wire = new WebWire({ url: this.url, callTimeoutMs, maxPublishInFlight, maxQueuedPublishes, transport: o.transport as Transport | undefined });
    this.status = new BehaviorSubject<WebClientStatus>({ type: 'connecting', url: this.url });
    this.status$ = this.status.pipe(distinctUntilChanged((a, b) => a.type === b.type));
    this.metadata$ = defer(() => this.fetchMetadata()).pipe(
      repeat({ delay: () => timer(metadataRefreshMs) }),
      share({ connector: () => new ReplaySubject<ClusterMetadata>(1), resetOnRefCountZero: true, resetOnComplete: true, resetOnError: true }),
    );
  }

  /** Fetches metadata of every stream (or of `streams`) once. */
  fetchMetadata(streams: readonly string[] = []): Observable<ClusterMetadata> {
    return validated(() => {
      const names = streams.map((s, i) => requireStreamName(`streams[${i}]`, s));
      return this.unary({ rpc: 'FetchMetadata' }, (c, signal) => c.fetchMetadata({ streams: names }, { signal })).pipe(
        map((res) => toClusterMetadata(res, this.url)),
      );
    });
  }

  /** Creates a stream (every option of the Node client's `createStream`). Emits once and completes; StreamExistsError if it exists. */
  createStream(options: CreateStreamOptions): Observable<void> {
    return validated(() => {
      const req = toCreateStreamRequest(options);
      return this.unary({ rpc: 'CreateStream', stream: req.name }, (c, signal) => c.createStream(req, { signal })).pipe(map(() => undefined));
    });
  }

  /** Deletes a stream. Emits once and completes; NoSuchStreamError if it does not exist. */
  deleteStream(name: string): Observable<void> {
    return validated(() => {
      const stream = requireStreamName('name', name);
      return this.unary({ rpc: 'DeleteStream', stream }, (c, signal) => c.deleteStream({ name: stream }, { signal })).pipe(map(() => undefined));
    });
  }

  /**
   * Publishes one message with a unary `Publish` call (gRPC-web has no PublishAsync). At most
   * `maxPublishInFlight` calls run at once; further publishes wait (up to `maxQueuedPublishes`,
   * then BufferOverflowError). Emits the {@link Ack} (or a {@link Sent} with `ackPolicy: 'none'`)
   * and completes; unsubscribing before the answer aborts the call (the message may still be stored).
   */
  publish(stream: string, value: Bytes, options: WebPublishOptions = {}): Observable<Ack | Sent> {
    return validated(() => {
      const name = requireStreamName('stream', stream);
      const o = requireObject('options', options);
      rejectUnknownKeys('options', o, PUBLISH_KEYS);
      const ackPolicy = o.ackPolicy === undefined ? 'leader' : requireOneOf('options.ackPolicy', o.ackPolicy, ['leader', 'all', 'none'] as const);
      const { ackPolicy: _ignored, ...fields } = o as WebPublishOptions;
      const prepared = prepareFields({ ...(fields as Omit<PublishMessage, 'value'>), value }, 'options', MAX_MESSAGE_BYTES);
      return this.publishPrepared(name, prepared, ackPolicy);
    });
  }

  /**
   * An operator that publishes every input to `stream` (unary Publish, bounded like `publish`)
   * and emits the acks in input order.
   */
  publishTo(stream: string, options: WebPublishToOptions = {}): OperatorFunction<PublishInput, Ack> {
    return validatedOperator(() => {
      const name = requireStreamName('stream', stream);
      const o = requireObject('options', options);
      rejectUnknownKeys('options', o, ['ackPolicy']);
      const ackPolicy = o.ackPolicy === undefined ? 'leader' : requireOneOf('options.ackPolicy', o.ackPolicy, ['leader', 'all'] as const);
      return (source: Observable<PublishInput>) =>
        new Observable<Ack>((subscriber) => {
          // Acks come back in any order; emit them in input order. The window is bounded by what
          // publish() lets wait (maxPublishInFlight + maxQueuedPublishes).
          const done = new Map<number, Ack>();
          let nextIn = 0;
          let nextOut = 0;
          let sourceDone = false;
          const flush = (): void => {
            for (let a = done.get(nextOut); a !== undefined; a = done.get(nextOut)) {
              done.delete(nextOut++);
              subscriber.next(a);
            }
            if (sourceDone && nextOut === nextIn) subscriber.complete();
          };
          const sub = source
            .pipe(
              mergeMap((input) => {
                const index = nextIn++;
                return defer(() => this.publishPrepared(name, prepareMessage(input, 'input', MAX_MESSAGE_BYTES), ackPolicy)).pipe(
                  map((ack) => [index, ack as Ack] as const),
                );
              }),
            )
            .subscribe({
              next: ([index, ack]) => {
                done.set(index, ack);
                flush();
              },
              error: (e) => subscriber.error(e),
              complete: () => {
                sourceDone = true;
                flush();
              },
            });
          return () => sub.unsubscribe();
        });
    });
  }

  /**
   * Subscribes to one or several partitions (`partition`, `partitions`, `'all'`), from `startAt`
   * to `stopAt`, like the Node client. Backpressure: per partition at most `prefetch` delivered
   * messages that are not settled (see `consume()`); above that the response body is not read
   * until messages settle, so the proxy and then the broker wait. Unsubscribing aborts the fetch,
   * which cancels the Subscribe on the broker. Not resumed after a failure: the Observable errors
   * (use `retry()` with a start at the last offset + 1).
   */
  subscribe(stream: string, options: SubscribeOptions = {}): Observable<Message> {
    return validated(() => {
      const plan = toSubscribePlan(stream, options);
      if (plan.storedStart !== undefined)
        throw new InvalidArgumentError('options.startAt', 'stored starts (cursors, position stores) are not supported by the web client yet');
      if (plan.retry !== undefined) throw new InvalidArgumentError('options.retry', 'the web client does not resubscribe; use RxJS retry()');
      const name = requireStreamName('stream', stream);
      const partitions =
        plan.partitions === 'all' ? this.fetchMetadata([name]).pipe(map((m) => (m.stream(name)?.partitions ?? []).map((p) => p.id))) : from([plan.partitions]);
      return partitions.pipe(mergeMap((ids) => merge(...ids.map((p) => this.partition(name, p, plan.request(Date.now()), plan.prefetch)))));
    });
  }

  /** Publishes and subscriptions in flight. */
  stats(): WebClientStats {
    return { publish: this.wire.publishStats(), subscriptions: [...this.subscriptions].map((s) => s.stats()) };
  }

  /**
   * Aborts every call (subscriptions complete, pending publishes fail with ClientClosedError) and
   * completes `status$`. Idempotent.
   */
  close(): void {
    if (this.wire.isClosed) return;
    this.wire.close();
    this.status.next({ type: 'closed', url: this.url });
    this.status.complete();
  }

  private unary<T>(ctx: { rpc: string; stream?: string }, call: Parameters<WebWire['unary']>[1] & ((...args: never[]) => Promise<T>)): Observable<T> {
    return new Observable<T>((subscriber) => {
      let active = true;
      const c = this.wire.open();
      this.wire
        .unary(ctx, (client, timeoutSignal) => call(client, AbortSignal.any([timeoutSignal, c.signal])) as Promise<T>)
        .then(
          (value) => {
            if (!active) return;
            this.report({ type: 'connected', url: this.url });
            subscriber.next(value);
            subscriber.complete();
          },
          (err: LiftbridgeError) => {
            if (!active) return;
            if (err instanceof ConnectionError) this.report({ type: 'disconnected', url: this.url, error: err });
            subscriber.error(err);
          },
        )
        .finally(() => c.done());
      return () => {
        active = false;
        c.abort();
      };
    });
  }

  private publishPrepared(stream: string, m: PreparedMessage, ackPolicy: 'leader' | 'all' | 'none'): Observable<Ack | Sent> {
    if (this.wire.isClosed) throw new ClientClosedError();
    const correlationId = m.correlationId ?? newCorrelationId();
    const partition = m.partition ?? 0;
    const headers: Record<string, Uint8Array> = {};
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
      const c = this.wire.open();
      let active = true;
      void (async () => {
        const release = await this.wire.publishSlot(c.signal);
        try {
          const res = await this.wire.unary({ rpc: 'Publish', stream, partition }, (client, signal) =>
            // The broker's unary Publish waits for the ack only when the call has a deadline.
            client.publish(request, {
              signal: AbortSignal.any([signal, c.signal]),
              metadata: Metadata({ 'grpc-timeout': `${this.wire.settings.callTimeoutMs}m` }),
            }),
          );
          if (!active) return;
          this.report({ type: 'connected', url: this.url });
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
          const e = err instanceof LiftbridgeError ? err : mapWebError(err, { rpc: 'Publish', stream, partition }, this.url);
          if (e instanceof ConnectionError) this.report({ type: 'disconnected', url: this.url, error: e });
          subscriber.error(e);
        })
        .finally(() => c.done());
      return () => {
        active = false;
        c.abort();
      };
    });
  }

  private partition(stream: string, partition: number, base: ReturnType<ReturnType<typeof toSubscribePlan>['request']>, prefetch: number): Observable<Message> {
    return new Observable<Message>((subscriber) => {
      const c = this.wire.open();
      const ledger = new OffsetLedger(stream, partition, prefetch, base.reverse);
      let read = 0;
      let maxUnsettled = 0;
      let paused = false;
      let closed = false;
      let wake: (() => void) | undefined;
      const unwatch = ledger.watch(() => {
        if (ledger.size < prefetch && wake !== undefined) {
          const w = wake;
          wake = undefined;
          w();
        }
      });
      const entry = {
        stats: (): WebSubscriptionStats => ({ stream, partition, prefetch, read, unsettled: ledger.size, maxUnsettled, paused }),
      };
      this.subscriptions.add(entry);
      const request = { ...base, partition };
      const run = async (): Promise<void> => {
        const iterator = this.wire.client.subscribe(request, { signal: c.signal })[Symbol.asyncIterator]();
        try {
          let handshake = false;
          while (!closed) {
            if (ledger.size >= prefetch) {
              // The window is full: read nothing more until the settled prefix moves.
              paused = true;
              await new Promise<void>((resolve) => {
                wake = resolve;
              });
              paused = false;
              if (closed) return;
            }
            const r = await iterator.next();
            if (r.done || closed) break;
            const w: WireMessage = r.value;
            if (!handshake) {
              handshake = true;
              this.report({ type: 'connected', url: this.url });
              continue;
            }
            read++;
            const e = ledger.deliver(w.offset);
            if (ledger.size > maxUnsettled) maxUnsettled = ledger.size;
            const message = new WebMessage(w, ledger, e);
            try {
              subscriber.next(message);
            } finally {
              if (!message.claimed) message.settle();
            }
          }
          if (!closed) subscriber.complete();
        } finally {
          await iterator.return?.(undefined);
        }
      };
      run()
        .catch((err: unknown) => {
          if (closed) return;
          if (
            err instanceof ClientError &&
            ((err.code === Status.RESOURCE_EXHAUSTED && COMPLETION.test(err.details)) || (base.reverse && err.code === Status.UNKNOWN && err.details === 'EOF'))
          ) {
            // The broker ends a call at its stop position (or the end of a readonly partition, or
            // after the oldest message of a reverse read) with a status: that is completion.
            subscriber.complete();
            return;
          }
          const e = mapWebError(err, { rpc: 'Subscribe', stream, partition }, this.url);
          if (this.wire.isClosed) {
            subscriber.complete();
            return;
          }
          if (e instanceof ConnectionError) this.report({ type: 'disconnected', url: this.url, error: e });
          subscriber.error(e);
        })
        .finally(() => {
          c.done();
          this.subscriptions.delete(entry);
        });
      return () => {
        closed = true;
        unwatch();
        c.abort();
        const w = wake;
        wake = undefined;
        w?.();
        this.subscriptions.delete(entry);
      };
    });
  }

  private report(s: WebClientStatus): void {
    if (this.wire.isClosed) return;
    try {
      this.status.next(s);
    } catch (err) {
      this.logger.error('a status$ subscriber threw', { err });
    }
  }
}

function withJson(ack: Ack, partition: number): Ack {
  const data = { ...ack, partition };
  return { ...data, toJSON: (): AckJSON => ({ ...ack.toJSON(), partition }) };
}

/**
 * Creates a {@link LiftbridgeWebClient} for the gRPC-web proxy at `options.url`. Nothing is sent
 * until an Observable is subscribed.
 * @throws {InvalidArgumentError} naming the option, for bad options.
 */
export function connectWeb(options: WebClientOptions): LiftbridgeWebClient {
  return new LiftbridgeWebClient(options);
}
