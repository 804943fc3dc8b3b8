/**
 * `LiftbridgeServer`: a NestJS microservice transport that feeds `@EventPattern(stream)` handlers
 * from a Liftbridge consumer group, with per-partition backpressure and contiguous commits.
 */
import { Server, type CustomTransportStrategy, type MessageHandler as NestMessageHandler } from '@nestjs/microservices';
import { EMPTY, NEVER, type Observable, type Subscription, catchError, isObservable, lastValueFrom, mergeMap, firstValueFrom } from 'rxjs';
import {
  type AssignedPartition,
  type ClientOptions,
  type ClientStatus,
  commit,
  connect,
  consume,
  InvalidArgumentError,
  type LiftbridgeClient,
  type Logger,
  type Message,
  type StartPosition,
} from '../index.js';
import { isLiftbridgeClient } from './is-client.js';
import { LiftbridgeContext } from './liftbridge-context.js';
import { type LiftbridgeIncomingEvent, LiftbridgeJsonDeserializer } from './liftbridge-record.js';

/**
 * What happens when a handler fails (throws, rejects or its Observable errors):
 * - `'stop-partition'` (default): the error is logged and the partition stops taking messages on
 *   this member; its committed position stays before the failed message, so the message is read
 *   again by whoever gets the partition next (after a restart or a rebalance). Nothing is lost.
 * - `'skip'`: the error is logged and the message counts as processed (committed past).
 * - `{ deadLetter: 'stream' }`: the message (key, value, headers) is published to the dead-letter
 *   stream with headers `x-dlq-stream`, `x-dlq-partition`, `x-dlq-offset` and `x-dlq-error`; once
 *   the broker acked it, it counts as processed. If that publish fails the partition stops as in
 *   `'stop-partition'`.
 */
export type LiftbridgeErrorPolicy = 'stop-partition' | 'skip' | { readonly deadLetter: string };

/** Deserializes one delivered message into the handler's pattern and payload. */
export interface LiftbridgeDeserializer {
  deserialize(message: Message): LiftbridgeIncomingEvent | Promise<LiftbridgeIncomingEvent>;
}

/** Options of {@link LiftbridgeServer}. */
export interface LiftbridgeServerOptions {
  /**
   * The SDK client: options for a client the server creates and closes, or a client you own (the
   * server never closes it).
   */
  client: ClientOptions | LiftbridgeClient;
  /** The consumer group's id. @defaultValue 'nestjs-group' */
  groupId?: string;
  /** This member's id, unique in the group. @defaultValue a random UUID */
  consumerId?: string;
  /** Where a partition starts when the group has no committed position. @defaultValue StartAt.earliest() */
  startAt?: StartPosition;
  /** Per-partition bound of unsettled messages read ahead of the handlers. @defaultValue 256 (the SDK's) */
  prefetch?: number;
  /** Handlers running at once per partition (completion order is only kept with 1). @defaultValue 1 */
  concurrency?: number;
  /** Commit the processed prefix every this many messages. @defaultValue 1000 */
  commitCount?: number;
  /** ...and at least every this many ms. @defaultValue 5000 */
  commitTimeMs?: number;
  /** What a failed handler does. @defaultValue 'stop-partition' */
  onError?: LiftbridgeErrorPolicy;
  /** How long `close()` waits for handlers in flight before it leaves anyway. @defaultValue 10000 */
  shutdownTimeoutMs?: number;
  /** Heartbeat of the group membership, in ms. @defaultValue the SDK's (40% of the server's consumer timeout) */
  pollIntervalMs?: number;
  /** Turns a message into the handler's payload. @defaultValue {@link LiftbridgeJsonDeserializer} */
  deserializer?: LiftbridgeDeserializer;
  /** Where the transport logs handler failures and its lifecycle. @defaultValue Nest's Logger */
  logger?: Logger;
}

/** Status of the transport (`server.status`). */
export type LiftbridgeServerStatus = 'connecting' | 'connected' | 'disconnected' | 'closed';

/** Defaults of {@link LiftbridgeServerOptions}. */
export const DEFAULT_LIFTBRIDGE_SERVER_OPTIONS = Object.freeze({
  groupId: 'nestjs-group',
  concurrency: 1,
  commitCount: 1000,
  commitTimeMs: 5000,
  onError: 'stop-partition' as LiftbridgeErrorPolicy,
  shutdownTimeoutMs: 10_000,
});

const KNOWN = [
  'client',
  'groupId',
  'consumerId',
  'startAt',
  'prefetch',
  'concurrency',
  'commitCount',
  'commitTimeMs',
  'onError',
  'shutdownTimeoutMs',
  'pollIntervalMs',
  'deserializer',
  'logger',
];

function positiveInt(field: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) throw new InvalidArgumentError(field, `expected an integer >= ${min}`);
  return value;
}

function checkOptions(options: LiftbridgeServerOptions): void {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'expected an object');
  for (const k of Object.keys(options)) if (!KNOWN.includes(k)) throw new InvalidArgumentError(`options.${k}`, 'unknown option');
  if (typeof options.client !== 'object' || options.client === null)
    throw new InvalidArgumentError('options.client', 'expected client options or a LiftbridgeClient');
  if (options.groupId !== undefined && (typeof options.groupId !== 'string' || options.groupId === ''))
    throw new InvalidArgumentError('options.groupId', 'expected a non-empty string');
  positiveInt('options.concurrency', options.concurrency, 1);
  positiveInt('options.commitCount', options.commitCount, 1);
  positiveInt('options.commitTimeMs', options.commitTimeMs, 1);
  positiveInt('options.shutdownTimeoutMs', options.shutdownTimeoutMs, 0, 0);
  const p = options.onError;
  if (p !== undefined && p !== 'stop-partition' && p !== 'skip') {
    if (typeof p !== 'object' || p === null || typeof p.deadLetter !== 'string' || p.deadLetter === '') {
      throw new InvalidArgumentError('options.onError', "expected 'stop-partition', 'skip' or { deadLetter: '<stream>' }");
    }
  }
  if (options.deserializer !== undefined && typeof options.deserializer?.deserialize !== 'function') {
    throw new InvalidArgumentError('options.deserializer', 'expected an object with a deserialize(message) method');
  }
}

function describeError(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'object' && e !== null && 'message' in e) return String((e as { message: unknown }).message);
  return String(e);
}

/**
 * A NestJS microservice transport (`CustomTransportStrategy`) that consumes Liftbridge streams
 * through a consumer group and routes each message to the `@EventPattern(stream)` handler of its
 * stream.
 *
 * - Backpressure: a message is settled when its handler returns, its Promise resolves or its
 *   Observable completes; each partition runs `concurrency` handlers and reads no more than
 *   `prefetch` unsettled messages ahead, so a slow handler holds back only its own partition.
 * - Commits: only the contiguous processed prefix of each partition is stored (every
 *   `commitCount` messages and every `commitTimeMs`), in the group's cursor.
 * - Shutdown (`app.close()`): stops taking messages, waits up to `shutdownTimeoutMs` for handlers
 *   in flight, flushes the commits, leaves the group and closes the client it created.
 * - `@MessagePattern` (request/response) is not supported: `listen()` fails at startup naming the
 *   pattern.
 *
 * @example
 * ```ts
 * app.connectMicroservice({ strategy: new LiftbridgeServer({ client: { brokers: ['127.0.0.1:9292'] }, groupId: 'billing' }) });
 * await app.startAllMicroservices();
 * ```
 */
export class LiftbridgeServer extends Server<Record<string, Function>, LiftbridgeServerStatus> implements CustomTransportStrategy {
  readonly #options: LiftbridgeServerOptions;
  readonly #ownsClient: boolean;
  #lift: LiftbridgeClient | undefined;
  #subscription: Subscription | undefined;
  #statusSub: Subscription | undefined;
  #stopping = false;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #log: Logger;
  readonly #deserializerImpl: LiftbridgeDeserializer;

  /** Validates the options (an {@link InvalidArgumentError} naming the field); connects nothing yet. */
  constructor(options: LiftbridgeServerOptions) {
    super();
    checkOptions(options);
    this.#options = options;
    this.#ownsClient = !isLiftbridgeClient(options.client);
    this.#deserializerImpl = options.deserializer ?? new LiftbridgeJsonDeserializer();
    const nest = this.logger;
    this.#log = safeLogger(
      options.logger ?? {
        debug: (m, f) => nest.debug?.(f === undefined ? m : `${m} ${stringify(f)}`),
        info: (m, f) => nest.log(f === undefined ? m : `${m} ${stringify(f)}`),
        warn: (m, f) => nest.warn(f === undefined ? m : `${m} ${stringify(f)}`),
        error: (m, f) => nest.error(f === undefined ? m : `${m} ${stringify(f)}`),
      },
    );
  }

  /**
   * Starts consuming the streams of the registered `@EventPattern` handlers. Fails (the callback's
   * error, so `app.startAllMicroservices()` rejects) when a `@MessagePattern` handler is
   * registered or a pattern is not a stream name.
   */
  listen(callback: (error?: unknown) => void): void {
    let streams: string[];
    try {
      streams = this.#streams();
    } catch (e) {
      callback(e);
      return;
    }
    if (streams.length === 0) {
      this.#log.warn('LiftbridgeServer: no @EventPattern handlers registered, nothing to consume');
      callback();
      return;
    }
    const lift = this.#client();
    this._status$.next('connecting');
    this.#statusSub = lift.status$.subscribe((s: ClientStatus) => {
      if (s.type === 'group' && s.event === 'joined') this._status$.next('connected');
      else if (s.type === 'disconnected') this._status$.next('disconnected');
      else if (s.type === 'connected' && !this.#stopping) this._status$.next('connected');
    });
    const o = this.#options;
    this.#subscription = lift
      .group(o.groupId ?? DEFAULT_LIFTBRIDGE_SERVER_OPTIONS.groupId, {
        streams,
        ...(o.consumerId === undefined ? {} : { consumerId: o.consumerId }),
        ...(o.startAt === undefined ? {} : { startAt: o.startAt }),
        ...(o.prefetch === undefined ? {} : { prefetch: o.prefetch }),
        ...(o.pollIntervalMs === undefined ? {} : { pollIntervalMs: o.pollIntervalMs }),
      })
      .pipe(mergeMap((p) => this.#partition(p)))
      .subscribe({
        error: (e: unknown) => {
          this.#log.error('LiftbridgeServer: the consumer group ended with an error; no more messages are consumed', { error: describeError(e) });
          this._status$.next('disconnected');
        },
      });
    callback();
  }

  /**
   * Graceful stop: takes no new messages, waits for handlers in flight (up to
   * `shutdownTimeoutMs`), flushes the commits, leaves the group and closes the client it created.
   */
  async close(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#inFlight.size > 0) {
      const timeoutMs = this.#options.shutdownTimeoutMs ?? DEFAULT_LIFTBRIDGE_SERVER_OPTIONS.shutdownTimeoutMs;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const outcome = await Promise.race([Promise.allSettled([...this.#inFlight]), timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout')
        this.#log.warn('LiftbridgeServer: handlers still running after shutdownTimeoutMs; their messages are not committed', { running: this.#inFlight.size });
    }
    // Let consume() settle the messages whose handlers just finished before commit() flushes.
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#subscription?.unsubscribe(); // commit() flushes, the group leaves
    this.#statusSub?.unsubscribe();
    if (this.#ownsClient && this.#lift !== undefined) await this.#lift.close();
    this._status$.next('closed');
  }

  /** Subscribes `callback` to the client's status events of the given `type` (`'group'`, `'disconnected'`...). */
  on(event: string, callback: Function): Subscription {
    return this.#client().status$.subscribe((s) => {
      if (s.type === event) callback(s);
    });
  }

  /** The SDK client the transport consumes with. */
  unwrap<T>(): T {
    return this.#client() as T;
  }

  #client(): LiftbridgeClient {
    if (this.#lift === undefined) {
      const c = this.#options.client;
      this.#lift = isLiftbridgeClient(c) ? c : connect(c);
    }
    return this.#lift;
  }

  #streams(): string[] {
    const streams: string[] = [];
    for (const [pattern, handler] of this.messageHandlers) {
      if (!handler.isEventHandler) {
        throw new Error(
          `LiftbridgeServer does not support @MessagePattern (request/response); the handler of ${pattern} must be an @EventPattern handler (pattern = stream name)`,
        );
      }
      if (pattern.startsWith('{') || pattern === '')
        throw new InvalidArgumentError(`@EventPattern(${pattern})`, 'the pattern must be a stream name (a string)');
      streams.push(pattern);
    }
    return streams;
  }

  #partition(p: AssignedPartition): Observable<Message> {
    const handler = this.getHandlerByPattern(p.stream);
    const o = this.#options;
    return p.messages.pipe(
      consume((m) => this.#handle(m, handler), { concurrency: o.concurrency ?? 1 }),
      commit(p, {
        count: o.commitCount ?? DEFAULT_LIFTBRIDGE_SERVER_OPTIONS.commitCount,
        timeMs: o.commitTimeMs ?? DEFAULT_LIFTBRIDGE_SERVER_OPTIONS.commitTimeMs,
        logger: this.#log,
      }),
      catchError((e: unknown) => {
        this.#log.error('LiftbridgeServer: partition stopped on this member; its committed position stays before the failed message', {
          stream: p.stream,
          partition: p.partition,
          error: describeError(e),
        });
        return EMPTY;
      }),
    );
  }

  #handle(m: Message, handler: NestMessageHandler | null): Promise<unknown> | Observable<never> {
    // Stopping: leave the message unsettled (not committed), the next member reads it again.
    if (this.#stopping) return NEVER;
    const run = this.#run(m, handler);
    this.#inFlight.add(run);
    return run.finally(() => this.#inFlight.delete(run));
  }

  async #run(m: Message, handler: NestMessageHandler | null): Promise<void> {
    try {
      if (handler === null) throw new Error(`no @EventPattern handler for stream ${m.stream}`);
      const { data } = await this.#deserializerImpl.deserialize(m);
      const result: unknown = await handler(data, new LiftbridgeContext([m]));
      if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
    } catch (e) {
      await this.#onHandlerError(m, e);
    }
  }

  async #onHandlerError(m: Message, error: unknown): Promise<void> {
    const policy = this.#options.onError ?? DEFAULT_LIFTBRIDGE_SERVER_OPTIONS.onError;
    const where = { stream: m.stream, partition: m.partition, offset: String(m.offset), error: describeError(error) };
    if (policy === 'skip') {
      this.#log.warn('LiftbridgeServer: handler failed, message skipped', where);
      return;
    }
    if (policy === 'stop-partition') throw error;
    this.#log.warn('LiftbridgeServer: handler failed, message sent to the dead-letter stream', { ...where, deadLetter: policy.deadLetter });
    await firstValueFrom(
      this.#client().publish(policy.deadLetter, m.value, {
        ...(m.key.length > 0 ? { key: m.key } : {}),
        headers: {
          ...m.headers,
          'x-dlq-stream': m.stream,
          'x-dlq-partition': String(m.partition),
          'x-dlq-offset': String(m.offset),
          'x-dlq-error': describeError(error).slice(0, 1024),
        },
      }),
    );
  }
}

function stringify(fields: Record<string, unknown>): string {
  try {
    return JSON.stringify(fields, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  } catch {
    return '';
  }
}

/** A logger whose failures are swallowed: a user's logger can never break the transport. */
function safeLogger(logger: Logger): Logger {
  const guard =
    (level: keyof Logger) =>
    (message: string, fields?: Record<string, unknown>): void => {
      try {
        logger[level](message, fields);
      } catch {
        // Nowhere left to report it.
      }
    };
  return { debug: guard('debug'), info: guard('info'), warn: guard('warn'), error: guard('error') };
}
