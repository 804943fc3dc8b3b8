/**
 * Options of {@link connect}, their defaults and their validation.
 */
import { type SchedulerLike, asyncScheduler } from 'rxjs';
import type { ChannelOptions } from '@grpc/grpc-js';
import { InvalidArgumentError } from './errors/errors.js';
import { type Logger, silentLogger } from './internal/logger.js';
import { toLogger } from './observability/loggers.js';
import { rejectUnknownKeys, requireDuration, requireFunction, requireInteger, requireObject, requireScheduler, describe } from './internal/validate.js';
import { type FailoverFunction, type FailoverStrategy, resolveFailover } from './retry/failover.js';
import { type RetryOptions, type RetryPolicy, resolveRetryPolicy } from './retry/retry-policy.js';
import type { TlsOptions, TransportSettings } from './transport/settings.js';

/**
 * Options of {@link connect}. Every field but `brokers` is optional. Durations (`...Ms`) are
 * finite, non-negative and at most 2^31-1 ms (about 24.8 days: the longest a Node timer waits;
 * a longer one would fire after 1 ms), else `connect()` throws {@link InvalidArgumentError}.
 */
export interface ClientOptions {
  /** Bootstrap broker addresses, `host:port` (IPv6 as `[::1]:9292`). At least one. */
  brokers: readonly string[] | string;
  /**
   * Order in which brokers are tried when one fails: `'round-robin'` (the list order),
   * `'shuffle'` (a fresh random order each pass) or a function returning an iterable of
   * addresses.
   * @defaultValue 'round-robin'
   */
  failover?: FailoverStrategy;
  /** Retry policy for connecting and for every operation. See {@link RetryOptions}. */
  retry?: RetryOptions;
  /**
   * Deadline of each single RPC attempt, in milliseconds (the total budget is
   * `retry.totalTimeoutMs`). Every unary call carries a deadline. Also how long a PublishAsync
   * HTTP/2 session may take to connect (TCP, TLS and the broker's SETTINGS).
   * @defaultValue 10000
   */
  callTimeoutMs?: number;
  /** TLS settings; omit for plaintext. */
  tls?: TlsOptions;
  /** HTTP/2 keepalive. */
  keepAlive?: {
    /**
     * Interval of keepalive pings, in ms. A default Liftbridge server closes connections
     * that ping more often than every 5 minutes, so values below `serverMinTimeMs` are
     * rejected.
     * @defaultValue 300000
     */
    timeMs?: number;
    /** How long to wait for a ping's answer, in ms. @defaultValue 20000 */
    timeoutMs?: number;
    /**
     * The server's minimum ping interval (`grpc-go` keepalive enforcement). Lower it only
     * if your servers are configured to accept more frequent pings.
     * @defaultValue 300000
     */
    serverMinTimeMs?: number;
  };
  /**
   * Long-lived streams (Subscribe, PublishAsync) carried by one connection before another
   * connection to the same broker is opened.
   * @defaultValue 100
   */
  maxStreamsPerConnection?: number;
  /**
   * Period of the background metadata refresh while `metadata$` has subscribers, in ms;
   * 0 disables it (metadata is still refreshed on demand and on routing errors).
   * @defaultValue 30000
   */
  metadataRefreshMs?: number;
  /** Bounds of gRPC's own reconnect backoff per connection, in ms. @defaultValue `{ initialMs: 100, maxMs: 2000 }` */
  reconnectBackoff?: { initialMs?: number; maxMs?: number };
  /** Largest message the client accepts, in bytes. @defaultValue 4194304 (4 MiB) */
  maxReceiveMessageBytes?: number;
  /**
   * HTTP/2 flow-control window per Subscribe stream, in bytes: what the broker may send one
   * partition before the client reads it, so what a paused (backpressured) partition may hold
   * unread beyond its `prefetch` messages (docs/subscribing.md). A larger window lets a catch-up
   * read go faster (the broker waits less for window updates); 1 MiB is Kafka's default
   * `max.partition.fetch.bytes` and reached the Go client's speed (docs/performance.md). Subscriptions
   * with `transport: 'grpc-js'` and other grpc-js calls use it only when set (else grpc-js's 64 KiB).
   * @defaultValue 1048576 (1 MiB)
   */
  flowControlWindowBytes?: number;
  /** How long `close()` waits for in-flight work before cancelling it, in ms. @defaultValue 5000 */
  closeTimeoutMs?: number;
  /**
   * Where the client logs: `console`, a pino logger, a winston logger (each recognised and called
   * the way it expects; see docs/observability.md), or any object with `debug`/`info`/`warn`/`error(message,
   * fields)`. Fields are structured (`rpc`, `broker`, `stream`, `partition`, `attempt`, `error`...).
   * A logger that throws never breaks the client. Use `consoleLogger()` / `pinoLogger()` /
   * `winstonLogger()` (package root) to set a minimum level.
   * @defaultValue a silent logger
   */
  logger?: Logger;
  /**
   * Extra gRPC channel arguments (advanced; they override the client's), by their C-core / grpc-js
   * names, e.g. `{ 'grpc.max_receive_message_length': 8_388_608 }`. Values are strings or numbers.
   * One is fixed: `grpc.per_rpc_retry_buffer_size` stays 0, so a PublishAsync write over grpc-js
   * counts as written (and its ack deadline starts) only once HTTP/2 took its bytes.
   */
  channelOptions?: Record<string, string | number>;
  /**
   * RxJS scheduler for timers (tests use a virtual one); must have `now()` and `schedule()`.
   * @defaultValue asyncScheduler
   */
  scheduler?: SchedulerLike;
  /** Random source in [0, 1) for jitter and shuffling (tests make it deterministic). @defaultValue Math.random */
  random?: () => number;
}

/** Defaults of {@link ClientOptions}. */
export const DEFAULT_CLIENT_OPTIONS = Object.freeze({
  failover: 'round-robin' as const,
  callTimeoutMs: 10_000,
  keepAliveTimeMs: 300_000,
  keepAliveTimeoutMs: 20_000,
  serverMinKeepAliveMs: 300_000,
  maxStreamsPerConnection: 100,
  metadataRefreshMs: 30_000,
  reconnectBackoffInitialMs: 100,
  reconnectBackoffMaxMs: 2_000,
  maxReceiveMessageBytes: 4 * 1024 * 1024,
  closeTimeoutMs: 5_000,
});

/** Fully resolved options (internal: not exported from the package root). */
export interface ResolvedClientOptions {
  readonly brokers: readonly string[];
  readonly failover: FailoverFunction;
  readonly retry: RetryPolicy;
  readonly callTimeoutMs: number;
  readonly transport: TransportSettings;
  readonly metadataRefreshMs: number;
  readonly closeTimeoutMs: number;
  readonly logger: Logger;
  readonly scheduler: SchedulerLike;
  readonly random: () => number;
}

const KEYS = [
  'brokers',
  'failover',
  'retry',
  'callTimeoutMs',
  'tls',
  'keepAlive',
  'maxStreamsPerConnection',
  'metadataRefreshMs',
  'reconnectBackoff',
  'maxReceiveMessageBytes',
  'flowControlWindowBytes',
  'closeTimeoutMs',
  'logger',
  'channelOptions',
  'scheduler',
  'random',
] as const;

const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9])?):(\d{1,5})$/;

/** Validates a `host:port` broker address. */
export function parseBrokerAddress(field: string, value: unknown): string {
  if (typeof value !== 'string') throw new InvalidArgumentError(field, `expected 'host:port', got ${describe(value)}`);
  const m = HOST_PORT.exec(value);
  const port = m === null ? NaN : Number(m[1]);
  if (m === null || !(port >= 1 && port <= 65535)) {
    throw new InvalidArgumentError(field, `malformed broker address ${JSON.stringify(value)} (expected 'host:port' with a port from 1 to 65535)`);
  }
  return value;
}

/** Validates options and fills in defaults; throws {@link InvalidArgumentError} naming the field. */
export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  const o = requireObject('options', options);
  rejectUnknownKeys('', o, KEYS);
  const list = typeof o.brokers === 'string' ? o.brokers.split(',').map((s) => s.trim()) : o.brokers;
  if (!Array.isArray(list) || list.length === 0) {
    throw new InvalidArgumentError('brokers', 'expected at least one broker address');
  }
  const brokers = [...new Set(list.map((b: unknown, i: number) => parseBrokerAddress(`brokers[${i}]`, b)))];
  if (o.random !== undefined) requireFunction('random', o.random);
  const random = o.random === undefined ? Math.random : (o.random as () => number);
  const failover = resolveFailover(o.failover, random);
  const retry = resolveRetryPolicy(o.retry as RetryOptions | undefined);
  const callTimeoutMs =
    o.callTimeoutMs === undefined ? DEFAULT_CLIENT_OPTIONS.callTimeoutMs : requireDuration('callTimeoutMs', o.callTimeoutMs, { allowZero: false });

  let keepAliveMs: number = DEFAULT_CLIENT_OPTIONS.keepAliveTimeMs;
  let keepAliveTimeoutMs: number = DEFAULT_CLIENT_OPTIONS.keepAliveTimeoutMs;
  if (o.keepAlive !== undefined) {
    const k = requireObject('keepAlive', o.keepAlive);
    rejectUnknownKeys('keepAlive', k, ['timeMs', 'timeoutMs', 'serverMinTimeMs']);
    const min = k.serverMinTimeMs === undefined ? DEFAULT_CLIENT_OPTIONS.serverMinKeepAliveMs : requireDuration('keepAlive.serverMinTimeMs', k.serverMinTimeMs);
    if (k.timeMs !== undefined) keepAliveMs = requireDuration('keepAlive.timeMs', k.timeMs, { allowZero: false });
    if (keepAliveMs < min) {
      throw new InvalidArgumentError(
        'keepAlive.timeMs',
        `${keepAliveMs} ms is below the server's minimum ping interval (${min} ms); the server would close the connection (GOAWAY too_many_pings)`,
      );
    }
    if (k.timeoutMs !== undefined) keepAliveTimeoutMs = requireDuration('keepAlive.timeoutMs', k.timeoutMs, { allowZero: false });
  }

  const maxStreamsPerConnection =
    o.maxStreamsPerConnection === undefined
      ? DEFAULT_CLIENT_OPTIONS.maxStreamsPerConnection
      : requireInteger('maxStreamsPerConnection', o.maxStreamsPerConnection, 1, 10_000);
  const metadataRefreshMs =
    o.metadataRefreshMs === undefined ? DEFAULT_CLIENT_OPTIONS.metadataRefreshMs : requireDuration('metadataRefreshMs', o.metadataRefreshMs);

  let reconnectInitial: number = DEFAULT_CLIENT_OPTIONS.reconnectBackoffInitialMs;
  let reconnectMax: number = DEFAULT_CLIENT_OPTIONS.reconnectBackoffMaxMs;
  if (o.reconnectBackoff !== undefined) {
    const r = requireObject('reconnectBackoff', o.reconnectBackoff);
    rejectUnknownKeys('reconnectBackoff', r, ['initialMs', 'maxMs']);
    if (r.initialMs !== undefined) reconnectInitial = requireDuration('reconnectBackoff.initialMs', r.initialMs, { allowZero: false });
    if (r.maxMs !== undefined) reconnectMax = requireDuration('reconnectBackoff.maxMs', r.maxMs, { allowZero: false });
    if (reconnectMax < reconnectInitial) {
      throw new InvalidArgumentError('reconnectBackoff.maxMs', `must be >= initialMs (${reconnectInitial}), got ${reconnectMax}`);
    }
  }
  const maxReceiveMessageBytes =
    o.maxReceiveMessageBytes === undefined
      ? DEFAULT_CLIENT_OPTIONS.maxReceiveMessageBytes
      : requireInteger('maxReceiveMessageBytes', o.maxReceiveMessageBytes, 1024, 2 ** 31 - 1);
  const flowControlWindowBytes =
    o.flowControlWindowBytes === undefined ? undefined : requireInteger('flowControlWindowBytes', o.flowControlWindowBytes, 65_535, 2 ** 31 - 1);
  const closeTimeoutMs = o.closeTimeoutMs === undefined ? DEFAULT_CLIENT_OPTIONS.closeTimeoutMs : requireDuration('closeTimeoutMs', o.closeTimeoutMs);

  let tls: TlsOptions | undefined;
  if (o.tls !== undefined) {
    const t = requireObject('tls', o.tls);
    rejectUnknownKeys('tls', t, ['ca', 'cert', 'key', 'serverName']);
    for (const k of ['ca', 'cert', 'key'] as const) {
      const v = t[k];
      if (v !== undefined && typeof v !== 'string' && !Buffer.isBuffer(v)) {
        throw new InvalidArgumentError(`tls.${k}`, `expected a PEM string or Buffer, got ${describe(v)}`);
      }
    }
    if ((t.cert === undefined) !== (t.key === undefined)) {
      throw new InvalidArgumentError(t.cert === undefined ? 'tls.cert' : 'tls.key', 'mutual TLS needs both cert and key');
    }
    if (t.serverName !== undefined && typeof t.serverName !== 'string') {
      throw new InvalidArgumentError('tls.serverName', `expected a string, got ${describe(t.serverName)}`);
    }
    tls = t as TlsOptions;
  }

  let logger = silentLogger;
  if (o.logger !== undefined) {
    const l = requireObject('logger', o.logger);
    for (const m of ['debug', 'info', 'warn', 'error']) requireFunction(`logger.${m}`, l[m]);
    // pino and winston loggers get their adapters; every logger call is contained.
    logger = toLogger(o.logger as Logger);
  }
  const channelOptions: ChannelOptions = {
    ...(flowControlWindowBytes === undefined ? {} : { 'grpc-node.flow_control_window': flowControlWindowBytes }),
    ...(o.channelOptions === undefined ? {} : (requireObject('channelOptions', o.channelOptions) as ChannelOptions)),
  };
  if (o.scheduler !== undefined) requireScheduler('scheduler', o.scheduler);
  const scheduler = (o.scheduler as SchedulerLike | undefined) ?? asyncScheduler;

  return Object.freeze({
    brokers,
    failover,
    retry,
    callTimeoutMs,
    transport: Object.freeze({
      tls,
      keepAliveMs,
      keepAliveTimeoutMs,
      maxStreamsPerConnection,
      reconnectBackoffMs: { initial: reconnectInitial, max: reconnectMax },
      maxReceiveMessageBytes,
      channelOptions,
      flowControlWindowBytes,
    }),
    metadataRefreshMs,
    closeTimeoutMs,
    logger,
    scheduler,
    random,
  });
}
