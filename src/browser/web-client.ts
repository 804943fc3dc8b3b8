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
import type { Transport } from 'nice-grpc-web/lib/client/Transport.js';
import { type CreateStreamOptions, toCreateStreamRequest } from '../admin/create-stream-options.js';
import { ConnectionError, InvalidArgumentError, type LiftbridgeError } from '../errors/errors.js';
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
import { prepareFields, prepareMessage } from '../publish/publish-message.js';
import type { Ack, Bytes, PublishInput, PublishMessage, Sent } from '../publish/types.js';
import { toSubscribePlan } from '../subscribe/subscribe.js';
import type { Message, SubscribeOptions } from '../subscribe/types.js';
import { webPartitionStream } from './web-partition-stream.js';
import { publishUnary } from './web-publish.js';
import {
  DEFAULT_WEB_CLIENT_OPTIONS,
  MAX_MESSAGE_BYTES,
  OPTION_KEYS,
  PUBLISH_KEYS,
  type WebCallHost,
  type WebClientOptions,
  type WebClientStats,
  type WebClientStatus,
  type WebPublishOptions,
  type WebPublishToOptions,
  type WebSubscriptionStats,
} from './web-types.js';
import { WebWire } from './web-wire.js';

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
  /** What publishUnary() and webPartitionStream() use of this client. */
  private readonly host: WebCallHost;

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
    this.host = { wire: this.wire, url: this.url, report: (status) => this.report(status), subscriptions: this.subscriptions };
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
      return publishUnary(this.host, name, prepared, ackPolicy);
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
                return defer(() => publishUnary(this.host, name, prepareMessage(input, 'input', MAX_MESSAGE_BYTES), ackPolicy)).pipe(
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
      return partitions.pipe(mergeMap((ids) => merge(...ids.map((p) => webPartitionStream(this.host, name, p, plan.request(Date.now()), plan.prefetch)))));
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

  private report(s: WebClientStatus): void {
    if (this.wire.isClosed) return;
    try {
      this.status.next(s);
    } catch (err) {
      this.logger.error('a status$ subscriber threw', { err });
    }
  }
}

/**
 * Creates a {@link LiftbridgeWebClient} for the gRPC-web proxy at `options.url`. Nothing is sent
 * until an Observable is subscribed.
 * @throws {InvalidArgumentError} naming the option, for bad options.
 */
export function connectWeb(options: WebClientOptions): LiftbridgeWebClient {
  return new LiftbridgeWebClient(options);
}
